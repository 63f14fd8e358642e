// libFuzzer target: a .deb as ocifs reads it (ar members, compressed control and data tars, tar
// headers of every kind), and the same bytes as a plain tar stream and as each compressed stream.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <string>

#include "core/debian/deb.h"
#include "core/debian/decompress.h"
#include "core/oci/tar_reader.h"
#include "core/support/tree.h"

namespace {

class StringStream : public ocifs::ByteStream {
 public:
  explicit StringStream(std::string s) : s_(std::move(s)) {}
  ocifs::Result<size_t> Read(std::span<std::byte> out) override {
    const size_t n = std::min(out.size(), s_.size() - at_);
    std::memcpy(out.data(), s_.data() + at_, n);
    at_ += n;
    return n;
  }

 private:
  std::string s_;
  size_t at_ = 0;
};

void ReadTar(std::unique_ptr<ocifs::ByteStream> stream) {
  ocifs::TarReader reader(std::move(stream), "fuzz");
  for (int i = 0; i < 10000; ++i) {
    auto h = reader.Next();
    if (!h.ok() || !*h) return;
    if (i % 2) (void)reader.ReadBody(1 << 16);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string bytes(reinterpret_cast<const char*>(data), size);
  ocifs::MemTree tree;
  tree.AddFile("x.deb", bytes);
  if (auto file = tree.Open("x.deb"); file.ok()) {
    std::shared_ptr<ocifs::File> shared(std::move(*file));
    if (auto deb = ocifs::debian::ReadDeb(*shared, "x.deb"); deb.ok()) {
      ReadTar(ocifs::debian::OpenDebData(shared, deb->data, "x.deb"));
    }
  }
  ReadTar(std::make_unique<StringStream>(bytes));
  for (auto codec :
       {ocifs::debian::Codec::kGzip, ocifs::debian::Codec::kXz, ocifs::debian::Codec::kZstd}) {
    ReadTar(ocifs::debian::Decompress(codec, std::make_unique<StringStream>(bytes), "fuzz"));
  }
  return 0;
}
