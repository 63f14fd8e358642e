#include "core/debian/verify.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "core/debian/gpg_test_util.h"

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

// Three keys made by gpg itself: the archive's, a stranger's, and one that expired in 2020.
class VerifyTest : public testing::Test {
 protected:
  void SetUp() override {
    gpg_.MakeKey("archive");
    gpg_.MakeKey("stranger");
    gpg_.MakeKey("expired", "1d", {"--faked-system-time", "20200101T000000"});
  }
  std::string Export(const std::string& uid, bool armor) { return gpg_.Export(uid, armor); }
  std::string Clearsign(const std::string& uid, std::string_view text,
                        const std::vector<std::string>& extra = {}) {
    return gpg_.Clearsign(uid, text, extra);
  }

  TestGpg gpg_;
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
