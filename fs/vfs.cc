#define FUSE_USE_VERSION 312
#include "fs/vfs.h"

#include <fuse_lowlevel.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <syslog.h>
#include <unistd.h>
#include <csignal>

#include <algorithm>
#include <atomic>
#include <charconv>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <ctime>
#include <deque>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <optional>
#include <sstream>
#include <thread>
#include <unordered_map>
#include <vector>

#include <fmt/format.h>

namespace ocifs::vfs {
namespace {

constexpr fuse_ino_t kRootIno = FUSE_ROOT_ID;  // 1
constexpr fuse_ino_t kLayoutIno = 2;
constexpr fuse_ino_t kIndexIno = 3;
constexpr fuse_ino_t kBlobsIno = 4;
constexpr fuse_ino_t kSha256Ino = 5;
constexpr fuse_ino_t kFirstBlobIno = 16;

constexpr double kForever = 86400.0;  // content-addressed names and bytes never change
constexpr uint32_t kIoSize = 1 << 20;

}  // namespace

struct LogConfig {
  std::mutex mu;  // guards file
  std::string path;
  LogLevel level = LogLevel::kInfo;
};
LogConfig& Logging() {
  static LogConfig config;
  return config;
}

void ConfigureLog(const std::string& file, LogLevel level) {
  std::lock_guard lock(Logging().mu);
  Logging().path = file;
  Logging().level = level;
}

void Log(LogLevel level, const std::string& message) {
  LogConfig& c = Logging();
  if (level > c.level) return;
  static constexpr const char* kNames[] = {"error", "warning", "info"};
  static constexpr int kSyslog[] = {LOG_ERR, LOG_WARNING, LOG_INFO};
  const char* name = kNames[static_cast<int>(level)];
  ::syslog(kSyslog[static_cast<int>(level)], "%s: %s", name, message.c_str());
  std::fprintf(stderr, "ocifs: %s: %s\n", name, message.c_str());
  std::lock_guard lock(c.mu);
  if (c.path.empty()) return;
  std::ofstream out(c.path, std::ios::app);
  out << Rfc3339(std::time(nullptr)) << " " << name << " " << message << "\n";
}

namespace {

// One open file: the bytes it reads and the generation they belong to.
struct Handle {
  std::shared_ptr<const Generation> generation;
  std::shared_ptr<const Blob> blob;
};

// How many replaced generations stay reachable by digest, so that a reader who got the previous
// index.json (skopeo in the middle of a copy) can still open its manifest, config and layers.
constexpr size_t kKeepPrevious = 4;

// A process that opened index.json is pinned to that generation: its listings of blobs/sha256
// are that generation's blobs, and its lookups reach them, until it opens index.json again or
// has been idle this long, however many generations came since. So `cp -r` (which reads
// index.json before blobs/) copies exactly the blobs of the index.json it copied, or fails where
// one cannot be served (EIO: a source file changed since); it never exits 0 without them.
constexpr auto kPinIdle = std::chrono::minutes(10);
constexpr size_t kMaxPins = 1024;

// A blob and the generation it belongs to.
struct Found {
  std::shared_ptr<const Generation> generation;
  std::shared_ptr<const Blob> blob;
};

// Pages stored ahead. While a layer is hashed, its bytes (the very bytes its digest is computed
// from) are put into the kernel's page cache of the inode that will serve it, with
// fuse_lowlevel_notify_store, so that reading the layer after a cold mount never reaches the
// daemon. The digest, and so the blob's name, is known only at the end; the inode number is not:
// a layer gets its inode number when its hashing starts, and the kernel learns that inode through
// a name only the daemon asks for, blobs/.pending-<ino> (never listed), which the layer's
// reading thread stats. When the generation is published, the digest's name gets the same number:
// the kernel finds its inode, pages and all, under the new name (same size and mtime, so nothing is
// invalidated), the daemon stats that name, and the pending name is dropped.
//
// The pending names live in blobs/ because no lookup in the root or in blobs/ ever waits for a
// generation: libfuse 3.14 does not ask for parallel lookups, so the kernel lets one lookup at a
// time into a directory, and a lookup there that waited for the first generation would keep out
// the hashing thread that makes it.
//
// The kernel keeps an inode only while a name of it is cached, and its pages stay reclaimable: a
// store that fails (the inode was evicted, or the stat did not reach it) stops storing that
// layer, and reads of what is missing come to the daemon as READs. Stores are made from the
// threads that read layers to hash them, each chunk just before it is hashed (on two cores the
// reader has time to spare, the hasher has not), never from a thread that answers requests.
constexpr std::string_view kPendingPrefix = ".pending-";
// At most this much is stored per generation (a quarter of the machine's memory): beyond it, a
// generation's layers would push out of the page cache what the machine is doing, and likely
// their own first pages before anyone reads them. What is not stored is read through READ.
// Storing behind (StoreBehind) waits until no READ came for this long.
constexpr auto kReadersQuiet = std::chrono::milliseconds(50);
const uint64_t kStoreBudget = static_cast<uint64_t>(::sysconf(_SC_PHYS_PAGES)) *
                              static_cast<uint64_t>(::sysconf(_SC_PAGESIZE)) / 4;

class ImageFs {
 public:
  ImageFs(struct fuse_session** session, std::string mountpoint)
      : session_(session), mountpoint_(std::move(mountpoint)) {}

