// TreeWatcher: tells when files under some directories change (Linux inotify).
//
// Watches every directory below each root, except those an IgnoreRules says can be skipped, and
// follows directories created later. Events on ignored paths do not count; a root may have several
// rule sets (one per image variant packed from it), and a path is ignored only when every set
// excludes it. When the kernel's event
// queue overflows, the watcher re-adds its watches and reports a change, so nothing is missed.
//
// Thread safety: Wait() is called by one thread; Stop() may be called from any thread and makes
// a pending or later Wait() return at once. Watch() may be called from several threads at once
// (planning lists a tree on two), but not while another thread is in Wait().
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "core/support/ignore.h"
#include "core/support/status.h"

namespace ocifs {

class TreeWatcher {
 public:
  struct Root {
    std::string path;  // absolute directory; empty: none (a place kept in the roots' numbering)
    // Each kept alive by the watcher; none: nothing below the root is ignored.
    std::vector<std::shared_ptr<const IgnoreRules>> ignore;
  };
  enum class Event { kChanged, kTimeout, kStopped };

  // Watches every directory below the roots (a walk of its own).
  static Result<std::unique_ptr<TreeWatcher>> Open(std::vector<Root> roots);
  // Watches nothing yet: the caller adds directories with Watch() as its own walk reaches them.
  static Result<std::unique_ptr<TreeWatcher>> OpenEmpty(std::vector<Root> roots);
  // Watches the directory `rel` of root `root` (not what is below it). A directory that is gone
  // or unreadable is skipped: whoever reads it next reports that. Thread-safe (see above): the
  // inotify_add_watch calls of two threads run at once.
  void Watch(size_t root, const std::string& rel);
  // Watches every directory below root `root` (a walk of its own).
  void WatchTree(size_t root);
  ~TreeWatcher();
  TreeWatcher(const TreeWatcher&) = delete;
  TreeWatcher& operator=(const TreeWatcher&) = delete;

  // Waits up to `timeout` for a change that is not ignored.
  Result<Event> Wait(std::chrono::milliseconds timeout);
  // Which roots (by index) saw a change since the last call; a queue overflow marks them all.
  std::vector<bool> TakeChangedRoots();
  void Stop();

  size_t watch_count() const;
  uint64_t overflows() const { return overflows_; }

 private:
  struct Impl;
  explicit TreeWatcher(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
  uint64_t overflows_ = 0;
};

}  // namespace ocifs
