#include "core/image/image.h"
#include "core/oci/digest_cache.h"
#include "core/oci/layer.h"
#include "core/pipeline/pipeline.h"

#include <unistd.h>

#include <map>
#include <mutex>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "core/oci/base_test_util.h"
#include "core/support/test_util.h"

namespace ocifs {
namespace {

using json = nlohmann::json;
namespace fs = std::filesystem;

// A small project with fixed modes (umask must not matter), a src layout and a console script.
void WriteFixture(const TempDir& d) {
  d.Write("pyproject.toml",
          "[project]\nname = \"golden\"\nversion = \"1.0.0\"\nrequires-python = \">=3.9,<3.12\"\n"
          "[project.scripts]\ngolden = \"golden.cli:main\"\n");
  d.Write("src/golden/__init__.py", "");
  d.Write("src/golden/cli.py", "def main():\n    print('golden')\n");
  d.Write("bin/run.sh", "#!/bin/sh\nexec golden\n", fs::perms(0755));
  d.Write("README.md", "# golden\n");
  d.Write("src/golden/__pycache__/cli.cpython-311.pyc", "junk");  // ignored by default
  for (const auto& e : fs::recursive_directory_iterator(d.path())) {
    if (e.is_directory()) fs::permissions(e.path(), fs::perms(0755));
  }
  fs::permissions(d.path(), fs::perms(0755));
}

Result<std::shared_ptr<const Generation>> Build(const std::string& dir, ImageOptions flags,
                                                std::optional<std::string> epoch = "1700000000") {
  PlanInputs in;
  in.project_dir = dir;
  if (!flags.base) flags.base = "scratch";
  if (!flags.platform) flags.platform = "linux/amd64";
  in.flags = std::move(flags);
  in.source_date_epoch = std::move(epoch);
  OCIFS_ASSIGN_OR_RETURN(auto plan, PlanProject(in));
  return BuildGeneration(plan, 1);
}

// Inputs for the project `d` with the dependencies `deps`, for Python 3.12 on linux/amd64.
PlanInputs WithDeps(const TempDir& d, const TempDir& deps) {
  PlanInputs in;
  in.project_dir = d.path();
  in.flags.base = "scratch";
  in.flags.platform = "linux/amd64";
  in.flags.deps = deps.path();
  in.flags.python = "3.12";
  return in;
}

json BlobJson(const Generation& g, const Digest& d) {
  const Blob* b = g.FindBlob(d.hex());
  EXPECT_NE(b, nullptr);
  std::string s(b->size(), '\0');
  EXPECT_TRUE(b->ReadAt(0, std::as_writable_bytes(std::span(s))).ok());
  return json::parse(s);
}

// Golden digests: if the tar format or the image assembly changes on purpose, bump
// kTarFormatVersion (tar.h) when it is the tar, and update these after checking the new bytes
// with `ocifs build` + `tar -tvf`.
constexpr char kGoldenAppLayer[] =
    "sha256:fa9a51ed330337b94aa30d51934f052782c4706ce459a9914b387be0457b611f";
constexpr char kGoldenManifest[] =
    "sha256:e3ad055e56d5b86c857a1b07239cdd059892d7586b46caec973d7e910b68d0eb";

TEST(ImageTest, GoldenDigests) {
  TempDir d;
  WriteFixture(d);
  auto g = Build(d.path(), {});
  ASSERT_TRUE(g.ok()) << g.status().message();
  ASSERT_EQ((*g)->own_layers().size(), 1u);
  EXPECT_EQ((*g)->own_layers()[0].descriptor.digest.str(), kGoldenAppLayer);
  EXPECT_EQ((*g)->manifest_digest().str(), kGoldenManifest);
}

TEST(ImageTest, SameDigestsForCopiesThatDifferInMtimesOwnersAndPath) {
  TempDir a, b;
  WriteFixture(a);
  WriteFixture(b);
  // Other mtimes, and (as root) other owners, for every entry of the copy.
  for (const auto& e : fs::recursive_directory_iterator(b.path())) {
    fs::last_write_time(e.path(), fs::file_time_type::clock::now() - std::chrono::hours(1000));
    if (::geteuid() == 0) {
      ASSERT_EQ(::lchown(e.path().c_str(), 4321, 8765), 0);
    }
  }
  auto ga = Build(a.path(), {});
  auto ga2 = Build(a.path(), {});
  auto gb = Build(b.path(), {});
  ASSERT_TRUE(ga.ok() && ga2.ok() && gb.ok());
  EXPECT_EQ((*ga)->manifest_digest(), (*ga2)->manifest_digest()) << "the same project twice";
  EXPECT_EQ((*ga)->manifest_digest(), (*gb)->manifest_digest())
      << "a copy elsewhere with other mtimes and owners";
  EXPECT_EQ((*ga)->index_json(), (*gb)->index_json());
  // Without SOURCE_DATE_EPOCH the fixed default is used: still the same twice.
  auto gc = Build(a.path(), {}, std::nullopt);
  auto gd = Build(b.path(), {}, std::nullopt);
  ASSERT_TRUE(gc.ok() && gd.ok());
  EXPECT_EQ((*gc)->manifest_digest(), (*gd)->manifest_digest());
  EXPECT_NE((*gc)->manifest_digest(), (*ga)->manifest_digest());
  EXPECT_EQ(BlobJson(**gc, (*gc)->config_digest())["created"], "1970-01-01T00:00:00Z");
}

TEST(ImageTest, ConfigManifestAndIndex) {
  TempDir d;
  WriteFixture(d);
  ImageOptions flags;
  flags.tags = std::vector<std::string>{"latest", "1.0.0"};
  flags.expose = {"8000/tcp"};
  flags.labels = {{"team", "core"}};
  flags.env = {{"MODE", "prod"}};
  auto g = Build(d.path(), flags);
  ASSERT_TRUE(g.ok()) << g.status().message();
  json config = BlobJson(**g, (*g)->config_digest());
  EXPECT_EQ(config["os"], "linux");
  EXPECT_EQ(config["architecture"], "amd64");
  EXPECT_EQ(config["created"], "2023-11-14T22:13:20Z");
  const json& c = config["config"];
  EXPECT_EQ(c["WorkingDir"], "/app");
  EXPECT_EQ(c["User"], "65532:65532");
  EXPECT_EQ(c["ExposedPorts"], json({{"8000/tcp", json::object()}}));
  EXPECT_EQ(c["Labels"]["team"], "core");
  EXPECT_EQ(c["Labels"]["org.opencontainers.image.title"], "golden");
  EXPECT_EQ(c["Entrypoint"][0], "python3");
  EXPECT_FALSE(c.contains("Cmd"));
  EXPECT_NE(std::find(c["Env"].begin(), c["Env"].end(), "MODE=prod"), c["Env"].end());
  EXPECT_NE(std::find(c["Env"].begin(), c["Env"].end(), "PYTHONPATH=/app/src:/app"),
            c["Env"].end());
  EXPECT_EQ(config["rootfs"]["diff_ids"].size(), 1u);
  EXPECT_EQ(config["history"].size(), 1u);

  json index = json::parse((*g)->index_json());
  ASSERT_EQ(index["manifests"].size(), 2u);
  EXPECT_EQ(index["manifests"][0]["annotations"]["org.opencontainers.image.ref.name"], "latest");
  EXPECT_EQ(index["manifests"][1]["annotations"]["org.opencontainers.image.ref.name"], "1.0.0");
  EXPECT_EQ(index["manifests"][0]["platform"], json({{"os", "linux"}, {"architecture", "amd64"}}));
  json manifest = BlobJson(**g, (*g)->manifest_digest());
  EXPECT_EQ(manifest["annotations"]["org.opencontainers.image.version"], "1.0.0");
  EXPECT_EQ(manifest["layers"][0]["mediaType"], "application/vnd.oci.image.layer.v1.tar");
  // Layers are uncompressed: digest == diff_id.
  EXPECT_EQ(manifest["layers"][0]["digest"], config["rootfs"]["diff_ids"][0]);
}

TEST(ImageTest, HistoryHasOneEntryPerLayerWhateverTheBaseRecorded) {
  struct Case {
    std::string name;
    json base_history;
    std::vector<std::string> created_by;  // the image's non-empty entries, in order
  };
  const std::string ours = "a layer of the base image (it recorded no history)";
  const std::vector<Case> cases = {
      {"one entry for its layer", {{{"created_by", "base"}}}, {"base", "app"}},
      {"none (history is optional)", json::array(), {ours, "app"}},
      {"only an empty-layer entry",
       {{{"created_by", "ENV A=1"}, {"empty_layer", true}}},
       {ours, "app"}},
      {"empty-layer entries around its layer",
       {{{"created_by", "ENV A=1"}, {"empty_layer", true}}, {{"created_by", "base"}}},
       {"base", "app"}},
  };
  for (const auto& c : cases) {
    BaseLayout base(false, c.base_history);
    TempDir d;
    WriteFixture(d);
    ImageOptions flags;
    flags.base = "oci:" + base.dir.path() + ":3.11-slim";
    auto g = Build(d.path(), flags);
    ASSERT_TRUE(g.ok()) << c.name << ": " << g.status().message();
    json config = BlobJson(**g, (*g)->config_digest());
    std::vector<std::string> got;
    for (const auto& h : config["history"]) {
      if (h.value("empty_layer", false)) continue;
      const std::string by = h.value("created_by", "");
      got.push_back(by.find("application") != std::string::npos ||
                            by.find("/app") != std::string::npos
                        ? "app"
                        : by);
    }
    EXPECT_EQ(got.size(), config["rootfs"]["diff_ids"].size()) << c.name;
    EXPECT_EQ(got, c.created_by) << c.name << ": " << config["history"].dump();
  }
}

// A base whose PYTHON_VERSION (the official images set it) is not the image's Python, or is
// excluded by requires-python, is a warning that names both.
// What a read-only root file system leaves writable: /tmp and HOME (the default user's own, in
// the application layer) as Volumes, and the user's volumes.
TEST(ImageTest, WritablePlacesOfAReadOnlyRootAreVolumes) {
  struct Case {
    std::string name;
    ImageOptions flags;
    std::optional<std::string> home;  // Env's HOME; nullopt: none
    std::vector<std::string> volumes;
    bool home_dir;  // home/nonroot in the application layer, the default user's, 0700
  };
  auto with = [](auto set) {
    ImageOptions o;
    set(o);
    return o;
  };
  const std::vector<Case> cases = {
      {"default user", {}, "/home/nonroot", {"/home/nonroot", "/tmp"}, true},
      {"a user of the project's",
       with([](ImageOptions& o) { o.user = "1000:1000"; }),
       std::nullopt,
       {"/tmp"},
       false},
      {"HOME set",
       with([](ImageOptions& o) {
         o.env = {{"HOME", "/data"}};
       }),
       "/data",
       {"/data", "/tmp"},
       false},
      {"volumes of the user's",
       with([](ImageOptions& o) {
         o.volumes = {"/app/instance", "/tmp"};
       }),
       "/home/nonroot",
       {"/app/instance", "/home/nonroot", "/tmp"},
       true},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    TempDir d;
    WriteFixture(d);
    auto g = Build(d.path(), c.flags);
    ASSERT_TRUE(g.ok()) << g.status().message();
    const json config = BlobJson(**g, (*g)->config_digest())["config"];
    std::optional<std::string> home;
    for (const json& e : config["Env"]) {
      if (e.get<std::string>().starts_with("HOME=")) home = e.get<std::string>().substr(5);
    }
    EXPECT_EQ(home, c.home);
    EXPECT_NE(std::find(config["Env"].begin(), config["Env"].end(), "TMPDIR=/tmp"),
              config["Env"].end());
    std::vector<std::string> volumes;
    for (const auto& [k, v] : config["Volumes"].items()) volumes.push_back(k);
    EXPECT_EQ(volumes, c.volumes);
    const auto* app = dynamic_cast<const TarBlob*>(
        (*g)->FindBlob((*g)->own_layers().back().descriptor.digest.hex()));
    ASSERT_NE(app, nullptr);
    const auto& entries = app->tar().entries();
    auto it = std::find_if(entries.begin(), entries.end(),
                           [](const TarEntry& e) { return e.name == "home/nonroot"; });
    ASSERT_EQ(it != entries.end(), c.home_dir);
    if (c.home_dir) {
      EXPECT_EQ(it->type, TarEntry::Type::kDirectory);
      EXPECT_EQ(it->mode, 0700u);
      EXPECT_EQ(it->uid, 65532u);
      EXPECT_EQ(it->gid, 65532u);
    }
  }
}

TEST(ImageTest, BaseFromOciLayoutIsMerged) {
  for (bool multi : {false, true}) {
    BaseLayout base(multi);
    TempDir d;
    WriteFixture(d);
    ImageOptions flags;
    flags.base = "oci:" + base.dir.path() + ":3.11-slim";
    auto g = Build(d.path(), flags);
    ASSERT_TRUE(g.ok()) << g.status().message();
    json config = BlobJson(**g, (*g)->config_digest());
    const json& env = config["config"]["Env"];
    EXPECT_NE(std::find(env.begin(), env.end(), "PATH=/usr/local/bin:/usr/bin:/bin"), env.end())
        << env.dump();
    EXPECT_NE(std::find(env.begin(), env.end(), "LANG=C.UTF-8"), env.end());
    EXPECT_FALSE(config["config"].contains("Cmd")) << "a new entrypoint resets the base's Cmd";
    EXPECT_EQ(config["config"]["Labels"]["base"], "yes");
    ASSERT_EQ(config["rootfs"]["diff_ids"].size(), 2u);
    EXPECT_EQ(config["rootfs"]["diff_ids"][0], base.layer.str());
    EXPECT_EQ(config["history"].size(), 2u);
    json manifest = BlobJson(**g, (*g)->manifest_digest());
    EXPECT_EQ(manifest["layers"][0]["digest"], base.layer.str());
    EXPECT_EQ(manifest["annotations"]["org.opencontainers.image.base.digest"],
              base.manifest_amd64.str());
    // The base layer is served from the layout, verified.
    const Blob* layer = (*g)->FindBlob(base.layer.hex());
    ASSERT_NE(layer, nullptr);
    std::string bytes(layer->size(), '\0');
    ASSERT_TRUE(layer->ReadAt(0, std::as_writable_bytes(std::span(bytes))).ok());
    EXPECT_EQ(bytes, std::string(2048, 'L'));
  }
}

// --platform a,b: an image index per tag, one manifest per platform on that platform's base;
// equal layers are one blob, a platform's own dependencies its own layer.
TEST(ImageTest, SeveralPlatformsMakeAnImageIndex) {
  BaseLayout base(true);
  TempDir d;
  WriteFixture(d);
  TempDir deps, deps_arm;
  deps.Write("shared_dep/__init__.py", "x = 1\n");
  deps_arm.Write("arm_dep/__init__.py", "x = 2\n");
  struct Case {
    std::string what;
    KeyValues platform_deps;
    std::vector<std::string> want_layers;  // Generation::own_layers() names
  };
  const Case cases[] = {
      {"one dependencies directory for both", {}, {"dependencies", "application"}},
      {"arm64 has its own",
       {{"linux/arm64", deps_arm.path()}},
       {"dependencies", "application", "dependencies (linux/arm64)"}},
  };
  for (const auto& c : cases) {
    ImageOptions flags;
    flags.base = "oci:" + base.dir.path() + ":3.11-slim";
    flags.platform = "linux/amd64,linux/arm64";
    flags.deps = deps.path();
    flags.platform_deps = c.platform_deps;
    flags.tags = std::vector<std::string>{"latest", "1.0"};
    auto g = Build(d.path(), flags);
    ASSERT_TRUE(g.ok()) << c.what << ": " << g.status().message();
    std::vector<std::string> names;
    for (const auto& l : (*g)->own_layers()) names.push_back(l.name);
    EXPECT_EQ(names, c.want_layers) << c.what;

    json index_json = json::parse((*g)->index_json());
    ASSERT_EQ(index_json["manifests"].size(), 2u) << c.what;
    for (const json& tag : index_json["manifests"]) {
      EXPECT_EQ(tag["mediaType"], kMediaTypeOciIndex) << c.what;
      EXPECT_EQ(tag["digest"], (*g)->manifest_digest().str()) << c.what;
      EXPECT_FALSE(tag.contains("platform")) << c.what;
    }
    json index = BlobJson(**g, (*g)->manifest_digest());
    ASSERT_EQ(index["manifests"].size(), 2u) << c.what;
    std::vector<json> layers_of;  // per platform, the manifest's layers
    for (size_t i = 0; i < 2; ++i) {
      const json& m = index["manifests"][i];
      const std::string arch = i == 0 ? "amd64" : "arm64";
      EXPECT_EQ(m["platform"], json({{"os", "linux"}, {"architecture", arch}})) << c.what;
      json manifest = BlobJson(**g, *Digest::Parse(m["digest"].get<std::string>()));
      json config = BlobJson(**g, *Digest::Parse(manifest["config"]["digest"].get<std::string>()));
      EXPECT_EQ(config["architecture"], arch) << c.what;
      EXPECT_EQ(manifest["layers"].size(), 3u) << c.what;  // base, dependencies, application
      EXPECT_EQ(config["rootfs"]["diff_ids"].size(), 3u) << c.what;
      layers_of.push_back(manifest["layers"]);
    }
    EXPECT_NE(layers_of[0][0], layers_of[1][0]) << "each platform has its own base layer";
    EXPECT_EQ(layers_of[0][2], layers_of[1][2]) << "one application layer";
    EXPECT_EQ(layers_of[0][1] == layers_of[1][1], c.platform_deps.empty()) << c.what;
    // Every blob a manifest names is served.
    for (const auto& layers : layers_of) {
      for (const json& l : layers) {
        EXPECT_NE((*g)->FindBlob(l["digest"].get<std::string>().substr(7)), nullptr) << c.what;
      }
    }
    // Same inputs, same digests.
    auto again = Build(d.path(), flags);
    ASSERT_TRUE(again.ok());
    EXPECT_EQ((*again)->manifest_digest(), (*g)->manifest_digest()) << c.what;
  }
}

TEST(ImageTest, DependencyConsoleScripts) {
  MemTree deps;
  deps.AddDir("click-8.1.3.egg-info").AddFile("click-8.1.3.egg-info/entry_points.txt", "");
  deps.AddDir("Pygments-2.14.0.dist-info")
      .AddFile(
          "Pygments-2.14.0.dist-info/entry_points.txt",
          "[console_scripts]\npygmentize = pygments.cmdline:main\n\n[pygments.lexers]\nx = y:z\n");
  deps.AddDir("tool-1.0.dist-info")
      .AddFile("tool-1.0.dist-info/entry_points.txt",
               "[gui_scripts]\ngui = a:b\n[console_scripts]\ntool = tool.cli:App.run "
               "[extra]\npygmentize = other:main\n");
  auto scripts = DependencyConsoleScripts(deps);
  ASSERT_TRUE(scripts.ok()) << scripts.status().message();
  ASSERT_EQ(scripts->size(), 2u);
  EXPECT_EQ((*scripts)[0].name, "opt/venv/bin/pygmentize");
  EXPECT_EQ((*scripts)[0].mode, 0755u);
  EXPECT_NE((*scripts)[0].data->find("from pygments.cmdline import main"), std::string::npos);
  EXPECT_TRUE((*scripts)[0].data->starts_with("#!/usr/bin/env python3\n"));
  EXPECT_EQ((*scripts)[1].name, "opt/venv/bin/tool");
  EXPECT_NE((*scripts)[1].data->find("sys.exit(App.run())"), std::string::npos);
}

TEST(ImageTest, ExtraDependencyTreesAreLayersAboveTheDependencies) {
  TempDir d, deps, dev;
  WriteFixture(d);
  deps.Write("click/__init__.py", "");
  deps.Write("click-8.1.7.dist-info/METADATA", "");
  dev.Write("_pytest/__init__.py", "");
  dev.Write("_pytest/__pycache__/x.cpython-312.pyc", "");  // left out, as in the dependencies
  dev.Write("pytest-8.3.2.dist-info/entry_points.txt",
            "[console_scripts]\npytest = pytest:console_main\n");
  d.Write("pyproject.toml",
          fmt::format("[project]\nname = \"golden\"\nversion = \"1.0\"\n[project.scripts]\ngolden "
                      "= \"golden.cli:main\"\n[tool.ocifs.variants.dev]\nextra-deps = [\"{}\"]\n",
                      dev.path()));
  auto plan = PlanProject(WithDeps(d, deps));
  ASSERT_TRUE(plan.ok()) << plan.status().message();
  ASSERT_EQ(plan->variants.size(), 1u);
  auto names = [](const ImagePlan& p) {
    std::vector<std::string> out;
    for (const auto& l : p.layers) out.push_back(l.name);
    return out;
  };
  EXPECT_EQ(names(*plan), (std::vector<std::string>{"dependencies", "application"}));
  const ImagePlan& dev_plan = plan->variants[0];
  ASSERT_EQ(names(dev_plan),
            (std::vector<std::string>{"dependencies", "extra dependencies", "application"}));
  const PlannedLayer& extra = dev_plan.layers[1];
  EXPECT_EQ(extra.created_by,
            "ocifs: extra dependencies for Python 3.12 (site-packages, 1 console scripts)");
  std::vector<std::string> entries;
  for (const auto& e : extra.tar->entries()) entries.push_back(e.name);
  for (const char* want :
       {"opt/venv/lib/python3.12/site-packages/_pytest/__init__.py",
        "opt/venv/lib/python3.12/site-packages/pytest-8.3.2.dist-info", "opt/venv/bin/pytest"}) {
    EXPECT_NE(std::find(entries.begin(), entries.end(), want), entries.end()) << want;
  }
  for (const auto& e : entries) {
    EXPECT_EQ(e.find("__pycache__"), std::string::npos) << e;
    EXPECT_EQ(e.find("click"), std::string::npos) << "the dependencies' files: " << e;
  }

  auto g = BuildGeneration(*plan, 1);
  ASSERT_TRUE(g.ok()) << g.status().message();
  // The dependencies and application layers are the unnamed image's; the extra one is new.
  EXPECT_EQ((*g)->own_layers().size(), 3u);
  const json dev_config = ImageConfig(dev_plan, {});
  EXPECT_EQ(dev_config["history"].size(), 3u);
  EXPECT_EQ(dev_config["history"][1]["created_by"], extra.created_by);
}

TEST(ImageTest, HashProgressAndCancellation) {
  TempDir d;
  WriteFixture(d);
  PlanInputs in;
  in.project_dir = d.path();
  in.flags.base = "scratch";
  auto plan = PlanProject(in);
  ASSERT_TRUE(plan.ok()) << plan.status().message();
  HashProgress progress;
  auto g = BuildGeneration(*plan, 1, {.progress = &progress});
  ASSERT_TRUE(g.ok());
  EXPECT_GT(progress.bytes_total(), 0u);
  EXPECT_EQ(progress.bytes_done(), progress.bytes_total());
  auto layers = progress.Snapshot();
  ASSERT_EQ(layers.size(), 1u);
  EXPECT_EQ(layers[0].name, "application");
  EXPECT_EQ(layers[0].state, HashProgress::State::kHashed);

  HashProgress cancelled;
  cancelled.cancelled = true;
  auto none = BuildGeneration(*plan, 2, {.progress = &cancelled});
  ASSERT_FALSE(none.ok());
  EXPECT_EQ(none.status().code(), Code::kFailedPrecondition);
  EXPECT_NE(none.status().message().find("cancelled"), std::string::npos);
}

TEST(ImageTest, LeftOutDependencyEntriesAreOneWarningAndListedWhole) {
  TempDir d, deps;
  WriteFixture(d);
  deps.Write("pkg/__init__.py", "");
  for (int i = 0; i < 5; ++i) {
    ASSERT_EQ(::symlink("/usr/lib/libfoo.so",
                        (deps.path() + "/pkg/lib" + std::to_string(i) + ".so").c_str()),
              0);
  }
  auto plan = PlanProject(WithDeps(d, deps));
  ASSERT_TRUE(plan.ok()) << plan.status().message();
  EXPECT_EQ(plan->left_out.size(), 5u);
  EXPECT_EQ(plan->left_out.front(),
            "dependencies: left out symlink `pkg/lib0.so` -> `/usr/lib/libfoo.so`: it is absolute");
  const auto summary =
      std::count_if(plan->warnings.begin(), plan->warnings.end(),
                    [](const std::string& w) { return w.starts_with("dependencies:"); });
  EXPECT_EQ(summary, 1);
  EXPECT_NE(
      std::find(plan->warnings.begin(), plan->warnings.end(),
                "dependencies: left out 5 entries (links that are absolute or leave the tree, "
                "special files), the first: left out symlink `pkg/lib0.so` -> "
                "`/usr/lib/libfoo.so`: it is absolute; `ocifs inspect` lists them all under "
                "left_out"),
      plan->warnings.end());
}

TEST(ImageTest, ExtensionModulesForAnotherPythonAreAWarning) {
  struct Case {
    std::string python;
    bool warned;
  };
  for (const Case& c : {Case{"3.11", false}, Case{"3.12", true}}) {
    TempDir d, deps;
    WriteFixture(d);
    deps.Write("fast/__init__.py", "");
    deps.Write("fast/_speed.cpython-311-x86_64-linux-gnu.so", "ELF");
    deps.Write("fast/_pure.abi3.so", "ELF");  // the stable ABI: any CPython 3
    PlanInputs in;
    in.project_dir = d.path();
    in.flags.base = "scratch";
    in.flags.platform = "linux/amd64";
    in.flags.deps = deps.path();
    in.flags.python = c.python;
    auto plan = PlanProject(in);
    ASSERT_TRUE(plan.ok()) << plan.status().message();
    const std::string want =
        "dependencies: extension modules built for CPython 3.11 (e.g. "
        "`_speed.cpython-311-x86_64-linux-gnu.so`) will not import in the image's Python 3.12 "
        "(the python setting); install the dependencies with Python 3.12, or set --python";
    EXPECT_EQ(std::find(plan->warnings.begin(), plan->warnings.end(), want) != plan->warnings.end(),
              c.warned)
        << c.python << ": " << (plan->warnings.empty() ? "" : plan->warnings.back());
  }
}

// A plan of one application layer: `tree` packed under /app.
ImagePlan OneLayerPlan(std::shared_ptr<const Tree> tree) {
  PackOptions o;
  o.dest = "app";
  auto packed = PackTree(std::move(tree), o);
  EXPECT_TRUE(packed.ok());
  ImagePlan plan;
  auto project = std::make_shared<ResolvedProject>();
  project->platform = {"linux", "amd64", ""};
  project->workdir = "/app";
  project->tags = {"latest"};
  plan.project = project;
  plan.layers.push_back({"application", "test", VirtualTar::Build(std::move(packed->entries), 0)});
  return plan;
}

// The acceptance of the generations issue: a warm start reads no file content, and its digests
// equal the cold ones.
TEST(BuildGenerationTest, WarmBuildReadsNoFileContentFromTheDigestCache) {
  auto tree = std::make_shared<MemTree>();
  tree->AddFile("main.py", "print('hi')\n")
      .AddDir("pkg")
      .AddFile("pkg/a.py", std::string(100000, 'a'));
  TempDir d;
  auto cache = DigestCache::Open(d.path());
  ASSERT_TRUE(cache.ok());

  auto plan_once = [&] { return OneLayerPlan(tree); };
  auto cold_plan = plan_once();
  auto cold = BuildGeneration(cold_plan, 1, {.cache = cache->get()});
  ASSERT_TRUE(cold.ok()) << cold.status().message();
  EXPECT_EQ((*cold)->from_cache(), std::vector<bool>{false});
  const uint64_t reads_after_cold = tree->content_reads();
  EXPECT_GT(reads_after_cold, 0u);

  auto warm_plan = plan_once();
  auto warm = BuildGeneration(warm_plan, 2, {.cache = cache->get()});
  ASSERT_TRUE(warm.ok());
  EXPECT_EQ(tree->content_reads(), reads_after_cold) << "a warm build must not read file content";
  EXPECT_EQ((*warm)->from_cache(), std::vector<bool>{true});
  EXPECT_EQ((*warm)->manifest_digest(), (*cold)->manifest_digest());
  EXPECT_EQ((*warm)->index_json(), (*cold)->index_json());

  // A changed file changes the key: that layer is hashed again, with a new digest.
  tree->Modify("main.py", "print('bye')\n");
  auto changed_plan = plan_once();
  auto changed = BuildGeneration(changed_plan, 3, {.cache = cache->get()});
  ASSERT_TRUE(changed.ok());
  EXPECT_EQ((*changed)->from_cache(), std::vector<bool>{false});
  EXPECT_GT(tree->content_reads(), reads_after_cold);
  EXPECT_NE((*changed)->own_layers()[0].descriptor.digest,
            (*cold)->own_layers()[0].descriptor.digest);
}

// What a server may store ahead: the chunks given to on_layer_bytes are the layer's bytes, each
// once, at page-aligned offsets, offset 0 first, and together hash to its digest; a layer the
// cache knows gives none. (After the first they come from two threads, in no set order.)
TEST(BuildGenerationTest, HashedChunksAreTheLayerAtPageAlignedOffsets) {
  auto tree = std::make_shared<MemTree>();
  tree->AddFile("big.bin", std::string(9 * 1024 * 1024 + 12345, 'b')).AddFile("a.py", "x = 1\n");
  ImagePlan plan = OneLayerPlan(tree);
  auto tar = plan.layers[0].tar;

  TempDir d;
  auto cache = DigestCache::Open(d.path());
  ASSERT_TRUE(cache.ok());
  std::mutex mu;
  std::map<uint64_t, std::string> chunks;  // by offset
  std::vector<uint64_t> calls;             // offsets, in the order of the calls
  LayerBytesFn keep = [&](const VirtualTar& layer, uint64_t offset,
                          std::span<const std::byte> bytes) {
    EXPECT_EQ(&layer, tar.get());
    std::lock_guard lock(mu);
    EXPECT_TRUE(
        chunks
            .emplace(offset, std::string(reinterpret_cast<const char*>(bytes.data()), bytes.size()))
            .second)
        << "chunk at " << offset << " given twice";
    calls.push_back(offset);
  };
  auto g = BuildGeneration(plan, 1, {.cache = cache->get(), .on_layer_bytes = keep});
  ASSERT_TRUE(g.ok()) << g.status().message();
  ASSERT_FALSE(calls.empty());
  EXPECT_EQ(calls.front(), 0u) << "the first chunk comes first";
  EXPECT_GE(calls.size(), 10u);
  std::string stored;
  for (const auto& [offset, bytes] : chunks) {
    EXPECT_EQ(offset, stored.size()) << "a gap or an overlap";
    EXPECT_EQ(offset % 4096, 0u) << offset;
    stored += bytes;
  }
  ASSERT_EQ(stored.size(), tar->size());
  EXPECT_EQ(Digest::Of(stored), (*g)->own_layers()[0].descriptor.digest);

  chunks.clear();
  calls.clear();
  auto warm = BuildGeneration(plan, 2, {.cache = cache->get(), .on_layer_bytes = keep});
  ASSERT_TRUE(warm.ok());
  EXPECT_TRUE(calls.empty()) << "a layer from the digest cache is not read";
}

}  // namespace
}  // namespace ocifs