  // Called by the source's thread: the first generation (or why there is none), then newer ones.
  // That thread also hashes (BuildGeneration runs on it): no layer is being hashed meanwhile.
  void Publish(Result<std::shared_ptr<const Generation>> made) {
    // The older generation's store behind stops (within a chunk): its pending name goes below.
    storer_ = std::jthread();
    bool replaced = false;
    std::vector<std::string> named;         // blob names whose inodes hold stored pages
    std::vector<fuse_ino_t> pending_names;  // pending names to drop
    std::vector<std::string> behind;        // layers to store behind (see StoreBehind)
    {
      std::lock_guard lock(mu_);
      if (made.ok()) {
        if (current_) {
          previous_.push_front(current_);
          if (previous_.size() > kKeepPrevious) previous_.pop_back();
          replaced = true;
        }
        current_ = made.value();  // a copy: the warnings are logged below
        NamePendingLocked(named);
        const auto& layers = current_->own_layers();
        for (size_t i = 0; i < layers.size(); ++i) {
          const std::string hex = layers[i].descriptor.digest.hex();
          // A layer new to this mount whose digest the cache gave: nothing of it was stored.
          if (current_->from_cache()[i] && !ino_of_.contains(hex) &&
              std::find(behind.begin(), behind.end(), hex) == behind.end())
            behind.push_back(hex);
        }
        for (const auto& [hex, blob] : current_->blobs()) InoOfLocked(hex);
      } else if (!current_) {
        error_ = made.status();
      }
      // Every pending name goes: a named layer's inode is held by its digest's name (stat'ed
      // below, first); the kernel forgets any other (a layer whose digest had an inode already,
      // or of a round that failed and published nothing), and its pages.
      for (const auto& [tar, p] : pending_) {
        if (p.known) pending_names.push_back(p.ino);
      }
      pending_.clear();
      stored_since_publish_ = 0;
      ready_ = true;
    }
    ready_cv_.notify_all();
    // Not under mu_, and never from a request handler (this is the source's thread).
    for (const auto& hex : named) {
      struct stat st;
      ::stat(fmt::format("{}/blobs/sha256/{}", mountpoint_, hex).c_str(), &st);
    }
    for (fuse_ino_t ino : pending_names) DropPendingName(ino);
    if (!made.ok()) {
      Log(LogLevel::kError, "making the image failed: " + made.status().message());
      return;
    }
    for (const auto& w : (*made)->warnings()) Log(LogLevel::kWarning, w);
    if (replaced) {
      // index.json moved: drop what the kernel may hold of it and of the blob listing.
      fuse_lowlevel_notify_inval_inode(*session_, kIndexIno, 0, 0);
      fuse_lowlevel_notify_inval_inode(*session_, kSha256Ino, 0, 0);
    }
    if (!behind.empty()) {
      // Started from the source's thread, whose signal mask it inherits (see Serve).
      storer_ = std::jthread([this, gen = *made, behind](std::stop_token stop) {
        for (const std::string& hex : behind) {
          if (stop.stop_requested() || !StoreBehind(*gen, hex, stop)) return;
        }
      });
    }
  }

  // Stops storing behind; before the session goes.
  void StopStoring() { storer_ = std::jthread(); }

  // Pages stored behind. A layer whose digest came from the digest cache (a warm remount) was not
  // hashed, so nothing of it was stored ahead, and every first read of it would be a READ. After
  // the generation is published, a thread of its own reads each such layer once, in 1 MiB chunks
  // while no READs come (WaitForQuiet), hashes it, and stores the chunks in a pending inode, as
  // hashing does (StoreLayerBytes). Only when the whole layer hashes to its digest does the
  // digest's name take that inode: the kernel forgets the name and looks it up again. Until then,
  // and for a reader that opened the layer before (its old inode stays the blob's), READs serve it.
  // A newer generation stops it. False: stop storing (stopped, or the mount is going).
  bool StoreBehind(const Generation& gen, const std::string& hex, const std::stop_token& stop) {
    auto it = gen.blobs().find(hex);
    const auto* layer =
        it == gen.blobs().end() ? nullptr : dynamic_cast<const TarBlob*>(it->second.get());
    if (layer == nullptr) return true;
    const VirtualTar& tar = layer->tar();
    const uint64_t size = tar.size();
    std::vector<std::byte> chunk(std::min<uint64_t>(size, kIoSize));
    Sha256 hash;
    for (uint64_t offset = 0; offset < size; offset += chunk.size()) {
      if (!WaitForQuiet(stop)) return false;
      std::span<std::byte> bytes(
          chunk.data(), static_cast<size_t>(std::min<uint64_t>(chunk.size(), size - offset)));
      if (Status s = tar.ReadAt(offset, bytes); !s.ok()) {
        // A source file changed since the plan: its next generation comes with the change.
        Log(LogLevel::kInfo,
            fmt::format("not storing layer {} ahead of its reads: {}", hex, s.message()));
        AbandonPending(tar);
        return true;
      }
      hash.Update(bytes);
      StoreLayerBytes(tar, offset, bytes);
      if (!Storing(tar)) {  // over the budget, or a store failed: READs serve it
        AbandonPending(tar);
        return true;
      }
    }
    fuse_ino_t ino = 0;
    uint64_t stored = 0;
    {
      std::lock_guard lock(mu_);
      auto p = pending_.find(&tar);
      if (p == pending_.end() || !p->second.known || p->second.failed) {
        // Nothing stored (over the budget, or a store failed): READs serve it.
      } else if (hash.Finish().hex() != hex) {
        Log(LogLevel::kWarning,
            fmt::format("layer {} does not hash to its digest from the cache; its pages are "
                        "dropped and READs (which check every file) serve it",
                        hex));
      } else if (!stop.stop_requested()) {
        ino = p->second.ino;
        stored = p->second.stored;
        ino_of_[hex] = ino;  // the old inode keeps the name's hex for those who hold it
        hex_of_[ino - kFirstBlobIno] = hex;
        pending_.erase(p);
      }
    }
    if (ino == 0) {
      AbandonPending(tar);
      return !stop.stop_requested();
    }
    // Not under mu_: the kernel forgets the name, and the stat looks it up again, to `ino`.
    fuse_lowlevel_notify_inval_entry(*session_, kSha256Ino, hex.c_str(), hex.size());
    struct stat st;
    ::stat(fmt::format("{}/blobs/sha256/{}", mountpoint_, hex).c_str(), &st);
    DropPendingName(ino);
    stored_bytes_ += stored;  // counted once the name has the pages (see Counters)
    return true;
  }

