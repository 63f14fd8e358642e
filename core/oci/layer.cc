#include "core/oci/layer.h"

#include "core/support/path.h"

#include <algorithm>
#include <condition_variable>
#include <map>
#include <mutex>
#include <set>
#include <thread>
#include <unordered_map>

#include <fmt/format.h>

namespace ocifs {
namespace {

// Orders names bytewise as tar names (a directory's name ends with '/'), without building them:
// this runs n log n times on the planning path.
bool TarNameLess(std::string_view x, bool x_dir, std::string_view y, bool y_dir) {
  const size_t n = std::min(x.size(), y.size());
  if (int c = x.compare(0, n, y, 0, n); c != 0) return c < 0;
  auto at = [](std::string_view s, bool dir, size_t i) -> int {
    if (i < s.size()) return static_cast<unsigned char>(s[i]);
    if (i == s.size() && dir) return '/';
    return -1;  // past the end
  };
  // Equal up to n: compare the next characters, the implicit '/' of a directory included.
  for (size_t i = n; i <= n + 1; ++i) {
    int ca = at(x, x_dir, i), cb = at(y, y_dir, i);
    if (ca != cb) return ca < cb;
    if (ca == -1) return false;
  }
  return false;
}

bool TarEntryLess(const TarEntry& a, const TarEntry& b) {
  return TarNameLess(a.name, a.type == TarEntry::Type::kDirectory, b.name,
                     b.type == TarEntry::Type::kDirectory);
}

void LinkHardlinks(std::vector<TarEntry>& entries);

// Whether a relative symlink at `link_path` (relative to the tree root) pointing at `target`
// stays inside the root, judged lexically (the walk never follows links, so neither do we).
bool StaysInside(std::string_view link_path, std::string_view target) {
  int depth = static_cast<int>(SplitPath(link_path).size()) - 1;  // the link's directory
  for (std::string_view c : SplitPath(target)) {
    if (c == "..") {
      if (--depth < 0) return false;
    } else if (c != ".") {
      ++depth;
    }
  }
  return true;
}

// Whether the walk goes below the directory `rel`: not when it is ignored and nothing below it
// can be included again.
bool Descends(const PackOptions& o, const std::string& rel) {
  return o.ignore == nullptr || !o.ignore->Excluded(rel) || !o.ignore->CanSkipDirectory(rel);
}

// The listings of every directory a walk visits, read before it on two threads (this one and
// one more). Each listing is a system call per entry (getdents64, then fstatat for each name),
// and those are most of the time of planning a large tree (on the benchmark corpus, 9.5k files,
// a warm remount returned in 145 ms instead of 180). The walk then runs on what they read, in
// order, without system calls.
class Listings {
 public:
  Listings(const Tree& tree, const PackOptions& o) : tree_(tree), o_(o) {}

  // Lists the root and every directory below it that the walk descends into (Descends),
  // calling PackOptions::on_directory before each listing (from both threads: a watcher's
  // inotify_add_watch, 3-4 us a directory, is as much work as a small directory's listing, and
  // a lock around it made the two threads wait for each other). Returns how many
  // entries they hold (at most that many are packed).
  size_t ListAll() {
    queue_.push_back("");
    {
      std::jthread helper([this] { Work(); });
      Work();
    }
    size_t entries = 0;
    for (const auto& [dir, listed] : listed_) entries += listed.ok() ? listed->size() : 0;
    return entries;
  }

  // Whether ListAll listed `dir`: the one answer to whether the walk goes below it.
  bool Listed(const std::string& dir) const { return listed_.contains(dir); }

  // The listing of `dir`, in tar order (a directory's name ends with '/', so each directory
  // comes before what is below it and a walk yields its entries in the order of their full tar
  // names), or why it could not be read. Once per directory that ListAll listed.
  Result<std::vector<DirEntry>> Take(const std::string& dir) {
    auto it = listed_.find(dir);
    if (it == listed_.end())
      return Internal(fmt::format("`{}` was not listed before the walk", dir));
    return std::move(it->second);
  }

