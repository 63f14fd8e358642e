#include "core/plugins/plugin_host.h"
#include "core/pipeline/pipeline.h"

#include <gtest/gtest.h>

#include "core/support/test_util.h"
#include "ocifs/plugin.h"

namespace ocifs {
namespace {

using json = nlohmann::json;
namespace fs = std::filesystem;

// Built by tests/plugin_fixtures/CMakeLists.txt.
std::string Fixture(const std::string& name) {
  return std::string(OCIFS_TEST_PLUGIN_DIR) + "/" + name + ".so";
}

void WriteProject(const TempDir& d, const std::string& app = "print('hello')\n") {
  d.Write("pyproject.toml",
          "[project]\nname = \"probe-app\"\nversion = \"1.0\"\n"
          "dependencies = [\"flask>=2\", \"Flask_Login ; python_version>'3'\"]\n");
  d.Write("app.py", app);
  d.Write("secret.txt", "not for the image\n");
}

struct Planned {
  Result<ImagePlan> plan = Internal("not planned");
  std::vector<std::string> load_warnings;
  std::shared_ptr<PluginHost> host;
};

Planned PlanWith(const std::string& dir, std::vector<std::string> files, ImageOptions flags = {}) {
  Planned out;
  PluginSearch search;
  search.files = std::move(files);
  auto host = PluginHost::Load(search, &out.load_warnings);
  if (!host.ok()) {
    out.plan = host.status();
    return out;
  }
  out.host = std::move(host).value();
  PlanInputs in;
  in.project_dir = dir;
  flags.base = "scratch";
  flags.platform = "linux/amd64";
  in.flags = std::move(flags);
  in.source_date_epoch = "1700000000";
  in.plugins = out.host;
  out.plan = PlanProject(in);
  return out;
}

const PlannedLayer* Layer(const ImagePlan& plan, const std::string& name) {
  for (const auto& l : plan.layers) {
    if (l.name == name) return &l;
  }
  return nullptr;
}

bool HasEntry(const PlannedLayer& l, const std::string& name) {
  for (const auto& e : l.tar->entries()) {
    if (e.name == name) return true;
  }
  return false;
}

TEST(PluginHostTest, AbiLoadingRule) {
  struct Case {
    AbiVersion host, plugin;
    bool ok;
  } cases[] = {
      {{0, 1}, {0, 1}, true},  {{0, 2}, {0, 1}, false},  // major 0: exact minor
      {{0, 1}, {0, 2}, false}, {{1, 3}, {1, 0}, true},   // older minor loads
      {{1, 3}, {1, 3}, true},  {{1, 3}, {1, 4}, false},  // newer minor does not
      {{1, 0}, {2, 0}, false}, {{2, 0}, {1, 9}, false},  // other majors never
  };
  for (const auto& c : cases) {
    EXPECT_EQ(AbiCompatible(c.host, c.plugin), c.ok)
        << c.host.major << "." << c.host.minor << " vs " << c.plugin.major << "." << c.plugin.minor;
  }
  EXPECT_EQ(HostAbiVersion().major, OCIFS_PLUGIN_ABI_MAJOR);
}

TEST(PluginHostTest, BrokenPluginsAreRefusedNamingTheFileAndTheReason) {
  TempDir scratch;
  scratch.Write("not-a-plugin.so", "this is text, not ELF");
  struct Case {
    std::string file;
    std::string reason;
  } cases[] = {
      {Fixture("broken_no_entry"), "does not export `ocifs_plugin_entry`"},
      {Fixture("broken_wrong_major"), "built for plugin ABI 1.3; this ocifs has ABI 0.3"},
      {Fixture("broken_newer_minor"), "built for plugin ABI 0.4; this ocifs has ABI 0.3"},
      {Fixture("broken_too_small"), "its descriptor is too small (48 bytes; ABI 0.3 needs 80)"},
      {Fixture("broken_null_descriptor"), "returned no descriptor"},
      {Fixture("broken_null_capabilities"), "offers no capability"},
      {scratch.path() + "/not-a-plugin.so", "cannot be loaded"},
      {scratch.path() + "/missing.so", "no such file"},
  };
  for (const auto& c : cases) {
    PluginSearch search;
    search.files = {c.file};
    std::vector<std::string> warnings;
    auto host = PluginHost::Load(search, &warnings);
    ASSERT_FALSE(host.ok()) << c.file;
    EXPECT_NE(host.status().message().find(c.file), std::string::npos) << host.status().message();
    EXPECT_NE(host.status().message().find(c.reason), std::string::npos) << host.status().message();
  }
}

TEST(PluginHostTest, FailuresAtRunTimeFailThePlanNamingThePlugin) {
  TempDir d;
  WriteProject(d);
  struct Case {
    std::string fixture;
    std::string message;
  } cases[] = {
      {"broken_returns_error", "plugin `broken` (detect) failed: no framework found in app.py"},
      {"throws", "plugin `throws` (detect) failed: cannot parse app.py"},
      {"throws_raw",
       "plugin `throws-raw` (detect): an exception crossed the C ABI: raw exception from detect"},
      {"broken_bad_port", "plugin `broken` (detect) gave a bad value: port `99999`"},
  };
  for (const auto& c : cases) {
    auto p = PlanWith(d.path(), {Fixture(c.fixture)});
    ASSERT_FALSE(p.plan.ok()) << c.fixture;
    EXPECT_NE(p.plan.status().message().find(c.message), std::string::npos)
        << p.plan.status().message();
  }
}

TEST(PluginHostTest, ACPluginContributesBelowWhatTheUserSaid) {
  TempDir d;
  WriteProject(d);
  auto p = PlanWith(d.path(), {Fixture("c_probe")});
  ASSERT_TRUE(p.plan.ok()) << p.plan.status().message();
  json c = ImageConfig(*p.plan, {})["config"];
  EXPECT_EQ(c["Labels"]["probe.app-py"], "hello");
  EXPECT_EQ(c["Cmd"], json({"python3", "-m", "app"}));
  EXPECT_FALSE(c.contains("Entrypoint"));
  EXPECT_TRUE(c["ExposedPorts"].contains("8080/tcp"));
  EXPECT_NE(std::find(c["Env"].begin(), c["Env"].end(), "PROBE=1"), c["Env"].end());
  EXPECT_EQ(
      c["Healthcheck"],
      json({{"Test", {"CMD", "python3", "-c"}}, {"Interval", 30000000000LL}, {"Retries", 3}}));
  EXPECT_EQ(p.plan->project->entrypoint_reason,
            "plugin `c-probe` (a plugin's command replaces ocifs's own guess, the top-level "
            "`app.py`)");
  // Its layer sits on top, with the facts it was given.
  ASSERT_EQ(p.plan->layers.back().name, "probe");
  const PlannedLayer& probe = p.plan->layers.back();
  EXPECT_TRUE(HasEntry(probe, "etc/probe/facts.json"));
  EXPECT_TRUE(HasEntry(probe, "etc/probe/latest"));
  EXPECT_TRUE(HasEntry(probe, "etc"));

  // What the user says wins: flags over the plugin's command, label, port set is a union.
  ImageOptions flags;
  flags.cmd = std::vector<std::string>{"python3", "app.py"};
  flags.labels = {{"probe.app-py", "mine"}};
  flags.expose = {"9000/tcp"};
  flags.healthcheck = Healthcheck{};  // NONE
  auto mine = PlanWith(d.path(), {Fixture("c_probe")}, flags);
  ASSERT_TRUE(mine.plan.ok()) << mine.plan.status().message();
  json m = ImageConfig(*mine.plan, {})["config"];
  EXPECT_EQ(m["Cmd"], json({"python3", "app.py"}));
  EXPECT_EQ(m["Labels"]["probe.app-py"], "mine");
  EXPECT_TRUE(m["ExposedPorts"].contains("9000/tcp"));
  EXPECT_TRUE(m["ExposedPorts"].contains("8080/tcp"));
  EXPECT_EQ(m["Healthcheck"], json({{"Test", {"NONE"}}}));

  // Settings reach the plugin; a changed setting makes a new instance.
  ImageOptions port;
  port.plugins["c-probe"]["port"] = "7000";
  auto other = PlanWith(d.path(), {Fixture("c_probe")}, port);
  ASSERT_TRUE(other.plan.ok()) << other.plan.status().message();
  EXPECT_TRUE(ImageConfig(*other.plan, {})["config"]["ExposedPorts"].contains("7000/tcp"));
  ImageOptions bad;
  bad.plugins["c-probe"]["colour"] = "red";
  auto refused = PlanWith(d.path(), {Fixture("c_probe")}, bad);
  ASSERT_FALSE(refused.plan.ok());
  EXPECT_NE(refused.plan.status().message().find(
                "plugin `c-probe` (init) failed: unknown setting (known: port)"),
            std::string::npos)
      << refused.plan.status().message();
}

TEST(PluginHostTest, ACppPluginExcludesFilesAndItsLayerIsDeterministic) {
  TempDir d;
  WriteProject(d);
  ImageOptions flags;
  flags.plugins["cpp-probe"] = {{"exclude", "secret.txt"}, {"label", "x"}, {"user", "1000"}};
  auto a = PlanWith(d.path(), {Fixture("cpp_probe")}, flags);
  ASSERT_TRUE(a.plan.ok()) << a.plan.status().message();
  const PlannedLayer* app = Layer(*a.plan, "application");
  ASSERT_NE(app, nullptr);
  EXPECT_TRUE(HasEntry(*app, "app/app.py"));
  EXPECT_FALSE(HasEntry(*app, "app/secret.txt"));
  json c = ImageConfig(*a.plan, {})["config"];
  EXPECT_EQ(c["Entrypoint"], json({"/bin/sh", "-c"}));
  EXPECT_EQ(c["Cmd"], json({"exec python3 -m app"}));
  EXPECT_EQ(c["Labels"]["cpp-probe.label"], "x");
  EXPECT_EQ(c["User"], "1000");
  const PlannedLayer* layer = Layer(*a.plan, "cpp-probe");
  ASSERT_NE(layer, nullptr);
  EXPECT_TRUE(HasEntry(*layer, "opt/cpp-probe/bin/hello"));

  // The artifact step reads the facts of the plan after detection: the files the exclusion took
  // out are gone from them too (the facts are made again), and listed without it.
  auto application_files = [](const ImagePlan& plan) {
    for (const PlannedArtifact& artifact : plan.artifacts) {
      if (artifact.ref_suffix == "probe.facts")
        return json::parse(*artifact.content)["application_files"];
    }
    return json();
  };
  EXPECT_EQ(application_files(*a.plan), json({"app.py", "pyproject.toml"}));
  ImageOptions keep = flags;
  keep.plugins["cpp-probe"].erase("exclude");
  auto kept = PlanWith(d.path(), {Fixture("cpp_probe")}, keep);
  ASSERT_TRUE(kept.plan.ok()) << kept.plan.status().message();
  EXPECT_EQ(application_files(*kept.plan), json({"app.py", "pyproject.toml", "secret.txt"}));

  // Same inputs, same digests, plugin layer included.
  auto ga = BuildGeneration(*a.plan, 1);
  auto b = PlanWith(d.path(), {Fixture("cpp_probe")}, flags);
  ASSERT_TRUE(b.plan.ok());
  auto gb = BuildGeneration(*b.plan, 1);
  ASSERT_TRUE(ga.ok() && gb.ok());
  EXPECT_EQ((*ga)->manifest_digest(), (*gb)->manifest_digest());
  EXPECT_EQ((*ga)->own_layers().size(), 2u);

  // An unknown setting is named.
  ImageOptions typo;
  typo.plugins["cpp-probe"]["lable"] = "x";
  auto t = PlanWith(d.path(), {Fixture("cpp_probe")}, typo);
  ASSERT_FALSE(t.plan.ok());
  EXPECT_NE(t.plan.status().message().find("unknown setting `lable`"), std::string::npos)
      << t.plan.status().message();
}

TEST(PluginHostTest, GenerationPluginsSeeEachGenerationAndCanFailIt) {
  TempDir d;
  WriteProject(d);
  ImageOptions flags;
  flags.plugins["cpp-probe"]["fail-generation"] = "2";
  auto p = PlanWith(d.path(), {Fixture("cpp_probe"), Fixture("c_probe")}, flags);
  ASSERT_TRUE(p.plan.ok()) << p.plan.status().message();
  auto g1 = BuildGeneration(*p.plan, 1);
  ASSERT_TRUE(g1.ok());
  Status s1 = p.host->OnGeneration(**g1);
  EXPECT_TRUE(s1.ok()) << s1.message();
  auto g2 = BuildGeneration(*p.plan, 2);
  ASSERT_TRUE(g2.ok());
  Status s2 = p.host->OnGeneration(**g2);
  EXPECT_EQ(s2.message(), "plugin `cpp-probe` (generation) failed: told to fail generation 2");
}

TEST(PluginHostTest, ArtifactsAreAttachedToTheImageManifestOncePerTag) {
  TempDir d;
  WriteProject(d);
  ImageOptions flags;
  flags.tags = {"latest", "1.0"};
  auto p = PlanWith(d.path(), {Fixture("c_probe"), Fixture("cpp_probe")}, flags);
  ASSERT_TRUE(p.plan.ok()) << p.plan.status().message();
  ASSERT_EQ(p.plan->artifacts.size(), 2u);  // scratch: no base layer, so no "probe.base"
  auto g = BuildGeneration(*p.plan, 1);
  ASSERT_TRUE(g.ok()) << g.status().message();
  const json index = json::parse((*g)->index_json());
  std::vector<std::string> refs;
  for (const auto& m : index["manifests"])
    refs.push_back(m["annotations"]["org.opencontainers.image.ref.name"]);
  EXPECT_EQ(refs, (std::vector<std::string>{"latest", "1.0", "latest.c-probe", "latest.probe.facts",
                                            "1.0.c-probe", "1.0.probe.facts"}));
  const json& desc = index["manifests"][3];
  EXPECT_EQ(desc["artifactType"], "application/vnd.ocifs.probe.facts+json");
  EXPECT_EQ(desc["digest"], index["manifests"][5]["digest"]);  // the same manifest for each tag
  EXPECT_FALSE(desc.contains("platform"));

  auto blob_json = [&](const std::string& digest) {
    const Blob* b = (*g)->FindBlob(digest.substr(7));
    EXPECT_NE(b, nullptr) << digest;
    return b ? json::parse(static_cast<const MemoryBlob*>(b)->data()) : json();
  };
  const json manifest = blob_json(desc["digest"]);
  EXPECT_EQ(manifest["artifactType"], desc["artifactType"]);
  EXPECT_EQ(manifest["config"]["mediaType"], "application/vnd.oci.empty.v1+json");
  EXPECT_EQ(manifest["config"]["digest"],
            "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a");
  EXPECT_EQ(manifest["config"]["data"], "e30=");
  EXPECT_EQ(blob_json(manifest["config"]["digest"]), json::object());
  EXPECT_EQ(manifest["subject"]["digest"], (*g)->manifest_digest().str());
  EXPECT_EQ(manifest["subject"]["mediaType"], "application/vnd.oci.image.manifest.v1+json");
  ASSERT_EQ(manifest["layers"].size(), 1u);
  EXPECT_EQ(manifest["layers"][0]["mediaType"], "application/json");
  EXPECT_EQ(blob_json(manifest["layers"][0]["digest"])["name"], "probe-app");  // the facts

  // A tag that is also an artifact's ref name would make index.json ambiguous: refused by the
  // plan, so that a mount refuses it before it returns (not first when index.json is built).
  ImageOptions clash = flags;
  clash.tags = {"latest", "latest.c-probe"};
  auto clashing = PlanWith(d.path(), {Fixture("c_probe")}, clash);
  ASSERT_FALSE(clashing.plan.ok());
  EXPECT_EQ(clashing.plan.status().message(),
            "tag `latest.c-probe` is also the ref name of plugin `c-probe`'s artifact for tag "
            "`latest`; rename the tag");
  // A tag given twice is listed once, with a warning.
  ImageOptions twice = flags;
  twice.tags = {"latest", "v1", "latest"};
  auto planned_twice = PlanWith(d.path(), {Fixture("c_probe")}, twice);
  ASSERT_TRUE(planned_twice.plan.ok()) << planned_twice.plan.status().message();
  EXPECT_EQ(planned_twice.plan->project->tags, (std::vector<std::string>{"latest", "v1"}));
  EXPECT_NE(std::find(planned_twice.plan->warnings.begin(), planned_twice.plan->warnings.end(),
                      "tag `latest` is given twice; index.json lists it once"),
            planned_twice.plan->warnings.end());

  // Refused attachments name the plugin and the reason.
  struct Case {
    std::string suffix, want;
  } cases[] = {
      {"Bad_Suffix",
       "plugin `cpp-probe` (artifact) failed: the host refused artifact Bad_Suffix (after: "
       "artifact ref suffix `Bad_Suffix` (want [a-z0-9]+ parts joined by '.' or '-'))"},
      {"c-probe", "artifact ref suffix `c-probe` attached twice"},
      {"a..b", "artifact ref suffix `a..b`"},
  };
  for (const auto& c : cases) {
    ImageOptions bad = flags;
    bad.plugins["cpp-probe"]["artifact-suffix"] = c.suffix;
    auto b = PlanWith(d.path(), {Fixture("c_probe"), Fixture("cpp_probe")}, bad);
    ASSERT_FALSE(b.plan.ok()) << c.suffix;
    EXPECT_NE(b.plan.status().message().find(c.want), std::string::npos)
        << b.plan.status().message();
  }
}

TEST(PluginHostTest, DirectoriesLoadInOrderAndRefuseQuietly) {
  TempDir one, two, project;
  WriteProject(project);
  fs::copy_file(Fixture("c_probe"), one.path() + "/a-c-probe.so");
  fs::copy_file(Fixture("broken_wrong_major"), one.path() + "/b-broken.so");
  fs::copy_file(Fixture("c_probe"), two.path() + "/c-probe-again.so");
  fs::copy_file(Fixture("cpp_probe"), two.path() + "/cpp-probe.so");
  one.Write("README.txt", "not a plugin: no .so suffix");

  PluginSearch search;
  search.dirs = PluginDirs((one.path() + "::" + two.path()).c_str(), "");
  ASSERT_EQ(search.dirs.size(), 2u);
  std::vector<std::string> warnings;
  auto host = PluginHost::Load(search, &warnings);
  ASSERT_TRUE(host.ok()) << host.status().message();
  ASSERT_EQ((*host)->loaded().size(), 2u);
  EXPECT_EQ((*host)->loaded()[0].name, "c-probe");
  EXPECT_EQ((*host)->loaded()[1].name, "cpp-probe");
  EXPECT_EQ((*host)->loaded()[1].capabilities,
            (std::vector<std::string>{"detect", "layer", "artifact", "generation"}));
  ASSERT_EQ(warnings.size(), 2u);
  EXPECT_NE(warnings[0].find("b-broken.so` refused: it was built for plugin ABI 1.3"),
            std::string::npos)
      << warnings[0];
  EXPECT_NE(warnings[1].find("c-probe-again.so` skipped: `" + one.path() + "/a-c-probe.so"),
            std::string::npos)
      << warnings[1];

  // --disable-plugin, --no-plugins.
  search.disabled = {"c-probe"};
  auto fewer = PluginHost::Load(search, nullptr);
  ASSERT_TRUE(fewer.ok());
  ASSERT_EQ((*fewer)->loaded().size(), 1u);
  EXPECT_EQ((*fewer)->loaded()[0].name, "cpp-probe");
  search.none = true;
  auto none = PluginHost::Load(search, nullptr);
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE((*none)->empty());

  // `ocifs plugins` lists everything with a .so suffix, refusals included.
  search.none = false;
  search.disabled.clear();
  auto found = FindPlugins(search);
  ASSERT_EQ(found.size(), 4u);
  EXPECT_EQ(found[0].refused, "");
  EXPECT_EQ(found[1].refused.substr(0, 25), "it was built for plugin A");
  EXPECT_EQ(found[2].refused, "skipped: `" + one.path() + "/a-c-probe.so` is loaded already");
}

TEST(PluginHostTest, SaysWhenNoPluginDirectoryExists) {
  TempDir empty;
  const std::string gone = empty.path() + "/lib/ocifs/plugins";
  struct Case {
    std::string name;
    std::vector<std::string> dirs, files;
    bool none;
    bool warned;
  };
  const std::vector<Case> cases = {
      {"no directory exists", {empty.path() + "/a", gone}, {}, false, true},
      {"no directory is known", {}, {}, false, true},
      {"an empty directory is a choice", {gone, empty.path()}, {}, false, false},
      {"--no-plugins", {gone}, {}, true, false},
      {"--plugin FILE", {gone}, {Fixture("c_probe")}, false, false},
  };
  for (const auto& c : cases) {
    PluginSearch search;
    search.dirs = c.dirs;
    search.files = c.files;
    search.none = c.none;
    std::vector<std::string> warnings;
    auto host = PluginHost::Load(search, &warnings);
    ASSERT_TRUE(host.ok()) << c.name << ": " << host.status().message();
    const auto said = MissingPluginDirsWarning(search);
    EXPECT_EQ(said.has_value(), c.warned) << c.name;
    EXPECT_EQ(warnings.size(), c.warned ? 1u : 0u) << c.name;
    if (!c.warned || warnings.empty()) continue;
    EXPECT_EQ(warnings[0], *said) << c.name;
    EXPECT_NE(warnings[0].find("no plugin directory found"), std::string::npos) << warnings[0];
    EXPECT_NE(warnings[0].find("no SBOM"), std::string::npos) << warnings[0];
    for (const auto& dir : c.dirs) {
      EXPECT_NE(warnings[0].find("`" + dir + "`"), std::string::npos) << warnings[0];
    }
  }
}

TEST(PluginHostTest, NeverLoadsFromTheProjectOrTheMount) {
  TempDir project, mnt;
  WriteProject(project);
  fs::copy_file(Fixture("c_probe"), project.path() + "/evil.so");
  PluginSearch search;
  search.files = {project.path() + "/evil.so"};
  search.forbidden = {project.path(), mnt.path()};
  auto host = PluginHost::Load(search, nullptr);
  ASSERT_FALSE(host.ok());
  EXPECT_NE(host.status().message().find("never loaded from the project or the mount"),
            std::string::npos)
      << host.status().message();
  // A search directory inside the project is refused file by file, as a warning.
  search.files.clear();
  search.dirs = {project.path()};
  std::vector<std::string> warnings;
  host = PluginHost::Load(search, &warnings);
  ASSERT_TRUE(host.ok());
  EXPECT_TRUE((*host)->empty());
  ASSERT_EQ(warnings.size(), 1u);
}

TEST(PluginHostTest, ContributionsMerge) {
  ResolvedProject p;
  p.options.env = {{"USER_SET", "1"}};
  p.env = {{"USER_SET", "1"}, {"PYTHONUNBUFFERED", "1"}};
  p.entrypoint = std::vector<std::string>{"python3", "/app/main.py"};  // built-in detection
  Contribution a, b;
  a.plugin = "a";
  b.plugin = "b";
  a.cmd = std::vector<std::string>{"gunicorn", "app:app"};
  a.env = {{"USER_SET", "plugin"}, {"PORT", "8000"}};
  a.labels = {{"framework", "flask"}};
  a.expose = {"8000/tcp"};
  b.cmd = std::vector<std::string>{"uvicorn", "app:app"};
  b.env = {{"PORT", "9000"}};
  b.labels = {{"framework", "fastapi"}};
  b.expose = {"8000/tcp", "9000/tcp"};
  b.healthcheck = Healthcheck{.test = {"true"}};
  std::vector<std::string> warnings;
  ApplyContributions(p, {a, b}, warnings);
  EXPECT_FALSE(p.entrypoint);  // the plugin's command replaces the built-in guess entirely
  EXPECT_EQ(p.cmd, (std::vector<std::string>{"gunicorn", "app:app"}));
  EXPECT_EQ(p.env, (KeyValues{{"USER_SET", "1"}, {"PYTHONUNBUFFERED", "1"}, {"PORT", "8000"}}));
  EXPECT_EQ(p.labels, (KeyValues{{"framework", "flask"}}));
  EXPECT_EQ(p.expose, (std::vector<std::string>{"8000/tcp", "9000/tcp"}));
  ASSERT_TRUE(p.healthcheck);
  EXPECT_EQ(p.healthcheck->test, std::vector<std::string>{"true"});
  EXPECT_EQ(warnings,
            (std::vector<std::string>{
                "plugins `a` and `b` both set the command; `a`'s is used (the first loaded wins)",
                "plugins `a` and `b` both set env PORT; `a`'s is used (the first loaded wins)",
                "plugins `a` and `b` both set label framework; `a`'s is used (the first loaded "
                "wins)"}));
}

TEST(PluginHostTest, FactsListTheLayersAndTheDistributions) {
  TempDir d, venv;
  WriteProject(d);
  d.Write("pkg/__init__.py", "");
  // Names that JSON must escape, and one beyond ASCII.
  d.Write("data/quote\"back\\slash\ttab.txt", "");
  d.Write("data/caf\u00e9.txt", "");
  venv.Write("pyvenv.cfg", "version = 3.11.2\n");
  venv.Write("lib/python3.11/site-packages/Flask-2.2.2.dist-info/METADATA", "Name: Flask\n");
  venv.Write("lib/python3.11/site-packages/flask/__init__.py", "");
  venv.Write("lib/python3.11/site-packages/zope.interface-5.5.2.egg-info/PKG-INFO", "");
  ImageOptions flags;
  flags.deps = venv.path();
  auto p = PlanWith(d.path(), {}, flags);
  ASSERT_TRUE(p.plan.ok()) << p.plan.status().message();
  json facts = ProjectFacts(*p.plan);
  EXPECT_EQ(facts["name"], "probe-app");
  EXPECT_EQ(facts["python"], "3.11");
  EXPECT_EQ(facts["workdir"], "/app");
  EXPECT_EQ(facts["pyproject"]["project"]["dependencies"][0], "flask>=2");
  EXPECT_EQ(facts["application_files"],
            json({"app.py", "data/caf\u00e9.txt", "data/quote\"back\\slash\ttab.txt",
                  "pkg/__init__.py", "pyproject.toml", "secret.txt"}));
  EXPECT_EQ(facts["dependencies"], json({"flask", "zope-interface"}));
  EXPECT_EQ(facts["declared_dependencies"], json({"flask", "flask-login"}));
  EXPECT_EQ(facts["base"],
            json({{"reference", "scratch"}, {"digest", nullptr}, {"layers", json::array()}}));
  EXPECT_NE(std::find(facts["dependency_files"].begin(), facts["dependency_files"].end(),
                      "flask/__init__.py"),
            facts["dependency_files"].end());
}

TEST(PluginHostTest, FactsSeeTheExtraDependencyTreesAsOneSitePackages) {
  TempDir d, deps, tools;
  WriteProject(d);
  deps.Write("Flask-2.2.2.dist-info/METADATA", "Name: Flask\n");
  deps.Write("flask/__init__.py", "low");
  deps.Write("shared.py", "the lower layer's");
  tools.Write("pytest-8.3.2.dist-info/METADATA", "Name: pytest\n");
  tools.Write("_pytest/__init__.py", "");
  tools.Write("shared.py", "the upper layer's");
  ImageOptions flags;
  flags.deps = deps.path();
  flags.extra_deps = std::vector<std::string>{tools.path()};
  flags.python = "3.11";
  auto p = PlanWith(d.path(), {}, flags);
  ASSERT_TRUE(p.plan.ok()) << p.plan.status().message();
  json facts = ProjectFacts(*p.plan);
  EXPECT_EQ(facts["dependencies"], json({"flask", "pytest"}));
  EXPECT_EQ(facts["dependency_files"],
            json({"Flask-2.2.2.dist-info/METADATA", "_pytest/__init__.py", "flask/__init__.py",
                  "pytest-8.3.2.dist-info/METADATA", "shared.py"}));
}

}  // namespace
}  // namespace ocifs