  // Whether the pages of `tar` are being stored (it has a pending inode, and no store failed).
  bool Storing(const VirtualTar& tar) {
    std::lock_guard lock(mu_);
    auto p = pending_.find(&tar);
    return p != pending_.end() && !p->second.failed;
  }

  // Drops the pending inode of `tar`, if it has one, and its name.
  void AbandonPending(const VirtualTar& tar) {
    fuse_ino_t ino = 0;
    {
      std::lock_guard lock(mu_);
      auto p = pending_.find(&tar);
      if (p == pending_.end()) return;
      if (p->second.known) ino = p->second.ino;
      pending_.erase(p);
    }
    if (ino != 0) DropPendingName(ino);
  }

  // Called with each chunk of `tar` read to be hashed (BuildOptions::on_layer_bytes: the first
  // chunk alone, the others from two threads at once), or by StoreBehind: stores it in the page
  // cache of the layer's inode to be.
  void StoreLayerBytes(const VirtualTar& tar, uint64_t offset, std::span<const std::byte> bytes) {
    fuse_ino_t ino = 0, abandoned = 0;
    bool introduce = false;
    {
      std::lock_guard lock(mu_);
      if (stored_since_publish_ + bytes.size() > kStoreBudget) return;
      if (offset == 0) {  // hashing starts (again): a new inode number
        if (auto old = pending_.find(&tar); old != pending_.end() && old->second.known)
          abandoned = old->second.ino;
        pending_[&tar] = {NewInoLocked(), tar.size()};
      }
      auto it = pending_.find(&tar);
      if (it == pending_.end() || it->second.failed) return;
      ino = it->second.ino;
      introduce = !it->second.known;
    }
    if (abandoned != 0) DropPendingName(abandoned);
    if (introduce) {
      struct stat st;
      const std::string path = fmt::format("{}/blobs/{}{}", mountpoint_, kPendingPrefix, ino);
      const bool known = ::stat(path.c_str(), &st) == 0 && st.st_ino == ino;
      std::lock_guard lock(mu_);
      if (auto it = pending_.find(&tar); it != pending_.end() && it->second.ino == ino) {
        it->second.known = known;
        it->second.failed = !known;
      }
      if (!known) return;
    }
    struct fuse_bufvec buf = FUSE_BUFVEC_INIT(bytes.size());
    buf.buf[0].mem = const_cast<std::byte*>(bytes.data());
    if (fuse_lowlevel_notify_store(*session_, ino, offset, &buf, fuse_buf_copy_flags{}) != 0) {
      std::lock_guard lock(mu_);
      if (auto it = pending_.find(&tar); it != pending_.end() && it->second.ino == ino)
        it->second.failed = true;
      return;
    }
    std::lock_guard lock(mu_);
    stored_since_publish_ += bytes.size();
    if (auto it = pending_.find(&tar); it != pending_.end() && it->second.ino == ino)
      it->second.stored += bytes.size();
  }

  // Makes the kernel forget a pending name (and so, unless the blob's name holds it, the inode
  // and its pages). Not from a request handler.
  void DropPendingName(fuse_ino_t ino) {
    const std::string name = fmt::format("{}{}", kPendingPrefix, ino);
    fuse_lowlevel_notify_inval_entry(*session_, kBlobsIno, name.c_str(), name.size());
  }

  // The size of a pending inode (see kPendingPrefix), or nullopt.
  std::optional<uint64_t> PendingSize(fuse_ino_t ino) {
    std::lock_guard lock(mu_);
    for (const auto& [tar, p] : pending_) {
      if (p.ino == ino) return p.size;
    }
    return std::nullopt;
  }

  void CountRead(size_t bytes) {
    ++read_requests_;
    read_bytes_ += bytes;
    last_read_ns_.store(std::chrono::steady_clock::now().time_since_epoch().count(),
                        std::memory_order_relaxed);
  }

  // Waits while READs keep coming (one in the last kReadersQuiet): storing behind then would take
  // the cores from readers who are reading the layers anyway. False when stopped meanwhile.
  bool WaitForQuiet(const std::stop_token& stop) {
    for (;;) {
      if (stop.stop_requested()) return false;
      const auto since =
          std::chrono::steady_clock::now().time_since_epoch() -
          std::chrono::steady_clock::duration(last_read_ns_.load(std::memory_order_relaxed));
      if (since >= kReadersQuiet) return true;
      std::this_thread::sleep_for(kReadersQuiet - since);
    }
  }

  // The counters `ocifs status` shows under "serving". stored_bytes counts a layer's stored pages
  // when its blob's name takes them (Publish, or the end of StoreBehind), so that a reader who
  // sees them counted finds them under the name (unless the kernel has dropped them since).
  nlohmann::json Counters() const {
    return {{"read_requests", read_requests_.load()},
            {"read_bytes", read_bytes_.load()},
            {"stored_bytes", stored_bytes_.load()}};
  }

