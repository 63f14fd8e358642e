#include "core/registry/credentials.h"

#include <sys/stat.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "core/support/test_util.h"
#include "core/support/text.h"

namespace ocifs {
namespace {

TEST(Credentials, FilesAndHelpers) {
  const std::string dir = testing::TempDir() + "/creds";
  std::filesystem::create_directories(dir);
  auto write = [&](const std::string& name, const std::string& text) {
    std::ofstream(dir + "/" + name) << text;
    return dir + "/" + name;
  };
  std::string containers = write("auth.json", R"({"auths":{"127.0.0.1:5000":{"auth":")" +
                                                  Base64Encode("bob:pw:with:colons") + R"("}}})");
  std::string docker = write("config.json", R"({
    "auths": {"https://index.docker.io/v1/": {"auth": ")" +
                                                Base64Encode("hub:hubpw") + R"("},
              "127.0.0.1:5000": {"username": "shadowed", "password": "x"},
              "plain.example": {"username": "carol", "password": "cpw"}},
    "credHelpers": {"helped.example": "fake"}})");
  std::vector<std::string> asked;
  CredentialHelper helper = [&](const std::string& name,
                                const std::string& server) -> Result<std::optional<Credential>> {
    asked.push_back(name + " " + server);
    return std::optional<Credential>(Credential{"helper-user", "helper-secret"});
  };
  auto store = MakeFileCredentialStore({dir + "/absent.json", containers, docker}, helper);
  struct Case {
    std::string domain, user, secret;
  } cases[] = {
      {"127.0.0.1:5000", "bob", "pw:with:colons"},
      {"docker.io", "hub", "hubpw"},
      {"plain.example", "carol", "cpw"},
      {"helped.example", "helper-user", "helper-secret"},
      {"unknown.example", "", ""},
  };
  for (const auto& c : cases) {
    auto got = store->Lookup(c.domain);
    ASSERT_TRUE(got.ok()) << c.domain << ": " << got.status().message();
    ASSERT_EQ(got->has_value(), !c.user.empty()) << c.domain;
    if (!c.user.empty()) {
      EXPECT_EQ((*got)->username, c.user) << c.domain;
      EXPECT_EQ((*got)->secret, c.secret) << c.domain;
    }
  }
  EXPECT_EQ(asked, std::vector<std::string>{"fake helped.example"});

  std::string broken = write("broken.json", "{not json");
  auto bad = MakeFileCredentialStore({broken}, helper)->Lookup("docker.io");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find(broken), std::string::npos);
  std::string bad_auth = write("bad-auth.json", R"({"auths":{"x.example":{"auth":"c2VjcmV0"}}})");
  auto no_colon = MakeFileCredentialStore({bad_auth}, helper)->Lookup("x.example");
  ASSERT_FALSE(no_colon.ok());
  EXPECT_EQ(no_colon.status().message().find("secret"), std::string::npos);
}

// A real helper program, found in PATH, asked for the server on stdin (docker's protocol).
TEST(Credentials, HelperProgramsRunWithTheServerOnStdin) {
  TempDir dir;
  auto helper = [&](const std::string& name, const std::string& body) {
    const std::string path = dir.path() + "/docker-credential-" + name;
    std::ofstream(path) << "#!/bin/sh\n" << body;
    ::chmod(path.c_str(), 0755);
  };
  helper("echoes", R"(read server; printf '{"Username":"u-%s","Secret":"s3"}' "$server")"
                   "\n");
  helper("none", "echo 'credentials not found in native keychain'; exit 1\n");
  helper("garbage", "cat >/dev/null; echo not json\n");
  helper("deaf", "exit 0\n");  // exits without reading: no SIGPIPE reaches the caller
  const char* old = std::getenv("PATH");
  const std::string saved = old ? old : "";
  ::setenv("PATH", (dir.path() + ":" + saved).c_str(), 1);
  struct Case {
    std::string name;
    std::optional<std::string> user;  // nullopt: no credential
    std::string error;                // "" when it succeeds
  } cases[] = {
      {"echoes", "u-registry.example", ""},
      {"none", std::nullopt, ""},
      {"garbage", std::nullopt, "answered something other than its JSON"},
      {"deaf", std::nullopt, "answered something other than its JSON"},
      {"missing", std::nullopt, "is configured but not on PATH"},
  };
  for (const auto& c : cases) {
    auto got = RunCredentialHelper(c.name, "registry.example");
    if (!c.error.empty()) {
      ASSERT_FALSE(got.ok()) << c.name;
      EXPECT_NE(got.status().message().find(c.error), std::string::npos) << got.status().message();
      continue;
    }
    ASSERT_TRUE(got.ok()) << c.name << ": " << got.status().message();
    ASSERT_EQ(got->has_value(), c.user.has_value()) << c.name;
    if (c.user) {
      EXPECT_EQ((*got)->username, *c.user);
      EXPECT_EQ((*got)->secret, "s3");
    }
  }
  ::setenv("PATH", saved.c_str(), 1);
}

}  // namespace
}  // namespace ocifs
