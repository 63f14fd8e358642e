// The sbom plugin through the real host, on a fixture project with a dependencies tree and a
// local base layout (its parsers and writers have their own tests beside them).
#include <filesystem>
#include <map>
#include <set>
#include <string>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "core/pipeline/pipeline.h"
#include "core/plugins/plugin_host.h"
#include "core/support/digest.h"
#include "core/support/test_util.h"
#include "sbom_test_util.h"

namespace ocifs::sbom {
namespace {

using json = nlohmann::json;

// A local base layout: one gzip layer with os-release and a dpkg status, one plain layer on top
// that replaces the status (whiteout + new file) to show that the top layer wins.
struct BaseLayout {
  TempDir dir;

  std::string Put(const std::string& content) {
    const Digest d = Digest::Of(content);
    dir.Write("blobs/sha256/" + d.hex(), content);
    return d.str();
  }

  explicit BaseLayout(const std::string& top_status) {
    dir.Write("oci-layout", R"({"imageLayoutVersion":"1.0.0"})");
    const std::string lower_tar = Tar({
        {"./etc/os-release", "", '2', "../usr/lib/os-release"},
        {"./usr/lib/os-release", "ID=debian\nVERSION_ID=\"12\"\nPRETTY_NAME=\"Debian 12\"\n"},
        {"./var/lib/dpkg/status", "Package: old\nStatus: install ok installed\nVersion: 1\n"},
    });
    const std::string lower = Gzip(lower_tar);
    const std::string upper =
        Tar({{"var/lib/dpkg/.wh.status", ""}, {"var/lib/dpkg/status", top_status}});
    const std::string config =
        json({{"architecture", "amd64"},
              {"os", "linux"},
              {"rootfs",
               {{"type", "layers"},
                {"diff_ids", {Digest::Of(lower_tar).str(), Digest::Of(upper).str()}}}}})
            .dump();
    const json manifest = {{"schemaVersion", 2},
                           {"mediaType", "application/vnd.oci.image.manifest.v1+json"},
                           {"config",
                            {{"mediaType", "application/vnd.oci.image.config.v1+json"},
                             {"digest", Put(config)},
                             {"size", config.size()}}},
                           {"layers",
                            {{{"mediaType", "application/vnd.oci.image.layer.v1.tar+gzip"},
                              {"digest", Put(lower)},
                              {"size", lower.size()}},
                             {{"mediaType", "application/vnd.oci.image.layer.v1.tar"},
                              {"digest", Put(upper)},
                              {"size", upper.size()}}}}};
    const std::string m = manifest.dump();
    dir.Write("index.json",
              json({{"schemaVersion", 2},
                    {"manifests",
                     {{{"mediaType", "application/vnd.oci.image.manifest.v1+json"},
                       {"digest", Put(m)},
                       {"size", m.size()},
                       {"annotations", {{"org.opencontainers.image.ref.name", "12"}}}}}}})
                  .dump());
  }
};

const char kStatus[] =
    "Package: libc6\nStatus: install ok installed\nArchitecture: amd64\nVersion: 2.36-9+deb12u4\n"
    "Source: glibc\n\n"
    "Package: python3-minimal\nStatus: install ok installed\nArchitecture: amd64\n"
    "Version: 3.11.2-1+b1\nDepends: libc6 (>= 2.34)\n\n"
    "Package: gone\nStatus: purge ok not-installed\nArchitecture: amd64\nVersion: 1\n";

struct Planned {
  Result<ImagePlan> plan = Internal("not planned");
  std::vector<std::string> logged;
  std::map<std::string, std::string> artifacts;  // ref suffix -> content
};

Planned PlanWithSbom(const std::string& project_dir, const std::string& deps,
                     const std::string& base, std::vector<std::string> plugin_opts = {},
                     const std::string& cache_dir = "") {
  Planned out;
  PluginSearch search;
  search.files = {OCIFS_SBOM_PLUGIN};
  auto host = PluginHost::Load(search, nullptr);
  if (!host.ok()) {
    out.plan = host.status();
    return out;
  }
  PlanInputs in;
  in.project_dir = project_dir;
  in.flags.base = base;
  in.flags.deps = deps;
  in.flags.python = "3.11";
  in.flags.platform = "linux/amd64";
  in.source_date_epoch = "1700000000";
  for (const auto& o : plugin_opts) EXPECT_TRUE(AddPluginOption(in.flags.plugins, o).ok()) << o;
  in.plugins = std::move(host).value();
  in.plugins->set_log([&](LogLevel, const std::string& m) { out.logged.push_back(m); });
  in.plugins->set_cache_dir(cache_dir);
  out.plan = PlanProject(in);
  if (out.plan.ok()) {
    for (const auto& a : out.plan->artifacts) out.artifacts[a.ref_suffix] = *a.content;
  }
  return out;
}

struct Fixture {
  TempDir project, deps;
  BaseLayout base{kStatus};

