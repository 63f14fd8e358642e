// The sbom plugin: a software bill of materials of what is really in the image, as SPDX 2.3 and
// CycloneDX 1.5 (or 1.6) JSON, attached to the image as OCI 1.1 artifacts ("latest.sbom.spdx",
// "latest.sbom.cyclonedx") and, with `in-image`, also as files of a layer on top of the image
// (usr/share/doc/sbom/), describing the layers below it.
//
// What it describes, all read from the image's own layers (never the host's environment):
//   * the project (the application layer): name, version, license and dependencies from
//     pyproject.toml;
//   * every distribution of the dependencies layer: its *.dist-info/METADATA or egg-info PKG-INFO
//     (name, version, license, summary, home page, purl pkg:pypi/NAME@VERSION) and the relations
//     of its Requires-Dist (or requires.txt) whose target is installed and whose marker holds;
//   * the base image (reference, digest) and, when its layers can be read (a local layout), its
//     distribution (os-release) and OS packages (dpkg status, status.d, or the apk database).
//
// Settings ([tool.ocifs.plugins.sbom], --plugin-opt sbom.KEY=VALUE):
//   formats                ["spdx", "cyclonedx"] (default both; a TOML array or "spdx,cyclonedx";
//                          empty: no SBOM)
//   in-image               true | false (default false): also put the documents in the image
//   include-base-packages  true | false (default true): list the base image's OS packages
//   cyclonedx-version      "1.5" (default) | "1.6"
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <optional>
#include <regex>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "documents.h"
#include "licenses.h"
#include "ocifs/plugin.hpp"
#include "ocifs/reference.hpp"
#include "os_packages.h"
#include "python_metadata.h"
#include "text.h"

