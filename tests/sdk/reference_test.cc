#include "ocifs/reference.hpp"

#include <optional>
#include <string>

#include <gtest/gtest.h>

namespace ocifs::sdk {
namespace {

TEST(SplitReferenceTest, Cases) {
  const struct {
    std::string text;
    bool layout;
    std::string name;
    std::optional<std::string> tag, digest;
  } cases[] = {
      {"python:3.12-slim", false, "python", "3.12-slim", std::nullopt},
      {"python", false, "python", std::nullopt, std::nullopt},
      {"localhost:5000/app", false, "localhost:5000/app", std::nullopt, std::nullopt},
      {"localhost:5000/app:1.0", false, "localhost:5000/app", "1.0", std::nullopt},
      {"ghcr.io/org/app:v2@sha256:abc", false, "ghcr.io/org/app", "v2", "sha256:abc"},
      {"python@sha256:abc", false, "python", std::nullopt, "sha256:abc"},
      {"oci:/l", true, "/l", std::nullopt, std::nullopt},
      {"oci:/l:3.11-slim", true, "/l", "3.11-slim", std::nullopt},
      {"oci:/a:b/c", true, "/a:b/c", std::nullopt, std::nullopt},  // ':' before a '/': the path's
      {"oci:/l:", true, "/l", "", std::nullopt},
      {"oci:/me@work/base", true, "/me@work/base", std::nullopt, std::nullopt},
  };
  for (const auto& c : cases) {
    const ReferenceParts p = SplitReference(c.text);
    EXPECT_EQ(p.layout, c.layout) << c.text;
    EXPECT_EQ(p.name, c.name) << c.text;
    EXPECT_EQ(p.tag, c.tag) << c.text;
    EXPECT_EQ(p.digest, c.digest) << c.text;
  }
}

}  // namespace
}  // namespace ocifs::sdk
