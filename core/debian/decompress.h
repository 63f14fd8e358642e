// Decompressing the members of a .deb: data.tar and control.tar come as .xz (most of Debian),
// .zst (Ubuntu, newer builds), .gz (older packages) or uncompressed.
//
//   OCIFS_ASSIGN_OR_RETURN(Codec codec, CodecOf("data.tar.xz"));
//   std::unique_ptr<ByteStream> tar = Decompress(codec, std::move(member), "`libpq5_15.5.deb`");
//
// A stream that is malformed, or ends before its compressed data does, fails its read with
// kCorrupt naming `what`: never fewer bytes presented as the whole. Thread safety: one reader.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "core/support/byte_stream.h"
#include "core/support/status.h"

namespace ocifs::debian {

enum class Codec { kNone, kGzip, kXz, kZstd };

// By a file's name: ".gz", ".xz", ".zst", else uncompressed ("data.tar", "Packages");
// kUnsupported for ".bz2", ".lzma" and ".lz4" (they left dpkg and apt's archives long ago).
Result<Codec> CodecOf(std::string_view member_name);

std::unique_ptr<ByteStream> Decompress(Codec codec, std::unique_ptr<ByteStream> compressed,
                                       std::string what);

}  // namespace ocifs::debian
