// Packing: from a Tree to the sorted TarEntry list of one layer, under ocifs's packing policy.
//
// Policy (ARCHITECTURE.md invariants 2 and 6, each case tested in layer_test.cc):
//   * entries sorted bytewise by their tar name (directories with a trailing '/'), every parent
//     directory present; `dest` and its parents are directories of mode 0755;
//   * owner `uid:gid` from the options (0:0 by default), never the host's; modes kept with
//     setuid/setgid/sticky stripped;
//   * symlinks stored as links, never followed; one that is absolute or leaves the tree's root is
//     left out with a warning;
//   * FIFOs, sockets and devices are left out with a warning, never opened;
//   * a name that is not valid UTF-8 or starts with `.wh.` is an error naming it;
//   * an unreadable file or directory is an error naming it;
//   * files with several names in the layer become one file and hardlinks (type '1');
//   * sparse files are stored dense (their holes read as zeros).
// With `strict`, every warning is an error.
//
// Thread safety: a free function; the Tree must be safe for concurrent reads.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "core/oci/tar.h"
#include "core/support/ignore.h"
#include "core/support/status.h"
#include "core/support/tree.h"

namespace ocifs {

struct PackOptions {
  std::string dest;  // where the tree's root goes in the image, without slashes: "app"
  uint32_t uid = 0;
  uint32_t gid = 0;
  bool strict = false;
  const IgnoreRules* ignore = nullptr;  // may be null: nothing ignored
  // Files that match these and are left out by `ignore` are listed in PackResult::left_out_secrets
  // (may be null).
  const IgnoreRules* secrets = nullptr;
  // Called with each directory the walk reads (relative to the tree's root, "" for the root),
  // just before reading it; may be empty. A file watcher uses it to watch exactly what is packed
  // without a walk of its own. Directories are read on two threads (see Listings in layer.cc):
  // the calls come from either, possibly at the same time, in no set order, so the function
  // must be thread-safe.
  std::function<void(const std::string& dir)> on_directory;
  // Room for this many more entries in PackResult::entries (GeneratedRoom of the files that
  // AddGeneratedFiles will add), so that adding them does not move every packed entry to a new
  // array. On the benchmark corpus's 12k entries the move and the faults of its new pages cost
  // 6-7 ms of planning.
  size_t room = 0;
};

struct PackResult {
  std::vector<TarEntry> entries;              // sorted, ready for VirtualTar::Build
  std::vector<std::string> warnings;          // what was left out and why, one line each
  std::vector<std::string> left_out_secrets;  // relative paths, in walk order (see secrets)
};

Result<PackResult> PackTree(std::shared_ptr<const Tree> tree, const PackOptions& options);

// Adds generated files (and their missing parent directories) to packed entries and re-sorts.
// A generated file replaces nothing: a name clash is an error.
Status AddGeneratedFiles(std::vector<TarEntry>& entries, std::vector<TarEntry> generated);
// How many entries AddGeneratedFiles adds for `generated` at most (each file and its parents).
size_t GeneratedRoom(const std::vector<TarEntry>& generated);

// Sorts entries by tar name and turns second and later names of one source file into hardlinks.
void SortAndLinkEntries(std::vector<TarEntry>& entries);

bool IsValidUtf8(std::string_view s);

}  // namespace ocifs
