// Files of a base image, read from its layers without unpacking them: what system packages need
// to know of the base (dpkg's status, apt's sources and keyrings, the merged-/usr links).
//
//   OCIFS_ASSIGN_OR_RETURN(BaseFiles f, ReadBaseFiles(base, IsAptFile));
//   f.files["var/lib/dpkg/status"]; f.symlinks["bin"];   // "usr/bin"
//
// Layers are read bottom to top (gzip, zstd or plain tar, as their media types say) and their
// whiteouts applied: `.wh.NAME` removes NAME and what is below it, `.wh..wh..opq` what lower
// layers had in its directory. A wanted file larger than `max_file` is an error naming it.
//
// Thread safety: a function; the base's blobs may be read concurrently.
#pragma once

#include <functional>
#include <map>
#include <string>
#include <string_view>

#include "core/oci/base.h"
#include "core/support/status.h"

namespace ocifs {

struct BaseFiles {
  std::map<std::string, std::string> files;     // path ("etc/apt/sources.list") -> content
  std::map<std::string, std::string> symlinks;  // wanted paths and top-level names -> target
};

Result<BaseFiles> ReadBaseFiles(const BaseImage& base,
                                const std::function<bool(std::string_view path)>& want,
                                uint64_t max_file = 64 << 20);

// The paths apt and dpkg need: var/lib/dpkg/status, etc/apt/sources.list, sources.list.d/*.list
// and *.sources, etc/apt/trusted.gpg, and the keyrings (.gpg, .asc, and .pgp as trixie's
// debian-archive-keyring names them) in etc/apt/trusted.gpg.d/, etc/apt/keyrings/ and
// usr/share/keyrings/.
bool IsAptFile(std::string_view path);

}  // namespace ocifs
