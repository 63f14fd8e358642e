// A GnuPG home for tests: keys made by gpg itself, exported and used to clearsign, as an archive
// signs its InRelease.
#pragma once

#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "core/support/test_util.h"
#include "ocifs/subprocess.hpp"

namespace ocifs::debian {

class TestGpg {
 public:
  ~TestGpg() { sdk::RunProcess({"gpgconf", "--homedir", home_.path(), "--kill", "gpg-agent"}); }

  // An ed25519 signing key for "UID <UID@ocifs.invalid>", expiring after `expire` ("never", "1d").
  void MakeKey(const std::string& uid, const std::string& expire = "never",
               const std::vector<std::string>& extra = {}) {
    std::vector<std::string> argv = Gpg(extra);
    argv.insert(argv.end(), {"--quick-gen-key", uid + " <" + uid + "@ocifs.invalid>", "ed25519",
                             "sign", expire});
    Run(argv);
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

 private:
  std::vector<std::string> Gpg(const std::vector<std::string>& extra = {}) const {
    std::vector<std::string> argv = {
        "gpg",          "--homedir", home_.path(), "--batch", "--pinentry-mode", "loopback",
        "--passphrase", ""};
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

  TempDir home_;
};

}  // namespace ocifs::debian
