// Blob: the bytes served under blobs/sha256/<hex>, whatever produces them.
//
// Implementations: MemoryBlob (JSON documents), TarBlob (a virtual layer tar), and the verified
// file blobs of base images (base.h). ReadAt fills the whole buffer or fails: never a short read.
// A blob that cannot guarantee its bytes hash to its digest fails with kCorrupt or kChanged,
// which the FUSE adapter turns into EIO.
//
// Thread safety: ReadAt may be called concurrently.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>

#include "core/oci/tar.h"
#include "core/support/status.h"

namespace ocifs {

class Blob {
 public:
  virtual ~Blob() = default;
  virtual uint64_t size() const = 0;
  // REQUIRES: offset + out.size() <= size()
  virtual Status ReadAt(uint64_t offset, std::span<std::byte> out) const = 0;
};

class MemoryBlob : public Blob {
 public:
  explicit MemoryBlob(std::string data) : data_(std::move(data)) {}
  uint64_t size() const override { return data_.size(); }
  Status ReadAt(uint64_t offset, std::span<std::byte> out) const override;
  const std::string& data() const { return data_; }

 private:
  std::string data_;
};

class TarBlob : public Blob {
 public:
  explicit TarBlob(std::shared_ptr<const VirtualTar> tar) : tar_(std::move(tar)) {}
  uint64_t size() const override { return tar_->size(); }
  Status ReadAt(uint64_t offset, std::span<std::byte> out) const override {
    return tar_->ReadAt(offset, out);
  }
  const VirtualTar& tar() const { return *tar_; }

 private:
  std::shared_ptr<const VirtualTar> tar_;
};

}  // namespace ocifs
