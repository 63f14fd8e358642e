#include "core/debian/deb.h"

#include <openssl/evp.h>

#include <charconv>

#include "core/support/text.h"

namespace ocifs::debian {
namespace {

constexpr std::string_view kArMagic = "!<arch>\n";
constexpr size_t kArHeader = 60;

class RangeStream : public ByteStream {
 public:
  RangeStream(File& file, uint64_t offset, uint64_t size, std::string what,
              std::shared_ptr<File> keep = nullptr)
      : file_(file), keep_(std::move(keep)), offset_(offset), left_(size), what_(std::move(what)) {}
  Result<size_t> Read(std::span<std::byte> out) override {
    if (left_ == 0 || out.empty()) return size_t{0};
    const size_t want = static_cast<size_t>(std::min<uint64_t>(left_, out.size()));
    OCIFS_ASSIGN_OR_RETURN(size_t n, file_.Pread(out.first(want), offset_));
    if (n == 0) return Corrupt(what_ + ": the file ends before its last member does");
    offset_ += n;
    left_ -= n;
    return n;
  }

 private:
  File& file_;
  std::shared_ptr<File> keep_;
  uint64_t offset_, left_;
  std::string what_;
};

Status ReadExactly(File& file, uint64_t offset, std::span<std::byte> out, std::string_view what) {
  size_t done = 0;
  while (done < out.size()) {
    OCIFS_ASSIGN_OR_RETURN(size_t n, file.Pread(out.subspan(done), offset + done));
    if (n == 0) return Corrupt(std::string(what) + ": the file ends inside its ar archive");
    done += n;
  }
  return Status::Ok();
}

std::string Md5Hex(std::string_view bytes) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(bytes.data(), bytes.size(), md, &len, EVP_md5(), nullptr);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (unsigned int i = 0; i < len; ++i) (out += kHex[md[i] >> 4]) += kHex[md[i] & 15];
  return out;
}

// The members of the ar archive, in order.
Result<std::vector<DebMember>> Members(File& deb, std::string_view what) {
  OCIFS_ASSIGN_OR_RETURN(FileInfo info, deb.Stat());
  char magic[8];
  if (info.size < kArMagic.size()) return Corrupt(std::string(what) + ": not a .deb (too short)");
  OCIFS_RETURN_IF_ERROR(ReadExactly(deb, 0, std::as_writable_bytes(std::span(magic)), what));
  if (std::string_view(magic, 8) != kArMagic)
    return Corrupt(std::string(what) + ": not a .deb (no ar archive)");
  std::vector<DebMember> out;
  for (uint64_t at = kArMagic.size(); at < info.size;) {
    char h[kArHeader];
    if (info.size - at < kArHeader)
      return Corrupt(std::string(what) + ": the ar archive ends inside a header");
    OCIFS_RETURN_IF_ERROR(ReadExactly(deb, at, std::as_writable_bytes(std::span(h)), what));
    if (h[58] != '`' || h[59] != '\n')
      return Corrupt(std::string(what) + ": a damaged ar header at byte " + std::to_string(at));
    DebMember m;
    m.name = std::string(TrimSpace(std::string_view(h, 16)));
    if (m.name.ends_with('/')) m.name.pop_back();  // GNU ar ends names with '/'
    const std::string_view size = TrimSpace(std::string_view(h + 48, 10));
    auto [end, ec] = std::from_chars(size.data(), size.data() + size.size(), m.size);
    if (ec != std::errc() || end != size.data() + size.size())
      return Corrupt(std::string(what) + ": member `" + m.name + "` has no size");
    m.offset = at + kArHeader;
    if (m.offset + m.size > info.size)
      return Corrupt(std::string(what) + ": member `" + m.name +
                     "` goes past the end of the file (truncated?)");
    at = m.offset + m.size + (m.size & 1);
    out.push_back(std::move(m));
  }
  return out;
}

}  // namespace

