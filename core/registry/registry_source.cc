#include "core/registry/registry_source.h"

#include "core/support/atomic_file.h"
#include "core/support/private_dir.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <sstream>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <nlohmann/json.hpp>

namespace ocifs {
namespace {

namespace fs = std::filesystem;

constexpr uint64_t kMaxSmallBlob = 4 << 20;  // manifests, indexes and configs
// A mirror gets one retry: the registry itself is the next source.
constexpr int kMirrorAttempts = 2;

std::optional<std::string> ReadWholeFile(const std::string& path, uint64_t limit) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::nullopt;
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (text.size() > limit) return std::nullopt;
  return text;
}

std::string MediaTypeOf(const std::string& bytes, const std::string& fallback) {
  auto j = nlohmann::json::parse(bytes, nullptr, false);
  if (j.is_object() && j.contains("mediaType") && j["mediaType"].is_string())
    return j["mediaType"].get<std::string>();
  if (!fallback.empty()) return fallback;
  return j.is_object() && j.contains("manifests") ? kMediaTypeOciIndex : kMediaTypeOciManifest;
}

// Where a pull may come from: the registry's mirrors in order, then the registry itself.
struct PullSource {
  ImageReference ref;                      // as this source names the image
  std::shared_ptr<RegistryClient> client;  // a mirror's retries less: the registry is next
  std::string mirror;                      // RegistryMirror::str(); empty for the registry
};
using PullSources = std::vector<PullSource>;

// Runs `fetch` on each source in turn until one succeeds. When one does, the mirrors that failed
// before it are noted in `mirror_failures` (when given; the first failure of each mirror). When
// the registry itself fails, that is the error, with the mirrors' failures after it.
Status FromSources(const PullSources& sources,
                   const std::function<Status(const PullSource&)>& fetch,
                   std::map<std::string, std::string>* mirror_failures) {
  std::vector<std::pair<std::string, std::string>> failed;  // mirror, message
  for (const PullSource& source : sources) {
    Status s = fetch(source);
    if (s.ok()) {
      for (auto& [mirror, message] : failed) {
        if (mirror_failures != nullptr) mirror_failures->try_emplace(mirror, message);
      }
      return s;
    }
    if (source.mirror.empty() || s.code() == Code::kFailedPrecondition) {  // offline: no use
      if (failed.empty()) return s;
      std::vector<std::string> notes;
      for (const auto& [mirror, message] : failed)
        notes.push_back(fmt::format("registry mirror `{}`: {}", mirror, message));
      return Status(s.code(), fmt::format("{} (mirrors failed first: {})", s.message(),
                                          fmt::join(notes, "; ")));
    }
    failed.emplace_back(source.mirror, s.message());
  }
  return Internal("no registry to pull from");  // unreachable: the registry is the last source
}

// A base layer of a registry: fetched into the blob cache on its first read, then served from
// there through a verified file blob. A failed fetch is not remembered: the next read tries again.
class LazyRegistryBlob : public Blob {
 public:
  LazyRegistryBlob(PullSources sources, std::string dir, Descriptor d)
      : sources_(std::move(sources)), dir_(std::move(dir)), d_(std::move(d)) {}

  uint64_t size() const override { return d_.size; }

  Status ReadAt(uint64_t offset, std::span<std::byte> out) const override {
    OCIFS_ASSIGN_OR_RETURN(auto inner, Ready());
    return inner->ReadAt(offset, out);
  }

 private:
  Result<std::shared_ptr<const Blob>> Ready() const {
    std::lock_guard lock(mu_);
    if (inner_) return inner_;
    const std::string path = dir_ + "/" + d_.digest.hex();
    if (::access(path.c_str(), F_OK) == 0) {
      auto cached = MakeVerifiedFileBlob(path, d_.digest, d_.size);
      Status s = cached->ReadAt(0, {});  // hashes the whole file once
      if (s.ok()) return inner_ = cached;
      if (s.code() != Code::kCorrupt) return s;
      ::unlink(path.c_str());  // a damaged cache entry: fetch it again
    }
    Status fetched = WriteFileAtomically(path, [&](int fd) {
      auto restart = [fd] {
        if (::ftruncate(fd, 0) != 0 || ::lseek(fd, 0, SEEK_SET) != 0)
          return ErrnoStatus(errno, "blob cache file", "truncate");
        return Status::Ok();
      };
      return FromSources(
          sources_,
          [&](const PullSource& source) {
            OCIFS_RETURN_IF_ERROR(restart());  // what an earlier source left
            return source.client->GetBlob(
                source.ref, d_.digest, d_.size,
                [fd, &path](std::span<const std::byte> b) { return WriteAll(fd, b, path); },
                restart);
          },
          nullptr);
    });
    if (!fetched.ok()) return fetched;
    inner_ = MakeVerifiedFileBlob(path, d_.digest, d_.size);
    return inner_;
  }