 private:
  Result<std::vector<DirEntry>> ListOne(const std::string& dir) const {
    OCIFS_ASSIGN_OR_RETURN(auto children, tree_.ReadDir(dir));
    std::sort(children.begin(), children.end(), [](const DirEntry& a, const DirEntry& b) {
      return TarNameLess(a.name, a.info.type == FileType::kDirectory, b.name,
                         b.info.type == FileType::kDirectory);
    });
    return children;
  }

  // Takes directories off the queue and lists them until none is left and none is being listed
  // (which could queue more).
  void Work() {
    std::unique_lock lock(mu_);
    for (;;) {
      cv_.wait(lock, [&] { return !queue_.empty() || busy_ == 0; });
      if (queue_.empty()) return;
      std::string dir = std::move(queue_.back());
      queue_.pop_back();
      ++busy_;
      lock.unlock();
      if (o_.on_directory) o_.on_directory(dir);
      auto listed = ListOne(dir);
      std::vector<std::string> below;
      if (listed.ok()) {
        for (const DirEntry& child : *listed) {
          if (child.info.type != FileType::kDirectory) continue;
          std::string rel = JoinPath(dir, child.name);
          if (Descends(o_, rel)) below.push_back(std::move(rel));
        }
      }
      lock.lock();
      // In reverse, so that the queue (a stack) yields them in walk order.
      for (auto it = below.rbegin(); it != below.rend(); ++it) queue_.push_back(std::move(*it));
      listed_.emplace(std::move(dir), std::move(listed));
      --busy_;
      cv_.notify_all();
    }
  }

  const Tree& tree_;
  const PackOptions& o_;
  std::mutex mu_;  // guards queue_, busy_ and listed_ while listing
  std::condition_variable cv_;
  std::vector<std::string> queue_;  // directories to list
  size_t busy_ = 0;                 // directories being listed
  std::unordered_map<std::string, Result<std::vector<DirEntry>>> listed_;
};

class Packer {
 public:
  Packer(std::shared_ptr<const Tree> tree, const PackOptions& o) : tree_(std::move(tree)), o_(o) {}

  Result<PackResult> Run() {
    // The destination directory and its parents, then the tree below it: the walk visits names
    // in tar order (see Walk), so the entries come out sorted and the sort below only checks.
    std::string acc;
    for (std::string_view component : SplitPath(o_.dest)) {
      acc = JoinPath(acc, component);
      AddDir(acc, 0755, /*owned=*/acc == o_.dest);
    }
    out_.entries.reserve(out_.entries.size() + listings_.ListAll() + o_.room);
    OCIFS_RETURN_IF_ERROR(Walk(""));
    SortAndLinkEntries(out_.entries);
    return std::move(out_);
  }

 private:
  Status Warn(std::string message) {
    if (o_.strict) return InvalidArgument(message + " (an error with --strict)");
    out_.warnings.push_back(std::move(message));
    return Status::Ok();
  }

  // Adds a directory entry at `at` (by default the end).
  void AddDir(const std::string& name, uint32_t mode, bool owned, size_t at = SIZE_MAX) {
    if (!dirs_.insert(name).second) return;
    TarEntry e;
    e.name = name;
    e.type = TarEntry::Type::kDirectory;
    e.mode = mode;
    e.uid = owned ? o_.uid : 0;
    e.gid = owned ? o_.gid : 0;
    if (at >= out_.entries.size()) {
      out_.entries.push_back(std::move(e));
    } else {
      out_.entries.insert(out_.entries.begin() + static_cast<std::ptrdiff_t>(at), std::move(e));
    }
  }

  std::string Dest(std::string_view rel) const { return JoinPath(o_.dest, rel); }

  Status CheckName(const std::string& rel, std::string_view base) {
    if (!IsValidUtf8(rel)) {
      return InvalidArgument(
          fmt::format("`{}` in `{}`: the name is not valid UTF-8; rename it or exclude it",
                      FieldSafe(rel), tree_->root_name()));
    }
    if (base.starts_with(".wh.")) {
      return InvalidArgument(
          fmt::format("`{}` in `{}`: names starting with `.wh.` are OCI whiteouts and "
                      "cannot be packed; rename it or exclude it",
                      rel, tree_->root_name()));
    }
    return Status::Ok();
  }

