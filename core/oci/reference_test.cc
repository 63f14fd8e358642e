#include "core/oci/reference.h"

#include <optional>
#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace ocifs {
namespace {

const std::string kHex = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

TEST(ParseImageReference, Valid) {
  struct Case {
    std::string text, domain, repository, tag;
    bool digest;
    std::string host, full;
  } cases[] = {
      {"python:3.12-slim", "docker.io", "library/python", "3.12-slim", false,
       "registry-1.docker.io", "docker.io/library/python:3.12-slim"},
      {"python", "docker.io", "library/python", "latest", false, "registry-1.docker.io",
       "docker.io/library/python:latest"},
      {"docker.io/python:3", "docker.io", "library/python", "3", false, "registry-1.docker.io",
       "docker.io/library/python:3"},
      {"index.docker.io/library/python:3", "docker.io", "library/python", "3", false,
       "registry-1.docker.io", "docker.io/library/python:3"},
      {"myorg/app", "docker.io", "myorg/app", "latest", false, "registry-1.docker.io",
       "docker.io/myorg/app:latest"},
      {"ghcr.io/org/team/app", "ghcr.io", "org/team/app", "latest", false, "ghcr.io",
       "ghcr.io/org/team/app:latest"},
      {"localhost/app:v1", "localhost", "app", "v1", false, "localhost", "localhost/app:v1"},
      {"127.0.0.1:5000/library/python:3.11-slim", "127.0.0.1:5000", "library/python", "3.11-slim",
       false, "127.0.0.1:5000", "127.0.0.1:5000/library/python:3.11-slim"},
      {"[::1]:5000/app:x", "[::1]:5000", "app", "x", false, "[::1]:5000", "[::1]:5000/app:x"},
      {"Registry/app", "Registry", "app", "latest", false, "Registry", "Registry/app:latest"},
      {"a.b/c_d/e__f/g-h/i--j/k.l:T_1.x-y", "a.b", "c_d/e__f/g-h/i--j/k.l", "T_1.x-y", false, "a.b",
       "a.b/c_d/e__f/g-h/i--j/k.l:T_1.x-y"},
      {"python@sha256:" + kHex, "docker.io", "library/python", "", true, "registry-1.docker.io",
       "docker.io/library/python@sha256:" + kHex},
      {"localhost:5000/a/b:v1@sha256:" + kHex, "localhost:5000", "a/b", "v1", true,
       "localhost:5000", "localhost:5000/a/b:v1@sha256:" + kHex},
      // No '/' after it: `localhost:5000` alone is the image `localhost` with tag 5000, as in
      // docker.
      {"localhost:5000", "docker.io", "library/localhost", "5000", false, "registry-1.docker.io",
       "docker.io/library/localhost:5000"},
  };
  for (const auto& c : cases) {
    auto r = ParseImageReference(c.text);
    ASSERT_TRUE(r.ok()) << c.text << ": " << r.status().message();
    EXPECT_EQ(r->domain, c.domain) << c.text;
    EXPECT_EQ(r->repository, c.repository) << c.text;
    EXPECT_EQ(r->tag, c.tag) << c.text;
    EXPECT_EQ(r->digest.has_value(), c.digest) << c.text;
    EXPECT_EQ(r->Host(), c.host) << c.text;
    EXPECT_EQ(r->str(), c.full) << c.text;
    EXPECT_EQ(r->ManifestReference(), c.digest ? "sha256:" + kHex : c.tag) << c.text;
  }
}

TEST(ParseImageReference, Invalid) {
  struct Case {
    std::string text, message;
  } cases[] = {
      {"", "it is empty"},
      {"Python:3", "repository names must be lowercase"},
      {"python:", "tag `` is not valid"},
      {"python:.x", "tag `.x` is not valid"},
      {"python:" + std::string(129, 'a'), "is not valid"},
      {"python@sha512:abcd", "digest algorithm `sha512` is not supported"},
      {"python@sha256:xyz", "want `@sha256:<64 lowercase hex digits>`"},
      {"python@", "want `@sha256:<64 hex digits>`"},
      {"a//b", "`` is not a valid path component"},
      {"org/-app", "`-app` is not a valid path component"},
      {"org/app-", "`app-` is not a valid path component"},
      {"org/a...b", "`a...b` is not a valid path component"},
      {"my_host:5000x/app", "`my_host:5000x` is not a valid registry host"},
      {"host.-bad/app", "`host.-bad` is not a valid registry host"},
      {kHex, "is an image ID, not a name"},
      {":tag", "the name is empty"},
      {"ghcr.io/" + std::string(250, 'a'), "longer than 255"},
  };
  for (const auto& c : cases) {
    auto r = ParseImageReference(c.text);
    ASSERT_FALSE(r.ok()) << c.text;
    EXPECT_EQ(r.status().code(), Code::kInvalidArgument) << c.text;
    EXPECT_NE(r.status().message().find(c.message), std::string::npos)
        << c.text << ": " << r.status().message();
    EXPECT_NE(r.status().message().find("`" + c.text + "`"), std::string::npos) << c.text;
  }
}

TEST(ParseRegistryMirror, Cases) {
  struct Case {
    std::string text;
    std::string want;   // RegistryMirror::str(), or "error: MESSAGE PART"
    std::string pulls;  // where docker.io/library/python:3 (or ghcr.io/o/a:1) is then pulled
  };
  const std::vector<Case> cases = {
      {"mirror.example", "docker.io=mirror.example", "mirror.example/library/python:3"},
      {"mirror.example:5000/hub/", "docker.io=mirror.example:5000/hub",
       "mirror.example:5000/hub/library/python:3"},
      {"index.docker.io=127.0.0.1:5000", "docker.io=127.0.0.1:5000",
       "127.0.0.1:5000/library/python:3"},
      {"ghcr.io=localhost:5001/ghcr", "ghcr.io=localhost:5001/ghcr", "localhost:5001/ghcr/o/a:1"},
      {"mirror", "error: `mirror` is not a registry host", ""},
      {"https://mirror.example", "error: without a scheme", ""},
      {"=mirror.example", "error: want [REGISTRY=]HOST", ""},
      {"ghcr.io/x=mirror.example", "error: want [REGISTRY=]HOST", ""},
      {"ghcr=mirror.example", "error: `ghcr` is not a registry host", ""},
      {"mirror.example/Hub", "error: is not a registry host with an optional lowercase path", ""},
      {"docker.io=", "error: the mirror's host is empty", ""},
  };
  for (const auto& c : cases) {
    auto m = ParseRegistryMirror(c.text);
    if (c.want.starts_with("error: ")) {
      ASSERT_FALSE(m.ok()) << c.text;
      EXPECT_NE(m.status().message().find(c.want.substr(7)), std::string::npos)
          << c.text << ": " << m.status().message();
      EXPECT_NE(m.status().message().find("`" + c.text + "`"), std::string::npos) << c.text;
      continue;
    }
    ASSERT_TRUE(m.ok()) << c.text << ": " << m.status().message();
    EXPECT_EQ(m->str(), c.want) << c.text;
    auto ref = *ParseImageReference(m->registry == "docker.io" ? "python:3" : "ghcr.io/o/a:1");
    EXPECT_EQ(Mirrored(ref, *m).str(), c.pulls) << c.text;
  }
}

TEST(OciLayoutRef, SplitAndMadeAbsolute) {
  struct Case {
    std::string ref;
    bool is_layout;
    std::string path;
    std::optional<std::string> tag;
    std::string absolute;  // AbsoluteBase(ref, "/proj")
  };
  const Case cases[] = {
      {"oci:/l", true, "/l", std::nullopt, "oci:/l"},
      {"oci:/l:3.11-slim", true, "/l", "3.11-slim", "oci:/l:3.11-slim"},
      {"oci:base:latest", true, "base", "latest", "oci:/proj/base:latest"},
      {"oci:../images/py", true, "../images/py", std::nullopt, "oci:/images/py"},
      {"oci:/a:b/c", true, "/a:b/c", std::nullopt,
       "oci:/a:b/c"},  // ':' before a '/' is part of the path
      {"oci:/l:", true, "/l", "", "oci:/l:"},
      {"scratch", false, "", std::nullopt, "scratch"},
      {"python:3.12-slim", false, "", std::nullopt, "python:3.12-slim"},
  };
  for (const auto& c : cases) {
    auto ref = SplitOciLayoutRef(c.ref);
    ASSERT_EQ(ref.has_value(), c.is_layout) << c.ref;
    if (ref) {
      EXPECT_EQ(ref->path, c.path) << c.ref;
      EXPECT_EQ(ref->tag, c.tag) << c.ref;
    }
    EXPECT_EQ(AbsoluteBase(c.ref, "/proj"), c.absolute) << c.ref;
  }
}

}  // namespace
}  // namespace ocifs