namespace ocifs::sbom {
namespace {

using json = nlohmann::json;
using sdk::Error;

constexpr uint64_t kMaxMetadataBytes = 4 << 20;
constexpr size_t kReadChunk = 1 << 20;

struct Format {
  const char* name;           // as the setting says it
  const char* ref_suffix;     // index.json: TAG.SUFFIX
  const char* artifact_type;  // also the document's media type
  const char* file;           // in the image, with in-image
};
constexpr std::array<Format, 2> kFormats = {{
    {"spdx", "sbom.spdx", "application/spdx+json", "usr/share/doc/sbom/sbom.spdx.json"},
    {"cyclonedx", "sbom.cyclonedx", "application/vnd.cyclonedx+json",
     "usr/share/doc/sbom/sbom.cyclonedx.json"},
}};

bool Bool(const sdk::Settings& settings, std::string_view key, bool fallback) {
  std::optional<std::string_view> v = settings.Get(key);
  if (!v) return fallback;
  if (*v == "true") return true;
  if (*v == "false") return false;
  throw Error(
      "setting `" + std::string(key) + "`: want true or false, not `" + std::string(*v) + "`",
      OCIFS_ERR_INVALID_ARGUMENT);
}

std::vector<const Format*> ParseFormats(std::string_view value) {
  std::vector<std::string> words;
  if (value.starts_with("[")) {
    const json list = json::parse(value, nullptr, false);
    if (!list.is_array())
      throw Error("setting `formats`: not an array", OCIFS_ERR_INVALID_ARGUMENT);
    for (const auto& w : list) {
      if (!w.is_string())
        throw Error("setting `formats`: want strings, got " + w.dump(), OCIFS_ERR_INVALID_ARGUMENT);
      words.push_back(w.get<std::string>());
    }
  } else {
    for (std::string_view w : Split(value, ',')) words.emplace_back(w);
  }
  std::vector<const Format*> out;
  for (const auto& w : words) {
    auto it = std::find_if(kFormats.begin(), kFormats.end(),
                           [&](const Format& f) { return w == f.name; });
    if (it == kFormats.end())
      throw Error("setting `formats`: `" + w + "` is not spdx or cyclonedx",
                  OCIFS_ERR_INVALID_ARGUMENT);
    if (std::find(out.begin(), out.end(), &*it) == out.end()) out.push_back(&*it);
  }
  return out;
}

// What the plugin reads of the facts: of the file lists, the metadata files only.
struct Facts {
  json doc;                                 // without the file lists
  std::vector<std::string> metadata_files;  // of dependency_files: dist metadata, requires.txt
};

// Whether a dependencies-layer path (relative to site-packages) is one the SBOM reads.
bool IsMetadataFile(std::string_view path) {
  const size_t slash = path.find('/');
  if (slash == std::string_view::npos) return path.ends_with(".egg-info");  // a PKG-INFO file
  const std::string_view top = path.substr(0, slash), rest = path.substr(slash + 1);
  if (top.ends_with(".dist-info")) return rest == "METADATA";
  if (top.ends_with(".egg-info")) return rest == "PKG-INFO" || rest == "requires.txt";
  return false;
}

// The members it uses, parsed; the file lists walked in the raw text (sdk::FactsView).
Facts ParseFacts(std::string_view text) {
  Facts f;
  const sdk::FactsView view(text);
  f.doc = json::object();
  for (const char* key :
       {"name", "version", "python", "platform", "created", "pyproject", "base"}) {
    if (auto raw = view.Get(key)) f.doc[key] = json::parse(*raw);
  }
  if (auto files = view.Get("dependency_files")) {
    sdk::FactsView::ForEachString(*files, [&](std::string_view path) {
      if (IsMetadataFile(path)) f.metadata_files.emplace_back(path);
    });
  }
  return f;
}

std::string Str(const json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : "";
}

std::string HomepageOf(const Headers& h) {
  auto first = [&](const char* key) -> std::string {
    auto it = h.find(key);
    return it == h.end() || it->second.empty() ? "" : it->second.front();
  };
  std::string home = first("Home-page");
  if (!home.empty() && home != "UNKNOWN") return home;
  auto it = h.find("Project-URL");
  if (it == h.end()) return "";
  for (const auto& entry : it->second) {
    // "Homepage, https://..."
    const size_t comma = entry.find(',');
    if (comma == std::string::npos) continue;
    std::string label = NormalizeName(entry.substr(0, comma));
    if (label == "homepage" || label == "home") {
      std::string url = entry.substr(comma + 1);
      url.erase(0, url.find_first_not_of(' '));
      return url;
    }
  }
  return "";
}

struct BaseName {
  std::string name;            // shown: "python:3.12-slim"; a local layout by its directory's name
  std::string repository;      // purl name: last path part, lower case
  std::string repository_url;  // registries only
  std::string tag;
};

// "oci:/var/cache/base:3.11-slim" -> {"base:3.11-slim", "base", "", "3.11-slim"};
// "registry.example/team/python:3.12" -> {..., "python", "registry.example/team/python", "3.12"}.
BaseName ParseBaseReference(std::string_view ref) {
  const sdk::ReferenceParts parts = sdk::SplitReference(ref);
  BaseName b;
  b.tag = parts.tag.value_or("");
  std::string_view repo = parts.name;
  while (repo.ends_with("/")) repo.remove_suffix(1);
  std::string_view last = repo.substr(repo.rfind('/') + 1);
  for (char c : last)
    b.repository += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (!parts.layout) b.repository_url = std::string(repo);
  b.name = parts.layout ? std::string(last) + (b.tag.empty() ? "" : ":" + b.tag) : std::string(ref);
  return b;
}

class SbomPlugin {
 public:
  static constexpr const char* kName = "sbom";
  static constexpr const char* kVersion = "1.0.0";
  static constexpr const char* kDescription =
      "SPDX and CycloneDX bills of materials, attached as OCI artifacts";
  static constexpr const char* kLayerName = "sbom";

