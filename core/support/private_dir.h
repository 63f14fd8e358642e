// Directories that only their owner may write, and files written into them without following
// links: the status files' runtime directory, the digest cache and everything under it (blobs of
// registry bases, plugins' caches).
//
// A directory another user can write, or one that is another user's, lets that user plant a
// symlink where ocifs writes (a root daemon would then overwrite the link's target) or files that
// ocifs trusts. So before ocifs writes into such a directory it opens it with O_NOFOLLOW and
// checks, on the open descriptor: a directory, owned by the effective uid, with no permission for
// group or others. Files are then made relative to that descriptor (openat) with
// O_CREAT|O_EXCL|O_NOFOLLOW, which never follows a link, and renamed into place (renameat):
// WriteFileAtomicallyAt of core/support/atomic_file.h.
//
// Thread safety: free functions; no shared state.
#pragma once

#include <string>
#include <string_view>

#include "core/support/status.h"
#include "core/support/unique_fd.h"

namespace ocifs {

enum class LooseMode {
  kRefuse,   // a private directory with group or other bits is refused
  kTighten,  // ... is chmod'ed to 0700 (the directory is the user's own: the cache)
};

// Opens the directory `path`, making it (mode 0700, parents too when `make_parents`) when it is
// missing. Refused, with a message that names the path, the fault and the fix: not a directory,
// a symlink, owned by another uid, or (with kRefuse) a mode other than 0700.
Result<UniqueFd> OpenPrivateDir(const std::string& path, LooseMode loose = LooseMode::kRefuse,
                                bool make_parents = false);
// The same checks on a directory that must exist already (a reader's view): NotFound when it is
// missing.
Result<UniqueFd> OpenExistingPrivateDir(const std::string& path);

// The whole content of `name` in `dir_fd`, never through a symlink (O_NOFOLLOW); NotFound when
// it is missing.
Result<std::string> ReadFileAt(int dir_fd, std::string_view name, std::string_view what);

// A directory of this process's, made by mkdtemp (mode 0700) as `$TMPDIR/PREFIX-XXXXXX` (`/tmp`
// when TMPDIR is unset or empty), and removed with everything in it when the object dies.
// Move-only.
class ScratchDir {
 public:
  static Result<ScratchDir> Make(std::string_view prefix);
  ScratchDir(ScratchDir&& other) noexcept;
  ScratchDir& operator=(ScratchDir&& other) noexcept;
  ~ScratchDir();
  const std::string& path() const { return path_; }

 private:
  explicit ScratchDir(std::string path) : path_(std::move(path)) {}
  void Remove();
  std::string path_;
};

}  // namespace ocifs
