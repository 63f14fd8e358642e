#include "core/system/apt.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <fmt/format.h>

#include "core/debian/decompress.h"
#include "core/debian/layer.h"
#include "core/support/atomic_file.h"
#include "core/support/private_dir.h"

namespace ocifs {
namespace {

namespace fs = std::filesystem;

constexpr size_t kMaxInRelease = 64 << 20;  // bookworm's is 150 KiB
constexpr size_t kMaxPackages = 512 << 20;  // bookworm main's Packages is 50 MB uncompressed

class StringStream : public ByteStream {
 public:
  explicit StringStream(const std::string& s) : s_(s) {}
  Result<size_t> Read(std::span<std::byte> out) override {
    const size_t n = std::min(out.size(), s_.size() - at_);
    std::memcpy(out.data(), s_.data() + at_, n);
    at_ += n;
    return n;
  }

 private:
  const std::string& s_;
  size_t at_ = 0;
};

// A path of the archive as a URL's: each segment percent-encoded ("1%3a5.44" is a file name a
// local archive may have, and `+` is read as a space by some servers).
std::string UrlPath(std::string_view path) {
  std::string out;
  for (size_t start = 0; start <= path.size();) {
    const size_t slash = std::min(path.find('/', start), path.size());
    if (start > 0) out += '/';
    out += UrlEncode(path.substr(start, slash - start));
    start = slash + 1;
  }
  return out;
}

std::optional<std::string> ReadCached(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::nullopt;
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace

AptClient::AptClient(AptSetup setup, std::shared_ptr<HttpTransport> transport, RetryPolicy retry,
                     std::string cache_dir)
    : setup_(std::move(setup)),
      transport_(std::move(transport)),
      retry_(std::move(retry)),
      cache_dir_(std::move(cache_dir)) {}

Status AptClient::EnsureDirectories() {
  std::lock_guard lock(mu_);
  if (dirs_ready_) return Status::Ok();
  OCIFS_RETURN_IF_ERROR(
      OpenPrivateDir(cache_dir_, LooseMode::kTighten, /*make_parents=*/true).status());
  for (const char* sub : {"apt", "apt/inrelease", "apt/indexes", "apt/debs"}) {
    OCIFS_RETURN_IF_ERROR(OpenPrivateDir(cache_dir_ + "/" + sub, LooseMode::kTighten).status());
  }
  dirs_ready_ = true;
  return Status::Ok();
}

Result<std::string> AptClient::Get(const std::string& url, size_t max, const std::string& what) {
  std::string body;
  BodySink sink = [&](long, std::span<const std::byte> bytes) -> Status {
    if (body.size() + bytes.size() > max)
      return Corrupt(fmt::format("{}: `{}` is larger than {} bytes", what, url, max));
    body.append(reinterpret_cast<const char*>(bytes.data()), bytes.size());
    return Status::Ok();
  };
  auto make = [&] {
    body.clear();
    HttpRequest r;
    r.url = url;
    return r;
  };
  RetryHooks hooks;
  hooks.on_attempt = [this] { ++requests_; };
  OCIFS_ASSIGN_OR_RETURN(HttpResponse r,
                         SendWithRetries(*transport_, retry_, what, make, &sink, 64 << 10, hooks));
  if (r.status == 404) return NotFound(fmt::format("{}: `{}` is not there (HTTP 404)", what, url));
  if (r.status != 200)
    return Status(Code::kIo, fmt::format("{}: `{}` answered HTTP {}", what, url, r.status));
  bytes_fetched_ += body.size();
  return body;
}

Result<std::string> AptClient::LoadInRelease(const debian::AptSource& source) {
  const std::string what =
      fmt::format("apt source `{} {}` ({})", source.uri, source.suite, source.origin);
  std::vector<debian::Keyring> keys;
  if (!source.signed_by_key.empty()) {
    keys.push_back({source.origin + " Signed-By", source.signed_by_key});
  } else if (!source.signed_by.empty()) {
    for (const std::string& path : source.signed_by) {
      auto it = std::find_if(setup_.keyrings.begin(), setup_.keyrings.end(),
                             [&](const debian::Keyring& k) { return k.name == path; });
      if (it == setup_.keyrings.end())
        return InvalidArgument(
            fmt::format("{}: Signed-By `{}` is no keyring of the base", what, path));
      keys.push_back(*it);
    }
  } else {
    keys = setup_.keyrings;
  }
  const std::string path =
      cache_dir_ + "/apt/inrelease/" + Digest::Of(source.uri + " " + source.suite).hex();
  std::string bytes;
  if (setup_.offline) {
    std::optional<std::string> cached = ReadCached(path);
    if (!cached)
      return Status(
          Code::kFailedPrecondition,
          fmt::format("{}: its InRelease is not in the cache, and --offline is set", what));
    bytes = std::move(*cached);
  } else {
    OCIFS_ASSIGN_OR_RETURN(
        bytes, Get(source.uri + "/dists/" + source.suite + "/InRelease", kMaxInRelease, what));
  }
  OCIFS_ASSIGN_OR_RETURN(std::string text,
                         debian::VerifyClearsigned(bytes, keys, "InRelease of " + what));
  if (!setup_.offline) OCIFS_RETURN_IF_ERROR(WriteFileAtomically(path, bytes, 0600));
  return text;
}

Result<std::string> AptClient::LoadPackagesFile(const debian::AptSource& source,
                                                const debian::Release& release,
                                                const std::string& component, std::string* sha256) {
  const std::string dir = component + "/binary-" + setup_.arch + "/";
  const debian::ReleaseFile* file = nullptr;
  for (const char* name : {"Packages.xz", "Packages.gz", "Packages"}) {
    if ((file = release.Find(dir + name))) break;
  }
  const std::string what = fmt::format("apt source `{} {}`", source.uri, source.suite);
  if (!file)
    return NotFound(fmt::format(
        "{}: its Release lists no {}Packages: component `{}` or architecture `{}` is not "
        "in the archive",
        what, dir, component, setup_.arch));
  *sha256 = file->sha256;
  const std::string path = cache_dir_ + "/apt/indexes/" + file->sha256;
  std::string bytes;
  if (std::optional<std::string> cached = ReadCached(path);
      cached && cached->size() == file->size && Digest::Of(*cached).hex() == file->sha256) {
    bytes = std::move(*cached);
  } else if (setup_.offline) {
    return Status(
        Code::kFailedPrecondition,
        fmt::format("{}: {} is not in the cache, and --offline is set", what, file->path));
  } else {
    const std::string base = source.uri + "/dists/" + source.suite + "/";
    Result<std::string> got = NotFound("");
    if (release.acquire_by_hash)
      got = Get(base + dir + "by-hash/SHA256/" + file->sha256, kMaxPackages, what);
    if (!got.ok() && got.status().code() == Code::kNotFound)
      got = Get(base + file->path, kMaxPackages, what);
    if (!got.ok()) return got.status();
    if (got->size() != file->size || Digest::Of(*got).hex() != file->sha256)
      return Corrupt(fmt::format(
          "{}: {} is {} bytes with SHA256 {}, but its InRelease says {} bytes with {}", what,
          file->path, got->size(), Digest::Of(*got).hex(), file->size, file->sha256));
    bytes = std::move(*got);
    OCIFS_RETURN_IF_ERROR(WriteFileAtomically(path, bytes, 0600));
  }
  OCIFS_ASSIGN_OR_RETURN(debian::Codec codec, debian::CodecOf(file->path));
  auto stream =
      debian::Decompress(codec, std::make_unique<StringStream>(bytes), what + " " + file->path);
  std::string text;
  char buf[1 << 16];
  while (true) {
    OCIFS_ASSIGN_OR_RETURN(size_t n, stream->Read(std::as_writable_bytes(std::span(buf))));
    if (n == 0) break;
    if (text.size() + n > kMaxPackages)
      return Corrupt(fmt::format("{}: {} is too large", what, file->path));
    text.append(buf, n);
  }
  return text;
}

Result<AptIndex> AptClient::LoadIndex() {
  OCIFS_RETURN_IF_ERROR(EnsureDirectories());
  if (setup_.sources.empty())
    return InvalidArgument("no apt sources: the base has none, and no apt-mirror is set");
  AptIndex out;
  Sha256 names;
  for (const debian::AptSource& source : setup_.sources) {
    OCIFS_ASSIGN_OR_RETURN(std::string text, LoadInRelease(source));
    OCIFS_ASSIGN_OR_RETURN(
        debian::Release release,
        debian::ParseRelease(text, source.suite,
                             fmt::format("InRelease of `{} {}`", source.uri, source.suite)));
    for (const std::string& component : source.components) {
      std::string sha;
      OCIFS_ASSIGN_OR_RETURN(std::string packages,
                             LoadPackagesFile(source, release, component, &sha));
      OCIFS_ASSIGN_OR_RETURN(
          std::vector<debian::Package> parsed,
          debian::ParsePackages(
              packages, fmt::format("`{}/dists/{}/{}/binary-{}/Packages`", source.uri, source.suite,
                                    component, setup_.arch)));
      for (debian::Package& p : parsed) {
        p.archive = source.uri;
        out.packages.push_back(std::move(p));
      }
      names.Update(sha + "\n");
    }
  }
  out.digest = names.Finish();
  return out;
}

Result<std::shared_ptr<File>> AptClient::OpenDeb(const debian::Package& p) {
  OCIFS_RETURN_IF_ERROR(EnsureDirectories());
  const std::string dir = cache_dir_ + "/apt/debs";
  const std::string name = p.name + "_" + p.version + "_" + p.arch + ".deb";
  if (!IsLowerHex64(p.sha256)) return Internal("package " + p.Id() + " has no SHA256");
  const std::string path = dir + "/" + p.sha256;
  // A cached file that is not the package (damaged on disk) is dropped and fetched again.
  if (fs::exists(path)) {
    OCIFS_ASSIGN_OR_RETURN(std::unique_ptr<Tree> tree, OpenPosixTree(dir));
    OCIFS_ASSIGN_OR_RETURN(std::unique_ptr<File> file, tree->Open(p.sha256));
    Status s = debian::VerifyDebFile(*file, p);
    if (s.ok()) return std::shared_ptr<File>(std::move(file));
    if (setup_.offline) return s.WithContext("the cache");
    std::error_code ec;
    fs::remove(path, ec);
  }
  {
    if (setup_.offline)
      return Status(Code::kFailedPrecondition,
                    fmt::format("`{}` is not in the cache, and --offline is set", name));
    const std::string url = p.archive + "/" + UrlPath(p.filename);
    const std::string what = fmt::format("`{}` from `{}`", name, url);
    Status written = WriteFileAtomically(
        path,
        [&](int fd) -> Status {
          VerifiedDownload download(
              what, Digest::FromHex(p.sha256), p.size,
              [&](std::span<const std::byte> b) { return WriteAll(fd, b, what); },
              [&]() -> Status {
                if (::ftruncate(fd, 0) != 0 || ::lseek(fd, 0, SEEK_SET) != 0)
                  return ErrnoStatus(errno, what, "truncate");
                return Status::Ok();
              });
          auto make = [&] {
            HttpRequest r;
            r.url = url;
            r.headers = download.RangeHeaders();
            return r;
          };
          RetryHooks hooks;
          hooks.on_attempt = [this] { ++requests_; };
          OCIFS_ASSIGN_OR_RETURN(HttpResponse r,
                                 SendWithRetries(*transport_, retry_, what, make,
                                                 &download.body_sink(), 64 << 10, hooks));
          if (r.status == 404) return NotFound(fmt::format("{}: not there (HTTP 404)", what));
          if (r.status != 200 && r.status != 206)
            return Status(Code::kIo, fmt::format("{}: HTTP {}", what, r.status));
          OCIFS_RETURN_IF_ERROR(download.Finish());
          bytes_fetched_ += download.received();
          return Status::Ok();
        },
        0600);
    if (!written.ok()) return written;
  }
  OCIFS_ASSIGN_OR_RETURN(std::unique_ptr<Tree> tree, OpenPosixTree(dir));
  OCIFS_ASSIGN_OR_RETURN(std::unique_ptr<File> file, tree->Open(p.sha256));
  return std::shared_ptr<File>(std::move(file));
}

}  // namespace ocifs