  explicit SbomPlugin(const sdk::Settings& settings) {
    settings.RequireKnown({"formats", "in-image", "include-base-packages", "cyclonedx-version"});
    formats_ = ParseFormats(settings.GetOr("formats", "spdx,cyclonedx"));
    in_image_ = Bool(settings, "in-image", false);
    base_packages_ = Bool(settings, "include-base-packages", true);
    cache_dir_ = settings.cache_dir();
    cyclonedx_version_ = std::string(settings.GetOr("cyclonedx-version", "1.5"));
    if (cyclonedx_version_ != "1.5" && cyclonedx_version_ != "1.6")
      throw Error("setting `cyclonedx-version`: want 1.5 or 1.6, not `" + cyclonedx_version_ + "`",
                  OCIFS_ERR_INVALID_ARGUMENT);
  }

  void WriteLayer(sdk::Context& ctx, const sdk::Project& project, sdk::LayerWriter& layer) {
    if (!in_image_ || formats_.empty()) return;
    // The host asks for the artifacts right after the layers, with the same facts: keep the
    // documents for that call. Every plan calls WriteLayer first, so they are never stale.
    last_facts_ = std::string(project.facts_json());
    last_documents_ = Documents(Collect(ctx, project));
    for (size_t i = 0; i < formats_.size(); ++i)
      layer.AddFile(formats_[i]->file, last_documents_[i]);
  }

  void WriteArtifacts(sdk::Context& ctx, const sdk::Project& project, sdk::Artifacts& artifacts) {
    if (formats_.empty()) return;
    std::vector<std::string> documents = in_image_ && last_facts_ == project.facts_json()
                                             ? std::move(last_documents_)
                                             : Documents(Collect(ctx, project));
    last_facts_.clear();
    last_documents_.clear();
    for (size_t i = 0; i < formats_.size(); ++i) {
      const Format* f = formats_[i];
      artifacts.Add(f->ref_suffix, f->artifact_type, f->artifact_type, documents[i]);
    }
  }

 private:
  // One document per format, in formats_ order.
  std::vector<std::string> Documents(const Sbom& sbom) const {
    std::vector<std::string> out;
    for (const Format* f : formats_) {
      out.push_back(std::string_view(f->name) == "spdx" ? SpdxJson(sbom)
                                                        : CycloneDxJson(sbom, cyclonedx_version_));
    }
    return out;
  }

  Sbom Collect(sdk::Context& ctx, const sdk::Project& project) {
    const Facts facts = ParseFacts(project.facts_json());
    const json& f = facts.doc;
    Sbom sbom;
    sbom.name = Str(f, "name").empty() ? "app" : Str(f, "name");
    sbom.version = Str(f, "version");
    sbom.created = Str(f, "created").empty() ? "1970-01-01T00:00:00Z" : Str(f, "created");
    sbom.tool_version = kVersion;

    std::vector<Component> python = PythonComponents(ctx, project, facts);
    sbom.components.push_back(Application(f, python));
    const json base = f.value("base", json::object());
    const std::string reference = Str(base, "reference");
    if (!reference.empty() && reference != "scratch") {
      Component image = BaseImage(reference, Str(base, "digest"));
      std::vector<Component> os;
      if (base_packages_) os = OsPackages(ctx, project, base, image);
      sbom.components.push_back(std::move(image));
      for (auto& c : os) sbom.components.push_back(std::move(c));
    }
    for (auto& c : python) sbom.components.push_back(std::move(c));
    return sbom;
  }

