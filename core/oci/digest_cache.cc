#include "core/oci/digest_cache.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <fmt/format.h>

#include "core/support/atomic_file.h"
#include "core/support/private_dir.h"

namespace ocifs {
namespace {

namespace fs = std::filesystem;

constexpr char kMagic[] = "ocifs-digest-cache 1";

std::string Body(const Digest& key, const DigestCache::Entry& e) {
  return fmt::format("{}\nkey {}\ndigest {}\nsize {}\n", kMagic, key.str(), e.digest.str(), e.size);
}

// Parses an entry file; nullopt when anything about it is off.
std::optional<DigestCache::Entry> Parse(const std::string& text, const Digest& key) {
  size_t check_at = text.rfind("check ");
  if (check_at == std::string::npos || (check_at > 0 && text[check_at - 1] != '\n'))
    return std::nullopt;
  std::string body = text.substr(0, check_at);
  std::string check = text.substr(check_at + 6);
  if (check.empty() || check.back() != '\n') return std::nullopt;
  check.pop_back();
  if (Digest::Of(body).hex() != check) return std::nullopt;
  std::istringstream in(body);
  std::string magic, k, d, s;
  std::getline(in, magic);
  std::getline(in, k);
  std::getline(in, d);
  std::getline(in, s);
  if (magic != kMagic || k != "key " + key.str() || !d.starts_with("digest ") ||
      !s.starts_with("size ")) {
    return std::nullopt;
  }
  auto digest = Digest::Parse(d.substr(7));
  std::string size_text = s.substr(5);
  if (!digest.ok() || size_text.empty() || size_text.size() > 20 ||
      !std::all_of(size_text.begin(), size_text.end(), ::isdigit)) {
    return std::nullopt;
  }
  return DigestCache::Entry{*digest, std::stoull(size_text)};
}

}  // namespace

std::string DigestCache::DefaultDir() {
  if (const char* xdg = std::getenv("XDG_CACHE_HOME"); xdg != nullptr && xdg[0] == '/') {
    return std::string(xdg) + "/ocifs";
  }
  const char* home = std::getenv("HOME");
  return std::string(home != nullptr && home[0] != '\0' ? home : "/tmp") + "/.cache/ocifs";
}

Result<std::unique_ptr<DigestCache>> DigestCache::Open(const std::string& dir, uint64_t max_bytes) {
  // Everything under the cache (entries, registry blobs, plugins' caches) is trusted and written
  // by path, so the cache itself must be the user's alone.
  auto root = OpenPrivateDir(dir, LooseMode::kTighten, /*make_parents=*/true);
  if (!root.ok()) return root.status();
  std::error_code ec;
  fs::create_directories(fs::path(dir) / "digests", ec);
  if (ec) return Status(Code::kIo, fmt::format("cache directory `{}`: {}", dir, ec.message()));
  return std::unique_ptr<DigestCache>(new DigestCache(dir, max_bytes));
}

std::string DigestCache::PathOf(const Digest& key) const {
  return fmt::format("{}/digests/{}/{}", dir_, key.hex().substr(0, 2), key.hex());
}

std::optional<DigestCache::Entry> DigestCache::Lookup(const Digest& key,
                                                      std::vector<std::string>* warnings) {
  const std::string path = PathOf(key);
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    ++misses_;
    return std::nullopt;
  }
  std::stringstream ss;
  ss << in.rdbuf();
  auto entry = Parse(ss.str(), key);
  if (!entry) {
    ++misses_;
    if (warnings)
      warnings->push_back(fmt::format("ignored a corrupt digest cache entry `{}` (removed)", path));
    ::unlink(path.c_str());
    return std::nullopt;
  }
  ++hits_;
  ::utimensat(AT_FDCWD, path.c_str(), nullptr, 0);  // recently used: evicted last
  return entry;
}

Status DigestCache::Store(const Digest& key, const Entry& entry) {
  const std::string path = PathOf(key);
  std::error_code ec;
  fs::create_directories(fs::path(path).parent_path(), ec);
  if (ec)
    return Status(Code::kIo, fmt::format("cache directory `{}`: {}",
                                         fs::path(path).parent_path().string(), ec.message()));
  std::string body = Body(key, entry);
  std::string text = body + "check " + Digest::Of(body).hex() + "\n";
  OCIFS_RETURN_IF_ERROR(WriteFileAtomically(path, text, 0600));
  // Keep within the bound; an error here does not undo the store.
  auto left = Prune(max_bytes_);
  (void)left;
  return Status::Ok();
}

Result<DigestCache::Stats> DigestCache::Scan() const {
  Stats stats;
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(fs::path(dir_) / "digests", ec);
       !ec && it != fs::end(it); it.increment(ec)) {
    struct stat st;
    if (!it->is_regular_file(ec) || ::lstat(it->path().c_str(), &st) != 0) continue;
    ++stats.entries;
    stats.bytes += static_cast<uint64_t>(st.st_blocks) * 512;
  }
  if (ec) return Status(Code::kIo, fmt::format("cache directory `{}`: {}", dir_, ec.message()));
  return stats;
}

Result<DigestCache::Stats> DigestCache::Prune(uint64_t max_bytes) {
  std::lock_guard lock(prune_mu_);
  struct Item {
    int64_t mtime_ns;
    std::string path;
    uint64_t bytes;
  };
  std::vector<Item> items;
  uint64_t total = 0;
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(fs::path(dir_) / "digests", ec);
       !ec && it != fs::end(it); it.increment(ec)) {
    struct stat st;
    if (!it->is_regular_file(ec) || ::lstat(it->path().c_str(), &st) != 0) continue;
    uint64_t bytes = static_cast<uint64_t>(st.st_blocks) * 512;
    items.push_back({int64_t{st.st_mtim.tv_sec} * 1'000'000'000 + st.st_mtim.tv_nsec,
                     it->path().string(), bytes});
    total += bytes;
  }
  if (ec) return Status(Code::kIo, fmt::format("cache directory `{}`: {}", dir_, ec.message()));
  Stats left{items.size(), total};
  if (total <= max_bytes) return left;
  std::sort(items.begin(), items.end(), [](const Item& a, const Item& b) {
    return a.mtime_ns != b.mtime_ns ? a.mtime_ns < b.mtime_ns : a.path < b.path;
  });
  for (const Item& item : items) {
    if (left.bytes <= max_bytes) break;
    if (::unlink(item.path.c_str()) == 0 || errno == ENOENT) {
      left.bytes -= item.bytes;
      --left.entries;
    }
  }
  return left;
}

Result<uint64_t> ParseByteSize(std::string_view text) {
  auto bad = [&] {
    return InvalidArgument(
        fmt::format("size `{}`: want a number with an optional K, M, G or T", text));
  };
  if (text.empty()) return bad();
  uint64_t shift = 0;
  switch (std::toupper(static_cast<unsigned char>(text.back()))) {
    case 'K':
      shift = 10;
      break;
    case 'M':
      shift = 20;
      break;
    case 'G':
      shift = 30;
      break;
    case 'T':
      shift = 40;
      break;
    default:
      break;
  }
  std::string_view num = shift ? text.substr(0, text.size() - 1) : text;
  if (num.empty() || num.size() > 15 || !std::all_of(num.begin(), num.end(), ::isdigit))
    return bad();
  return std::stoull(std::string(num)) << shift;
}

}  // namespace ocifs
