#include "core/oci/archive.h"

#include <algorithm>
#include <cctype>
#include <map>
#include <set>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "core/oci/reference.h"
#include "core/oci/tar.h"

namespace ocifs {

using json = nlohmann::json;

namespace {

constexpr char kTitle[] = "org.opencontainers.image.title";
constexpr size_t kChunk = 1 << 20;

// The documents of the layout read through `source`, each checked against its digest once.
class Documents {
 public:
  explicit Documents(const LayoutSource& source) : source_(source) {}

  Result<json> Get(const Descriptor& d, std::string_view what) {
    auto it = parsed_.find(d.digest.hex());
    if (it != parsed_.end()) return it->second;
    OCIFS_ASSIGN_OR_RETURN(std::string text, ReadManifestBlob(source_, d));
    json j = json::parse(text, nullptr, false);
    if (j.is_discarded() || !j.is_object())
      return Corrupt(fmt::format("{} {}: not a JSON object", what, d.digest.str()));
    return parsed_.emplace(d.digest.hex(), std::move(j)).first->second;
  }

 private:
  const LayoutSource& source_;
  std::map<std::string, json> parsed_;
};

// The descriptors of `j[key]`, an array of them ("layers", "manifests").
Result<std::vector<std::pair<Descriptor, json>>> Children(const json& j, const char* key,
                                                          const std::string& where) {
  std::vector<std::pair<Descriptor, json>> out;
  if (!j.contains(key)) return out;
  if (!j[key].is_array()) return Corrupt(fmt::format("{}: `{}` is not an array", where, key));
  for (const json& item : j[key]) {
    OCIFS_ASSIGN_OR_RETURN(Descriptor d, ParseDescriptor(where, item, key));
    out.emplace_back(std::move(d), item);
  }
  return out;
}

// Every blob an index.json entry reaches (the manifest or image index itself, its children,
// their configs and layers), into `blobs` by hex digest.
Status Collect(Documents& docs, const Descriptor& d, std::map<std::string, Descriptor>& blobs,
               int depth = 0) {
  if (blobs.contains(d.digest.hex())) return Status::Ok();
  blobs.emplace(d.digest.hex(), d);
  const bool index = d.media_type == kMediaTypeOciIndex || d.media_type == kMediaTypeDockerList;
  const bool manifest =
      d.media_type == kMediaTypeOciManifest || d.media_type == kMediaTypeDockerManifest;
  if (!index && !manifest) return Status::Ok();
  if (depth > 4) return Corrupt(fmt::format("image index {} nests too deep", d.digest.str()));
  const std::string where =
      fmt::format("{} {}", index ? "image index" : "manifest", d.digest.str());
  OCIFS_ASSIGN_OR_RETURN(json j, docs.Get(d, index ? "image index" : "manifest"));
  if (index) {
    OCIFS_ASSIGN_OR_RETURN(auto children, Children(j, "manifests", where));
    for (const auto& [child, _] : children)
      OCIFS_RETURN_IF_ERROR(Collect(docs, child, blobs, depth + 1));
    return Status::Ok();
  }
  if (!j.contains("config")) return Corrupt(where + ": no config");
  OCIFS_ASSIGN_OR_RETURN(Descriptor config, ParseDescriptor(where, j["config"], "config"));
  blobs.emplace(config.digest.hex(), config);
  OCIFS_ASSIGN_OR_RETURN(auto layers, Children(j, "layers", where));
  for (const auto& [layer, _] : layers) blobs.emplace(layer.digest.hex(), layer);
  return Status::Ok();
}

std::string Annotation(const json& j, const char* key) {
  if (j.contains("annotations") && j["annotations"].is_object() && j["annotations"].contains(key) &&
      j["annotations"][key].is_string())
    return j["annotations"][key].get<std::string>();
  return "";
}

}  // namespace

std::string RepositoryName(std::string_view title) {
  std::string out;
  for (char c : title) {
    const auto u = static_cast<unsigned char>(c);
    if (std::isalnum(u) && u < 0x80) {
      out += static_cast<char>(std::tolower(u));
    } else if (!out.empty() && out.back() != '-') {
      out += '-';
    }
  }
  while (!out.empty() && out.back() == '-') out.pop_back();
  return out;
}

namespace {

// The image of tag `ref_name` as docker-archive holds it: one platform's manifest.
Result<Descriptor> SinglePlatform(Documents& docs, const IndexEntry& entry,
                                  const ArchiveOptions& options) {
  const Descriptor& d = entry.descriptor;
  if (d.media_type == kMediaTypeOciManifest || d.media_type == kMediaTypeDockerManifest) return d;
  if (d.media_type != kMediaTypeOciIndex && d.media_type != kMediaTypeDockerList) {
    return InvalidArgument(
        fmt::format("tag `{}` names a {}, not an image", entry.ref_name, d.media_type));
  }
  const std::string where =
      fmt::format("image index {} (tag `{}`)", d.digest.str(), entry.ref_name);
  OCIFS_ASSIGN_OR_RETURN(json j, docs.Get(d, "image index"));
  OCIFS_ASSIGN_OR_RETURN(auto children, Children(j, "manifests", where));
  const Platform want = options.platform.value_or(HostPlatform());
  std::vector<std::string> have;
  for (const auto& [child, item] : children) {
    std::optional<Platform> p =
        item.contains("platform") ? PlatformFromJson(item["platform"]) : std::nullopt;
    if (!p) continue;
    have.push_back(p->str());
    if (*p == want) return child;
  }
  return NotFound(fmt::format(
      "tag `{}` is an image of the platforms {}, not of {}: a docker archive holds one platform "
      "per tag, name it with --platform",
      entry.ref_name, fmt::join(have, ", "), want.str()));
}

// The tar stream: headers made here, blob bytes read, hashed and checked as they pass.
class TarOut {
 public:
  TarOut(const ArchiveSink& sink, int64_t mtime) : sink_(sink), mtime_(mtime) {}