  // The distributions of the dependencies layer, sorted by normalized name.
  std::vector<Component> PythonComponents(sdk::Context& ctx, const sdk::Project& project,
                                          const Facts& facts) const {
    struct Dist {
      std::string dir, metadata, requires_txt;
    };
    std::map<std::string, Dist> dists;  // by directory (or egg-info file) name
    for (const auto& path : facts.metadata_files) {
      const size_t slash = path.find('/');
      Dist& d = dists[path.substr(0, slash)];
      d.dir = path.substr(0, slash);
      if (path.ends_with("/requires.txt"))
        d.requires_txt = path;
      else
        d.metadata = path;
    }
    const json& f = facts.doc;
    const MarkerEnvironment env = LinuxEnvironment(Str(f, "python"), Str(f, "platform"));
    struct Read {
      Component c;
      std::vector<Requirement> requires_;
    };
    std::vector<Read> read;
    for (const auto& [dir, d] : dists) {
      if (d.metadata.empty()) continue;  // a requires.txt without PKG-INFO
      std::optional<std::string> text =
          project.ReadFile(d.metadata, OCIFS_LAYER_DEPENDENCIES, kMaxMetadataBytes);
      const Headers h = text ? ParseHeaders(*text) : Headers();
      auto first = [&](const char* key) -> std::string {
        auto it = h.find(key);
        return it == h.end() || it->second.empty() ? "" : it->second.front();
      };
      const sdk::python::DistDir stem =
          sdk::python::ParseDistDir(dir).value_or(sdk::python::DistDir{dir, ""});
      Read r;
      r.c.kind = Component::Kind::kPython;
      r.c.name = first("Name").empty() ? stem.name : first("Name");
      r.c.version = first("Version").empty() ? stem.version : first("Version");
      if (first("Name").empty() || first("Version").empty())
        ctx.Warning(d.metadata + ": no Name or Version; taken from the directory name");
      const DeclaredLicense license = LicenseOf(h);
      r.c.license = license.expression;
      r.c.license_name = license.name;
      r.c.summary = first("Summary");
      r.c.homepage = HomepageOf(h);
      const std::string normalized = NormalizeName(r.c.name);
      r.c.key = "pypi/" + normalized;
      // A name that is not a distribution name (hostile or broken metadata) gets no purl.
      static const std::regex kDistName("[a-z0-9]([a-z0-9-]*[a-z0-9])?");
      if (std::regex_match(normalized, kDistName) && !r.c.version.empty())
        r.c.purl = "pkg:pypi/" + normalized + "@" + PurlEncode(r.c.version);
      else
        ctx.Warning(d.metadata + ": `" + r.c.name + "` " +
                    (r.c.version.empty() ? "has no version" : "is not a distribution name") +
                    "; it is listed without a purl");
      if (auto it = h.find("Requires-Dist"); it != h.end()) {
        for (const auto& line : it->second) {
          if (std::optional<Requirement> req = ParseRequirement(line)) r.requires_.push_back(*req);
        }
      } else if (!d.requires_txt.empty()) {
        if (auto txt =
                project.ReadFile(d.requires_txt, OCIFS_LAYER_DEPENDENCIES, kMaxMetadataBytes))
          r.requires_ = ParseRequiresTxt(*txt);
      }
      read.push_back(std::move(r));
    }
    std::sort(read.begin(), read.end(), [](const Read& a, const Read& b) {
      return std::tie(a.c.key, a.c.version) < std::tie(b.c.key, b.c.version);
    });
    // The same distribution twice (a dist-info and an egg-info of one version) is listed once;
    // two versions of one name are both listed, the second with its version in the key.
    std::vector<Read> unique;
    std::string last_key, last_version;
    for (auto& r : read) {
      if (r.c.key == last_key) {
        if (r.c.version == last_version) continue;
        ctx.Warning("two versions of " + r.c.name + " in the dependencies layer: " + last_version +
                    " and " + r.c.version);
        last_version = r.c.version;
        r.c.key += "/" + r.c.version;
      } else {
        last_key = r.c.key;
        last_version = r.c.version;
      }
      unique.push_back(std::move(r));
    }
    std::map<std::string, std::string> key_of;  // normalized name -> key (the first)
    for (const auto& r : unique) key_of.emplace(NormalizeName(r.c.name), r.c.key);
    std::vector<Component> out;
    for (auto& r : unique) {
      r.c.depends_on = Resolve(r.requires_, env, key_of, r.c.key);
      out.push_back(std::move(r.c));
    }
    return out;
  }

  // The keys of the requirements that are installed and whose markers do not rule them out.
  static std::vector<std::string> Resolve(const std::vector<Requirement>& requirements,
                                          const MarkerEnvironment& env,
                                          const std::map<std::string, std::string>& key_of,
                                          const std::string& self) {
    std::set<std::string> keys;
    for (const auto& req : requirements) {
      if (!req.marker.empty() && EvaluateMarker(req.marker, env) == std::optional(false)) continue;
      auto it = key_of.find(NormalizeName(req.name));
      if (it != key_of.end() && it->second != self) keys.insert(it->second);
    }
    return {keys.begin(), keys.end()};
  }

