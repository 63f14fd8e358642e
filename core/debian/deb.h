// What a .deb holds, read without dpkg: an ar archive of `debian-binary` ("2.0"), control.tar.*
// (the control file, md5sums, conffiles, maintainer scripts, triggers) and data.tar.* (the
// package's files).
//
//   OCIFS_ASSIGN_OR_RETURN(DebContents deb, ReadDeb(file, "`libpq5_15.5-0+deb12u1_amd64.deb`"));
//   for (const TarHeader& h : deb.entries) ...          // h.offset: in the decompressed data.tar
//   OCIFS_ASSIGN_OR_RETURN(auto data, OpenDebData(file, deb.data, "..."));
//
// ReadDeb reads the whole package once (data.tar decompressed, bodies skipped but for the
// conffiles, whose MD5 dpkg's status records). A .deb that is not one, a member missing, a
// damaged stream are kCorrupt naming `what`. Thread safety: functions; a File may be shared.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/debian/decompress.h"
#include "core/oci/tar_reader.h"
#include "core/support/byte_stream.h"
#include "core/support/status.h"
#include "core/support/tree.h"

namespace ocifs::debian {

struct DebMember {
  std::string name;     // "data.tar.xz"
  uint64_t offset = 0;  // of its bytes in the .deb
  uint64_t size = 0;
  Codec codec = Codec::kNone;
};

struct DebContents {
  std::string control;                      // the control file's text
  std::map<std::string, std::string> info;  // control.tar's other files: "md5sums", "postinst", ...
  std::map<std::string, std::string> conffiles;  // "/etc/foo.conf" -> MD5 hex of its content
  DebMember data;
  std::vector<TarHeader> entries;  // data.tar's, in its order; "./" is the root, named ""
};

Result<DebContents> ReadDeb(File& deb, std::string_view what);

// The decompressed data.tar of a .deb read by ReadDeb.
std::unique_ptr<ByteStream> OpenDebData(std::shared_ptr<File> deb, const DebMember& data,
                                        std::string what);

// `size` bytes of `file` from `offset` on, in order; a file that ends sooner fails with kCorrupt.
std::unique_ptr<ByteStream> FileRange(std::shared_ptr<File> file, uint64_t offset, uint64_t size,
                                      std::string what);

}  // namespace ocifs::debian
