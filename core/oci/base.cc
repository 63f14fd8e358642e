#include "core/oci/base.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <mutex>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "core/oci/generation.h"
#include "core/oci/reference.h"
#include "core/support/file_read.h"
#include "core/support/tree.h"

namespace ocifs {
namespace {

std::string NormalizeLayerType(const std::string& t) {
  if (t == "application/vnd.docker.image.rootfs.diff.tar.gzip") return kMediaTypeOciLayerGzip;
  if (t == "application/vnd.docker.image.rootfs.diff.tar") return kMediaTypeOciLayer;
  return t;
}

class VerifiedFileBlob : public Blob {
 public:
  VerifiedFileBlob(std::string path, Digest digest, uint64_t size)
      : path_(std::move(path)), digest_(std::move(digest)), size_(size) {}
  ~VerifiedFileBlob() override {
    if (fd_ >= 0) ::close(fd_);
  }
  VerifiedFileBlob(const VerifiedFileBlob&) = delete;
  VerifiedFileBlob& operator=(const VerifiedFileBlob&) = delete;

  uint64_t size() const override { return size_; }

  Status ReadAt(uint64_t offset, std::span<std::byte> out) const override {
    OCIFS_RETURN_IF_ERROR(EnsureVerified());
    auto now = StatFd();
    if (!now.ok()) return now.status();
    if (!now->SameVersion(verified_)) {
      return Status(Code::kChanged,
                    fmt::format("base blob `{}` changed after it was verified", path_));
    }
    return PreadFull(fd_, offset, out, fmt::format("base blob `{}`", path_));
  }

 private:
  Result<FileInfo> StatFd() const {
    struct stat st;
    if (::fstat(fd_, &st) != 0)
      return ErrnoStatus(errno, fmt::format("base blob `{}`", path_), "fstat");
    FileInfo i;
    i.type = S_ISREG(st.st_mode) ? FileType::kRegular : FileType::kOther;
    i.size = static_cast<uint64_t>(st.st_size);
    i.mtime_ns = int64_t{st.st_mtim.tv_sec} * 1'000'000'000 + st.st_mtim.tv_nsec;
    i.ctime_ns = int64_t{st.st_ctim.tv_sec} * 1'000'000'000 + st.st_ctim.tv_nsec;
    i.ino = st.st_ino;
    i.dev = st.st_dev;
    return i;
  }

  // Hashes the whole file once; the outcome (good or corrupt) is kept for the blob's lifetime.
  Status EnsureVerified() const {
    std::lock_guard lock(mu_);
    if (checked_) return verdict_;
    checked_ = true;
    verdict_ = Verify();
    return verdict_;
  }

  Status Verify() const {
    const std::string what = fmt::format("base blob `{}`", path_);
    fd_ = ::open(path_.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
    if (fd_ < 0) return ErrnoStatus(errno, what, "open");
    OCIFS_ASSIGN_OR_RETURN(verified_, StatFd());
    if (verified_.type != FileType::kRegular) return Corrupt(what + ": not a regular file");
    if (verified_.size != size_) {
      return Corrupt(
          fmt::format("{}: {} bytes, the manifest says {}", what, verified_.size, size_));
    }
    Sha256 h;
    std::vector<std::byte> buf(1 << 20);
    uint64_t off = 0;
    while (off < size_) {
      ssize_t n = ::pread(fd_, buf.data(), buf.size(), static_cast<off_t>(off));
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) return ErrnoStatus(errno, what, "read");
      if (n == 0) break;
      h.Update(std::span(buf.data(), static_cast<size_t>(n)));
      off += static_cast<uint64_t>(n);
    }
    Digest got = h.Finish();
    if (off != size_ || got != digest_) {
      return Corrupt(
          fmt::format("{}: content hashes to {}, not {}", what, got.str(), digest_.str()));
    }
    auto after = StatFd();
    if (!after.ok()) return after.status();
    if (!after->SameVersion(verified_))
      return Status(Code::kChanged, what + ": changed while it was verified");
    return Status::Ok();
  }