  Fixture() {
    project.Write("pyproject.toml",
                  "[project]\nname = \"svc\"\nversion = \"1.2\"\nlicense = \"MIT\"\n"
                  "dependencies = [\"fastapi>=0.9\", \"colorama; sys_platform == 'win32'\"]\n");
    project.Write("main.py", "print('svc')\n");
    const std::string sp = "lib/python3.11/site-packages/";
    deps.Write("pyvenv.cfg", "version = 3.11.2\n");
    deps.Write(sp + "fastapi-0.92.0.dist-info/METADATA",
               "Metadata-Version: 2.1\nName: fastapi\nVersion: 0.92.0\nSummary: FastAPI\n"
               "Project-URL: Homepage, https://github.com/tiangolo/fastapi\n"
               "License-Expression: MIT\nRequires-Dist: starlette<0.26\nRequires-Dist: pydantic\n"
               "Requires-Dist: httpx>=0.23.0; extra == 'all'\n\nlong description\n");
    deps.Write(sp + "fastapi-0.92.0.dist-info/RECORD", "");
    deps.Write(sp + "starlette-0.26.1.dist-info/METADATA",
               "Name: starlette\nVersion: 0.26.1\nLicense-Expression: BSD-3-Clause\n"
               "Requires-Dist: anyio<5,>=3.4.0\n"
               "Requires-Dist: typing-extensions>=3.10.0; python_version < '3.10'\n");
    deps.Write(sp + "anyio-3.6.2.egg-info/PKG-INFO", "Name: anyio\nVersion: 3.6.2\nLicense: MIT\n");
    deps.Write(sp + "anyio-3.6.2.egg-info/requires.txt",
               "idna>=2.8\nsniffio>=1.1\n\n[:python_version < \"3.8\"]\ntyping_extensions\n\n"
               "[trio]\ntrio<0.22\n");
    deps.Write(sp + "typing_extensions-4.4.0.dist-info/METADATA",
               "Name: typing_extensions\nVersion: 4.4.0\n"
               "Classifier: License :: OSI Approved :: Python Software Foundation License\n");
    deps.Write(sp + "idna-3.3-py3.11.egg-info",
               "Name: idna\nVersion: 3.3\nLicense: BSD-3-Clause\n");
    deps.Write(sp + "colorama-0.4.6.dist-info/METADATA",
               "Name: colorama\nVersion: 0.4.6\n"
               "Classifier: License :: OSI Approved :: BSD License\n");
    deps.Write(sp + "colorama/__init__.py", "");
  }
  std::string Base() { return "oci:" + base.dir.path() + ":12"; }
};

std::map<std::string, json> PackagesByName(const json& spdx) {
  std::map<std::string, json> out;
  for (const auto& p : spdx["packages"]) out[p["name"]] = p;
  return out;
}

std::set<std::string> Depends(const json& spdx, const std::string& from) {
  std::map<std::string, std::string> names;
  for (const auto& p : spdx["packages"]) names[p["SPDXID"]] = p["name"];
  std::set<std::string> out;
  for (const auto& r : spdx["relationships"]) {
    if (r["relationshipType"] == "DEPENDS_ON" && names[r["spdxElementId"]] == from)
      out.insert(names[r["relatedSpdxElement"]]);
  }
  return out;
}

TEST(SbomPluginTest, DescribesTheProjectItsDistributionsAndTheBasePackages) {
  Fixture fx;
  Planned p = PlanWithSbom(fx.project.path(), fx.deps.path(), fx.Base());
  ASSERT_TRUE(p.plan.ok()) << p.plan.status().message();
  ASSERT_EQ(p.artifacts.size(), 2u);
  const json spdx = json::parse(p.artifacts.at("sbom.spdx"));
  const auto pkgs = PackagesByName(spdx);
  std::set<std::string> names;
  for (const auto& [name, pkg] : pkgs) names.insert(name);
  // "svc" twice (the image and the application) is one name here.
  const std::string layout_name = fx.base.dir.path().substr(fx.base.dir.path().rfind('/') + 1);
  EXPECT_EQ(names, (std::set<std::string>{"svc", layout_name + ":12", "debian", "libc6",
                                          "python3-minimal", "anyio", "colorama", "fastapi", "idna",
                                          "starlette", "typing_extensions"}))
      << spdx.dump(1);
  EXPECT_EQ(spdx["creationInfo"]["created"], "2023-11-14T22:13:20Z");
  EXPECT_EQ(pkgs.at("fastapi")["versionInfo"], "0.92.0");
  EXPECT_EQ(pkgs.at("fastapi")["licenseDeclared"], "MIT");
  EXPECT_EQ(pkgs.at("fastapi")["homepage"], "https://github.com/tiangolo/fastapi");
  EXPECT_EQ(pkgs.at("typing_extensions")["externalRefs"][0]["referenceLocator"],
            "pkg:pypi/typing-extensions@4.4.0");
  EXPECT_EQ(pkgs.at("typing_extensions")["licenseDeclared"], "NOASSERTION");
  EXPECT_EQ(pkgs.at("idna")["versionInfo"], "3.3");
  EXPECT_EQ(pkgs.at("idna")["licenseDeclared"], "BSD-3-Clause");
  EXPECT_EQ(pkgs.at("libc6")["externalRefs"][0]["referenceLocator"],
            "pkg:deb/debian/libc6@2.36-9%2Bdeb12u4?arch=amd64&distro=debian-12");
  EXPECT_EQ(pkgs.at("libc6")["sourceInfo"], "built from source package glibc");
  EXPECT_EQ(pkgs.at(layout_name + ":12")["primaryPackagePurpose"], "CONTAINER");
  EXPECT_EQ(pkgs.at("debian")["versionInfo"], "12");
  // Relations: installed targets whose markers hold; extras and absent ones are not there.
  EXPECT_EQ(Depends(spdx, "fastapi"), std::set<std::string>{"starlette"});
  EXPECT_EQ(Depends(spdx, "starlette"), std::set<std::string>{"anyio"});
  EXPECT_EQ(Depends(spdx, "anyio"), std::set<std::string>{"idna"});
  EXPECT_EQ(Depends(spdx, "python3-minimal"), std::set<std::string>{"libc6"});

  const json cdx = json::parse(p.artifacts.at("sbom.cyclonedx"));
  std::set<std::string> purls;
  for (const auto& c : cdx["components"])
    if (c.contains("purl")) purls.insert(c["purl"]);
  EXPECT_TRUE(purls.count("pkg:pypi/fastapi@0.92.0"));
  EXPECT_TRUE(
      purls.count("pkg:deb/debian/python3-minimal@3.11.2-1%2Bb1?arch=amd64&distro=debian-12"));
  const std::string base_digest = p.plan->base.manifest_digest->str();
  std::string purl_name = layout_name;
  std::transform(purl_name.begin(), purl_name.end(), purl_name.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  EXPECT_TRUE(purls.count("pkg:oci/" + purl_name + "@" + base_digest + "?tag=12"))
      << cdx["components"].dump(1);
  // The application depends on what [project] dependencies names and is installed.
  for (const auto& d : cdx["dependencies"]) {
    if (d["ref"] == "application") {
      EXPECT_EQ(d["dependsOn"], json::array({"pkg:pypi/fastapi@0.92.0"}));
    }
  }
}

TEST(SbomPluginTest, SameInputsGiveTheSameBytes) {
  Fixture fx;
  Planned a = PlanWithSbom(fx.project.path(), fx.deps.path(), fx.Base());
  Planned b = PlanWithSbom(fx.project.path(), fx.deps.path(), fx.Base());
  ASSERT_TRUE(a.plan.ok() && b.plan.ok());
  EXPECT_EQ(a.artifacts, b.artifacts);
}

TEST(SbomPluginTest, SettingsChooseFormatsLayerAndBasePackages) {
  Fixture fx;
  {
    Planned p = PlanWithSbom(fx.project.path(), fx.deps.path(), fx.Base(),
                             {"sbom.formats=cyclonedx", "sbom.cyclonedx-version=1.6",
                              "sbom.include-base-packages=false"});
    ASSERT_TRUE(p.plan.ok()) << p.plan.status().message();
    ASSERT_EQ(p.artifacts.size(), 1u);
    const json cdx = json::parse(p.artifacts.at("sbom.cyclonedx"));
    EXPECT_EQ(cdx["specVersion"], "1.6");
    for (const auto& c : cdx["components"]) EXPECT_NE(c["type"], "operating-system");
    EXPECT_EQ(p.plan->layers.back().name, "application");
  }
  {
    Planned p = PlanWithSbom(fx.project.path(), fx.deps.path(), fx.Base(),
                             {"sbom.in-image=true", "sbom.formats=[\"spdx\"]"});
    ASSERT_TRUE(p.plan.ok()) << p.plan.status().message();
    const PlannedLayer& top = p.plan->layers.back();
    EXPECT_EQ(top.name, "sbom");
    std::set<std::string> names;
    for (const auto& e : top.tar->entries()) names.insert(e.name);
    EXPECT_TRUE(names.count("usr/share/doc/sbom/sbom.spdx.json")) << *names.begin();
    EXPECT_EQ(p.artifacts.size(), 1u);
    // The file in the image and the artifact are the same document.
    for (const auto& e : top.tar->entries()) {
      if (e.name == "usr/share/doc/sbom/sbom.spdx.json") {
        ASSERT_TRUE(e.data);
        EXPECT_EQ(*e.data, p.artifacts.at("sbom.spdx"));
      }
    }
  }
  {
    // The same from pyproject.toml: a TOML array and a boolean.
    TempDir project;
    project.Write("main.py", "print('hi')\n");
    project.Write("pyproject.toml",
                  "[project]\nname = \"svc\"\nversion = \"1\"\n"
                  "[tool.ocifs.plugins.sbom]\nformats = [\"cyclonedx\"]\nin-image = true\n");
    Planned p = PlanWithSbom(project.path(), fx.deps.path(), fx.Base());
    ASSERT_TRUE(p.plan.ok()) << p.plan.status().message();
    EXPECT_EQ(p.artifacts.size(), 1u);
    EXPECT_TRUE(p.artifacts.count("sbom.cyclonedx"));
    EXPECT_EQ(p.plan->layers.back().name, "sbom");
  }
  {
    Planned p = PlanWithSbom(fx.project.path(), fx.deps.path(), fx.Base(), {"sbom.formats="});
    ASSERT_TRUE(p.plan.ok()) << p.plan.status().message();
    EXPECT_TRUE(p.artifacts.empty());
  }
  struct Bad {
    std::string opt, message;
  } bad[] = {
      {"sbom.formats=spdx,swid", "`swid` is not spdx or cyclonedx"},
      {"sbom.in-image=yes", "want true or false"},
      {"sbom.cyclonedx-version=1.4", "want 1.5 or 1.6"},
      {"sbom.colour=blue", "unknown setting `colour`"},
  };
  for (const auto& b : bad) {
    Planned p = PlanWithSbom(fx.project.path(), fx.deps.path(), fx.Base(), {b.opt});
    ASSERT_FALSE(p.plan.ok()) << b.opt;
    EXPECT_NE(p.plan.status().message().find(b.message), std::string::npos)
        << p.plan.status().message();
  }
}

// Flips a byte of the base's gzip layer (its reads then fail their digest check in the host);
// returns the layer's digest.
std::string CorruptLowerLayer(BaseLayout& base) {
  const json index = json::parse(ReadFileOrDie(base.dir.path() + "/index.json"));
  const std::string manifest_digest = index["manifests"][0]["digest"];
  const json manifest =
      json::parse(ReadFileOrDie(base.dir.path() + "/blobs/sha256/" + manifest_digest.substr(7)));
  const std::string layer_digest = manifest["layers"][0]["digest"];
  std::string bytes = ReadFileOrDie(base.dir.path() + "/blobs/sha256/" + layer_digest.substr(7));
  bytes[bytes.size() / 2] ^= 0x55;
  base.dir.Write("blobs/sha256/" + layer_digest.substr(7), bytes);
  return layer_digest;
}

TEST(SbomPluginTest, AnUnreadableBaseLayerLeavesTheOsPackagesOutAndSaysSo) {
  Fixture fx;
  const std::string layer_digest = CorruptLowerLayer(fx.base);
  Planned p = PlanWithSbom(fx.project.path(), fx.deps.path(), fx.Base());
  ASSERT_TRUE(p.plan.ok()) << p.plan.status().message();
  ASSERT_EQ(p.logged.size(), 1u);
  EXPECT_NE(p.logged[0].find("OS packages are left out of the SBOM: base layer " + layer_digest),
            std::string::npos)
      << p.logged[0];
  const json spdx = json::parse(p.artifacts.at("sbom.spdx"));
  const auto pkgs = PackagesByName(spdx);
  EXPECT_FALSE(pkgs.count("libc6"));
  EXPECT_TRUE(pkgs.count("fastapi"));
  const std::string layout_name = fx.base.dir.path().substr(fx.base.dir.path().rfind('/') + 1);
  EXPECT_NE(
      pkgs.at(layout_name + ":12")["comment"].get<std::string>().find("does not match its digest"),
      std::string::npos);
  const json cdx = json::parse(p.artifacts.at("sbom.cyclonedx"));
  ASSERT_EQ(cdx["compositions"].size(), 1u);
  EXPECT_EQ(cdx["compositions"][0]["aggregate"], "incomplete");
}

TEST(SbomPluginTest, ScansOfBaseLayersAreKeptInThePluginsCacheDirectory) {
  Fixture fx;
  TempDir cache;
  Planned first = PlanWithSbom(fx.project.path(), fx.deps.path(), fx.Base(), {}, cache.path());
  ASSERT_TRUE(first.plan.ok()) << first.plan.status().message();
  const std::string layers = cache.path() + "/plugins/sbom/layers";
  size_t files = 0;
  for (const auto& e : std::filesystem::directory_iterator(layers)) {
    EXPECT_EQ(e.path().filename().string().size(), 64u) << e.path();
    ++files;
  }
  EXPECT_EQ(files, 2u);  // one scan per base layer
  EXPECT_EQ(std::filesystem::status(cache.path() + "/plugins/sbom").permissions() &
                std::filesystem::perms::all,
            std::filesystem::perms::owner_all);

  // The layer can no longer be read, but its scan is kept: the same documents.
  const std::string layer_digest = CorruptLowerLayer(fx.base);
  Planned cached = PlanWithSbom(fx.project.path(), fx.deps.path(), fx.Base(), {}, cache.path());
  ASSERT_TRUE(cached.plan.ok()) << cached.plan.status().message();
  EXPECT_TRUE(cached.logged.empty());
  EXPECT_EQ(cached.artifacts, first.artifacts);

  // A damaged cache file is not trusted: the layer is read again (and now fails).
  std::string text = ReadFileOrDie(layers + "/" + layer_digest.substr(7));
  text[text.size() / 2] ^= 1;
  cache.Write("plugins/sbom/layers/" + layer_digest.substr(7), text);
  Planned damaged = PlanWithSbom(fx.project.path(), fx.deps.path(), fx.Base(), {}, cache.path());
  ASSERT_TRUE(damaged.plan.ok());
  ASSERT_EQ(damaged.logged.size(), 1u);
  EXPECT_NE(damaged.logged[0].find("left out"), std::string::npos) << damaged.logged[0];
}

TEST(SbomPluginTest, BrokenMetadataIsListedWithoutAPurlAndAWarning) {
  TempDir project, deps;
  project.Write("main.py", "print('hi')\n");
  deps.Write("pyvenv.cfg", "version = 3.11.2\n");
  deps.Write("lib/python3.11/site-packages/odd-1.0.dist-info/METADATA",
             "Name: not a name!\nVersion: 1.0\n");
  deps.Write("lib/python3.11/site-packages/bare.dist-info/METADATA", "Summary: no name\n");
  Planned p = PlanWithSbom(project.path(), deps.path(), "scratch");
  ASSERT_TRUE(p.plan.ok()) << p.plan.status().message();
  EXPECT_EQ(p.logged,
            (std::vector<std::string>{
                "plugin `sbom`: bare.dist-info/METADATA: no Name or Version; taken from the "
                "directory name",
                "plugin `sbom`: bare.dist-info/METADATA: `bare` has no version; it is listed "
                "without a purl",
                "plugin `sbom`: odd-1.0.dist-info/METADATA: `not a name!` is not a distribution "
                "name; it is listed without a purl"}));
  const auto pkgs = PackagesByName(json::parse(p.artifacts.at("sbom.spdx")));
  EXPECT_FALSE(pkgs.at("not a name!").contains("externalRefs"));
  EXPECT_EQ(pkgs.at("bare")["summary"], "no name");
}

TEST(SbomPluginTest, ScratchAndProjectsWithoutDependencies) {
  TempDir project, deps;
  project.Write("main.py", "print('hi')\n");
  deps.Write("pyvenv.cfg", "version = 3.11.2\n");
  deps.Write("lib/python3.11/site-packages/click-8.1.3.dist-info/METADATA",
             "Name: click\nVersion: 8.1.3\n");
  Planned p = PlanWithSbom(project.path(), deps.path(), "scratch");
  ASSERT_TRUE(p.plan.ok()) << p.plan.status().message();
  const json spdx = json::parse(p.artifacts.at("sbom.spdx"));
  // No [project] dependencies: the application depends on the roots of the installed graph.
  const auto pkgs = PackagesByName(spdx);
  EXPECT_TRUE(pkgs.count("click"));
  EXPECT_EQ(spdx["packages"].size(), 3u);  // image, application, click
  std::string app_name = spdx["packages"][1]["name"];
  EXPECT_EQ(Depends(spdx, app_name), std::set<std::string>{"click"});
}

}  // namespace
}  // namespace ocifs::sbom