  static std::string FieldSafe(std::string_view s) {
    std::string out;
    for (unsigned char c : s) {
      out += c < 0x80 && c >= 0x20 ? std::string(1, static_cast<char>(c))
                                   : fmt::format("\\x{:02x}", c);
    }
    return out;
  }

  Status Walk(const std::string& dir) {
    OCIFS_ASSIGN_OR_RETURN(auto children, listings_.Take(dir));
    for (const DirEntry& child : children) {
      const std::string& base = child.name;
      const FileInfo& info = child.info;
      std::string rel = JoinPath(dir, base);
      const bool excluded = o_.ignore != nullptr && o_.ignore->Excluded(rel);
      // Names are checked only for what is packed: a bad name in an ignored place is no error.
      if (info.type == FileType::kDirectory) {
        if (!listings_.Listed(rel)) continue;  // ignored with nothing to include below (Descends)
        if (!excluded) {
          OCIFS_RETURN_IF_ERROR(CheckName(rel, base));
          AddDir(Dest(rel), info.mode & 0777, true);
          OCIFS_RETURN_IF_ERROR(Walk(rel));
          continue;
        }
        // An excluded directory appears only as the parent of something re-included below it.
        const size_t before = out_.entries.size();
        OCIFS_RETURN_IF_ERROR(Walk(rel));
        if (out_.entries.size() > before) {
          OCIFS_RETURN_IF_ERROR(CheckName(rel, base));
          AddDir(Dest(rel), info.mode & 0777, true, before);
        }
        continue;
      }
      if (excluded) {
        if (o_.secrets != nullptr && o_.secrets->Excluded(rel))
          out_.left_out_secrets.push_back(rel);
        continue;
      }
      OCIFS_RETURN_IF_ERROR(CheckName(rel, base));
      switch (info.type) {
        case FileType::kRegular: {
          if (!child.readable) return ErrnoStatus(EACCES, fmt::format("`{}`", rel), "not readable");
          TarEntry e;
          e.name = Dest(rel);
          e.type = TarEntry::Type::kFile;
          e.mode = info.mode & 0777;
          e.uid = o_.uid;
          e.gid = o_.gid;
          e.size = info.size;
          e.tree = tree_;
          e.source_path = rel;
          e.source_info = info;
          out_.entries.push_back(std::move(e));
          break;
        }
        case FileType::kSymlink: {
          OCIFS_ASSIGN_OR_RETURN(std::string target, tree_->ReadLink(rel));
          if (target.empty() || target.front() == '/') {
            OCIFS_RETURN_IF_ERROR(
                Warn(fmt::format("left out symlink `{}` -> `{}`: it is absolute", rel, target)));
            break;
          }
          if (!StaysInside(rel, target)) {
            OCIFS_RETURN_IF_ERROR(
                Warn(fmt::format("left out symlink `{}` -> `{}`: it points outside `{}`", rel,
                                 target, tree_->root_name())));
            break;
          }
          if (!IsValidUtf8(target)) {
            return InvalidArgument(fmt::format("symlink `{}`: its target is not valid UTF-8", rel));
          }
          TarEntry e;
          e.name = Dest(rel);
          e.type = TarEntry::Type::kSymlink;
          e.mode = 0777;
          e.uid = o_.uid;
          e.gid = o_.gid;
          e.link = std::move(target);
          out_.entries.push_back(std::move(e));
          break;
        }
        default:
          OCIFS_RETURN_IF_ERROR(
              Warn(fmt::format("left out {} `{}`: only regular files, directories and symlinks "
                               "are packed",
                               FileTypeName(info.type), rel)));
          break;
      }
    }
    return Status::Ok();
  }

