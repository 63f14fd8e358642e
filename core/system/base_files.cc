#include "core/system/base_files.h"

#include <fmt/format.h>

#include "core/debian/decompress.h"
#include "core/oci/descriptor.h"
#include "core/oci/tar_reader.h"

namespace ocifs {
namespace {

// A blob's bytes in order.
class BlobStream : public ByteStream {
 public:
  explicit BlobStream(std::shared_ptr<const Blob> blob) : blob_(std::move(blob)) {}
  Result<size_t> Read(std::span<std::byte> out) override {
    const uint64_t left = blob_->size() - at_;
    const size_t n = static_cast<size_t>(std::min<uint64_t>(left, out.size()));
    if (n == 0) return size_t{0};
    OCIFS_RETURN_IF_ERROR(blob_->ReadAt(at_, out.first(n)));
    at_ += n;
    return n;
  }

 private:
  std::shared_ptr<const Blob> blob_;
  uint64_t at_ = 0;
};

bool Under(std::string_view path, std::string_view dir) {
  return dir.empty() || path == dir ||
         (path.starts_with(dir) && path.size() > dir.size() && path[dir.size()] == '/');
}

template <typename Map>
void RemoveUnder(Map& map, std::string_view dir, bool keep_dir_itself = false) {
  for (auto it = map.begin(); it != map.end();) {
    if (Under(it->first, dir) && !(keep_dir_itself && it->first == dir)) {
      it = map.erase(it);
    } else {
      ++it;
    }
  }
}

bool InDir(std::string_view path, std::string_view dir) {
  return path.starts_with(dir) && path.size() > dir.size() &&
         path.substr(dir.size()).find('/') == std::string_view::npos;
}

}  // namespace

bool IsAptFile(std::string_view p) {
  return p == "var/lib/dpkg/status" || p == "etc/apt/sources.list" || p == "etc/apt/trusted.gpg" ||
         (InDir(p, "etc/apt/sources.list.d/") &&
          (p.ends_with(".list") || p.ends_with(".sources"))) ||
         ((InDir(p, "etc/apt/trusted.gpg.d/") || InDir(p, "usr/share/keyrings/") ||
           InDir(p, "etc/apt/keyrings/")) &&
          (p.ends_with(".gpg") || p.ends_with(".asc") || p.ends_with(".pgp")));
}

Result<BaseFiles> ReadBaseFiles(const BaseImage& base,
                                const std::function<bool(std::string_view)>& want,
                                uint64_t max_file) {
  BaseFiles out;
  for (size_t i = 0; i < base.layers.size(); ++i) {
    const BaseImage::Layer& layer = base.layers[i];
    const std::string what = fmt::format("base `{}` layer {} ({})", base.reference, i + 1,
                                         layer.descriptor.digest.Short());
    const std::string& type = layer.descriptor.media_type;
    debian::Codec codec = debian::Codec::kNone;
    if (type == kMediaTypeOciLayerGzip) {
      codec = debian::Codec::kGzip;
    } else if (type == kMediaTypeOciLayerZstd) {
      codec = debian::Codec::kZstd;
    } else if (type != kMediaTypeOciLayer) {
      return Unsupported(fmt::format("{}: media type `{}`", what, type));
    }
    TarReader reader(debian::Decompress(codec, std::make_unique<BlobStream>(layer.blob), what),
                     what);
    while (true) {
      OCIFS_ASSIGN_OR_RETURN(std::optional<TarHeader> h, reader.Next());
      if (!h) break;
      const size_t slash = h->name.rfind('/');
      const std::string dir = slash == std::string::npos ? "" : h->name.substr(0, slash);
      const std::string base_name =
          slash == std::string::npos ? h->name : h->name.substr(slash + 1);
      if (base_name == ".wh..wh..opq") {
        RemoveUnder(out.files, dir, true);
        RemoveUnder(out.symlinks, dir, true);
        continue;
      }
      if (base_name.starts_with(".wh.")) {
        const std::string gone = (dir.empty() ? "" : dir + "/") + base_name.substr(4);
        RemoveUnder(out.files, gone);
        RemoveUnder(out.symlinks, gone);
        continue;
      }
      // An entry replaces what lower layers had at its name (a directory replaces nothing below).
      if (h->type != '5') {
        out.files.erase(h->name);
        out.symlinks.erase(h->name);
      }
      const bool top_level = h->name.find('/') == std::string::npos;
      if (h->type == '2' && (top_level || want(h->name))) {
        out.symlinks[h->name] = h->link;
      } else if (h->type == '0' && want(h->name)) {
        if (h->size > max_file)
          return InvalidArgument(fmt::format("{}: `/{}` is {} bytes, more than the {} read", what,
                                             h->name, h->size, max_file));
        OCIFS_ASSIGN_OR_RETURN(out.files[h->name], reader.ReadBody(max_file));
      }
    }
  }
  return out;
}

}  // namespace ocifs
