// A layout held in memory, for tests of what reads whole layouts (the push, archives).
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "core/oci/layout_source.h"

namespace ocifs {

class MapSource : public LayoutSource {
 public:
  std::string index;                         // index.json's text
  std::map<std::string, std::string> blobs;  // "sha256:HEX" -> bytes

  Descriptor Add(const std::string& media_type, const std::string& bytes) {
    blobs[Digest::Of(bytes).str()] = bytes;
    return {media_type, Digest::Of(bytes), bytes.size()};
  }
  Result<std::vector<IndexEntry>> Index() const override { return ParseIndex("test", index); }
  Result<std::shared_ptr<const Blob>> Open(const Descriptor& d) const override {
    auto it = blobs.find(d.digest.str());
    if (it == blobs.end()) return NotFound("no blob " + d.digest.str());
    return std::shared_ptr<const Blob>(std::make_shared<MemoryBlob>(it->second));
  }
};

}  // namespace ocifs
