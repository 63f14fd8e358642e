#include "core/system/system_packages.h"

#include <filesystem>
#include <fstream>
#include <sstream>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <nlohmann/json.hpp>

#include "core/debian/deb.h"
#include "core/debian/layer.h"
#include "core/debian/resolve.h"
#include "core/debian/sources.h"
#include "core/debian/verify.h"
#include "core/support/atomic_file.h"
#include "core/support/digest.h"
#include "core/support/private_dir.h"
#include "core/system/apt.h"
#include "core/system/base_files.h"

namespace ocifs {
namespace {

using debian::DebContents;
using debian::Package;
using json = nlohmann::json;

constexpr int kRecordFormat = 1;  // bump when a record's or a listing's meaning changes

std::optional<std::string> ReadIfThere(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::nullopt;
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

json PackageJson(const Package& p) {
  return {{"name", p.name},         {"version", p.version},
          {"arch", p.arch},         {"multi_arch", p.multi_arch},
          {"filename", p.filename}, {"size", p.size},
          {"sha256", p.sha256},     {"archive", p.archive}};
}

Package PackageOf(const json& j) {
  Package p;
  p.name = j.at("name").get<std::string>();
  p.version = j.at("version").get<std::string>();
  p.arch = j.at("arch").get<std::string>();
  p.multi_arch = j.at("multi_arch").get<std::string>();
  p.filename = j.at("filename").get<std::string>();
  p.size = j.at("size").get<uint64_t>();
  p.sha256 = j.at("sha256").get<std::string>();
  p.archive = j.at("archive").get<std::string>();
  if (!debian::ValidPackageName(p.name) || !IsLowerHex64(p.sha256))
    throw std::runtime_error("bad package");
  return p;
}

json ListingJson(const DebContents& c) {
  json entries = json::array();
  for (const TarHeader& h : c.entries) {
    entries.push_back(
        {std::string(1, h.type), h.name, h.link, h.mode, h.uid, h.gid, h.size, h.offset});
  }
  return {{"format", kRecordFormat},
          {"control", c.control},
          {"info", c.info},
          {"conffiles", c.conffiles},
          {"data", {{"name", c.data.name}, {"offset", c.data.offset}, {"size", c.data.size}}},
          {"entries", entries}};
}

// nullopt when the file is not a listing of this format (it is made again).
std::optional<DebContents> ListingOf(const std::string& text) {
  try {
    const json j = json::parse(text);
    if (j.at("format").get<int>() != kRecordFormat) return std::nullopt;
    DebContents c;
    c.control = j.at("control").get<std::string>();
    c.info = j.at("info").get<std::map<std::string, std::string>>();
    c.conffiles = j.at("conffiles").get<std::map<std::string, std::string>>();
    c.data.name = j.at("data").at("name").get<std::string>();
    c.data.offset = j.at("data").at("offset").get<uint64_t>();
    c.data.size = j.at("data").at("size").get<uint64_t>();
    Result<debian::Codec> codec = debian::CodecOf(c.data.name);
    if (!codec.ok()) return std::nullopt;
    c.data.codec = *codec;
    for (const json& e : j.at("entries")) {
      TarHeader h;
      const std::string type = e.at(0).get<std::string>();
      if (type.size() != 1) return std::nullopt;
      h.type = type[0];
      h.name = e.at(1).get<std::string>();
      h.link = e.at(2).get<std::string>();
      h.mode = e.at(3).get<uint32_t>();
      h.uid = e.at(4).get<uint32_t>();
      h.gid = e.at(5).get<uint32_t>();
      h.size = e.at(6).get<uint64_t>();
      h.offset = e.at(7).get<uint64_t>();
      c.entries.push_back(std::move(h));
    }
    return c;
  } catch (const std::exception&) {
    return std::nullopt;
  }
}

// What a first plan found, for every later one.
struct Record {
  std::string index_digest;
  std::vector<Package> packages;
  std::vector<std::string> in_base;
  std::string dpkg_status;
  std::set<std::string> merged_usr;
};

json RecordJson(const Record& r) {
  json packages = json::array();
  for (const Package& p : r.packages) packages.push_back(PackageJson(p));
  return {{"format", kRecordFormat}, {"index", r.index_digest},      {"packages", packages},
          {"in_base", r.in_base},    {"dpkg_status", r.dpkg_status}, {"merged_usr", r.merged_usr}};
}

std::optional<Record> RecordOf(const std::string& text) {
  try {
    const json j = json::parse(text);
    if (j.at("format").get<int>() != kRecordFormat) return std::nullopt;
    Record r;
    r.index_digest = j.at("index").get<std::string>();
    for (const json& p : j.at("packages")) r.packages.push_back(PackageOf(p));
    r.in_base = j.at("in_base").get<std::vector<std::string>>();
    r.dpkg_status = j.at("dpkg_status").get<std::string>();
    r.merged_usr = j.at("merged_usr").get<std::set<std::string>>();
    return r;
  } catch (const std::exception&) {
    return std::nullopt;
  }
}

// The base's apt sources, as apt reads them: sources.list, then sources.list.d/ by name.
Result<std::vector<debian::AptSource>> BaseSources(const BaseFiles& files) {
  std::vector<debian::AptSource> out;
  for (const auto& [path, text] : files.files) {
    Result<std::vector<debian::AptSource>> parsed = std::vector<debian::AptSource>{};
    const std::string what = "`/" + path + "` of the base";
    if (path == "etc/apt/sources.list" ||
        (path.starts_with("etc/apt/sources.list.d/") && path.ends_with(".list"))) {
      parsed = debian::ParseSourcesList(text, what);
    } else if (path.starts_with("etc/apt/sources.list.d/") && path.ends_with(".sources")) {
      parsed = debian::ParseDeb822Sources(text, what);
    } else {
      continue;
    }
    if (!parsed.ok()) return parsed.status();
    out.insert(path == "etc/apt/sources.list" ? out.begin() : out.end(), parsed->begin(),
               parsed->end());
  }
  return out;
}

Status EnsureDir(const std::string& path) {
  return OpenPrivateDir(path, LooseMode::kTighten, /*make_parents=*/true).status();
}

}  // namespace

Result<std::string> DpkgArchitecture(const Platform& platform) {
  const std::string& a = platform.architecture;
  if (platform.os != "linux")
    return Unsupported("system packages are Debian's: `" + platform.str() + "` is not Linux");
  if (a == "amd64" || a == "arm64" || a == "s390x" || a == "riscv64") return a;
  if (a == "386") return std::string("i386");
  if (a == "ppc64le") return std::string("ppc64el");
  if (a == "mips64le") return std::string("mips64el");
  if (a == "arm")
    return std::string(platform.variant == "v7" || platform.variant.empty() ? "armhf" : "armel");
  return Unsupported("platform `" + platform.str() + "` has no Debian architecture ocifs knows");
}

Result<SystemLayer> PlanSystemPackages(const BaseImage& base, const Platform& platform,
                                       const SystemPackagesOptions& options,
                                       const SystemContext& context, int64_t epoch) {
  OCIFS_ASSIGN_OR_RETURN(const std::string arch, DpkgArchitecture(platform));
  std::vector<debian::Request> requests;
  for (const std::string& text : options.packages) {
    OCIFS_ASSIGN_OR_RETURN(debian::Request r, debian::ParseRequest(text, options.origin));
    requests.push_back(std::move(r));
  }
  if (requests.empty()) return InvalidArgument(options.origin + ": no packages named");
  if (base.layers.empty())
    return InvalidArgument(
        fmt::format("{}: the base `{}` has no layers, so no dpkg database to add packages to; "
                    "name a Debian or Ubuntu base (python:3.12-slim, debian:bookworm)",
                    options.origin, base.reference));
  std::vector<debian::Keyring> extra_keys;
  for (const std::string& path : options.keyrings) {
    std::optional<std::string> bytes = ReadIfThere(path);
    if (!bytes) return NotFound(fmt::format("apt-keyring `{}`: cannot read it", path));
    extra_keys.push_back({path, std::move(*bytes)});
  }

  // The record's key: everything the resolution depends on that is known before it.
  json key_parts = {{"format", kRecordFormat},
                    {"platform", platform.str()},
                    {"packages", options.packages},
                    {"mirrors", options.mirrors}};
  key_parts["base"] = base.manifest_digest ? base.manifest_digest->str() : "";
  for (const BaseImage::Layer& l : base.layers)
    key_parts["layers"].push_back(l.descriptor.digest.str());
  for (const debian::Keyring& k : extra_keys)
    key_parts["keyrings"].push_back(Digest::Of(k.bytes).str());
  const std::string apt_dir = context.cache_dir + "/apt";
  for (const char* sub : {"", "/plans", "/listings"})
    OCIFS_RETURN_IF_ERROR(EnsureDir(apt_dir + sub));
  const std::string record_path =
      apt_dir + "/plans/" + Digest::Of(key_parts.dump()).hex() + ".json";

  SystemLayer out;
  std::optional<Record> record;
  if (!context.refresh) {
    if (std::optional<std::string> text = ReadIfThere(record_path)) record = RecordOf(*text);
  }
  AptSetup setup;
  setup.arch = arch;
  setup.offline = context.offline;
  if (record) {
    out.from_record = true;
  } else {
    OCIFS_ASSIGN_OR_RETURN(BaseFiles files, ReadBaseFiles(base, IsAptFile));
    auto status = files.files.find("var/lib/dpkg/status");
    if (status == files.files.end())
      return InvalidArgument(
          fmt::format("{}: the base `{}` has no /var/lib/dpkg/status: system packages need a "
                      "Debian or Ubuntu base",
                      options.origin, base.reference));
    OCIFS_ASSIGN_OR_RETURN(setup.sources, BaseSources(files));
    if (!options.mirrors.empty()) {
      std::vector<debian::AptSource> mirrored;
      for (const std::string& m : options.mirrors) {
        OCIFS_ASSIGN_OR_RETURN(std::vector<debian::AptSource> s,
                               debian::MirrorSources(m, setup.sources, "apt-mirror"));
        mirrored.insert(mirrored.end(), s.begin(), s.end());
      }
      setup.sources = std::move(mirrored);
    }
    for (const auto& [path, bytes] : files.files) {
      if (!path.starts_with("var/") && !path.starts_with("etc/apt/sources"))
        setup.keyrings.push_back({"/" + path, bytes});
    }
    setup.keyrings.insert(setup.keyrings.end(), extra_keys.begin(), extra_keys.end());
    AptClient apt(setup, context.transport, context.retry, context.cache_dir);
    OCIFS_ASSIGN_OR_RETURN(AptIndex index, apt.LoadIndex());
    OCIFS_ASSIGN_OR_RETURN(
        std::vector<Package> installed,
        debian::ParseStatus(status->second, "`/var/lib/dpkg/status` of the base"));
    Result<debian::Resolution> resolution =
        debian::Resolve(requests, index.packages, installed, arch);
    if (!resolution.ok()) return resolution.status().WithContext(options.origin);
    record = Record{.index_digest = index.digest.str(),
                    .packages = std::move(resolution->packages),
                    .in_base = std::move(resolution->in_base),
                    .dpkg_status = status->second,
                    .merged_usr = {}};
    for (const auto& [name, target] : files.symlinks) {
      if (name.find('/') == std::string::npos &&
          (target == "usr/" + name || target == "/usr/" + name))
        record->merged_usr.insert(name);
    }
    OCIFS_RETURN_IF_ERROR(WriteFileAtomically(record_path, RecordJson(*record).dump(1), 0600));
  }
  out.packages = record->packages;
  out.in_base = record->in_base;

  // Each package's listing: from the cache, else from its .deb (fetched now: hashing needs it).
  auto apt =
      std::make_shared<AptClient>(setup, context.transport, context.retry, context.cache_dir);
  std::vector<debian::LayerPackage> layer;
  for (const Package& p : record->packages) {
    debian::LayerPackage lp;
    lp.package = p;
    const std::string listing_path = apt_dir + "/listings/" + p.sha256 + ".json";
    std::optional<DebContents> listing;
    if (std::optional<std::string> text = ReadIfThere(listing_path)) listing = ListingOf(*text);
    if (!listing) {
      OCIFS_ASSIGN_OR_RETURN(std::shared_ptr<File> file, apt->OpenDeb(p));  // verified
      const std::string name = fmt::format("`{}_{}_{}.deb`", p.name, p.version, p.arch);
      OCIFS_ASSIGN_OR_RETURN(DebContents contents, debian::ReadDeb(*file, name));
      OCIFS_RETURN_IF_ERROR(WriteFileAtomically(listing_path, ListingJson(contents).dump(), 0600));
      listing = std::move(contents);
    }
    lp.contents = std::move(*listing);
    layer.push_back(std::move(lp));
  }
  auto debs = std::make_shared<debian::DebTree>(
      layer, [apt](const Package& p) -> Result<std::shared_ptr<File>> { return apt->OpenDeb(p); });
  debian::BaseSystem base_system{
      .dpkg_status = record->dpkg_status, .merged_usr = record->merged_usr, .arch = arch};
  OCIFS_ASSIGN_OR_RETURN(debian::SystemLayerPlan plan,
                         debian::PlanSystemLayer(layer, base_system, debs));
  out.warnings = std::move(plan.warnings);
  out.tar = VirtualTar::Build(std::move(plan.entries), epoch);
  std::vector<std::string> names;
  for (const debian::Request& r : requests) names.push_back(r.ToString());
  out.created_by = fmt::format("ocifs: system packages {} ({} from Debian archives, index {})",
                               fmt::join(names, " "), record->packages.size(),
                               record->index_digest.substr(7, 12));
  return out;
}

}  // namespace ocifs