  // Waits for the first generation. Null with `err` set when making it failed.
  std::shared_ptr<const Generation> Wait(int& err) {
    std::unique_lock lock(mu_);
    ready_cv_.wait(lock, [&] { return ready_; });
    err = current_ ? 0 : ErrnoFor(error_);
    return current_;
  }

  // Whether the first generation (or why there is none) is there.
  bool Ready() {
    std::lock_guard lock(mu_);
    return ready_;
  }

  // Pins `reader` (a process that opened index.json) to `gen` (see kPinIdle).
  void Pin(pid_t reader, std::shared_ptr<const Generation> gen) {
    std::lock_guard lock(mu_);
    const auto now = std::chrono::steady_clock::now();
    std::erase_if(pins_, [&](const auto& p) { return now - p.second.used > kPinIdle; });
    if (pins_.size() >= kMaxPins && !pins_.contains(reader)) {
      auto oldest = std::min_element(pins_.begin(), pins_.end(), [](const auto& a, const auto& b) {
        return a.second.used < b.second.used;
      });
      pins_.erase(oldest);
    }
    pins_[reader] = {std::move(gen), now};
  }

  // The blob named `hex` in the current generation, else in the generation `reader` is pinned
  // to, else in a kept previous one. REQUIRES: the first generation is ready (Wait returned one).
  Found FindBlob(const std::string& hex, pid_t reader) {
    std::lock_guard lock(mu_);
    for (const auto& g : GenerationsLocked(reader)) {
      if (auto it = g->blobs().find(hex); it != g->blobs().end()) return {g, it->second};
    }
    return {};
  }

  // The names blobs/sha256 lists for `reader`: the blobs of the generation whose index.json it
  // last opened (while pinned), else the current one's; sorted. REQUIRES: the first generation is
  // ready.
  std::vector<std::string> Listing(pid_t reader) {
    std::lock_guard lock(mu_);
    std::shared_ptr<const Generation> g = current_;
    if (auto it = pins_.find(reader); it != pins_.end()) {
      it->second.used = std::chrono::steady_clock::now();
      g = it->second.gen;
    }
    std::vector<std::string> out;
    for (const auto& [hex, blob] : g->blobs()) out.push_back(hex);
    std::sort(out.begin(), out.end());
    return out;
  }

  // The generations whose blobs `reader` may reach, in the order they are searched.
  std::vector<std::shared_ptr<const Generation>> GenerationsLocked(pid_t reader) {
    std::vector<std::shared_ptr<const Generation>> out;
    if (current_) out.push_back(current_);
    if (auto it = pins_.find(reader); it != pins_.end()) {
      it->second.used = std::chrono::steady_clock::now();
      out.push_back(it->second.gen);
    }
    out.insert(out.end(), previous_.begin(), previous_.end());
    return out;
  }

  // Returns the blob inode's hex name, or "" for an unknown inode.
  std::string HexOf(fuse_ino_t ino) {
    std::lock_guard lock(mu_);
    size_t i = ino - kFirstBlobIno;
    return ino >= kFirstBlobIno && i < hex_of_.size() ? hex_of_[i] : std::string();
  }

  fuse_ino_t InoOf(const std::string& hex) {
    std::lock_guard lock(mu_);
    return InoOfLocked(hex);
  }

 private:
  // Blob inodes are stable for the life of the mount: a digest keeps its number.
  fuse_ino_t InoOfLocked(const std::string& hex) {
    auto [it, inserted] = ino_of_.emplace(hex, kFirstBlobIno + hex_of_.size());
    if (inserted) hex_of_.push_back(hex);
    return it->second;
  }

  // A blob inode number without a name yet (a layer being hashed).
  fuse_ino_t NewInoLocked() {
    hex_of_.emplace_back();
    return kFirstBlobIno + hex_of_.size() - 1;
  }

  // For the generation just made current: gives each of its layers whose pages were stored the
  // pending inode as its digest's inode (unless the digest has one already), and appends the
  // names to stat.
  void NamePendingLocked(std::vector<std::string>& named) {
    for (const auto& [hex, blob] : current_->blobs()) {
      const auto* layer = dynamic_cast<const TarBlob*>(blob.get());
      auto it = layer ? pending_.find(&layer->tar()) : pending_.end();
      if (it == pending_.end()) continue;
      const Pending& p = it->second;
      if (p.known && !p.failed && !ino_of_.contains(hex)) {
        ino_of_.emplace(hex, p.ino);
        hex_of_[p.ino - kFirstBlobIno] = hex;
        named.push_back(hex);
        stored_bytes_ += p.stored;
      }
    }
  }