  Status Directory(const std::string& name) {
    TarEntry e;
    e.name = name;
    e.type = TarEntry::Type::kDirectory;
    e.mode = 0755;
    return Header(e);
  }

  Status File(const std::string& name, std::string_view bytes) {
    OCIFS_RETURN_IF_ERROR(Header(FileEntry(name, bytes.size())));
    OCIFS_RETURN_IF_ERROR(Put(std::as_bytes(std::span(bytes.data(), bytes.size()))));
    return Pad(bytes.size());
  }

  Status Blob(const Blob& blob, const Descriptor& d) {
    OCIFS_RETURN_IF_ERROR(Header(FileEntry("blobs/sha256/" + d.digest.hex(), d.size)));
    Sha256 hash;
    std::vector<std::byte> buf(std::min<uint64_t>(kChunk, d.size));
    uint64_t at = 0;
    do {
      const size_t n = static_cast<size_t>(std::min<uint64_t>(buf.size(), d.size - at));
      const std::span<std::byte> chunk(buf.data(), n);
      OCIFS_RETURN_IF_ERROR(blob.ReadAt(at, chunk).WithContext("blob " + d.digest.str()));
      hash.Update(chunk);
      at += n;
      // The last chunk is written only once the whole blob hashes to its digest.
      if (at == d.size && hash.Finish() != d.digest) {
        return Corrupt(
            fmt::format("blob {} does not hash to its digest: its source changed or is damaged",
                        d.digest.str()));
      }
      OCIFS_RETURN_IF_ERROR(Put(chunk));
    } while (at < d.size);
    return Pad(d.size);
  }

  Status End() { return Put(std::vector<std::byte>(1024)); }
  uint64_t bytes() const { return bytes_; }

 private:
  static TarEntry FileEntry(const std::string& name, uint64_t size) {
    TarEntry e;
    e.name = name;
    e.mode = 0644;
    e.size = size;
    return e;
  }
  Status Header(const TarEntry& e) {
    std::string out;
    AppendTarHeaders(out, e, mtime_);
    return Put(std::as_bytes(std::span(out.data(), out.size())));
  }
  Status Pad(uint64_t size) {
    const size_t pad = static_cast<size_t>((512 - size % 512) % 512);
    return pad == 0 ? Status::Ok() : Put(std::vector<std::byte>(pad));
  }
  Status Put(std::span<const std::byte> bytes) {
    bytes_ += bytes.size();
    return sink_(bytes);
  }

