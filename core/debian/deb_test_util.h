// .deb files for tests, built by dpkg-deb itself from a spec.
#pragma once

#include <filesystem>
#include <map>
#include <string>

#include <gtest/gtest.h>

#include "core/support/test_util.h"
#include "ocifs/subprocess.hpp"

namespace ocifs::debian {

struct DebSpec {
  std::string control;                         // DEBIAN/control
  std::map<std::string, std::string> files;    // path in the package -> content (mode 0644)
  std::map<std::string, std::string> scripts;  // DEBIAN/<name> -> content (mode 0755)
  std::map<std::string, std::string> links;    // path -> symlink target
  std::string compression = "xz";
};

// The bytes of the .deb dpkg-deb builds from `spec`, in a directory of `tmp`.
inline std::string BuildDeb(const TempDir& tmp, const std::string& name, const DebSpec& spec) {
  namespace fs = std::filesystem;
  const std::string root = "build-" + name + "/";
  tmp.Write(root + "DEBIAN/control", spec.control);
  for (const auto& [path, content] : spec.files) tmp.Write(root + path, content);
  for (const auto& [script, content] : spec.scripts)
    tmp.Write(root + "DEBIAN/" + script, content, fs::perms(0755));
  for (const auto& [path, target] : spec.links) {
    const fs::path at = fs::path(tmp.path()) / root / path;
    fs::create_directories(at.parent_path());
    fs::create_symlink(target, at);
  }
  const std::string out = tmp.path() + "/" + name + ".deb";
  sdk::RunResult r = sdk::RunProcess({"dpkg-deb", "--root-owner-group", "-Z" + spec.compression,
                                      "--build", tmp.path() + "/" + root, out});
  EXPECT_EQ(r.exit, 0) << name << ": " << r.err;
  return ReadFileOrDie(out);
}

}  // namespace ocifs::debian
