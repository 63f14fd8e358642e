#include "core/oci/tar_reader.h"

#include <algorithm>
#include <charconv>
#include <map>

namespace ocifs {
namespace {

constexpr size_t kBlock = 512;

uint64_t Padded(uint64_t n) { return (n + kBlock - 1) / kBlock * kBlock; }

std::string_view Field(const char* block, size_t at, size_t len) {
  std::string_view f(block + at, len);
  return f.substr(0, f.find('\0'));
}

// Octal digits (spaces and NULs around them allowed), or base-256 when the high bit is set.
bool Number(const char* block, size_t at, size_t len, uint64_t& out) {
  out = 0;
  const auto* b = reinterpret_cast<const unsigned char*>(block + at);
  if (b[0] & 0x80) {
    if (b[0] != 0x80) return false;  // negative numbers: nothing here needs them
    for (size_t i = 1; i < len; ++i) {
      if (out >> 56) return false;
      out = (out << 8) | b[i];
    }
    return true;
  }
  size_t i = 0;
  while (i < len && (b[i] == ' ' || b[i] == '\0')) ++i;
  for (; i < len && b[i] >= '0' && b[i] <= '7'; ++i) {
    if (out >> 60) return false;
    out = out * 8 + (b[i] - '0');
  }
  for (; i < len; ++i) {
    if (b[i] != ' ' && b[i] != '\0') return false;
  }
  return true;  // an all-blank field is 0
}

std::string CleanName(std::string_view n) {
  while (true) {
    if (n.starts_with("./")) {
      n.remove_prefix(2);
    } else if (n.starts_with('/')) {
      n.remove_prefix(1);
    } else {
      break;
    }
  }
  while (n.ends_with('/')) n.remove_suffix(1);
  return n == "." ? "" : std::string(n);
}

}  // namespace

TarReader::TarReader(std::unique_ptr<ByteStream> stream, std::string what)
    : stream_(std::move(stream)), what_(std::move(what)) {}

Status TarReader::Fill(char* out, size_t n) {
  size_t done = 0;
  while (done < n) {
    OCIFS_ASSIGN_OR_RETURN(size_t got,
                           stream_->Read(std::as_writable_bytes(std::span(out + done, n - done))));
    if (got == 0) return Corrupt(what_ + ": the tar stream ends inside an entry");
    done += got;
  }
  position_ += n;
  return Status::Ok();
}

Status TarReader::Skip(uint64_t n) {
  char buf[16384];
  while (n > 0) {
    const size_t step = static_cast<size_t>(std::min<uint64_t>(n, sizeof(buf)));
    OCIFS_RETURN_IF_ERROR(Fill(buf, step));
    n -= step;
  }
  return Status::Ok();
}

Result<std::string> TarReader::ReadBody(uint64_t max) {
  if (body_size_ > max)
    return InvalidArgument(what_ + ": an entry of " + std::to_string(body_size_) +
                           " bytes, more than the " + std::to_string(max) + " read whole");
  std::string body(static_cast<size_t>(body_size_), '\0');
  OCIFS_RETURN_IF_ERROR(Fill(body.data(), body.size()));
  body_left_ -= body_size_;
  body_size_ = 0;
  return body;
}

Result<std::optional<TarHeader>> TarReader::Next() {
  OCIFS_RETURN_IF_ERROR(Skip(body_left_));
  body_left_ = body_size_ = 0;
  std::optional<std::string> long_name, long_link;
  std::map<std::string, std::string> pax;
  char block[kBlock];
  while (true) {
    // A stream that ends between entries, without the zero blocks, ends the archive too.
    OCIFS_ASSIGN_OR_RETURN(size_t first,
                           stream_->Read(std::as_writable_bytes(std::span(block, kBlock))));
    if (first == 0) {
      if (long_name || long_link || !pax.empty())
        return Corrupt(what_ + ": the tar stream ends after an extended header");
      return std::optional<TarHeader>();
    }
    position_ += first;
    if (first < kBlock) OCIFS_RETURN_IF_ERROR(Fill(block + first, kBlock - first));
    if (std::all_of(block, block + kBlock, [](char c) { return c == '\0'; }))
      return std::optional<TarHeader>();

    uint64_t checksum = 0, unsigned_sum = 0;
    int64_t signed_sum = 0;
    for (size_t i = 0; i < kBlock; ++i) {
      const bool in_field = i >= 148 && i < 156;
      unsigned_sum += in_field ? ' ' : static_cast<unsigned char>(block[i]);
      signed_sum += in_field ? ' ' : static_cast<signed char>(block[i]);
    }
    const std::string at = what_ + ": the header at byte " + std::to_string(position_ - kBlock);
    if (!Number(block, 148, 8, checksum) ||
        (checksum != unsigned_sum && static_cast<int64_t>(checksum) != signed_sum))
      return Corrupt(at + " has a wrong checksum");
    TarHeader h;
    uint64_t mode = 0, uid = 0, gid = 0, size = 0, mtime = 0;
    if (!Number(block, 100, 8, mode) || !Number(block, 108, 8, uid) ||
        !Number(block, 116, 8, gid) || !Number(block, 124, 12, size) ||
        !Number(block, 136, 12, mtime))
      return Corrupt(at + " holds a number that is not octal");
    h.type = block[156] == '\0' || block[156] == '7' ? '0' : block[156];
    const uint64_t body =
        (h.type == '1' || h.type == '2' || h.type == '3' || h.type == '4' || h.type == '6') ? 0
                                                                                            : size;
    auto read_body = [&](uint64_t max) -> Result<std::string> {
      body_size_ = body;
      body_left_ = Padded(body);
      OCIFS_ASSIGN_OR_RETURN(std::string b, ReadBody(max));
      OCIFS_RETURN_IF_ERROR(Skip(body_left_));
      body_left_ = 0;
      return b;
    };
    if (h.type == 'L' || h.type == 'K') {
      OCIFS_ASSIGN_OR_RETURN(std::string b, read_body(1 << 20));
      (h.type == 'L' ? long_name : long_link) = b.substr(0, b.find('\0'));
      continue;
    }
    if (h.type == 'x' || h.type == 'g') {
      OCIFS_ASSIGN_OR_RETURN(std::string b, read_body(1 << 20));
      if (h.type == 'g') continue;
      // "LEN key=value\n" records.
      for (size_t i = 0; i < b.size();) {
        size_t len = 0;
        const size_t space = b.find(' ', i);
        auto [end, ec] = std::from_chars(b.data() + i, b.data() + std::min(space, b.size()), len);
        if (space == std::string::npos || ec != std::errc() || end != b.data() + space ||
            len == 0 || i + len > b.size() || b[i + len - 1] != '\n')
          return Corrupt(at + " has a malformed PAX record");
        const std::string record = b.substr(space + 1, i + len - 1 - (space + 1));
        const size_t eq = record.find('=');
        if (eq == std::string::npos) return Corrupt(at + " has a malformed PAX record");
        pax[record.substr(0, eq)] = record.substr(eq + 1);
        i += len;
      }
      continue;
    }
    std::string name(Field(block, 0, 100));
    const std::string_view magic(block + 257, 6);
    if (magic == std::string_view("ustar\0", 6)) {
      const std::string_view prefix = Field(block, 345, 155);
      if (!prefix.empty()) name = std::string(prefix) + "/" + name;
    }
    std::string link(Field(block, 157, 100));
    if (long_name) name = *long_name;
    if (long_link) link = *long_link;
    auto pax_number = [&](const char* key, uint64_t& out) -> Status {
      auto it = pax.find(key);
      if (it == pax.end()) return Status::Ok();
      std::string_view v = it->second;
      v = v.substr(0, v.find('.'));  // mtime may have a fraction
      auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), out);
      if (ec != std::errc() || end != v.data() + v.size())
        return Corrupt(at + ": PAX " + key + " is not a number");
      return Status::Ok();
    };
    if (auto it = pax.find("path"); it != pax.end()) name = it->second;
    if (auto it = pax.find("linkpath"); it != pax.end()) link = it->second;
    OCIFS_RETURN_IF_ERROR(pax_number("size", size));
    OCIFS_RETURN_IF_ERROR(pax_number("uid", uid));
    OCIFS_RETURN_IF_ERROR(pax_number("gid", gid));
    OCIFS_RETURN_IF_ERROR(pax_number("mtime", mtime));
    h.name = CleanName(name);
    h.link = h.type == '1' ? CleanName(link) : link;
    h.mode = static_cast<uint32_t>(mode & 07777);
    h.uid = static_cast<uint32_t>(uid);
    h.gid = static_cast<uint32_t>(gid);
    h.mtime = static_cast<int64_t>(mtime);
    h.size = (h.type == '1' || h.type == '2' || h.type == '3' || h.type == '4' || h.type == '6')
                 ? 0
                 : size;
    h.offset = position_;
    body_size_ = h.size;
    body_left_ = Padded(h.size);
    return std::optional<TarHeader>(std::move(h));
  }
}

}  // namespace ocifs