  const std::string path_;
  const Digest digest_;
  const uint64_t size_;
  mutable std::mutex
      mu_;  // guards the fields below until checked_ is set; they are read-only after
  mutable bool checked_ = false;
  mutable Status verdict_;
  mutable int fd_ = -1;
  mutable FileInfo verified_;
};

Result<nlohmann::json> ParseJson(const std::string& where, const std::string& text,
                                 std::string_view what) {
  auto j = nlohmann::json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object())
    return Corrupt(where + fmt::format(": {} is not a JSON object", what));
  return j;
}

// The image manifest for `platform`: `top` itself, or its pick from an index (or list).
Result<Descriptor> PickPlatform(const ManifestReader& r, const Descriptor& top,
                                const Platform& platform, int depth = 0) {
  if (top.media_type != kMediaTypeOciIndex && top.media_type != kMediaTypeDockerList) {
    if (top.media_type != kMediaTypeOciManifest && top.media_type != kMediaTypeDockerManifest) {
      return Unsupported(r.where +
                         fmt::format(": manifest media type `{}` is not an image", top.media_type));
    }
    return top;
  }
  if (depth > 4) return Corrupt(r.where + ": indexes nest more than 4 deep");
  OCIFS_ASSIGN_OR_RETURN(std::string text, r.read(top));
  OCIFS_ASSIGN_OR_RETURN(auto index, ParseJson(r.where, text, "index " + top.digest.str()));
  std::vector<std::string> seen;
  for (const auto& m : index.value("manifests", nlohmann::json::array())) {
    const auto& p = m.value("platform", nlohmann::json::object());
    std::string os = p.value("os", ""), arch = p.value("architecture", ""),
                variant = p.value("variant", "");
    seen.push_back(variant.empty() ? os + "/" + arch : os + "/" + arch + "/" + variant);
    if (os == platform.os && arch == platform.architecture &&
        (platform.variant.empty() || variant == platform.variant)) {
      OCIFS_ASSIGN_OR_RETURN(Descriptor d, ParseDescriptor(r.where, m, "index manifest"));
      return PickPlatform(r, d, platform, depth + 1);
    }
  }
  return NotFound(r.where + fmt::format(": no manifest for {} (it has: {})", platform.str(),
                                        fmt::join(seen, ", ")));
}

class ScratchSource : public BaseSource {
 public:
  Result<BaseImage> Resolve(const Platform&) override {
    BaseImage b;
    b.reference = "scratch";
    return b;
  }
};

class OciLayoutSource : public BaseSource {
 public:
  OciLayoutSource(std::string reference, std::string path, std::string tag)
      : reference_(std::move(reference)), path_(std::move(path)), tag_(std::move(tag)) {}

  Result<BaseImage> Resolve(const Platform& platform) override {
    OCIFS_ASSIGN_OR_RETURN(tree_, OpenPosixTree(path_));
    auto layout = ReadSmallFile(*tree_, "oci-layout", 1 << 16);
    if (!layout.ok()) {
      return InvalidArgument(
          fmt::format("base `{}`: `{}` is not an OCI image layout (no readable oci-layout file)",
                      reference_, path_));
    }
    auto lj = nlohmann::json::parse(*layout, nullptr, false);
    if (lj.is_discarded() || !lj.is_object() || !lj.contains("imageLayoutVersion")) {
      return Corrupt(fmt::format("base `{}`: `{}/oci-layout` is not valid", reference_, path_));
    }
    auto index_text = ReadSmallFile(*tree_, "index.json");
    if (!index_text.ok()) {
      return index_text.status().WithContext(fmt::format("{} (layout `{}`)", Where(), path_));
    }
    OCIFS_ASSIGN_OR_RETURN(auto index, ParseIndex(Where(), *index_text));
    OCIFS_ASSIGN_OR_RETURN(Descriptor top, PickByTag(index));
    ManifestReader reader;
    reader.where = Where();
    reader.read = [this](const Descriptor& d) { return ReadVerified(d); };
    reader.layer_blob = [this](const Descriptor& d) -> Result<std::shared_ptr<const Blob>> {
      OCIFS_RETURN_IF_ERROR(StatBlob(d).status());
      return MakeVerifiedFileBlob(path_ + "/" + BlobPath(d.digest), d.digest, d.size);
    };
    OCIFS_ASSIGN_OR_RETURN(BaseImage b, ResolveManifests(reader, top, platform));
    b.reference = reference_;
    return b;
  }

 private:
  std::string Where() const { return fmt::format("base `{}`", reference_); }
  static std::string BlobPath(const Digest& d) { return "blobs/sha256/" + d.hex(); }

  Result<FileInfo> StatBlob(const Descriptor& d) const {
    auto st = tree_->Lstat(BlobPath(d.digest));
    if (!st.ok())
      return NotFound(Where() +
                      fmt::format(": blob {} is missing from `{}`", d.digest.str(), path_));
    if (st->type != FileType::kRegular || st->size != d.size) {
      return Corrupt(Where() + fmt::format(": blob {} is {} bytes, its descriptor says {}",
                                           d.digest.str(), st->size, d.size));
    }
    return st;
  }

  Result<std::string> ReadVerified(const Descriptor& d) const {
    OCIFS_RETURN_IF_ERROR(StatBlob(d).status());
    OCIFS_ASSIGN_OR_RETURN(std::string text, ReadSmallFile(*tree_, BlobPath(d.digest)));
    if (Digest::Of(text) != d.digest) {
      return Corrupt(Where() + fmt::format(": blob {} is corrupt (its content hashes to {})",
                                           d.digest.str(), Digest::Of(text).str()));
    }
    return text;
  }

