#include "ocifs/python_names.hpp"

#include <optional>
#include <string>

#include <gtest/gtest.h>

namespace ocifs::sdk::python {
namespace {

TEST(PythonNamesTest, NormalizeName) {
  const struct {
    std::string in, want;
  } cases[] = {{"Django", "django"},
               {"typing_extensions", "typing-extensions"},
               {"zope.interface", "zope-interface"},
               {"A__b--C..d", "a-b-c-d"},
               {"ruamel.yaml.clib", "ruamel-yaml-clib"},
               {"", ""}};
  for (const auto& c : cases) EXPECT_EQ(NormalizeName(c.in), c.want) << c.in;
}

TEST(PythonNamesTest, ParseDistDir) {
  const struct {
    std::string dir;
    std::optional<std::string> name;
    std::string version;
  } cases[] = {
      {"Django-3.2.19.dist-info", "Django", "3.2.19"},
      {"typing_extensions-4.4.0.dist-info", "typing_extensions", "4.4.0"},
      {"foo-1.0-py3.11.egg-info", "foo", "1.0"},  // Debian's python3-* packages
      {"foo.egg-info", "foo", ""},
      {"foo-1.0.dist-info.bak", std::nullopt, ""},
      {"foo-1.0", std::nullopt, ""},
      {".dist-info", std::nullopt, ""},
  };
  for (const auto& c : cases) {
    auto got = ParseDistDir(c.dir);
    ASSERT_EQ(got.has_value(), c.name.has_value()) << c.dir;
    if (!got) continue;
    EXPECT_EQ(got->name, *c.name) << c.dir;
    EXPECT_EQ(got->version, c.version) << c.dir;
  }
}

}  // namespace
}  // namespace ocifs::sdk::python