std::unique_ptr<ByteStream> FileRange(std::shared_ptr<File> file, uint64_t offset, uint64_t size,
                                      std::string what) {
  File& f = *file;
  return std::make_unique<RangeStream>(f, offset, size, std::move(what), std::move(file));
}

std::unique_ptr<ByteStream> OpenDebData(std::shared_ptr<File> deb, const DebMember& data,
                                        std::string what) {
  return Decompress(data.codec, FileRange(std::move(deb), data.offset, data.size, what),
                    what + " " + data.name);
}

Result<DebContents> ReadDeb(File& deb, std::string_view what) {
  OCIFS_ASSIGN_OR_RETURN(std::vector<DebMember> members, Members(deb, what));
  const std::string w(what);
  if (members.empty() || members[0].name != "debian-binary")
    return Corrupt(w + ": not a .deb (its first member is not debian-binary)");
  std::string version(static_cast<size_t>(std::min<uint64_t>(members[0].size, 16)), '\0');
  OCIFS_RETURN_IF_ERROR(
      ReadExactly(deb, members[0].offset, std::as_writable_bytes(std::span(version)), what));
  if (!version.starts_with("2."))
    return Unsupported(w + ": .deb format `" + std::string(TrimSpace(version)) +
                       "`, ocifs reads 2.x");
  const DebMember* control = nullptr;
  const DebMember* data = nullptr;
  for (const DebMember& m : members) {
    if (m.name.starts_with("control.tar")) control = control ? control : &m;
    if (m.name.starts_with("data.tar")) data = data ? data : &m;
  }
  if (!control || !data) return Corrupt(w + ": a .deb needs control.tar and data.tar members");
  DebContents out;
  out.data = *data;
  OCIFS_ASSIGN_OR_RETURN(out.data.codec, CodecOf(data->name));
  OCIFS_ASSIGN_OR_RETURN(Codec control_codec, CodecOf(control->name));

  {
    const std::string cw = w + " " + control->name;
    TarReader reader(
        Decompress(control_codec,
                   std::make_unique<RangeStream>(deb, control->offset, control->size, cw), cw),
        cw);
    while (true) {
      OCIFS_ASSIGN_OR_RETURN(std::optional<TarHeader> h, reader.Next());
      if (!h) break;
      if (h->type != '0' || h->name.empty() || h->name.find('/') != std::string::npos) continue;
      OCIFS_ASSIGN_OR_RETURN(std::string body, reader.ReadBody(16 << 20));
      if (h->name == "control") {
        out.control = std::move(body);
      } else {
        out.info[h->name] = std::move(body);
      }
    }
    if (out.control.empty()) return Corrupt(cw + ": it has no control file");
  }

  std::map<std::string, std::string> wanted;  // conffile name in the tar ("etc/x") -> "/etc/x"
  if (auto it = out.info.find("conffiles"); it != out.info.end()) {
    for (std::string_view line : SplitLines(it->second)) {
      line = TrimSpace(line);
      if (line.starts_with("remove-on-upgrade ")) continue;  // not shipped
      if (!line.empty() && line.front() == '/')
        wanted[std::string(line.substr(1))] = std::string(line);
    }
  }
  const std::string dw = w + " " + data->name;
  TarReader reader(Decompress(out.data.codec,
                              std::make_unique<RangeStream>(deb, data->offset, data->size, dw), dw),
                   dw);
  while (true) {
    OCIFS_ASSIGN_OR_RETURN(std::optional<TarHeader> h, reader.Next());
    if (!h) break;
    if (auto it = wanted.find(h->name); it != wanted.end() && h->type == '0') {
      OCIFS_ASSIGN_OR_RETURN(std::string body, reader.ReadBody(64 << 20));
      out.conffiles[it->second] = Md5Hex(body);
    }
    out.entries.push_back(std::move(*h));
  }
  return out;
}

}  // namespace ocifs::debian