  Result<Descriptor> PickByTag(const std::vector<IndexEntry>& index) const {
    if (index.empty())
      return NotFound(Where() + fmt::format(": `{}/index.json` lists no manifests", path_));
    std::vector<std::string> tags;
    std::string want = tag_;
    if (want.empty() && index.size() == 1) return index.front().descriptor;
    if (want.empty()) want = "latest";
    for (const IndexEntry& e : index) {
      if (e.ref_name == want) return e.descriptor;
      if (!e.ref_name.empty()) tags.push_back(e.ref_name);
    }
    return NotFound(Where() +
                    fmt::format(": no tag `{}` in `{}` (tags: {})", want, path_,
                                tags.empty() ? "none" : fmt::format("{}", fmt::join(tags, ", "))));
  }

  std::string reference_, path_, tag_;
  std::unique_ptr<Tree> tree_;
};

}  // namespace

Result<BaseImage> ResolveManifests(const ManifestReader& r, const Descriptor& top,
                                   const Platform& platform) {
  OCIFS_ASSIGN_OR_RETURN(Descriptor manifest_desc, PickPlatform(r, top, platform));
  OCIFS_ASSIGN_OR_RETURN(std::string manifest_text, r.read(manifest_desc));
  OCIFS_ASSIGN_OR_RETURN(
      auto manifest, ParseJson(r.where, manifest_text, "manifest " + manifest_desc.digest.str()));
  if (!manifest.contains("config") || !manifest.contains("layers") ||
      !manifest["layers"].is_array()) {
    return Corrupt(
        r.where + fmt::format(": manifest {} has no config or layers", manifest_desc.digest.str()));
  }
  OCIFS_ASSIGN_OR_RETURN(Descriptor config_desc,
                         ParseDescriptor(r.where, manifest["config"], "manifest config"));
  OCIFS_ASSIGN_OR_RETURN(std::string config_text, r.read(config_desc));
  OCIFS_ASSIGN_OR_RETURN(auto config,
                         ParseJson(r.where, config_text, "config " + config_desc.digest.str()));

  BaseImage b;
  b.manifest_digest = manifest_desc.digest;
  b.config = config;
  std::string os = config.value("os", ""), arch = config.value("architecture", "");
  if (os != platform.os || arch != platform.architecture) {
    return InvalidArgument(
        fmt::format("{} is {}/{}, but the image is for {} (set platform to match)", r.where, os,
                    arch, platform.str()));
  }
  const auto& diff_ids = config["rootfs"]["diff_ids"];
  if (!diff_ids.is_array() || diff_ids.size() != manifest["layers"].size()) {
    return Corrupt(r.where + fmt::format(": config {} lists {} diff_ids for {} layers",
                                         config_desc.digest.str(),
                                         diff_ids.is_array() ? diff_ids.size() : 0,
                                         manifest["layers"].size()));
  }
  for (size_t i = 0; i < diff_ids.size(); ++i) {
    OCIFS_ASSIGN_OR_RETURN(Descriptor d, ParseDescriptor(r.where, manifest["layers"][i],
                                                         fmt::format("layers[{}]", i)));
    if (!diff_ids[i].is_string())
      return Corrupt(r.where + fmt::format(": diff_ids[{}] is not a string", i));
    auto diff_id = Digest::Parse(diff_ids[i].get<std::string>());
    if (!diff_id.ok())
      return diff_id.status().WithContext(r.where + fmt::format(": diff_ids[{}]", i));
    OCIFS_ASSIGN_OR_RETURN(auto blob, r.layer_blob(d));
    d.media_type = NormalizeLayerType(d.media_type);
    b.layers.push_back({d, *diff_id, std::move(blob)});
  }
  return b;
}

std::shared_ptr<const Blob> MakeVerifiedFileBlob(std::string path, Digest digest, uint64_t size) {
  return std::make_shared<VerifiedFileBlob>(std::move(path), std::move(digest), size);
}

std::unique_ptr<BaseSource> ScratchBase() { return std::make_unique<ScratchSource>(); }

Result<std::unique_ptr<BaseSource>> OpenLayoutBase(const std::string& reference) {
  auto ref = SplitOciLayoutRef(reference);
  if (ref && ref->tag && ref->tag->empty())
    return InvalidArgument(fmt::format("base `{}`: empty tag after `:`", reference));
  if (!ref || ref->path.empty())
    return InvalidArgument(fmt::format("base `{}`: want oci:PATH[:TAG]", reference));
  return std::unique_ptr<BaseSource>(
      std::make_unique<OciLayoutSource>(reference, ref->path, ref->tag.value_or("")));
}

}  // namespace ocifs