  const PullSources sources_;
  const std::string dir_;
  const Descriptor d_;
  mutable std::mutex mu_;
  mutable std::shared_ptr<const Blob> inner_;
};

}  // namespace

Result<std::shared_ptr<RegistryContext>> RegistryContext::Make(
    RegistryOptions options, std::string cache_dir, std::shared_ptr<HttpTransport> transport,
    std::shared_ptr<const CredentialStore> credentials) {
  std::shared_ptr<RegistryContext> c(new RegistryContext());
  c->offline_ = options.offline;
  if (!transport) transport = MakeCurlTransport();
  if (!credentials) credentials = MakeDefaultCredentialStore();
  RegistryOptions mirror_options = options;
  mirror_options.retry.attempts = std::min(options.retry.attempts, kMirrorAttempts);
  c->mirror_client_ =
      std::make_shared<RegistryClient>(std::move(mirror_options), transport, credentials);
  c->client_ = std::make_shared<RegistryClient>(std::move(options), std::move(transport),
                                                std::move(credentials));
  c->dir_ = std::move(cache_dir);
  return c;
}

// Directories are made on the first registry base, so that a build from scratch or a local
// layout touches nothing here.
Status RegistryContext::EnsureDirectories() {
  std::lock_guard lock(mu_);
  if (!blob_dir_.empty()) return Status::Ok();
  if (dir_.empty()) {
    OCIFS_ASSIGN_OR_RETURN(ScratchDir scratch, ScratchDir::Make("ocifs-blobs"));
    dir_ = scratch.path();
    scratch_ = std::move(scratch);
  } else {
    // The cache: the user's alone, or refused (core/support/private_dir.h).
    auto root = OpenPrivateDir(dir_, LooseMode::kTighten, /*make_parents=*/true);
    if (!root.ok()) return root.status();
  }
  std::error_code ec;
  fs::create_directories(dir_ + "/blobs/sha256", ec);
  if (ec) return Status(Code::kIo, fmt::format("`{}/blobs/sha256`: {}", dir_, ec.message()));
  blob_dir_ = dir_ + "/blobs/sha256";
  return Status::Ok();
}

