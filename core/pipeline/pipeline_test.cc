#include "core/pipeline/pipeline.h"

#include <algorithm>
#include <memory>
#include <string>
#include <vector>

#include <fstream>
#include <iterator>
#include <map>
#include <optional>
#include <span>

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

// A project of three variants: the unnamed image leaves tests/ out, `dev` and `ci` ship it.
class VariantsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    project.Write("pyproject.toml", R"([project]
name = "shop"
version = "2.0.0"

[project.scripts]
shop = "shop.cli:main"

[tool.ocifs]
python = "3.12"
exclude = ["tests"]

[tool.ocifs.variants.dev]
include = ["tests"]
env = { SHOP_ENV = "development" }
cmd = ["python3", "-m", "shop", "--reload"]

[tool.ocifs.variants.ci]
tag = ["ci", "ci-2.0"]
include = ["tests"]
cmd = ["python3", "-m", "pytest", "tests"]
dependency-group = "test"

[dependency-groups]
test = ["click>=8"]
docs = ["sphinx>=7", "click"]
)");
    project.Write("shop/__init__.py", "");
    project.Write("shop/cli.py", "def main():\n    print('shop')\n");
    project.Write("tests/test_cli.py", "def test_main():\n    assert True\n");
    deps.Write("click/__init__.py", "");
    deps.Write("click-8.1.7.dist-info/METADATA", "Name: click\nVersion: 8.1.7\n");
  }

  PlanInputs Inputs(std::optional<std::vector<std::string>> variants = std::nullopt,
                    std::optional<std::vector<std::string>> tags = std::nullopt) const {
    PlanInputs in;
    in.project_dir = project.path();
    in.flags.base = "scratch";
    in.flags.platform = "linux/amd64";
    in.flags.deps = deps.path();
    in.flags.tags = std::move(tags);
    in.variants = std::move(variants);
    in.source_date_epoch = "1700000000";
    return in;
  }

  TempDir project, deps;
};

// index.json's image tags, each with the variant whose image it names.
std::vector<std::pair<std::string, std::string>> TaggedVariants(const ImagePlan& plan,
                                                                const Generation& gen) {
  std::map<std::string, std::string> variant_of_manifest;
  for (const ImagePlan* v : VariantPlans(plan)) {
    for (const auto& tag : v->project->tags) variant_of_manifest[tag] = v->project->variant;
  }
  std::vector<std::pair<std::string, std::string>> out;
  for (const IndexEntry& e : gen.index()) {
    if (!e.is_artifact()) out.emplace_back(e.ref_name, variant_of_manifest[e.ref_name]);
  }
  return out;
}

TEST_F(VariantsTest, EachSelectedVariantIsAnImageUnderItsTags) {
  using Tags = std::vector<std::pair<std::string, std::string>>;
  const struct Case {
    std::string what;
    std::optional<std::vector<std::string>> variants, tags;
    Tags want;  // index.json's image tags, with their variant
  } cases[] = {
      {"every variant",
       std::nullopt,
       std::nullopt,
       {{"latest", ""}, {"ci", "ci"}, {"ci-2.0", "ci"}, {"latest-dev", "dev"}}},
      {"one variant", std::vector<std::string>{"dev"}, std::nullopt, {{"latest-dev", "dev"}}},
      {"the unnamed image and one, with flag tags",
       std::vector<std::string>{"dev", "default"},
       std::vector<std::string>{"2.0", "stable"},
       {{"2.0", ""}, {"stable", ""}, {"2.0-dev", "dev"}, {"stable-dev", "dev"}}},
      {"a variant's own tags stand",
       std::vector<std::string>{"ci"},
       std::vector<std::string>{"2.0"},
       {{"ci", "ci"}, {"ci-2.0", "ci"}}},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.what);
    auto plan = PlanProject(Inputs(c.variants, c.tags));
    ASSERT_TRUE(plan.ok()) << plan.status().message();
    auto gen = BuildGeneration(*plan, 1);
    ASSERT_TRUE(gen.ok()) << gen.status().message();
    EXPECT_EQ(TaggedVariants(*plan, **gen), c.want);
    EXPECT_EQ(plan->project->variant, c.want.front().second);
  }
}