  struct fuse_session** const session_;  // set before the loop starts
  const std::string mountpoint_;         // real path, for the daemon's own stats
  std::atomic<uint64_t> read_requests_{0}, read_bytes_{0}, stored_bytes_{0};
  std::atomic<std::chrono::steady_clock::rep> last_read_ns_{0};  // of the last READ
  std::mutex mu_;  // guards everything below; never held across a FUSE reply or a notification
  std::condition_variable ready_cv_;
  bool ready_ = false;
  std::shared_ptr<const Generation> current_;
  std::deque<std::shared_ptr<const Generation>> previous_;  // newest first
  Status error_;
  std::unordered_map<std::string, fuse_ino_t> ino_of_;
  std::vector<std::string> hex_of_;
  struct PinnedGeneration {
    std::shared_ptr<const Generation> gen;
    std::chrono::steady_clock::time_point used;  // the last open, lookup or listing it served
  };
  std::unordered_map<pid_t, PinnedGeneration> pins_;  // by the reader's pid
  struct Pending {
    fuse_ino_t ino = 0;
    uint64_t size = 0;
    bool known = false;   // the kernel has the inode (the pending name was looked up)
    bool failed = false;  // a store failed: no more stores, and the pages are not used
    uint64_t stored = 0;  // bytes stored in its pages
  };
  std::unordered_map<const VirtualTar*, Pending> pending_;  // layers hashed since the last Publish
  uint64_t stored_since_publish_ = 0;
  // Stores the current generation's layers behind (StoreBehind); declared last, so that it stops
  // before anything it uses goes. Set and reset by the source's thread only.
  std::jthread storer_;
};

pid_t Reader(fuse_req_t req) { return fuse_req_ctx(req)->pid; }

ImageFs& Fs(fuse_req_t req) { return *static_cast<ImageFs*>(fuse_req_userdata(req)); }

struct stat DirAttr(fuse_ino_t ino) {
  struct stat st = {};
  st.st_ino = ino;
  st.st_mode = S_IFDIR | 0555;
  st.st_nlink = 2;
  st.st_uid = ::getuid();
  st.st_gid = ::getgid();
  st.st_blksize = kIoSize;
  return st;
}

struct stat FileAttr(fuse_ino_t ino, uint64_t size) {
  struct stat st = {};
  st.st_ino = ino;
  st.st_mode = S_IFREG | 0444;
  st.st_nlink = 1;
  st.st_size = static_cast<off_t>(size);
  st.st_blocks = static_cast<blkcnt_t>((size + 511) / 512);
  st.st_uid = ::getuid();
  st.st_gid = ::getgid();
  st.st_blksize = kIoSize;
  return st;
}

// Fills `st` for `ino`. Returns 0 or an errno. May wait for the first generation.
int AttrOf(ImageFs& fs, fuse_ino_t ino, pid_t reader, struct stat& st, double& timeout) {
  timeout = kForever;
  switch (ino) {
    case kRootIno:
    case kBlobsIno:
    case kSha256Ino:
      st = DirAttr(ino);
      return 0;
    case kLayoutIno:
      st = FileAttr(ino, Generation::oci_layout().size());
      return 0;
    case kIndexIno: {
      int err = 0;
      auto gen = fs.Wait(err);
      if (!gen) return err;
      st = FileAttr(ino, gen->index_json().size());
      timeout = 0;  // the one file whose content moves
      return 0;
    }
    default:
      break;
  }
  std::string hex = fs.HexOf(ino);
  if (hex.empty()) {
    std::optional<uint64_t> pending = fs.PendingSize(ino);
    if (!pending) return ENOENT;
    st = FileAttr(ino, *pending);
    return 0;
  }
  int err = 0;
  if (!fs.Wait(err)) return err;
  Found found = fs.FindBlob(hex, reader);
  if (!found.blob) return ENOENT;  // a blob of a generation no longer kept
  st = FileAttr(ino, found.blob->size());
  return 0;
}

void ReplyEntry(fuse_req_t req, ImageFs& fs, fuse_ino_t ino) {
  struct fuse_entry_param e = {};
  double timeout = 0;
  int err = AttrOf(fs, ino, Reader(req), e.attr, timeout);
  if (err != 0) {
    fuse_reply_err(req, err);
    return;
  }
  e.ino = ino;
  e.attr_timeout = timeout;
  e.entry_timeout = kForever;
  fuse_reply_entry(req, &e);
}

void OnLookup(fuse_req_t req, fuse_ino_t parent, const char* name) {
  ImageFs& fs = Fs(req);
  std::string_view n(name);
  if (parent == kRootIno) {
    if (n == "oci-layout") return ReplyEntry(req, fs, kLayoutIno);
    if (n == "index.json") {
      if (!fs.Ready()) {
        // A lookup in the root or in blobs/ never waits for the first generation: the kernel
        // holds the directory meanwhile, and the hashing thread that makes the generation looks
        // up blobs/ and its pending names (kPendingPrefix). The entry says size 0 and expires at
        // once (as index.json always does): a stat or a read asks again with GETATTR, which waits.
        struct fuse_entry_param e = {};
        e.ino = kIndexIno;
        e.attr = FileAttr(kIndexIno, 0);
        e.entry_timeout = kForever;
        fuse_reply_entry(req, &e);
        return;
      }
      return ReplyEntry(req, fs, kIndexIno);
    }
    if (n == "blobs") return ReplyEntry(req, fs, kBlobsIno);
  } else if (parent == kBlobsIno) {
    if (n == "sha256") return ReplyEntry(req, fs, kSha256Ino);
    if (n.starts_with(kPendingPrefix)) {  // asked by the daemon's hashing thread
      fuse_ino_t ino = 0;
      const std::string_view digits = n.substr(kPendingPrefix.size());
      std::from_chars(digits.data(), digits.data() + digits.size(), ino);
      if (fs.PendingSize(ino)) return ReplyEntry(req, fs, ino);
    }
  } else if (parent == kSha256Ino) {
    int err = 0;
    auto gen = fs.Wait(err);
    if (!gen) {
      fuse_reply_err(req, err);
      return;
    }
    if (fs.FindBlob(std::string(n), Reader(req)).blob) {
      return ReplyEntry(req, fs, fs.InoOf(std::string(n)));
    }
  }
  fuse_reply_err(req, ENOENT);  // negative entries are not cached (entry_timeout 0)
}

void OnGetattr(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info*) {
  struct stat st;
  double timeout = 0;
  int err = AttrOf(Fs(req), ino, Reader(req), st, timeout);
  if (err != 0) {
    fuse_reply_err(req, err);
  } else {
    fuse_reply_attr(req, &st, timeout);
  }
}

// One open directory: its entries, taken whole when it was opened, so that a generation that
// arrives between two readdir calls cannot shift them (and make a reader skip one).
struct DirHandle {
  std::vector<std::pair<std::string, struct stat>> entries;
};

// The root lists oci-layout and index.json before blobs/ (and gives them lower inode numbers,
// the order `cp -r` copies in): a copier reads index.json before it lists blobs/sha256, whose
// listing then includes that index.json's blobs (ImageFs::Pin).
void OnOpendir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info* fi) {
  ImageFs& fs = Fs(req);
  auto d = std::make_unique<DirHandle>();
  d->entries = {{".", DirAttr(ino)}, {"..", DirAttr(kRootIno)}};
  switch (ino) {
    case kRootIno:
      d->entries.emplace_back("oci-layout", FileAttr(kLayoutIno, 0));
      d->entries.emplace_back("index.json", FileAttr(kIndexIno, 0));
      d->entries.emplace_back("blobs", DirAttr(kBlobsIno));
      break;
    case kBlobsIno:
      d->entries.emplace_back("sha256", DirAttr(kSha256Ino));
      break;
    case kSha256Ino: {
      int err = 0;
      if (!fs.Wait(err)) {
        fuse_reply_err(req, err);
        return;
      }
      for (const auto& hex : fs.Listing(Reader(req)))
        d->entries.emplace_back(hex, FileAttr(fs.InoOf(hex), 0));
      break;
    }
    default:
      fuse_reply_err(req, ENOTDIR);
      return;
  }
  fi->fh = reinterpret_cast<uint64_t>(d.get());
  if (fuse_reply_open(req, fi) == 0) d.release();  // released in OnReleasedir
}

void OnReleasedir(fuse_req_t req, fuse_ino_t, struct fuse_file_info* fi) {
  delete reinterpret_cast<DirHandle*>(fi->fh);
  fuse_reply_err(req, 0);
}

void OnReaddir(fuse_req_t req, fuse_ino_t, size_t size, off_t off, struct fuse_file_info* fi) {
  const auto& entries = reinterpret_cast<const DirHandle*>(fi->fh)->entries;
  // Not zeroed: the kernel passes on the reader's buffer size, up to 1 MiB (ls and cp ask for
  // st_blksize, which is 1 MiB here), and zeroing it, page faults and all, cost more than the
  // listing.
  auto buf = std::make_unique_for_overwrite<char[]>(size);
  size_t used = 0;
  for (size_t i = static_cast<size_t>(off); i < entries.size(); ++i) {
    size_t need = fuse_add_direntry(req, buf.get() + used, size - used, entries[i].first.c_str(),
                                    &entries[i].second, static_cast<off_t>(i + 1));
    if (need > size - used) break;
    used += need;
  }
  fuse_reply_buf(req, buf.get(), used);
}

void OnOpen(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info* fi) {
  if ((fi->flags & O_ACCMODE) != O_RDONLY) {
    fuse_reply_err(req, EROFS);
    return;
  }
  ImageFs& fs = Fs(req);
  auto h = std::make_unique<Handle>();
  if (ino == kLayoutIno) {
    h->blob = std::make_shared<MemoryBlob>(Generation::oci_layout());
    fi->keep_cache = 1;
  } else {
    int err = 0;
    h->generation = fs.Wait(err);
    if (!h->generation) {
      fuse_reply_err(req, err);
      return;
    }
    if (ino == kIndexIno) {
      h->blob = std::make_shared<MemoryBlob>(h->generation->index_json());
      fi->keep_cache = 0;
      fs.Pin(Reader(req), h->generation);
    } else {
      std::string hex = fs.HexOf(ino);
      Found found = hex.empty() ? Found{} : fs.FindBlob(hex, Reader(req));
      if (!found.blob) {
        fuse_reply_err(req, ino < kFirstBlobIno ? EISDIR : ENOENT);
        return;
      }
      h->generation = std::move(found.generation);  // held until release
      h->blob = std::move(found.blob);
      fi->keep_cache = 1;  // content-addressed: the page cache stays valid forever
    }
  }
  fi->fh = reinterpret_cast<uint64_t>(h.get());
  if (fuse_reply_open(req, fi) == 0) h.release();  // released in OnRelease
}

void OnRead(fuse_req_t req, fuse_ino_t, size_t size, off_t off, struct fuse_file_info* fi) {
  const Handle& h = *reinterpret_cast<const Handle*>(fi->fh);
  const uint64_t total = h.blob->size();
  if (off < 0 || static_cast<uint64_t>(off) >= total) {
    fuse_reply_buf(req, nullptr, 0);
    return;
  }
  size_t n = static_cast<size_t>(std::min<uint64_t>(size, total - static_cast<uint64_t>(off)));
  // One buffer per loop thread, kept: a fresh 1 MiB buffer per request costs 256 page faults.
  thread_local std::unique_ptr<std::byte[]> buffer(new std::byte[kIoSize]);
  thread_local std::unique_ptr<std::byte[]> large;  // for a request over kIoSize (not asked for)
  std::byte* buf = buffer.get();
  if (n > kIoSize) {
    large.reset(new std::byte[n]);
    buf = large.get();
  }
  Status s = h.blob->ReadAt(static_cast<uint64_t>(off), std::span(buf, n));
  if (!s.ok()) {
    Log(LogLevel::kError, fmt::format("read of {} bytes at {}: {}", n, off, s.message()));
    fuse_reply_err(req, EIO);  // never a short read, never other bytes
    return;
  }
  Fs(req).CountRead(n);
  fuse_reply_buf(req, reinterpret_cast<const char*>(buf), n);
}

void OnRelease(fuse_req_t req, fuse_ino_t, struct fuse_file_info* fi) {
  delete reinterpret_cast<Handle*>(fi->fh);
  fuse_reply_err(req, 0);
}

void OnStatfs(fuse_req_t req, fuse_ino_t) {
  struct statvfs st = {};
  st.f_bsize = kIoSize;
  st.f_frsize = 512;
  st.f_namemax = 255;
  fuse_reply_statfs(req, &st);
}

void OnInit(void*, struct fuse_conn_info* conn) {
  conn->max_read = kIoSize;  // must equal the max_read mount option (libfuse checks)
  conn->max_readahead = kIoSize;
  conn->want |= conn->capable & FUSE_CAP_ASYNC_READ;
}

// The kernel gives a FUSE mount 128 KiB of readahead, so buffered reads arrive as 128 KiB
// requests whatever max_read says. Raising the mount's backing-device readahead to 1 MiB makes
// them 1 MiB (root only; without it ocifs works, in smaller requests). The device number comes
// from /proc/self/mountinfo: a stat of the mountpoint would ask this very daemon, which is not
// serving yet.
void RaiseReadahead(const std::string& real_mountpoint) {
  std::ifstream mountinfo("/proc/self/mountinfo");
  std::string line, device;
  while (std::getline(mountinfo, line)) {
    // "36 35 0:38 / /mnt/point rw,... - fuse.ocifs ocifs ro,...": fields 3 and 5.
    std::istringstream fields(line);
    std::string id, parent, dev, root, point;
    fields >> id >> parent >> dev >> root >> point;
    std::string unescaped;  // mountinfo writes ' ', '\t', '\n' and '\\' as octal escapes
    for (size_t i = 0; i < point.size(); ++i) {
      const bool escape = point[i] == '\\' && i + 3 < point.size() &&
                          std::all_of(point.begin() + i + 1, point.begin() + i + 4,
                                      [](char c) { return c >= '0' && c <= '7'; });
      if (escape) {  // '\\' and three octal digits
        unescaped += static_cast<char>(std::stoi(point.substr(i + 1, 3), nullptr, 8));
        i += 3;
      } else {
        unescaped += point[i];
      }
    }
    if (unescaped == real_mountpoint && line.find(" - fuse.ocifs ") != std::string::npos)
      device = dev;
  }
  if (device.empty()) return;
  std::ofstream ra("/sys/class/bdi/" + device + "/read_ahead_kb");
  ra << (kIoSize / 1024) << "\n";
  ra.flush();
  if (!ra)
    Log(LogLevel::kInfo,
        "could not raise the readahead of " + device + " to 1 MiB; reads stay at 128 KiB");
}

// Each layer keeps a few source files open (VirtualTar), and the generations a mount keeps (the
// previous few, and those readers are pinned to) each have their layers: the daemon raises its
// soft limit of open files to the hard one, so that reads never fail for want of a descriptor.
void RaiseOpenFileLimit() {
  struct rlimit limit;
  if (::getrlimit(RLIMIT_NOFILE, &limit) != 0 || limit.rlim_cur >= limit.rlim_max) return;
  limit.rlim_cur = limit.rlim_max;
  ::setrlimit(RLIMIT_NOFILE, &limit);
}

}  // namespace

