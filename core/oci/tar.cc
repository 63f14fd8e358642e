#include "core/oci/tar.h"

#include <algorithm>
#include <charconv>
#include <cstring>

#include <fmt/format.h>

namespace ocifs {
namespace {

constexpr size_t kBlock = 512;
constexpr uint64_t kMaxOctal11 = 077777777777ULL;  // what an 11-digit octal field holds
constexpr uint64_t kMaxOctal7 = 07777777ULL;

uint64_t PadTo512(uint64_t n) { return (n + kBlock - 1) / kBlock * kBlock; }

bool IsAscii(std::string_view s) {
  return std::all_of(s.begin(), s.end(),
                     [](char c) { return static_cast<unsigned char>(c) < 0x80; });
}

void PutString(char* field, size_t width, std::string_view value) {
  std::memcpy(field, value.data(), std::min(width, value.size()));
}

// Zero-padded octal with a trailing NUL: width-1 digits. REQUIRES: the value fits (callers
// move larger values to PAX records). No allocation: this runs seven times per entry.
void PutOctal(char* field, size_t width, uint64_t value) {
  field[width - 1] = '\0';
  for (size_t i = width - 1; i-- > 0;) {
    field[i] = static_cast<char>('0' + (value & 7));
    value >>= 3;
  }
}

// A name for a ustar field that cannot hold the real one (the PAX record carries that).
std::string FieldFallback(std::string_view s, size_t width) {
  std::string out;
  for (char c : s.substr(0, width)) out += static_cast<unsigned char>(c) < 0x80 ? c : '_';
  return out;
}

std::string PaxRecord(std::string_view key, std::string_view value) {
  // "<len> <key>=<value>\n" where <len> counts the whole record, its own digits included.
  size_t body = 1 + key.size() + 1 + value.size() + 1;
  size_t len = body + 1;
  while (fmt::formatted_size("{}", len) + body != len) len = fmt::formatted_size("{}", len) + body;
  return fmt::format("{} {}={}\n", len, key, value);
}

void Checksum(char* block) {
  std::memset(block + 148, ' ', 8);
  unsigned sum = 0;
  for (size_t i = 0; i < kBlock; ++i) sum += static_cast<unsigned char>(block[i]);
  PutOctal(block + 148, 7, sum);  // six digits and a NUL
  block[155] = ' ';
}

// Appends one 512-byte ustar header block to `out`.
void AppendUstarBlock(std::string& out, std::string_view name, char type, uint32_t mode,
                      uint64_t uid, uint64_t gid, uint64_t size, int64_t mtime,
                      std::string_view link) {
  const size_t at = out.size();
  out.resize(at + kBlock, '\0');
  char* p = out.data() + at;
  PutString(p + 0, 100, name);
  PutOctal(p + 100, 8, mode);
  PutOctal(p + 108, 8, uid);
  PutOctal(p + 116, 8, gid);
  PutOctal(p + 124, 12, size);
  PutOctal(p + 136, 12, static_cast<uint64_t>(mtime));
  p[156] = type;
  PutString(p + 157, 100, link);
  std::memcpy(p + 257,
              "ustar\0"
              "00",
              8);
  PutOctal(p + 329, 8, 0);  // devmajor
  PutOctal(p + 337, 8, 0);  // devminor
  Checksum(p);
}

// The PAX records an entry needs, sorted by key; "" (no allocation) when every value fits its
// ustar field, as for nearly every entry.
std::string PaxRecords(const TarEntry& e) {
  const bool dir = e.type == TarEntry::Type::kDirectory;
  const size_t name_size = e.name.size() + (dir ? 1 : 0);  // a directory's name ends with '/'
  const uint64_t size = e.type == TarEntry::Type::kFile ? e.size : 0;
  const bool has_link = e.type == TarEntry::Type::kSymlink || e.type == TarEntry::Type::kHardlink;
  std::string records;
  if (e.gid > kMaxOctal7) records += PaxRecord("gid", std::to_string(e.gid));
  if (has_link && (e.link.size() > 100 || !IsAscii(e.link))) {
    records += PaxRecord("linkpath", e.link);
  }
  if (name_size > 100 || !IsAscii(e.name))
    records += PaxRecord("path", dir ? e.name + "/" : e.name);
  if (size > kMaxOctal11) records += PaxRecord("size", std::to_string(size));
  if (e.uid > kMaxOctal7) records += PaxRecord("uid", std::to_string(e.uid));
  return records;
}

Status SourceChanged(const TarEntry& e, std::string_view why) {
  return Status(Code::kChanged, fmt::format("file `{}` in `{}` {} since it was hashed; the layer "
                                            "can no longer be served",
                                            e.source_path, e.tree->root_name(), why));
}

}  // namespace

uint64_t TarHeaderSize(const TarEntry& e) {
  const std::string records = PaxRecords(e);
  return records.empty() ? kBlock : 2 * kBlock + PadTo512(records.size());
}

void AppendTarHeaders(std::string& out, const TarEntry& e, int64_t mtime) {
  std::string name = e.name;
  if (e.type == TarEntry::Type::kDirectory) name += '/';
  const uint64_t size = e.type == TarEntry::Type::kFile ? e.size : 0;
  const bool has_link = e.type == TarEntry::Type::kSymlink || e.type == TarEntry::Type::kHardlink;

  if (std::string records = PaxRecords(e); !records.empty()) {
    // Go's archive/tar names the extended header "<dir>/PaxHeaders.0/<base>".
    std::string_view n(e.name);
    size_t slash = n.rfind('/');
    std::string pax_name =
        slash == std::string_view::npos
            ? fmt::format("PaxHeaders.0/{}", n)
            : fmt::format("{}/PaxHeaders.0/{}", n.substr(0, slash), n.substr(slash + 1));
    AppendUstarBlock(out, FieldFallback(pax_name, 100), 'x', 0644, 0, 0, records.size(), mtime, "");
    out += records;
    out.resize(PadTo512(out.size()), '\0');
  }

  char type = '0';
  switch (e.type) {
    case TarEntry::Type::kFile:
      type = '0';
      break;
    case TarEntry::Type::kDirectory:
      type = '5';
      break;
    case TarEntry::Type::kSymlink:
      type = '2';
      break;
    case TarEntry::Type::kHardlink:
      type = '1';
      break;
  }
  const bool name_fits = name.size() <= 100 && IsAscii(name);
  const bool link_fits = !has_link || (e.link.size() <= 100 && IsAscii(e.link));
  AppendUstarBlock(
      out, name_fits ? name : FieldFallback(name, 100), type, e.mode & 07777,
      e.uid > kMaxOctal7 ? 0 : e.uid, e.gid > kMaxOctal7 ? 0 : e.gid, size > kMaxOctal11 ? 0 : size,
      mtime, has_link ? (link_fits ? std::string_view(e.link) : FieldFallback(e.link, 100)) : "");
}

std::string EncodeTarHeaders(const TarEntry& entry, int64_t mtime) {
  std::string out;
  AppendTarHeaders(out, entry, mtime);
  return out;
}

std::shared_ptr<const VirtualTar> VirtualTar::Build(std::vector<TarEntry> entries, int64_t mtime) {
  auto tar = std::shared_ptr<VirtualTar>(new VirtualTar());
  tar->entries_ = std::move(entries);
  tar->mtime_ = mtime;
  tar->segments_.reserve(tar->entries_.size() * 3 + 1);
  uint64_t off = 0;
  auto add = [&](Kind kind, uint64_t length, uint64_t ref) {
    if (length == 0) return;
    tar->segments_.push_back(Segment{off, length, ref, kind});
    off += length;
  };
  for (size_t i = 0; i < tar->entries_.size(); ++i) {
    const TarEntry& e = tar->entries_[i];
    // Only the header's size now: its bytes are encoded when they are read, so planning a layer
    // of many files neither encodes nor keeps a header per file.
    add(Kind::kHeader, TarHeaderSize(e), i);
    if (e.type == TarEntry::Type::kFile && e.size > 0) {
      add(Kind::kFile, e.size, i);
      add(Kind::kZero, PadTo512(e.size) - e.size, 0);
    }
  }
  add(Kind::kZero, 2 * kBlock, 0);  // end-of-archive marker
  tar->size_ = off;
  return tar;
}

Digest VirtualTar::CacheKey() const {
  std::call_once(key_once_, [this] { key_ = ComputeCacheKey(); });
  return key_;
}

void VirtualTar::StartCacheKey() const {
  std::call_once(key_started_, [this] {
    key_thread_ = std::jthread([this] {
      // A failure (out of memory) leaves the key to the next caller of CacheKey, which tries again.
      try {
        CacheKey();
      } catch (...) {
      }
    });
  });
}

Digest VirtualTar::ComputeCacheKey() const {
  // Every field is written as "<length>:<bytes>;", so no name or link can forge another entry.
  // Fields are gathered in a buffer and hashed in large pieces, and numbers are written with
  // to_chars: this runs over every entry of every layer on each mount (a warm remount too), and
  // formatting with fmt cost 10 ms on the benchmark corpus's 12k entries.
  Sha256 h;
  std::string buf;
  buf.reserve(1 << 16);
  auto number = [](std::string& out, auto v, int base = 10) {
    char digits[24];
    const auto end = std::to_chars(digits, digits + sizeof digits, v, base).ptr;
    out.append(digits, end);
  };
  auto field = [&](std::string_view v) {
    number(buf, v.size());
    buf += ':';
    buf.append(v);
    buf += ';';
  };
  // Fields of numbers after a space each: "<type> <mode, octal> <uid> <gid> <size>", and
  // "file <dev> <ino> <size> <mtime ns> <ctime ns>".
  std::string scratch;
  auto append_numbers = [&](auto... values) { ((scratch += ' ', number(scratch, values)), ...); };
  field("ocifs-layer-key");
  field(std::to_string(kTarFormatVersion));
  field(std::to_string(mtime_));
  field(std::to_string(entries_.size()));
  for (const TarEntry& e : entries_) {
    field(e.name);
    scratch.clear();
    number(scratch, static_cast<int>(e.type));
    scratch += ' ';
    number(scratch, e.mode, 8);
    append_numbers(e.uid, e.gid, e.size);
    field(scratch);
    field(e.link);
    if (e.data) {
      field("data " + Digest::Of(*e.data).hex());
    } else if (e.tree) {
      const FileInfo& i = e.source_info;
      scratch = "file";
      append_numbers(i.dev, i.ino, i.size, i.mtime_ns, i.ctime_ns);
      field(scratch);
    } else {
      field("");
    }
    if (buf.size() >= (1 << 16) - 4096) {
      h.Update(buf);
      buf.clear();
    }
  }
  h.Update(buf);
  return h.Finish();
}

Result<std::shared_ptr<File>> VirtualTar::OpenSource(size_t entry) const {
  const TarEntry& e = entries_[entry];
  OpenFile& slot = open_files_[entry % kOpenFiles];
  {
    std::lock_guard lock(slot.mu);
    if (slot.entry == entry) return slot.file;
  }
  OCIFS_ASSIGN_OR_RETURN(std::unique_ptr<File> opened, e.tree->Open(e.source_path));
  std::shared_ptr<File> file = std::move(opened);
  if (!file->info_at_open().SameVersion(e.source_info)) return SourceChanged(e, "changed");
  std::lock_guard lock(slot.mu);
  slot.entry = entry;
  slot.file = file;  // the file it replaces closes when its last reader is done
  return file;
}

Status VirtualTar::ReadFile(size_t entry, uint64_t from, std::span<std::byte> out) const {
  const TarEntry& e = entries_[entry];
  if (e.data) {
    std::memcpy(out.data(), e.data->data() + from, out.size());
    return Status::Ok();
  }
  OCIFS_ASSIGN_OR_RETURN(std::shared_ptr<File> file, OpenSource(entry));
  size_t done = 0;
  while (done < out.size()) {
    OCIFS_ASSIGN_OR_RETURN(size_t n, file->Pread(out.subspan(done), from + done));
    if (n == 0) return SourceChanged(e, "shrank");
    done += n;
  }
  // After the read: a change made before or during it has moved the mtime or ctime by now.
  OCIFS_ASSIGN_OR_RETURN(FileInfo after, file->Stat());
  if (!after.SameVersion(e.source_info)) return SourceChanged(e, "changed");
  return Status::Ok();
}

void VirtualTar::CopyHeader(const Segment& s, uint64_t within, std::span<std::byte> out,
                            std::string& scratch) const {
  scratch.clear();
  AppendTarHeaders(scratch, entries_[s.ref], mtime_);
  std::memcpy(out.data(), scratch.data() + within, out.size());
}

Status VirtualTar::ReadAt(uint64_t offset, std::span<std::byte> out) const {
  if (offset + out.size() > size_ || offset + out.size() < offset) {
    return Internal(fmt::format("read of {} bytes at {} past the end of a {}-byte layer",
                                out.size(), offset, size_));
  }
  // The first segment that ends after `offset`.
  auto it =
      std::upper_bound(segments_.begin(), segments_.end(), offset,
                       [](uint64_t off, const Segment& s) { return off < s.offset + s.length; });
  // Source files this request reads whole are read together at the end (Tree::ReadFiles batches
  // their system calls); a file read in part goes through the open files, as the next request
  // reads on in it.
  std::vector<FileRead> whole;
  std::vector<size_t> whole_entries;
  size_t done = 0;
  std::string header;
  while (done < out.size()) {
    const Segment& s = *it++;
    uint64_t within = offset + done - s.offset;
    size_t n = static_cast<size_t>(std::min<uint64_t>(s.length - within, out.size() - done));
    std::span<std::byte> dst = out.subspan(done, n);
    switch (s.kind) {
      case Kind::kHeader:
        CopyHeader(s, within, dst, header);
        break;
      case Kind::kZero:
        std::memset(dst.data(), 0, n);
        break;
      case Kind::kFile:
        if (const TarEntry& e = entries_[s.ref]; e.tree && within == 0 && n == s.length) {
          whole.push_back({.path = e.source_path, .offset = 0, .out = dst});
          whole_entries.push_back(s.ref);
        } else {
          OCIFS_RETURN_IF_ERROR(ReadFile(s.ref, within, dst));
        }
        break;
    }
    done += n;
  }
  return ReadWholeFiles(whole, whole_entries);
}

Status VirtualTar::ReadWholeFiles(std::span<FileRead> reads,
                                  std::span<const size_t> entries) const {
  // A layer's files come from one tree, or from a few in runs (the entries are sorted by name).
  for (size_t begin = 0; begin < reads.size();) {
    const Tree& tree = *entries_[entries[begin]].tree;
    size_t end = begin + 1;
    while (end < reads.size() && entries_[entries[end]].tree.get() == &tree) ++end;
    tree.ReadFiles(reads.subspan(begin, end - begin));
    begin = end;
  }
  for (size_t i = 0; i < reads.size(); ++i) {
    const TarEntry& e = entries_[entries[i]];
    if (!reads[i].after.ok()) return reads[i].after.status();
    // After the read: a change made before or during it has moved the mtime or ctime by now.
    if (!reads[i].after->SameVersion(e.source_info)) return SourceChanged(e, "changed");
  }
  return Status::Ok();
}

Status VirtualTar::Stream(const std::function<void(std::span<const std::byte>)>& sink,
                          size_t chunk) const {
  std::vector<std::byte> buf(static_cast<size_t>(std::min<uint64_t>(chunk, size_)));
  for (uint64_t offset = 0; offset < size_;) {
    const size_t n = static_cast<size_t>(std::min<uint64_t>(buf.size(), size_ - offset));
    OCIFS_RETURN_IF_ERROR(ReadAt(offset, std::span(buf.data(), n)));
    sink(std::span<const std::byte>(buf.data(), n));
    offset += n;
  }
  return Status::Ok();
}

}  // namespace ocifs