  static Component Application(const json& f, const std::vector<Component>& python) {
    Component c;
    c.kind = Component::Kind::kApplication;
    c.key = "application";
    c.name = Str(f, "name").empty() ? "app" : Str(f, "name");
    c.version = Str(f, "version");
    const json pyproject = f.value("pyproject", json::object());
    const json project =
        pyproject.is_object() ? pyproject.value("project", json::object()) : json::object();
    if (!project.is_object()) return c;
    c.summary = Str(project, "description");
    // PEP 639 `license = "MIT OR Apache-2.0"`, or the older `license = {text = "..."}`.
    const json license = project.value("license", json());
    std::optional<std::string> expression;
    if (license.is_string()) {
      expression = CanonicalExpression(license.get<std::string>());
      if (!expression) c.license_name = license.get<std::string>();
    } else if (license.is_object() && license.contains("text")) {
      expression = ExpressionFromText(Str(license, "text"));
      if (!expression) c.license_name = Str(license, "text").substr(0, 80);
    }
    if (!expression && project.value("classifiers", json()).is_array()) {
      std::vector<std::string> classifiers;
      for (const auto& cl : project["classifiers"])
        if (cl.is_string()) classifiers.push_back(cl.get<std::string>());
      expression = ExpressionFromClassifiers(classifiers);
    }
    if (expression) {
      c.license = *expression;
      c.license_name.clear();
    }
    const json urls = project.value("urls", json::object());
    if (urls.is_object()) {
      for (const auto& [label, url] : urls.items()) {
        const std::string l = NormalizeName(label);
        if ((l == "homepage" || l == "home") && url.is_string())
          c.homepage = url.get<std::string>();
      }
    }
    // What it depends on: [project] dependencies that are installed; without that table, the
    // installed distributions no other one requires (the roots of the graph).
    std::map<std::string, std::string> key_of;
    for (const auto& p : python) key_of.emplace(NormalizeName(p.name), p.key);
    const json declared = project.value("dependencies", json());
    if (declared.is_array()) {
      std::vector<Requirement> reqs;
      for (const auto& d : declared) {
        if (!d.is_string()) continue;
        if (std::optional<Requirement> r = ParseRequirement(d.get<std::string>()))
          reqs.push_back(*r);
      }
      c.depends_on =
          Resolve(reqs, LinuxEnvironment(Str(f, "python"), Str(f, "platform")), key_of, c.key);
    } else {
      std::set<std::string> required;
      for (const auto& p : python) required.insert(p.depends_on.begin(), p.depends_on.end());
      for (const auto& p : python) {
        if (!required.count(p.key)) c.depends_on.push_back(p.key);
      }
    }
    return c;
  }

  static Component BaseImage(const std::string& reference, const std::string& digest) {
    const BaseName b = ParseBaseReference(reference);
    Component c;
    c.kind = Component::Kind::kBaseImage;
    c.key = "base";
    c.name = b.name;
    c.version = digest;
    if (digest.starts_with("sha256:")) {
      c.sha256 = digest.substr(7);
      std::vector<std::string> qualifiers;
      if (!b.repository_url.empty())
        qualifiers.push_back("repository_url=" + PurlEncode(b.repository_url));
      if (!b.tag.empty()) qualifiers.push_back("tag=" + PurlEncode(b.tag));
      c.purl = "pkg:oci/" + PurlEncode(b.repository) + "@" + PurlEncode(digest);
      for (size_t i = 0; i < qualifiers.size(); ++i) c.purl += (i ? "&" : "?") + qualifiers[i];
    }
    return c;
  }