TEST_F(VariantsTest, EqualLayersAreOneBlobAndSettingsComeFromTheVariant) {
  auto plan = PlanProject(Inputs());
  ASSERT_TRUE(plan.ok()) << plan.status().message();
  ASSERT_EQ(plan->variants.size(), 2u);
  auto gen = BuildGeneration(*plan, 1);
  ASSERT_TRUE(gen.ok()) << gen.status().message();
  // One dependencies layer for all three, one application layer without tests/ and one with it
  // (dev and ci ship the same files).
  std::vector<std::string> names;
  for (const auto& l : (*gen)->own_layers()) names.push_back(l.name);
  EXPECT_EQ(names, (std::vector<std::string>{"dependencies", "application", "application (ci)"}));
  auto manifest_of = [&](const std::string& tag) {
    for (const IndexEntry& e : (*gen)->index()) {
      if (e.ref_name == tag) {
        const Blob* b = (*gen)->FindBlob(e.descriptor.digest.hex());
        std::string text(b->size(), '\0');
        EXPECT_TRUE(b->ReadAt(0, std::as_writable_bytes(std::span(text))).ok());
        return json::parse(text);
      }
    }
    ADD_FAILURE() << "no tag " << tag;
    return json();
  };
  auto config_of = [&](const std::string& tag) {
    const json m = manifest_of(tag);
    const Blob* b = (*gen)->FindBlob(m["config"]["digest"].get<std::string>().substr(7));
    std::string text(b->size(), '\0');
    EXPECT_TRUE(b->ReadAt(0, std::as_writable_bytes(std::span(text))).ok());
    return json::parse(text)["config"];
  };
  const json latest = manifest_of("latest"), dev = manifest_of("latest-dev"),
             ci = manifest_of("ci");
  EXPECT_EQ(latest["layers"][0], dev["layers"][0]);
  EXPECT_EQ(latest["layers"][0], ci["layers"][0]);
  EXPECT_NE(latest["layers"][1], dev["layers"][1]);
  EXPECT_EQ(dev["layers"][1], ci["layers"][1]);
  // The application layers: tests/ only in the variants that include it.
  auto has_tests = [](const ImagePlan& p) {
    const auto& entries = p.layers.back().tar->entries();
    return std::any_of(entries.begin(), entries.end(),
                       [](const TarEntry& e) { return e.name == "app/tests/test_cli.py"; });
  };
  EXPECT_FALSE(has_tests(*plan));
  EXPECT_TRUE(has_tests(plan->variants[0]));
  EXPECT_TRUE(has_tests(plan->variants[1]));
  const json dev_config = config_of("latest-dev"), latest_config = config_of("latest");
  EXPECT_EQ(dev_config["Cmd"], json({"python3", "-m", "shop", "--reload"}));
  EXPECT_NE(std::find(dev_config["Env"].begin(), dev_config["Env"].end(), "SHOP_ENV=development"),
            dev_config["Env"].end());
  EXPECT_EQ(
      std::find(latest_config["Env"].begin(), latest_config["Env"].end(), "SHOP_ENV=development"),
      latest_config["Env"].end());
  EXPECT_EQ(config_of("ci")["Cmd"], json({"python3", "-m", "pytest", "tests"}));
}

// A variant's dependency group is checked against the dependencies it ships.
TEST_F(VariantsTest, ADependencyGroupTheDependenciesDoNotSatisfyIsAnError) {
  std::ifstream in(project.path() + "/pyproject.toml");
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  project.Write("pyproject.toml",
                text + "\n[tool.ocifs.variants.docs]\ndependency-group = \"docs\"\n");
  auto plan = PlanProject(Inputs());
  ASSERT_FALSE(plan.ok());
  EXPECT_EQ(plan.status().message(),
            "variant `docs`: dependency-group `docs` of `" + project.path() +
                "/pyproject.toml`, in `" + deps.path() +
                "` is not satisfied: `sphinx>=7` is not installed; install the group there (e.g. "
                "`uv sync --group NAME`, `pip install --group NAME`)");
  // Selected without it, the others plan.
  EXPECT_TRUE(PlanProject(Inputs(std::vector<std::string>{"default", "ci"})).ok());
}

TEST_F(VariantsTest, BadSelectionsAndTagsThatClashAreErrors) {
  const struct Case {
    std::string what;
    std::optional<std::vector<std::string>> variants, tags;
    std::string error;
  } cases[] = {
      {"an unknown variant", std::vector<std::string>{"prod"}, std::nullopt,
       "--variant `prod`: `" + project.path() +
           "/pyproject.toml` declares no such variant (declared: ci, dev; `default` is the "
           "unnamed image)"},
      {"a tag of the unnamed image that a variant has", std::nullopt,
       std::vector<std::string>{"ci"},
       "tag `ci` names both the unnamed image and variant `ci`; give one of them other tags"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.what);
    auto plan = PlanProject(Inputs(c.variants, c.tags));
    ASSERT_FALSE(plan.ok());
    EXPECT_EQ(plan.status().message(), c.error);
  }
}

}  // namespace
}  // namespace ocifs