Result<BaseImage> RegistryContext::Resolve(const std::string& reference, const Platform& platform,
                                           const std::vector<RegistryMirror>& mirrors) {
  OCIFS_ASSIGN_OR_RETURN(ImageReference ref, ParseImageReference(reference));
  OCIFS_RETURN_IF_ERROR(EnsureDirectories());
  PullSources sources;
  std::string key = ref.str() + " " + platform.str();
  for (const RegistryMirror& m : mirrors) {
    if (m.registry != ref.domain) continue;
    sources.push_back({Mirrored(ref, m), mirror_client_, m.str()});
    key += " " + m.str();
  }
  sources.push_back({ref, client_, ""});
  {
    std::lock_guard lock(mu_);
    if (auto it = resolved_.find(key); it != resolved_.end()) return it->second;
  }
  const std::string where = fmt::format("base `{}`", reference);
  std::map<std::string, std::string> fetched;          // this resolution's manifests, by digest
  std::map<std::string, std::string> mirror_failures;  // mirror -> its first failure

  // The bytes of a manifest or config: from the cache when there, else from the registry (and
  // then kept in the cache).
  auto read = [&](const Descriptor& d) -> Result<std::string> {
    if (auto it = fetched.find(d.digest.str()); it != fetched.end()) return it->second;
    if (d.size > kMaxSmallBlob)
      return Corrupt(fmt::format("{}: {} claims {} bytes", where, d.digest.str(), d.size));
    const std::string path = blob_dir_ + "/" + d.digest.hex();
    if (auto text = ReadWholeFile(path, kMaxSmallBlob); text && Digest::Of(*text) == d.digest)
      return *text;
    std::string bytes;
    const bool manifest =
        d.media_type == kMediaTypeOciManifest || d.media_type == kMediaTypeOciIndex ||
        d.media_type == kMediaTypeDockerManifest || d.media_type == kMediaTypeDockerList;
    if (offline_) {
      return Status(
          Code::kFailedPrecondition,
          fmt::format("{}: {} is not in the cache, and --offline is set", where, d.digest.str()));
    }
    Status s = FromSources(
        sources,
        [&](const PullSource& source) {
          bytes.clear();
          if (manifest) {
            OCIFS_ASSIGN_OR_RETURN(FetchedManifest m,
                                   source.client->GetManifest(source.ref, d.digest.str()));
            bytes = std::move(m.bytes);
            return Status::Ok();
          }
          return source.client->GetBlob(
              source.ref, d.digest, d.size,
              [&](std::span<const std::byte> b) {
                bytes.append(reinterpret_cast<const char*>(b.data()), b.size());
                return Status::Ok();
              },
              [&] {
                bytes.clear();
                return Status::Ok();
              });
        },
        &mirror_failures);
    if (!s.ok()) return s.WithContext(where);
    OCIFS_RETURN_IF_ERROR(WriteFileAtomically(path, bytes));
    return bytes;
  };

  // The top manifest: by digest from the cache or the registry; by tag from the registry, or
  // offline from the tag's last resolution.
  Descriptor top;
  std::string top_bytes;
  const std::string ref_file =
      fmt::format("{}/refs/{}/{}/{}", dir_, ref.domain, ref.repository, ref.tag);
  if (ref.digest) {
    top.digest = *ref.digest;
    top.media_type = kMediaTypeOciManifest;  // for `read`: fetch it as a manifest
    top.size = 0;
    OCIFS_ASSIGN_OR_RETURN(top_bytes, read(top));
  } else if (offline_) {
    auto text = ReadWholeFile(ref_file, 1 << 16);
    auto j = text ? nlohmann::json::parse(*text, nullptr, false) : nlohmann::json();
    auto digest = j.is_object() ? Digest::Parse(j.value("digest", "")) : Digest::Parse("");
    if (!digest.ok()) {
      return Status(Code::kFailedPrecondition,
                    fmt::format("{}: the tag `{}` was never resolved here, and --offline is set "
                                "(mount once with the network to fill the cache)",
                                where, ref.tag));
    }
    top.digest = *digest;
    top.media_type = kMediaTypeOciManifest;
    OCIFS_ASSIGN_OR_RETURN(top_bytes, read(top));
  } else {
    std::optional<FetchedManifest> m;
    Status s = FromSources(
        sources,
        [&](const PullSource& source) {
          OCIFS_ASSIGN_OR_RETURN(m, source.client->GetManifest(source.ref, ref.tag));
          return Status::Ok();
        },
        &mirror_failures);
    if (!s.ok()) return s.WithContext(where);
    top.digest = m->digest;
    top_bytes = std::move(m->bytes);
    const std::string path = blob_dir_ + "/" + top.digest.hex();
    OCIFS_RETURN_IF_ERROR(WriteFileAtomically(path, top_bytes));
    std::error_code ec;
    fs::create_directories(fs::path(ref_file).parent_path(), ec);
    nlohmann::json j = {{"digest", top.digest.str()}, {"mediaType", m->media_type}};
    OCIFS_RETURN_IF_ERROR(WriteFileAtomically(ref_file, j.dump()));
    top.media_type = m->media_type;
  }
  top.media_type = MediaTypeOf(top_bytes, ref.digest || offline_ ? "" : top.media_type);
  top.size = top_bytes.size();
  fetched[top.digest.str()] = top_bytes;

  ManifestReader reader;
  reader.where = where;
  reader.read = read;
  reader.layer_blob = [&](const Descriptor& d) -> Result<std::shared_ptr<const Blob>> {
    return std::shared_ptr<const Blob>(std::make_shared<LazyRegistryBlob>(sources, blob_dir_, d));
  };
  OCIFS_ASSIGN_OR_RETURN(BaseImage b, ResolveManifests(reader, top, platform));
  b.reference = reference;
  b.name = ref.str();
  for (const auto& [mirror, message] : mirror_failures) {
    b.warnings.push_back(fmt::format("{}: registry mirror `{}` failed, used the next source: {}",
                                     where, mirror, message));
  }
  std::lock_guard lock(mu_);
  resolved_[key] = b;
  return b;
}

namespace {

class RegistrySource : public BaseSource {
 public:
  RegistrySource(std::string reference, std::shared_ptr<RegistryContext> registry,
                 std::vector<RegistryMirror> mirrors)
      : reference_(std::move(reference)),
        registry_(std::move(registry)),
        mirrors_(std::move(mirrors)) {}
  Result<BaseImage> Resolve(const Platform& platform) override {
    return registry_->Resolve(reference_, platform, mirrors_);
  }

 private:
  std::string reference_;
  std::shared_ptr<RegistryContext> registry_;
  std::vector<RegistryMirror> mirrors_;
};

}  // namespace

std::unique_ptr<BaseSource> RegistryBase(std::string reference,
                                         std::shared_ptr<RegistryContext> registry,
                                         std::vector<RegistryMirror> mirrors) {
  return std::make_unique<RegistrySource>(std::move(reference), std::move(registry),
                                          std::move(mirrors));
}

}  // namespace ocifs