int ErrnoFor(const Status& status) {
  switch (status.code()) {
    case Code::kOk:
      return 0;
    case Code::kNotFound:
      return ENOENT;
    case Code::kPermissionDenied:
      return EACCES;
    case Code::kInvalidArgument:
      return EINVAL;
    case Code::kUnsupported:
      return ENOTSUP;
    // Bytes that cannot be vouched for are an I/O error: never short, never wrong.
    case Code::kIo:
    case Code::kCorrupt:
    case Code::kChanged:
    case Code::kAlreadyExists:
    case Code::kFailedPrecondition:
    case Code::kInternal:
      return EIO;
  }
  return EIO;
}

namespace {

// Why fuse_session_mount may have failed, beyond what libfuse printed above.
std::string MountFailureHint(const MountOptions& options) {
  std::error_code ec;
  if (!std::filesystem::exists("/dev/fuse", ec)) {
    return "/dev/fuse is missing: load the fuse module, or give a container --device /dev/fuse";
  }
  if (options.allow_other && ::geteuid() != 0) {
    std::ifstream conf("/etc/fuse.conf");
    std::string line;
    bool allowed = false;
    while (std::getline(conf, line)) {
      const size_t start = line.find_first_not_of(" \t");
      if (start != std::string::npos && line.compare(start, 16, "user_allow_other") == 0)
        allowed = true;
    }
    if (!allowed) return "--allow-other needs `user_allow_other` in /etc/fuse.conf";
  }
  return "see fusermount3's message above";
}

}  // namespace

