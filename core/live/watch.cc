#include "core/live/watch.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <filesystem>
#include <map>
#include <mutex>

#include <fmt/format.h>

#include "core/support/path.h"

namespace ocifs {

namespace fs = std::filesystem;

struct TreeWatcher::Impl {
  std::vector<Root> roots;
  int inotify = -1;
  int stop = -1;  // an eventfd
  struct Watched {
    size_t root;
    std::string rel;  // relative to the root, "" for the root itself
  };
  std::mutex watches_mu;           // guards `watches` against concurrent Watch() calls
  std::map<int, Watched> watches;  // by watch descriptor
  std::vector<bool> changed_roots;

  ~Impl() {
    if (inotify >= 0) ::close(inotify);
    if (stop >= 0) ::close(stop);
  }

  // Whether every rule set of `root` excludes `rel` (and, with `skip`, lets its directory go
  // unwalked).
  bool Ignored(size_t root, const std::string& rel, bool skip = false) const {
    const auto& rules = roots[root].ignore;
    return !rel.empty() && !rules.empty() &&
           std::all_of(rules.begin(), rules.end(), [&](const auto& ig) {
             return ig->Excluded(rel) && (!skip || ig->CanSkipDirectory(rel));
           });
  }

  // Watches the directory `rel` itself; false when that failed (gone meanwhile, or unreadable:
  // the next plan reports it).
  bool AddOne(size_t root, const std::string& rel) {
    if (roots[root].path.empty()) return false;
    const std::string abs = rel.empty() ? roots[root].path : roots[root].path + "/" + rel;
    constexpr uint32_t kMask = IN_CREATE | IN_DELETE | IN_MODIFY | IN_CLOSE_WRITE | IN_MOVED_FROM |
                               IN_MOVED_TO | IN_ATTRIB | IN_DELETE_SELF | IN_MOVE_SELF |
                               IN_ONLYDIR | IN_DONT_FOLLOW;
    // The system call outside the lock: it is most of the cost (3-4 us each, 2.9k of them for
    // the benchmark corpus's dependencies), and the kernel takes its own locks.
    int wd = ::inotify_add_watch(inotify, abs.c_str(), kMask);
    if (wd < 0) return false;
    std::lock_guard lock(watches_mu);
    watches[wd] = Watched{root, rel};
    return true;
  }

  // Adds watches for `rel` and every directory below it that may not be skipped.
  void AddTree(size_t root, const std::string& rel) {
    if (Ignored(root, rel, /*skip=*/true)) return;
    if (!AddOne(root, rel)) return;
    const std::string abs = rel.empty() ? roots[root].path : roots[root].path + "/" + rel;
    std::error_code ec;
    for (auto it = fs::directory_iterator(abs, ec); !ec && it != fs::directory_iterator();
         it.increment(ec)) {
      if (it->is_directory(ec) && !it->is_symlink(ec))
        AddTree(root, JoinPath(rel, it->path().filename().string()));
    }
  }

  void Rescan() {
    for (const auto& [wd, w] : watches) ::inotify_rm_watch(inotify, wd);
    watches.clear();
    for (size_t r = 0; r < roots.size(); ++r) AddTree(r, "");
  }
};

TreeWatcher::TreeWatcher(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
TreeWatcher::~TreeWatcher() = default;

Result<std::unique_ptr<TreeWatcher>> TreeWatcher::OpenEmpty(std::vector<Root> roots) {
  auto impl = std::make_unique<Impl>();
  impl->roots = std::move(roots);
  impl->changed_roots.assign(impl->roots.size(), false);
  impl->inotify = ::inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
  if (impl->inotify < 0) return ErrnoStatus(errno, "inotify", "init");
  impl->stop = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (impl->stop < 0) return ErrnoStatus(errno, "eventfd", "create");
  return std::unique_ptr<TreeWatcher>(new TreeWatcher(std::move(impl)));
}

Result<std::unique_ptr<TreeWatcher>> TreeWatcher::Open(std::vector<Root> roots) {
  OCIFS_ASSIGN_OR_RETURN(auto watcher, OpenEmpty(std::move(roots)));
  watcher->impl_->Rescan();
  if (watcher->impl_->watches.empty()) return NotFound("no directory to watch");
  return watcher;
}

void TreeWatcher::Watch(size_t root, const std::string& rel) { impl_->AddOne(root, rel); }

void TreeWatcher::WatchTree(size_t root) { impl_->AddTree(root, ""); }

size_t TreeWatcher::watch_count() const { return impl_->watches.size(); }

std::vector<bool> TreeWatcher::TakeChangedRoots() {
  std::vector<bool> out = impl_->changed_roots;
  impl_->changed_roots.assign(impl_->roots.size(), false);
  return out;
}

void TreeWatcher::Stop() {
  uint64_t one = 1;
  (void)!::write(impl_->stop, &one, sizeof one);
}

Result<TreeWatcher::Event> TreeWatcher::Wait(std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  alignas(struct inotify_event) char buf[64 * 1024];
  for (;;) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() < 0) left = std::chrono::milliseconds(0);
    struct pollfd fds[2] = {{impl_->inotify, POLLIN, 0}, {impl_->stop, POLLIN, 0}};
    int n = ::poll(fds, 2, static_cast<int>(left.count()));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return ErrnoStatus(errno, "inotify", "poll");
    if (fds[1].revents & POLLIN) return Event::kStopped;
    if (n == 0) return Event::kTimeout;
    bool changed = false;
    for (;;) {
      ssize_t len = ::read(impl_->inotify, buf, sizeof buf);
      if (len < 0 && errno == EINTR) continue;
      if (len <= 0) break;  // EAGAIN: drained
      for (char* p = buf; p < buf + len;) {
        auto* ev = reinterpret_cast<struct inotify_event*>(p);
        p += sizeof(struct inotify_event) + ev->len;
        if (ev->mask & IN_Q_OVERFLOW) {
          ++overflows_;
          impl_->Rescan();
          impl_->changed_roots.assign(impl_->roots.size(), true);
          changed = true;
          continue;
        }
        auto it = impl_->watches.find(ev->wd);
        if (it == impl_->watches.end()) continue;
        if (ev->mask & IN_IGNORED) {
          impl_->watches.erase(it);
          continue;
        }
        const Impl::Watched w = it->second;
        const std::string rel = ev->len > 0 ? JoinPath(w.rel, ev->name) : w.rel;
        if (impl_->Ignored(w.root, rel)) continue;
        if ((ev->mask & (IN_CREATE | IN_MOVED_TO)) && (ev->mask & IN_ISDIR)) {
          impl_->AddTree(w.root, rel);
        }
        impl_->changed_roots[w.root] = true;
        changed = true;
      }
    }
    if (changed) return Event::kChanged;
  }
}

}  // namespace ocifs
