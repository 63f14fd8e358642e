// Reading tar streams that others made: a .deb's data.tar, a base image's layers.
//
//   TarReader reader(std::move(stream), "data.tar of `libpq5`");
//   while (true) {
//     OCIFS_ASSIGN_OR_RETURN(std::optional<TarHeader> h, reader.Next());
//     if (!h) break;                                 // the end-of-archive blocks, or the end
//     if (want(h->name)) OCIFS_ASSIGN_OR_RETURN(std::string body, reader.ReadBody(1 << 20));
//   }
//
// Formats: ustar and old GNU/v7 headers, GNU long names and link targets ('L', 'K'), and PAX
// extended headers ('x' for the next entry, 'g' ignored) for path, linkpath, size, uid, gid and
// mtime. Names lose a leading "./" or "/" and a trailing '/'. A header whose checksum is wrong,
// a number that is not octal or base-256, or a stream that ends inside an entry is kCorrupt
// naming `what`.
//
// Thread safety: one reader.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "core/support/byte_stream.h"
#include "core/support/status.h"

namespace ocifs {

struct TarHeader {
  // '0' file, '1' hardlink, '2' symlink, '3' char device, '4' block device, '5' directory,
  // '6' FIFO ('\0' and '7' are read as '0').
  char type = '0';
  std::string name;   // "usr/lib/x86_64-linux-gnu/libpq.so.5.15"; "" for the root
  std::string link;   // a symlink's target, a hardlink's earlier name (cleaned like `name`)
  uint32_t mode = 0;  // st_mode & 07777
  uint32_t uid = 0, gid = 0;
  int64_t mtime = 0;
  uint64_t size = 0;    // of the body ('0' only; other types have none)
  uint64_t offset = 0;  // where the body starts in the stream
};

class TarReader {
 public:
  TarReader(std::unique_ptr<ByteStream> stream, std::string what);

  // The next entry, the body of the one before skipped if it was not read; nullopt at the end.
  Result<std::optional<TarHeader>> Next();
  // The current entry's body, all of it; kInvalidArgument when it exceeds `max` bytes.
  // REQUIRES: called once, right after Next gave an entry.
  Result<std::string> ReadBody(uint64_t max);

 private:
  Status Fill(char* out, size_t n);  // exactly n bytes, else kCorrupt
  Status Skip(uint64_t n);

  std::unique_ptr<ByteStream> stream_;
  std::string what_;
  uint64_t position_ = 0;
  uint64_t body_left_ = 0;  // of the current entry, with its padding
  uint64_t body_size_ = 0;
};

}  // namespace ocifs
