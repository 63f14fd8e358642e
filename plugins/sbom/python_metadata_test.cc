#include "python_metadata.h"

#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace ocifs::sbom {
namespace {

TEST(PythonMetadataTest, HeadersStopAtTheBodyAndJoinContinuations) {
  const Headers h = ParseHeaders(
      "Metadata-Version: 2.1\r\nName: pkg\nLicense: Line one\n        line two\n"
      "Classifier: A\nClassifier: B\nnot a header\nSummary:   spaced  \n\nBody: not a header\n");
  EXPECT_EQ(h.at("Name"), std::vector<std::string>{"pkg"});
  EXPECT_EQ(h.at("License"), std::vector<std::string>{"Line one\nline two"});
  EXPECT_EQ(h.at("Classifier"), (std::vector<std::string>{"A", "B"}));
  EXPECT_EQ(h.at("Summary"), std::vector<std::string>{"spaced"});
  EXPECT_FALSE(h.count("Body"));
}

TEST(PythonMetadataTest, Requirements) {
  struct Case {
    std::string line;
    std::optional<std::pair<std::string, std::string>> want;
  } cases[] = {
      {"starlette<0.26.0,>=0.25.0", {{"starlette", ""}}},
      {"httpx>=0.23.0; extra == 'all'", {{"httpx", "extra == 'all'"}}},
      {"  uvicorn[standard] (>=0.12)  ;python_version<'3.8' ",
       {{"uvicorn", "python_version<'3.8'"}}},
      {"pip @ https://example.org/pip.whl ; os_name == 'posix'", {{"pip", "os_name == 'posix'"}}},
      {"", std::nullopt},
      {"-r other.txt", std::nullopt},
  };
  for (const auto& c : cases) {
    auto r = ParseRequirement(c.line);
    ASSERT_EQ(r.has_value(), c.want.has_value()) << c.line;
    if (r) {
      EXPECT_EQ(std::make_pair(r->name, r->marker), *c.want) << c.line;
    }
  }
}

TEST(PythonMetadataTest, RequiresTxtKeepsUnconditionalAndMarkerSectionsOnly) {
  auto reqs = ParseRequiresTxt(
      "idna>=2.8\nsniffio>=1.1\n\n[:python_version < \"3.8\"]\ntyping_extensions; os_name == "
      "'nt'\n\n[trio]\ntrio<0.22\n\n[test:python_version < \"3.7\"]\ncontextlib2\n");
  std::vector<std::pair<std::string, std::string>> got;
  for (const auto& r : reqs) got.emplace_back(r.name, r.marker);
  EXPECT_EQ(got, (std::vector<std::pair<std::string, std::string>>{
                     {"idna", ""},
                     {"sniffio", ""},
                     {"typing_extensions", "(python_version < \"3.8\") and (os_name == 'nt')"}}));
}

TEST(PythonMetadataTest, Markers) {
  const MarkerEnvironment env = LinuxEnvironment("3.11", "linux/arm64");
  struct Case {
    std::string marker;
    std::optional<bool> want;
  } cases[] = {
      {"python_version >= '3.8'", true},
      {"python_version < \"3.10\"", false},
      {"python_version == '3.11'", true},
      {"python_version == '3.*'", true},
      {"python_version != '3.11.*'", false},
      {"python_full_version >= '3.11.0'", true},
      {"python_version ~= '3.9'", true},
      {"python_version ~= '3.12'", false},
      {"'3.1' < python_version", true},
      {"sys_platform == 'win32'", false},
      {"sys_platform != 'win32' and platform_machine == 'aarch64'", true},
      {"platform_machine == 'x86_64' or (os_name == 'posix' and python_version > '3.6')", true},
      {"extra == 'test'", false},
      {"'linux' in sys_platform", true},
      {"'win' not in sys_platform", true},
      {"implementation_name == 'pypy'", false},
      {"platform_release >= '5'", std::nullopt},  // the kernel of whoever runs the image
      {"python_version >=", std::nullopt},
      {"python_version >= '3.8' and", std::nullopt},
      {"(python_version >= '3.8'", std::nullopt},
      {"unheard_of == 'x'", std::nullopt},
  };
  for (const auto& c : cases) EXPECT_EQ(EvaluateMarker(c.marker, env), c.want) << c.marker;
  EXPECT_EQ(LinuxEnvironment("3.12", "linux/amd64").platform_machine, "x86_64");
}

TEST(PythonMetadataTest, CompareReleases) {
  struct Case {
    std::string a, b;
    int want;
  } cases[] = {{"3.8", "3.10", -1},      {"3.10", "3.8", 1}, {"3.11", "3.11.0", 0},
               {"3.11.0rc1", "3.11", 0}, {"2", "10", -1},    {"1.0.1", "1.0", 1}};
  for (const auto& c : cases) EXPECT_EQ(CompareReleases(c.a, c.b), c.want) << c.a << " " << c.b;
}

}  // namespace
}  // namespace ocifs::sbom