  const ArchiveSink& sink_;
  const int64_t mtime_;
  uint64_t bytes_ = 0;
};

}  // namespace

Result<ArchiveFormat> ParseArchiveFormat(std::string_view text, std::string_view what) {
  if (text == "oci-archive") return ArchiveFormat::kOci;
  if (text == "docker-archive") return ArchiveFormat::kDocker;
  return InvalidArgument(
      fmt::format("{} `{}`: oci-archive or docker-archive (for docker load)", what, text));
}

Result<ArchiveTag> ParseArchiveTag(std::string_view text, std::string_view what) {
  const size_t slash = text.rfind('/');
  const size_t colon = text.rfind(':');
  ArchiveTag out;
  if (colon == std::string_view::npos || (slash != std::string_view::npos && colon < slash)) {
    if (slash != std::string_view::npos) {
      return InvalidArgument(fmt::format(
          "{} `{}`: a repository needs its tag too, as REPOSITORY:TAG (e.g. `{}:latest`)", what,
          text, text));
    }
    out.ref_name = std::string(text);
  } else {
    out.repository = std::string(text.substr(0, colon));
    out.ref_name = std::string(text.substr(colon + 1));
    const auto upper = std::find_if(out.repository.begin(), out.repository.end(), [](char c) {
      return std::isupper(static_cast<unsigned char>(c));
    });
    if (upper != out.repository.end()) {
      return InvalidArgument(fmt::format(
          "{} `{}`: a repository is lower case (docker refuses `{}`)", what, text, out.repository));
    }
    Status valid = ParseImageReference(text).status();
    if (!valid.ok()) return valid.WithContext(std::string(what));
  }
  if (out.ref_name.empty())
    return InvalidArgument(fmt::format("{} `{}`: the tag is empty", what, text));
  return out;
}

Result<ArchiveReport> WriteArchive(const LayoutSource& source, const ArchiveOptions& options,
                                   const ArchiveSink& sink) {
  OCIFS_ASSIGN_OR_RETURN(std::vector<IndexEntry> index, source.Index());
  const bool docker = options.format == ArchiveFormat::kDocker;
  Documents docs(source);

  // The tags asked for (every image tag when none is named), each as the layout has it.
  std::vector<std::pair<const IndexEntry*, std::string>> images;  // with the repository
  std::vector<std::string> tags_in_layout;
  for (const IndexEntry& e : index) {
    if (!e.is_artifact() && !e.ref_name.empty()) tags_in_layout.push_back(e.ref_name);
  }
  auto find = [&](const std::string& ref) -> const IndexEntry* {
    for (const IndexEntry& e : index) {
      if (!e.is_artifact() && e.ref_name == ref) return &e;
    }
    return nullptr;
  };
  if (options.tags.empty()) {
    for (const IndexEntry& e : index) {
      if (!e.is_artifact() && !e.ref_name.empty()) images.emplace_back(&e, "");
    }
    if (images.empty()) return NotFound("the layout has no tagged image (index.json names none)");
  }
  for (const ArchiveTag& t : options.tags) {
    const IndexEntry* e = find(t.ref_name);
    if (e == nullptr) {
      return NotFound(fmt::format("tag `{}` is not in the layout; its tags are: {}", t.ref_name,
                                  fmt::join(tags_in_layout, ", ")));
    }
    if (!docker && !t.repository.empty()) {
      return InvalidArgument(fmt::format(
          "tag `{}:{}`: an oci-archive names images by tag alone; give `{}` (a repository is for "
          "docker-archive)",
          t.repository, t.ref_name, t.ref_name));
    }
    images.emplace_back(e, t.repository);
  }

  std::map<std::string, Descriptor> blobs;  // by hex: the archive's blob files
  std::vector<IndexEntry> out_index;
  ArchiveReport report;
  json manifest_json = json::array();
  json repositories = json::object();
  if (!docker) {
    std::set<std::string> selected;
    for (const auto& [e, _] : images) selected.insert(e->ref_name);
    for (const IndexEntry& e : index) {
      // An artifact goes with its tag: index.json names it `TAG.SUFFIX` (generation.h).
      const bool keep = options.tags.empty() ||
                        (e.is_artifact() ? std::any_of(selected.begin(), selected.end(),
                                                       [&](const std::string& tag) {
                                                         return e.ref_name.starts_with(tag + ".");
                                                       })
                                         : selected.contains(e.ref_name));
      if (!keep) continue;
      OCIFS_RETURN_IF_ERROR(Collect(docs, e.descriptor, blobs));
      out_index.push_back(e);
    }
  } else {
    // One manifest.json entry per image, with every tag that names it.
    std::map<std::string, size_t> entry_of;  // manifest hex -> index in manifest_json
    for (const auto& [e, named_repository] : images) {
      OCIFS_ASSIGN_OR_RETURN(Descriptor m, SinglePlatform(docs, *e, options));
      OCIFS_RETURN_IF_ERROR(Collect(docs, m, blobs));
      OCIFS_ASSIGN_OR_RETURN(json manifest, docs.Get(m, "manifest"));
      std::string repository = named_repository;
      if (repository.empty()) {
        std::string title = Annotation(manifest, kTitle);
        if (title.empty() && e->descriptor.digest != m.digest) {
          OCIFS_ASSIGN_OR_RETURN(json top, docs.Get(e->descriptor, "image index"));
          title = Annotation(top, kTitle);
        }
        repository = RepositoryName(title);
      }
      if (repository.empty()) repository = options.repository;
      if (repository.empty()) {
        return InvalidArgument(
            fmt::format("tag `{}`: the image has no title to name its repository by; give one as "
                        "--tag REPOSITORY:{}",
                        e->ref_name, e->ref_name));
      }
      const std::string repo_tag = repository + ":" + e->ref_name;
      auto reference = ParseImageReference(repo_tag);
      if (!reference.ok()) return reference.status().WithContext("docker-archive");
      report.repo_tags.push_back(repo_tag);
      const std::string where = "manifest " + m.digest.str();
      OCIFS_ASSIGN_OR_RETURN(auto layers, Children(manifest, "layers", where));
      if (layers.empty()) return Corrupt(where + ": no layers (docker load needs one)");
      repositories[repository][e->ref_name] = layers.back().first.digest.hex();
      // Named in full as Docker 25 names it: podman load reads the layout part of the archive
      // first and takes the image's name from there (ref_name alone would be `localhost/TAG`).
      IndexEntry entry{m, e->ref_name, "", std::nullopt, e->variant, reference->str()};
      if (auto [it, added] = entry_of.try_emplace(m.digest.hex(), manifest_json.size()); !added) {
        manifest_json[it->second]["RepoTags"].push_back(repo_tag);
        out_index.push_back(entry);
        continue;
      }
      OCIFS_ASSIGN_OR_RETURN(Descriptor config,
                             ParseDescriptor(where, manifest.value("config", json()), "config"));
      json paths = json::array();
      for (const auto& [layer, _] : layers) paths.push_back("blobs/sha256/" + layer.digest.hex());
      manifest_json.push_back({{"Config", "blobs/sha256/" + config.digest.hex()},
                               {"RepoTags", json::array({repo_tag})},
                               {"Layers", paths}});
      out_index.push_back(entry);
    }
  }
  for (const IndexEntry& e : out_index) report.ref_names.push_back(e.ref_name);

  TarOut tar(sink, options.mtime);
  OCIFS_RETURN_IF_ERROR(tar.Directory("blobs"));
  OCIFS_RETURN_IF_ERROR(tar.Directory("blobs/sha256"));
  for (const auto& [hex, d] : blobs) {
    OCIFS_ASSIGN_OR_RETURN(auto blob, source.Open(d));
    OCIFS_RETURN_IF_ERROR(tar.Blob(*blob, d));
    ++report.blobs;
  }
  OCIFS_RETURN_IF_ERROR(tar.File("index.json", IndexJson(out_index)));
  if (docker) OCIFS_RETURN_IF_ERROR(tar.File("manifest.json", CanonicalJson(manifest_json)));
  OCIFS_RETURN_IF_ERROR(tar.File("oci-layout", Generation::oci_layout()));
  if (docker) OCIFS_RETURN_IF_ERROR(tar.File("repositories", CanonicalJson(repositories)));
  OCIFS_RETURN_IF_ERROR(tar.End());
  report.bytes = tar.bytes();
  return report;
}

}  // namespace ocifs