  // The base's distribution and packages, when its layers can be read. When one cannot (not
  // stored here, or not what its digest says, or not a tar), the packages are left out, the
  // base component says why, and a warning tells the user: the image itself is served as ever.
  std::vector<Component> OsPackages(sdk::Context& ctx, const sdk::Project& project,
                                    const json& base, Component& base_image) {
    std::vector<Component> out;
    std::vector<const LayerFiles*> stack;
    std::map<std::string, std::shared_ptr<const LayerFiles>> used;
    for (const auto& l : base.value("layers", json::array())) {
      const std::string digest = Str(l, "digest");
      auto it = layers_.find(digest);
      std::shared_ptr<const LayerFiles> files;
      if (it != layers_.end()) {
        files = it->second;
      } else {
        try {
          files = Cached(digest);
          if (!files) {
            files = ScanLayer(project, digest, Str(l, "mediaType"));
            Store(ctx, digest, *files);
          }
        } catch (const Error& e) {
          base_image.incomplete = std::string("the OS packages: ") + e.what();
          ctx.Warning("the base's OS packages are left out of the SBOM: " + std::string(e.what()));
          return {};
        }
      }
      used[digest] = files;
      stack.push_back(files.get());
    }
    layers_ = std::move(used);  // what another base used is not kept
    const OsInventory inv = InventoryOf(StackLayers(stack));
    if (!inv.os.id.empty()) {
      Component os;
      os.kind = Component::Kind::kOperatingSystem;
      os.key = "os";
      os.name = inv.os.id;
      os.version = inv.os.version_id;
      os.summary = inv.os.pretty_name;
      out.push_back(std::move(os));
    }
    const std::string type = inv.database == "apk" ? "apk" : "deb";
    const std::string ns = !inv.os.id.empty() ? inv.os.id : type == "apk" ? "alpine" : "debian";
    const std::string distro =
        inv.os.id.empty() || inv.os.version_id.empty() ? "" : inv.os.id + "-" + inv.os.version_id;
    std::map<std::string, std::string> key_of;
    for (const auto& p : inv.packages) key_of.emplace(p.name, type + "/" + p.name + "/" + p.arch);
    for (const auto& p : inv.packages) {
      Component c;
      c.kind = Component::Kind::kOsPackage;
      c.key = type + "/" + p.name + "/" + p.arch;
      c.name = p.name;
      c.version = p.version;
      c.source = p.source;
      c.summary = p.summary;
      c.homepage = p.homepage;
      if (!p.license.empty()) {
        std::optional<std::string> e = CanonicalExpression(p.license);
        if (e)
          c.license = *e;
        else
          c.license_name = p.license;
      }
      c.purl = "pkg:" + type + "/" + PurlEncode(ns) + "/" + PurlEncode(p.name) + "@" +
               PurlEncode(p.version);
      std::vector<std::string> qualifiers;
      if (!p.arch.empty()) qualifiers.push_back("arch=" + PurlEncode(p.arch));
      if (!distro.empty()) qualifiers.push_back("distro=" + PurlEncode(distro));
      for (size_t i = 0; i < qualifiers.size(); ++i) c.purl += (i ? "&" : "?") + qualifiers[i];
      for (const auto& d : p.depends) {
        auto it = key_of.find(d);
        if (it != key_of.end() && it->second != c.key) c.depends_on.push_back(it->second);
      }
      std::sort(c.depends_on.begin(), c.depends_on.end());
      out.push_back(std::move(c));
    }
    return out;
  }

  // The cache file of a layer digest, when there is a cache and the digest is one.
  std::string CachePath(const std::string& digest) const {
    static const std::regex kDigest("sha256:[0-9a-f]{64}");
    if (cache_dir_.empty() || !std::regex_match(digest, kDigest)) return "";
    return cache_dir_ + "/layers/" + digest.substr(7);
  }

  // What an earlier scan of `digest` found, from the cache; null when it is not there or not
  // intact (then it is scanned again and rewritten).
  std::shared_ptr<const LayerFiles> Cached(const std::string& digest) const {
    const std::string path = CachePath(digest);
    if (path.empty()) return nullptr;
    std::ifstream in(path, std::ios::binary);
    if (!in) return nullptr;
    const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    std::optional<LayerFiles> files = DecodeLayerFiles(text);
    return files ? std::make_shared<const LayerFiles>(std::move(*files)) : nullptr;
  }

