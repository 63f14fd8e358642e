// The system-packages layer: the files of the added .deb packages and dpkg's record of them, as
// the TarEntry list of one layer (VirtualTar makes its bytes on read; nothing is unpacked).
//
//   DebTree:         a Tree whose files are the members of .deb data.tars, read by decompressing
//                    on demand. It opens each .deb through a DebOpener (the cache, or a fetch)
//                    and checks it against the index's SHA256 and Size before reading a byte.
//   PlanSystemLayer: the entries: every directory first (sorted), then each package's files,
//                    links and hardlinks in its data.tar's order (so a read of the layer in order
//                    decompresses each package once), then dpkg's files; and what they hold:
//   - each package's data.tar members, modes, owners and symlinks as the package has them;
//     paths under a directory the base links into /usr (bin, sbin, lib, lib64, ...) moved into
//     usr/, as dpkg on a merged-/usr system leaves them; the root and those directories left out;
//   - hardlinks within a package kept as hardlinks; FIFOs and devices left out with a warning;
//   - a name two packages ship: the first package's is kept, with a warning naming both;
//   - var/lib/dpkg/status: the base's, then one paragraph per package (its control file with
//     "Status: install ok installed" and its Conffiles), so `dpkg -l` and SBOM scanners see them;
//   - var/lib/dpkg/info/PKG.list (PKG:ARCH for Multi-Arch: same), .md5sums and the package's
//     other control files (maintainer scripts, triggers, shlibs), as dpkg keeps them;
//   - warnings for packages whose postinst does more than ldconfig or triggers: it is not run.
//
// Thread safety: DebTree is safe for concurrent reads; PlanSystemLayer is a function.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "core/debian/deb.h"
#include "core/debian/package.h"
#include "core/oci/tar.h"
#include "core/support/status.h"
#include "core/support/tree.h"

namespace ocifs::debian {

// One package to add: its index entry (SHA256, Size, Filename) and what ReadDeb found in it.
struct LayerPackage {
  Package package;
  DebContents contents;
};

// Opens the .deb of `package` (from the cache, fetching it when it is missing).
using DebOpener = std::function<Result<std::shared_ptr<File>>(const Package& package)>;

class DebTree : public Tree {
 public:
  DebTree(const std::vector<LayerPackage>& packages, DebOpener open);

  // The source path and info of `size` bytes at `offset` of the data.tar of the package whose
  // .deb has `sha256`: what a TarEntry names to have DebTree serve its bytes.
  static std::string SourcePath(const std::string& sha256, uint64_t offset, uint64_t size);
  static FileInfo SourceInfo(const std::string& sha256, uint64_t offset, uint64_t size);

  const std::string& root_name() const override { return name_; }
  Result<std::unique_ptr<File>> Open(std::string_view path) const override;
  // Not walked: PlanSystemLayer names every file itself.
  Result<FileInfo> Lstat(std::string_view path) const override;
  Result<std::vector<DirEntry>> ReadDir(std::string_view path) const override;
  Result<std::string> ReadLink(std::string_view path) const override;

  // Copies data.tar bytes of `sha256`'s package from `offset` into `out` (all of it, or an error).
  Status ReadData(const std::string& sha256, uint64_t offset, std::span<std::byte> out) const;

 private:
  struct Cursor {
    std::mutex mu;
    std::unique_ptr<ByteStream> stream;  // the decompressed data.tar, at `position`
    uint64_t position = 0;
  };
  Result<std::shared_ptr<File>> OpenVerified(const LayerPackage& p) const;

  static constexpr size_t kCursors = 4;  // decompressors kept (an xz one holds its dictionary)
  std::string name_ = "debs:";
  std::map<std::string, LayerPackage> by_sha_;  // contents.entries cleared: only data members
  DebOpener open_;
  mutable std::mutex mu_;  // guards cursors_, lru_, verified_
  mutable std::map<std::string, std::shared_ptr<Cursor>> cursors_;
  mutable std::vector<std::string> lru_;  // most recent last
  mutable std::map<std::string, std::shared_ptr<File>> verified_;
};

struct BaseSystem {
  std::string dpkg_status;  // the base's var/lib/dpkg/status, "" when it has none
  // Top-level directories the base has as symlinks into usr/ ("bin" -> "usr/bin"): merged /usr.
  std::set<std::string> merged_usr;
  std::string arch;  // dpkg's architecture: "amd64"
};

struct SystemLayerPlan {
  std::vector<TarEntry> entries;  // sorted, for VirtualTar::Build
  std::vector<std::string> warnings;
};

Result<SystemLayerPlan> PlanSystemLayer(const std::vector<LayerPackage>& packages,
                                        const BaseSystem& base,
                                        std::shared_ptr<const DebTree> debs);

// Reads `file` whole: OK when it is `p`'s .deb (the index's Size and SHA256), else kCorrupt
// naming the package and both sizes and hashes.
Status VerifyDebFile(File& file, const Package& p);

// The first line of a maintainer script that does something besides set -e, ldconfig, triggers
// and the `case "$1"`/`if [ "$1" = configure ]` around them; nullopt when there is none.
std::optional<std::string> UnhandledScriptLine(std::string_view script);

}  // namespace ocifs::debian
