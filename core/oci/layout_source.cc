#include "core/oci/layout_source.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <optional>

#include <fmt/format.h>

#include "core/support/file_read.h"

namespace ocifs {
namespace {

// A blob file read with pread; readers check what they read against the digest.
class FileBlob : public Blob {
 public:
  FileBlob(int fd, uint64_t size, std::string path)
      : fd_(fd), size_(size), path_(std::move(path)) {}
  ~FileBlob() override { ::close(fd_); }
  FileBlob(const FileBlob&) = delete;
  FileBlob& operator=(const FileBlob&) = delete;
  uint64_t size() const override { return size_; }
  Status ReadAt(uint64_t offset, std::span<std::byte> out) const override {
    return PreadFull(fd_, offset, out, fmt::format("`{}`", path_));
  }

 private:
  const int fd_;
  const uint64_t size_;
  const std::string path_;
};

class DirectorySource : public LayoutSource {
 public:
  explicit DirectorySource(std::string dir) : dir_(std::move(dir)) {}

  Result<std::vector<IndexEntry>> Index() const override {
    const std::string path = dir_ + "/index.json";
    OCIFS_ASSIGN_OR_RETURN(auto blob, OpenFile(path, std::nullopt));
    std::string text(blob->size(), '\0');
    OCIFS_RETURN_IF_ERROR(blob->ReadAt(0, std::as_writable_bytes(std::span(text))));
    return ParseIndex(fmt::format("layout `{}`", dir_), text);
  }

  Result<std::shared_ptr<const Blob>> Open(const Descriptor& d) const override {
    return OpenFile(fmt::format("{}/blobs/sha256/{}", dir_, d.digest.hex()), d.size);
  }

 private:
  Result<std::shared_ptr<const Blob>> OpenFile(const std::string& path,
                                               std::optional<uint64_t> size) const {
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY);
    if (fd < 0) return ErrnoStatus(errno, fmt::format("`{}`", path), "open");
    struct stat st;
    if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
      ::close(fd);
      return Corrupt(fmt::format("`{}` is not a regular file", path));
    }
    if (size && static_cast<uint64_t>(st.st_size) != *size) {
      ::close(fd);
      return Corrupt(fmt::format("`{}` has {} bytes, its descriptor says {}", path,
                                 static_cast<uint64_t>(st.st_size), *size));
    }
    return std::shared_ptr<const Blob>(
        std::make_shared<FileBlob>(fd, static_cast<uint64_t>(st.st_size), path));
  }

  const std::string dir_;
};

class GenerationSource : public LayoutSource {
 public:
  explicit GenerationSource(std::shared_ptr<const Generation> gen) : gen_(std::move(gen)) {}
  Result<std::vector<IndexEntry>> Index() const override { return gen_->index(); }
  Result<std::shared_ptr<const Blob>> Open(const Descriptor& d) const override {
    auto it = gen_->blobs().find(d.digest.hex());
    if (it == gen_->blobs().end())
      return NotFound(fmt::format("blob {} is not in the image", d.digest.str()));
    if (it->second->size() != d.size) {
      return Corrupt(fmt::format("blob {} has {} bytes, its descriptor says {}", d.digest.str(),
                                 it->second->size(), d.size));
    }
    return it->second;
  }

 private:
  std::shared_ptr<const Generation> gen_;
};

}  // namespace

std::unique_ptr<LayoutSource> LayoutDirectory(std::string dir) {
  return std::make_unique<DirectorySource>(std::move(dir));
}

std::unique_ptr<LayoutSource> GenerationLayout(std::shared_ptr<const Generation> gen) {
  return std::make_unique<GenerationSource>(std::move(gen));
}

Result<std::string> ReadManifestBlob(const LayoutSource& source, const Descriptor& d) {
  if (d.size > kMaxManifestBytes) {
    return Corrupt(fmt::format("{} {} has {} bytes, more than a manifest may", d.media_type,
                               d.digest.str(), d.size));
  }
  OCIFS_ASSIGN_OR_RETURN(auto blob, source.Open(d));
  std::string text(d.size, '\0');
  OCIFS_RETURN_IF_ERROR(blob->ReadAt(0, std::as_writable_bytes(std::span(text))));
  if (Digest::Of(text) != d.digest)
    return Corrupt(fmt::format("blob {} does not hash to its digest", d.digest.str()));
  return text;
}

}  // namespace ocifs
