#include "core/debian/verify.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "core/support/test_util.h"
#include "ocifs/subprocess.hpp"

namespace ocifs::debian {
namespace {

constexpr std::string_view kRelease = R"(Origin: ocifs test
Label: ocifs test
Suite: stable
Codename: bookworm
Date: Sun, 06 Dec 2026 12:00:00 UTC
Architectures: amd64
Components: main
SHA256:
 9e0b5aabb2465b3d2e7a7fe27f9913846277833f7a2826e7767acccff5b588c5     1234 main/binary-amd64/Packages.xz
)";

// A GnuPG home with three keys made by gpg itself: the archive's, a stranger's, and one that
// expired in 2020.
class VerifyTest : public testing::Test {
 protected:
  void SetUp() override {
    home_ = tmp_.path();
    for (auto [uid, extra] : {std::pair<std::string, std::vector<std::string>>{"archive", {}},
                              {"stranger", {}},
                              {"expired", {"--faked-system-time", "20200101T000000"}}}) {
      std::vector<std::string> argv = Gpg(extra);
      argv.insert(argv.end(), {"--quick-gen-key", uid + " <" + uid + "@ocifs.invalid>", "ed25519",
                               "sign", uid == "expired" ? "1d" : "never"});
      Run(argv);
    }
  }
  void TearDown() override {
    sdk::RunProcess({"gpgconf", "--homedir", home_, "--kill", "gpg-agent"});
  }

  std::vector<std::string> Gpg(const std::vector<std::string>& extra = {}) const {
    std::vector<std::string> argv = {
        "gpg", "--homedir", home_, "--batch", "--pinentry-mode", "loopback", "--passphrase", ""};
    argv.insert(argv.end(), extra.begin(), extra.end());
    return argv;
  }
  std::string Run(const std::vector<std::string>& argv, const std::string& input = "") {
    sdk::RunOptions options;
    if (!input.empty()) options.input = input;
    sdk::RunResult r = sdk::RunProcess(argv, options);
    EXPECT_EQ(r.exit, 0) << argv[0] << " " << argv.back() << ": " << r.err;
    return r.out;
  }
  std::string Export(const std::string& uid, bool armor) {
    std::vector<std::string> argv = Gpg();
    if (armor) argv.push_back("--armor");
    argv.insert(argv.end(), {"--export", uid + "@ocifs.invalid"});
    return Run(argv);
  }
  std::string Clearsign(const std::string& uid, std::string_view text,
                        const std::vector<std::string>& extra = {}) {
    std::vector<std::string> argv = Gpg(extra);
    argv.insert(argv.end(), {"--local-user", uid + "@ocifs.invalid", "--clearsign"});
    return Run(argv, std::string(text));
  }

  TempDir tmp_;
  std::string home_;
};

TEST_F(VerifyTest, OnlyGoodSignaturesByTrustedKeysGiveTheText) {
  const std::string signed_text = Clearsign("archive", kRelease);
  const Keyring binary{"archive.gpg", Export("archive", false)};
  const Keyring armored{"archive.asc", Export("archive", true)};
  const Keyring stranger{"stranger.gpg", Export("stranger", false)};
  const Keyring expired{"expired.gpg", Export("expired", false)};

  std::string tampered = signed_text;
  tampered.replace(tampered.find("1234"), 4, "1235");
  std::string appended = signed_text + "\nPackage: evil\n";  // after the signature: never parsed

  struct Case {
    std::string name;
    std::string message;
    std::vector<Keyring> keyrings;
    std::string says;  // "" when it verifies
  };
  const Case cases[] = {
      {"binary keyring", signed_text, {binary}, ""},
      {"armored keyring", signed_text, {armored}, ""},
      {"the right key among others", signed_text, {stranger, binary}, ""},
      {"text after the signature", appended, {binary}, ""},
      {"tampered", tampered, {binary}, "a bad signature"},
      {"unknown key", signed_text, {stranger}, "which no trusted keyring holds"},
      {"unsigned", std::string(kRelease), {binary}, "its signature does not check"},
      {"expired key",
       Clearsign("expired", kRelease, {"--faked-system-time", "20200101T010000"}),
       {expired},
       "signed by an expired key"},
      {"no keyring", signed_text, {}, "no trusted keyring"},
  };
  for (const Case& c : cases) {
    auto text = VerifyClearsigned(c.message, c.keyrings, "InRelease of `bookworm`");
    if (c.says.empty()) {
      ASSERT_TRUE(text.ok()) << c.name << ": " << text.status().message();
      EXPECT_EQ(*text, kRelease) << c.name;
    } else {
      ASSERT_FALSE(text.ok()) << c.name;
      EXPECT_EQ(text.status().code(), Code::kCorrupt) << c.name;
      EXPECT_TRUE(text.status().message().starts_with("InRelease of `bookworm`: "))
          << text.status().message();
      EXPECT_NE(text.status().message().find(c.says), std::string::npos)
          << c.name << ": " << text.status().message();
    }
  }
}

TEST(DearmorTest, Cases) {
  EXPECT_EQ(*Dearmor("\x99\x01binary", "k"), "\x99\x01binary");
  const std::string armored =
      "-----BEGIN PGP PUBLIC KEY BLOCK-----\nComment: x\n\naGVsbG8g\nd29ybGQ=\n=abcd\n"
      "-----END PGP PUBLIC KEY BLOCK-----\n-----BEGIN PGP PUBLIC KEY BLOCK-----\n\nISE=\n"
      "-----END PGP PUBLIC KEY BLOCK-----\n";
  EXPECT_EQ(*Dearmor(armored, "k"), "hello world!!");
  EXPECT_EQ(Dearmor("-----BEGIN PGP PUBLIC KEY BLOCK-----\n\naGVsbG8g\n", "keyring `a.asc`")
                .status()
                .message(),
            "keyring `a.asc`: an armored key block does not end");
  EXPECT_FALSE(
      Dearmor("-----BEGIN PGP PUBLIC KEY BLOCK-----\n\na!b\n-----END PGP PUBLIC KEY BLOCK-----\n",
              "k")
          .ok());
}

}  // namespace
}  // namespace ocifs::debian