  // Keeps a scan for the next process: a temporary file renamed into place, so that readers see
  // a whole file or none. Failing to is a warning; the SBOM does not depend on it.
  void Store(sdk::Context& ctx, const std::string& digest, const LayerFiles& files) const {
    const std::string path = CachePath(digest);
    if (path.empty()) return;
    std::error_code ec;
    std::filesystem::create_directories(cache_dir_ + "/layers", ec);
    const std::string tmp = path + ".tmp-" + std::to_string(::getpid());
    // O_EXCL|O_NOFOLLOW: a name that exists (a planted link too) is never written through.
    if (!ec) {
      const int fd =
          ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
      if (fd < 0) {
        ec = std::error_code(errno, std::generic_category());
      } else {
        const std::string bytes = EncodeLayerFiles(files);
        for (size_t done = 0; done < bytes.size() && !ec;) {
          const ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
          if (n < 0 && errno == EINTR) continue;
          if (n < 0) ec = std::error_code(errno, std::generic_category());
          if (n > 0) done += static_cast<size_t>(n);
        }
        if (::close(fd) != 0 && !ec) ec = std::error_code(errno, std::generic_category());
      }
    }
    if (!ec) std::filesystem::rename(tmp, path, ec);
    if (ec) {
      std::filesystem::remove(tmp, ec);
      ctx.Warning("cannot keep the scan of " + digest + " in " + cache_dir_ + ": " + ec.message());
    }
  }

  // Streams one base layer through its decompressor into a tar scan.
  static std::shared_ptr<const LayerFiles> ScanLayer(const sdk::Project& project,
                                                     const std::string& digest,
                                                     const std::string& media_type) {
    auto fail = [&](const std::string& why) {
      return Error("base layer " + digest + " (" + media_type + "): " + why);
    };
    // The host's refusals name the blob, not why: say what the codes mean.
    auto refused = [&](const Error& e) {
      switch (e.code()) {
        case OCIFS_ERR_NOT_FOUND:
          return fail("not stored on this machine");
        case OCIFS_ERR_UNSUPPORTED:
          return fail("this ocifs cannot read base layers");
        default:
          return fail("cannot be read, or does not match its digest");
      }
    };
    std::unique_ptr<LayerDecoder> decoder;
    try {
      decoder = std::make_unique<LayerDecoder>(media_type);
    } catch (const std::runtime_error& e) {
      throw fail(e.what());
    }
    TarScanner tar;
    std::vector<std::byte> buf(kReadChunk);
    uint64_t offset = 0;
    try {
      while (tar.error().empty()) {
        const size_t n = project.ReadBaseBlob(digest, offset, buf);
        if (n == 0) break;
        offset += n;
        decoder->Feed(std::string_view(reinterpret_cast<const char*>(buf.data()), n), tar);
      }
      if (tar.error().empty()) decoder->Finish(tar);
    } catch (const Error& e) {
      throw refused(e);
    } catch (const std::runtime_error& e) {
      throw fail(e.what());
    }
    if (!tar.Finish()) throw fail(tar.error());
    return std::make_shared<const LayerFiles>(std::move(tar.result()));
  }

  std::vector<const Format*> formats_;
  bool in_image_ = false;
  bool base_packages_ = true;
  std::string cyclonedx_version_;
  // What WriteLayer made for the WriteArtifacts call of the same plan (in-image only).
  std::string last_facts_;
  std::vector<std::string> last_documents_;
  std::string cache_dir_;  // the host's gift: scans of base layers are kept there by digest
  // Scanned base layers by digest (their content never changes): the base of the last plan.
  std::map<std::string, std::shared_ptr<const LayerFiles>> layers_;
};

}  // namespace
}  // namespace ocifs::sbom

OCIFS_PLUGIN(ocifs::sbom::SbomPlugin)