Status CheckMountpoint(const std::string& mountpoint) {
  std::error_code ec;
  // A FUSE mount whose daemon died answers some calls from the kernel's cache and others with
  // ENOTCONN ("Transport endpoint is not connected"): any of the checks below may meet it.
  auto dead = [&] {
    return Status(Code::kFailedPrecondition,
                  fmt::format("mountpoint `{}`: {}: the daemon of a mount there is gone; run "
                              "`ocifs umount {}` first",
                              mountpoint, ec.message(), mountpoint));
  };
  const bool exists = std::filesystem::exists(mountpoint, ec);
  if (ec.value() == ENOTCONN) return dead();
  if (!exists) {
    return NotFound(
        fmt::format("mountpoint `{}` does not exist (create it with mkdir)", mountpoint));
  }
  if (!std::filesystem::is_directory(mountpoint, ec)) {
    return InvalidArgument(fmt::format("mountpoint `{}` is not a directory", mountpoint));
  }
  if (!std::filesystem::is_empty(mountpoint, ec)) {
    if (ec.value() == ENOTCONN) return dead();
    if (ec) return Status(Code::kIo, fmt::format("mountpoint `{}`: {}", mountpoint, ec.message()));
    return InvalidArgument(fmt::format("mountpoint `{}` is not empty", mountpoint));
  }
  return Status::Ok();
}