  std::shared_ptr<const Tree> tree_;
  const PackOptions& o_;
  Listings listings_{*tree_, o_};
  PackResult out_;
  std::set<std::string> dirs_;
};

}  // namespace

bool IsValidUtf8(std::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    size_t n = c < 0x80 ? 0 : (c >> 5) == 0x6 ? 1 : (c >> 4) == 0xe ? 2 : (c >> 3) == 0x1e ? 3 : 99;
    if (n == 99 || i + n >= s.size()) return false;  // a bad lead byte, or a sequence cut short
    uint32_t cp = n == 0 ? c : c & (0x3f >> n);
    for (size_t k = 1; k <= n; ++k) {
      unsigned char cc = static_cast<unsigned char>(s[i + k]);
      if ((cc >> 6) != 0x2) return false;
      cp = (cp << 6) | (cc & 0x3f);
    }
    // Overlong forms, surrogates and values past U+10FFFF are invalid.
    if ((n == 1 && cp < 0x80) || (n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000) ||
        cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) {
      return false;
    }
    i += n + 1;
  }
  return true;
}

Result<PackResult> PackTree(std::shared_ptr<const Tree> tree, const PackOptions& options) {
  return Packer(std::move(tree), options).Run();
}

void SortAndLinkEntries(std::vector<TarEntry>& entries) {
  // A walk yields sorted entries already: checking is linear, sorting is not.
  if (!std::is_sorted(entries.begin(), entries.end(), TarEntryLess)) {
    std::sort(entries.begin(), entries.end(), TarEntryLess);
  }
  LinkHardlinks(entries);
}

namespace {

void LinkHardlinks(std::vector<TarEntry>& entries) {
  // Second and later names of one source file (same tree, device and inode) become hardlinks to
  // the first name in sorted order, so the link always points to an earlier entry.
  std::map<std::tuple<const Tree*, uint64_t, uint64_t>, std::string> first;
  for (TarEntry& e : entries) {
    if (e.type != TarEntry::Type::kFile || !e.tree || e.source_info.nlink < 2) continue;
    auto key = std::make_tuple(e.tree.get(), e.source_info.dev, e.source_info.ino);
    auto [it, inserted] = first.emplace(key, e.name);
    if (inserted) continue;
    e.type = TarEntry::Type::kHardlink;
    e.link = it->second;
    e.size = 0;
    e.tree.reset();
    e.source_path.clear();
  }
}

}  // namespace

size_t GeneratedRoom(const std::vector<TarEntry>& generated) {
  size_t room = 0;
  for (const TarEntry& g : generated) room += 1 + std::count(g.name.begin(), g.name.end(), '/');
  return room;
}

Status AddGeneratedFiles(std::vector<TarEntry>& entries, std::vector<TarEntry> generated) {
  // The generated names and their parents are few: look them up in one pass over the entries
  // instead of indexing every packed name.
  std::set<std::string, std::less<>> wanted, present;
  for (const TarEntry& g : generated) {
    wanted.insert(g.name);
    for (size_t slash = g.name.find('/'); slash != std::string::npos;
         slash = g.name.find('/', slash + 1)) {
      wanted.insert(g.name.substr(0, slash));
    }
  }
  for (const TarEntry& e : entries) {
    if (wanted.contains(e.name)) present.insert(e.name);
  }
  const size_t packed = entries.size();
  for (TarEntry& g : generated) {
    if (present.contains(g.name)) {
      return InvalidArgument(
          fmt::format("generated file `/{}` clashes with a packed file of that name", g.name));
    }
    // Missing parents, root-owned 0755.
    for (size_t slash = g.name.find('/'); slash != std::string::npos;
         slash = g.name.find('/', slash + 1)) {
      std::string parent = g.name.substr(0, slash);
      if (present.insert(parent).second) {
        TarEntry d;
        d.name = std::move(parent);
        d.type = TarEntry::Type::kDirectory;
        d.mode = 0755;
        entries.push_back(std::move(d));
      }
    }
    present.insert(g.name);
    entries.push_back(std::move(g));
  }
  // The packed entries are sorted already: sort the few new ones and merge.
  std::sort(entries.begin() + static_cast<std::ptrdiff_t>(packed), entries.end(), TarEntryLess);
  std::inplace_merge(entries.begin(), entries.begin() + static_cast<std::ptrdiff_t>(packed),
                     entries.end(), TarEntryLess);
  return Status::Ok();
}

}  // namespace ocifs
