#include "core/pipeline/pipeline.h"

#include <algorithm>
#include <memory>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "core/oci/base_test_util.h"
#include "core/support/test_util.h"

namespace ocifs {
namespace {

using json = nlohmann::json;

TEST(PipelineTest, TheBasesPythonIsCheckedAgainstTheImagesAndRequiresPython) {
  struct Case {
    std::string name, base_python, requires_python, python;
    std::vector<std::string> says;  // each in some warning; empty: no warning about it
  };
  const std::vector<Case> cases = {
      {"the same minor", "3.12.7", ">=3.10", "3.12", {}},
      {"another minor",
       "3.11.9",
       "",
       "3.12",
       {"has Python 3.11.9 (its PYTHON_VERSION), but the image is for Python 3.12"}},
      {"requires-python excludes it",
       "3.14.0",
       ">=3.10,<3.14",
       "3.14",
       {"has Python 3.14.0, which requires-python `>=3.10,<3.14`"}},
      {"no PYTHON_VERSION: nothing to tell", "", ">=3.13", "3.12", {}},
  };
  for (const auto& c : cases) {
    json env = {"PATH=/usr/local/bin:/usr/bin:/bin"};
    if (!c.base_python.empty()) env.push_back("PYTHON_VERSION=" + c.base_python);
    BaseLayout base(false, {{{"created_by", "base"}}}, env);
    TempDir d;
    d.Write("app.py", "print('hi')\n");
    if (!c.requires_python.empty())
      d.Write("pyproject.toml",
              "[project]\nname = \"x\"\nrequires-python = \"" + c.requires_python + "\"\n");
    PlanInputs in;
    in.project_dir = d.path();
    in.flags.base = "oci:" + base.dir.path() + ":3.11-slim";
    in.flags.platform = "linux/amd64";
    in.flags.python = c.python;
    auto plan = PlanProject(in);
    ASSERT_TRUE(plan.ok()) << c.name << ": " << plan.status().message();
    std::vector<std::string> about_base;
    for (const auto& w : plan->warnings) {
      if (w.find("the base `") != std::string::npos) about_base.push_back(w);
    }
    EXPECT_EQ(about_base.size(), c.says.size()) << c.name;
    for (const auto& want : c.says) {
      EXPECT_TRUE(
          std::any_of(about_base.begin(), about_base.end(),
                      [&](const std::string& w) { return w.find(want) != std::string::npos; }))
          << c.name << ": " << want;
    }
  }
}

TEST(PipelineTest, BadPlatformLists) {
  BaseLayout base(true);
  TempDir d;
  d.Write("app.py", "print('hi')\n");
  TempDir deps;
  struct Case {
    std::string platform;
    KeyValues platform_deps;
    std::string want;
  };
  const Case cases[] = {
      {"linux/amd64,linux/amd64", {}, "platform `linux/amd64` is named twice"},
      {"linux/amd64,", {}, "platform ``: want OS/ARCH[/VARIANT]"},
      {"linux/amd64,linux/arm/v7", {}, "linux/arm/v7: base `oci:"},
      {"linux/amd64,linux/arm64",
       {{"linux/s390x", deps.path()}},
       "`linux/s390x` is not a platform of the image (--platform: linux/amd64,linux/arm64)"},
      {"linux/amd64,linux/arm64",
       {{"linux/arm64", deps.path() + "/nope"}},
       "deps for linux/arm64: dependencies directory"},
  };
  for (const auto& c : cases) {
    PlanInputs in;
    in.project_dir = d.path();
    in.flags.base = "oci:" + base.dir.path();
    in.flags.platform = c.platform;
    in.flags.platform_deps = c.platform_deps;
    auto g = PlanProject(in);
    ASSERT_FALSE(g.ok()) << c.platform;
    EXPECT_NE(g.status().message().find(c.want), std::string::npos)
        << c.platform << ": " << g.status().message();
  }
}

TEST(PipelineTest, BaseReferencesPickTheirSource) {
  BaseLayout layout(false);
  const struct {
    std::string reference, want;  // want: "" when it opens
  } cases[] = {
      {"scratch", ""},
      {"oci:" + layout.dir.path(), ""},
      {"oci:" + layout.dir.path() + ":", "empty tag after `:`"},
      {"Python:3.11-slim",
       "base: image reference `Python:3.11-slim`: repository names must be lowercase"},
      {"python:3.11-slim", "no registry context to pull it with"},
  };
  for (const auto& c : cases) {
    auto source = OpenBaseSource(c.reference, nullptr);
    if (c.want.empty()) {
      ASSERT_TRUE(source.ok()) << c.reference << ": " << source.status().message();
      auto base = (*source)->Resolve(Platform{"linux", "amd64", ""});
      EXPECT_TRUE(base.ok()) << c.reference << ": " << base.status().message();
      continue;
    }
    ASSERT_FALSE(source.ok()) << c.reference;
    EXPECT_NE(source.status().message().find(c.want), std::string::npos)
        << c.reference << ": " << source.status().message();
  }
}

// The one rule for keeping a dependencies layer: the same directory, Python and strictness.
TEST(PipelineTest, ReusableDependencies) {
  auto project = [](std::string deps_dir, std::string python, bool strict) {
    auto p = std::make_shared<ResolvedProject>();
    if (!deps_dir.empty()) {
      p->deps.emplace();
      p->deps->host_path = std::move(deps_dir);
    }
    p->python = std::move(python);
    p->strict = strict;
    return p;
  };
  auto layer = [](const std::string& name) {
    return PlannedLayer{name, "", VirtualTar::Build({}, 0)};
  };
  const struct Case {
    std::string what;
    std::shared_ptr<ResolvedProject> earlier, view;
    bool has_dependencies_layer;
    bool reused;
  } cases[] = {
      {"the same", project("/d", "3.12", false), project("/d", "3.12", false), true, true},
      {"another directory", project("/d", "3.12", false), project("/e", "3.12", false), true,
       false},
      {"another Python", project("/d", "3.12", false), project("/d", "3.13", false), true, false},
      {"strict changed", project("/d", "3.12", false), project("/d", "3.12", true), true, false},
      {"no dependencies now", project("/d", "3.12", false), project("", "3.12", false), true,
       false},
      {"none before", project("", "3.12", false), project("/d", "3.12", false), false, false},
      {"a plan without the layer", project("/d", "3.12", false), project("/d", "3.12", false),
       false, false},
  };
  for (const Case& c : cases) {
    ImagePlan earlier;
    earlier.project = c.earlier;
    if (c.has_dependencies_layer) earlier.layers.push_back(layer("dependencies"));
    earlier.layers.push_back(layer("application"));
    const PlannedLayer* got = ReusableDependencies(earlier, *c.view);
    EXPECT_EQ(got != nullptr, c.reused) << c.what;
    if (got) {
      EXPECT_EQ(got, &earlier.layers.front()) << c.what;
    }
  }
}

}  // namespace
}  // namespace ocifs