Status Serve(const MountOptions& options, GenerationSource& source) {
  OCIFS_RETURN_IF_ERROR(CheckMountpoint(options.mountpoint));
  std::error_code ec;
  const std::string real_mountpoint = std::filesystem::canonical(options.mountpoint, ec).string();
  std::vector<std::string> argv_store = {"ocifs"};
  std::string opts =
      "ro,nosuid,nodev,noatime,default_permissions,fsname=ocifs,subtype=ocifs,max_read=1048576";
  if (options.allow_other) opts += ",allow_other";
  argv_store.insert(argv_store.end(), {"-o", opts});
  if (options.debug) argv_store.push_back("-d");
  std::vector<char*> argv;
  for (auto& a : argv_store) argv.push_back(a.data());
  struct fuse_args args = FUSE_ARGS_INIT(static_cast<int>(argv.size()), argv.data());

  static const struct fuse_lowlevel_ops kOps = [] {
    struct fuse_lowlevel_ops ops = {};
    ops.init = OnInit;
    ops.lookup = OnLookup;
    ops.getattr = OnGetattr;
    ops.opendir = OnOpendir;
    ops.readdir = OnReaddir;
    ops.releasedir = OnReleasedir;
    ops.open = OnOpen;
    ops.read = OnRead;
    ops.release = OnRelease;
    ops.statfs = OnStatfs;
    return ops;
  }();

  struct fuse_session* se = nullptr;
  ImageFs fs(&se, real_mountpoint);
  se = fuse_session_new(&args, &kOps, sizeof kOps, &fs);
  fuse_opt_free_args(&args);
  if (se == nullptr)
    return Status(Code::kIo, "could not create the FUSE session (see the message above)");
  // Owns the session: signal handlers, mount, destroy in reverse order.
  struct SessionGuard {
    struct fuse_session* se;
    bool handlers = false, mounted = false;
    ~SessionGuard() {
      if (mounted) fuse_session_unmount(se);
      if (handlers) fuse_remove_signal_handlers(se);
      fuse_session_destroy(se);
    }
  } guard{se};
  if (fuse_set_signal_handlers(se) != 0)
    return Status(Code::kIo, "could not install signal handlers");
  guard.handlers = true;
  if (fuse_session_mount(se, options.mountpoint.c_str()) != 0) {
    return Status(Code::kIo, fmt::format("could not mount on `{}` ({})", options.mountpoint,
                                         MountFailureHint(options)));
  }
  guard.mounted = true;
  // The parent exits here, now that the mount is up.
  if (options.daemon != nullptr) {
    OCIFS_RETURN_IF_ERROR(options.daemon->Detach());
  } else if (::chdir("/") != 0) {
    return Status(Code::kIo, fmt::format("chdir /: {}", std::strerror(errno)));
  }
  ::openlog("ocifs", LOG_PID, LOG_DAEMON);
  RaiseReadahead(real_mountpoint);
  RaiseOpenFileLimit();

  // libfuse blocks every signal in its workers so that SIGTERM/SIGINT reach the loop's thread;
  // the source's thread (and the hashing threads it starts, which inherit its mask) must block
  // them too, or a signal delivered to one of them would set "exit" without waking the loop.
  sigset_t all, previous;
  sigfillset(&all);
  pthread_sigmask(SIG_BLOCK, &all, &previous);
  std::jthread maker([&fs, &source] {
    source.Run(
        {.publish = [&fs](auto made) { fs.Publish(std::move(made)); },
         .layer_bytes =
             [&fs](const VirtualTar& tar, uint64_t offset, std::span<const std::byte> bytes) {
               fs.StoreLayerBytes(tar, offset, bytes);
             },
         .status = [&fs] { return fs.Counters(); }});
  });
  pthread_sigmask(SIG_SETMASK, &previous, nullptr);
  struct fuse_loop_config* cfg = fuse_loop_cfg_create();
  fuse_loop_cfg_set_max_threads(cfg, options.max_threads);
  fuse_loop_cfg_set_clone_fd(cfg, 0);
  int rc = fuse_session_loop_mt(se, cfg);
  fuse_loop_cfg_destroy(cfg);
  // Unmounted or signalled: stop the source (and any hashing it is doing), unmount, then wait for
  // it. Unmounting first: nothing answers requests any more, and a hashing thread that stats its
  // pending name (see kPendingPrefix) would wait for an answer until the mount is gone.
  source.Stop();
  fuse_session_unmount(se);
  guard.mounted = false;
  maker.join();
  fs.StopStoring();  // before the session goes (guard)
  if (rc != 0 && rc != SIGTERM && rc != SIGINT && rc != SIGHUP) {
    return Status(Code::kIo, fmt::format("the FUSE loop ended with error {}", rc));
  }
  return Status::Ok();
}

}  // namespace ocifs::vfs
