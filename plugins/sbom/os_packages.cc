#include "os_packages.h"

#include "hash.h"
#include "text.h"

#include <zlib.h>
#include <zstd.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <set>
#include <stdexcept>

namespace ocifs::sbom {
namespace {

constexpr size_t kBlock = 512;
constexpr std::array<std::string_view, 5> kRoots = {"var/lib/dpkg/status", "var/lib/dpkg/status.d",
                                                    "lib/apk/db/installed", "etc/os-release",
                                                    "usr/lib/os-release"};

// "./var/lib/" -> "var/lib".
std::string CleanPath(std::string_view p) {
  while (true) {
    if (p.starts_with("./")) {
      p.remove_prefix(2);
    } else if (p.starts_with("/")) {
      p.remove_prefix(1);
    } else {
      break;
    }
  }
  while (p.ends_with("/")) p.remove_suffix(1);
  return p == "." ? "" : std::string(p);
}

// Whether removing `path` may remove a file kept by the scan (or a directory holding one).
bool Relevant(std::string_view path) {
  for (std::string_view root : kRoots) {
    if (root == path || (root.starts_with(path) && root[path.size()] == '/') ||
        (path.starts_with(root) && path[root.size()] == '/'))
      return true;
  }
  return path.empty();
}

std::string_view CString(std::string_view field) { return field.substr(0, field.find('\0')); }

// A numeric header field: octal text, or base-256 when the first byte's high bit is set.
bool Number(std::string_view field, uint64_t& out) {
  out = 0;
  if (!field.empty() && (static_cast<unsigned char>(field[0]) & 0x80)) {
    for (size_t i = 1; i < field.size(); ++i) {
      if (out >> 56) return false;
      out = (out << 8) | static_cast<unsigned char>(field[i]);
    }
    return true;
  }
  field = Trim(CString(field));
  for (char c : field) {
    if (c < '0' || c > '7' || (out >> 60)) return false;
    out = out * 8 + static_cast<uint64_t>(c - '0');
  }
  return true;
}

bool Number10(std::string_view s, uint64_t& out) {
  out = 0;
  if (s.empty() || s.size() > 12) return false;  // sums of two cannot overflow
  for (char c : s) {
    if (c < '0' || c > '9') return false;
    out = out * 10 + static_cast<uint64_t>(c - '0');
  }
  return true;
}

// Paragraphs of "Key: value" fields with indented continuation lines (dpkg status).
void ForEachParagraph(std::string_view text, auto&& fn) {
  std::map<std::string, std::string> fields;
  std::string* last = nullptr;
  auto flush = [&] {
    if (!fields.empty()) fn(fields);
    fields.clear();
    last = nullptr;
  };
  ForEachLine(text, [&](std::string_view line) {
    if (Trim(line).empty()) {
      flush();
    } else if (line.front() == ' ' || line.front() == '\t') {
      if (last) (*last += '\n') += Trim(line);
    } else if (size_t colon = line.find(':'); colon != std::string_view::npos) {
      last = &fields[std::string(line.substr(0, colon))];
      *last = std::string(Trim(line.substr(colon + 1)));
    }
    return true;
  });
  flush();
}

// "libc6 (>= 2.34), python3:any | python3-minimal, awk" -> {{"libc6"}, {"python3",
// "python3-minimal"}, {"awk"}}.
std::vector<std::vector<std::string>> DpkgRelations(std::string_view field) {
  std::vector<std::vector<std::string>> groups;
  for (std::string_view group : Split(field, ',')) {
    std::vector<std::string> alternatives;
    for (std::string_view alt : Split(group, '|')) {
      alt = alt.substr(0, alt.find_first_of(" (:[<"));
      if (!alt.empty()) alternatives.emplace_back(alt);
    }
    if (!alternatives.empty()) groups.push_back(std::move(alternatives));
  }
  return groups;
}

struct RawPackage {
  OsPackage package;
  std::vector<std::vector<std::string>> requires_;  // alternatives per requirement
  std::vector<std::string> provides;
};

// Resolves each requirement to the first alternative installed (by name or as provided).
std::vector<OsPackage> Resolve(std::vector<RawPackage> raw) {
  std::map<std::string, std::string> provider;  // name or provided name -> package name
  for (const auto& r : raw) provider.emplace(r.package.name, r.package.name);
  for (const auto& r : raw) {
    for (const auto& p : r.provides) provider.emplace(p, r.package.name);
  }
  std::vector<OsPackage> out;
  for (auto& r : raw) {
    std::set<std::string> depends;
    for (const auto& alternatives : r.requires_) {
      for (const auto& a : alternatives) {
        auto it = provider.find(a);
        if (it == provider.end()) continue;
        if (it->second != r.package.name) depends.insert(it->second);
        break;
      }
    }
    r.package.depends.assign(depends.begin(), depends.end());
    out.push_back(std::move(r.package));
  }
  std::sort(out.begin(), out.end(), [](const OsPackage& a, const OsPackage& b) {
    return std::tie(a.name, a.arch, a.version) < std::tie(b.name, b.arch, b.version);
  });
  return out;
}

}  // namespace

bool IsPackageDatabase(std::string_view path) {
  if (path.starts_with("var/lib/dpkg/status.d/")) {
    std::string_view name = path.substr(22);
    return !name.empty() && name.find('/') == std::string_view::npos && !name.ends_with(".md5sums");
  }
  return path != "var/lib/dpkg/status.d" &&
         std::find(kRoots.begin(), kRoots.end(), path) != kRoots.end();
}

// ---- TarScanner ---------------------------------------------------------------------------------

void TarScanner::Feed(std::string_view bytes) {
  while (!bytes.empty() && error_.empty()) {
    if (remaining_ > 0) {
      const size_t n = static_cast<size_t>(std::min<uint64_t>(remaining_, bytes.size()));
      if (keep_) keep_->append(bytes.substr(0, n));
      if (meta_) meta_->append(bytes.substr(0, n));
      remaining_ -= n;
      bytes.remove_prefix(n);
      if (remaining_ == 0) EndOfEntry();
      continue;
    }
    if (padding_ > 0) {
      const size_t n = static_cast<size_t>(std::min<uint64_t>(padding_, bytes.size()));
      padding_ -= n;
      bytes.remove_prefix(n);
      continue;
    }
    if (ended_) return;  // what follows the end-of-archive blocks is not read
    const size_t n = std::min(kBlock - header_.size(), bytes.size());
    header_.append(bytes.substr(0, n));
    bytes.remove_prefix(n);
    if (header_.size() == kBlock) {
      Header();
      header_.clear();
      if (remaining_ == 0) EndOfEntry();
    }
  }
}

void TarScanner::Header() {
  const std::string_view h = header_;
  if (std::all_of(h.begin(), h.end(), [](char c) { return c == '\0'; })) {
    ended_ = true;
    return;
  }
  uint64_t checksum = 0, sum = 0, size = 0;
  for (size_t i = 0; i < kBlock; ++i)
    sum += (i >= 148 && i < 156) ? ' ' : static_cast<unsigned char>(h[i]);
  if (!Number(h.substr(148, 8), checksum) || checksum != sum || !Number(h.substr(124, 12), size)) {
    error_ = "not a tar header (bad checksum or size)";
    return;
  }
  const char type = h[156];
  std::string path;
  if (!pax_path_.empty()) {
    path = std::move(pax_path_);
  } else if (!long_name_.empty()) {
    path = std::move(long_name_);
  } else {
    path = std::string(CString(h.substr(0, 100)));
    if (h.substr(257, 6) == std::string_view("ustar\0", 6) && h[345] != '\0')
      path = std::string(CString(h.substr(345, 155))) + "/" + path;
  }
  std::string link = !pax_link_.empty()    ? std::move(pax_link_)
                     : !long_link_.empty() ? std::move(long_link_)
                                           : std::string(CString(h.substr(157, 100)));
  pax_path_.clear();
  pax_link_.clear();
  long_name_.clear();
  long_link_.clear();
  remaining_ = size;
  padding_ = (kBlock - size % kBlock) % kBlock;
  keep_ = meta_ = nullptr;

  if (type == 'L' || type == 'K' || type == 'x') {
    if (size > (1 << 20)) {
      error_ = "a tar extended header larger than 1 MiB";
      return;
    }
    meta_text_.clear();
    meta_ = &meta_text_;
    meta_type_ = type;
    return;
  }
  if (type == 'g') return;  // global pax header: nothing the scan needs
  path = CleanPath(path);
  const size_t slash = path.rfind('/');
  const std::string dir = slash == std::string::npos ? "" : path.substr(0, slash);
  const std::string_view base = std::string_view(path).substr(slash + 1);
  if (base.starts_with(".wh.")) {
    if (base == ".wh..wh..opq") {
      if (Relevant(dir)) out_.opaque_dirs.push_back(dir);
    } else {
      std::string removed = (dir.empty() ? "" : dir + "/") + std::string(base.substr(4));
      if (Relevant(removed)) out_.whiteouts.push_back(std::move(removed));
    }
    return;
  }
  if (!IsPackageDatabase(path)) return;
  if (type == '0' || type == '\0' || type == '7') {
    if (size > kMaxDatabaseBytes) {
      error_ = path + " is larger than 64 MiB";
      return;
    }
    out_.symlinks.erase(path);
    keep_ = &out_.files[path];
    keep_->clear();
  } else if (type == '2') {
    out_.files.erase(path);
    out_.symlinks[path] = link;
  } else if (type == '1') {
    auto it = out_.files.find(CleanPath(link));
    if (it != out_.files.end()) {
      std::string content = it->second;
      out_.files[path] = std::move(content);
    }
  }
}

void TarScanner::EndOfEntry() {
  keep_ = nullptr;
  if (!meta_) return;
  meta_ = nullptr;
  if (meta_type_ == 'L') {
    long_name_ = std::string(CString(meta_text_));
  } else if (meta_type_ == 'K') {
    long_link_ = std::string(CString(meta_text_));
  } else {
    // pax records: "LEN KEY=VALUE\n", LEN counting the whole record.
    std::string_view rest = meta_text_;
    while (!rest.empty()) {
      const size_t space = rest.find(' ');
      uint64_t len = 0;
      for (char c : rest.substr(0, space)) len = len * 10 + static_cast<uint64_t>(c - '0');
      if (space == std::string_view::npos || len <= space + 1 || len > rest.size()) {
        error_ = "a malformed pax header";
        return;
      }
      std::string_view record = rest.substr(space + 1, len - space - 2);
      rest.remove_prefix(len);
      const size_t eq = record.find('=');
      if (eq == std::string_view::npos) continue;
      if (record.substr(0, eq) == "path") pax_path_ = std::string(record.substr(eq + 1));
      if (record.substr(0, eq) == "linkpath") pax_link_ = std::string(record.substr(eq + 1));
    }
  }
}

bool TarScanner::Finish() {
  if (error_.empty() && (remaining_ > 0 || !header_.empty() || meta_))
    error_ = "the tar stream ends inside an entry";
  return error_.empty();
}

// ---- LayerDecoder -------------------------------------------------------------------------------

struct LayerDecoder::State {
  enum class Kind { kPlain, kGzip, kZstd } kind = Kind::kPlain;
  z_stream z{};
  bool z_open = false;
  bool z_member_done = false;  // the last gzip member ended (more may follow)
  ZSTD_DStream* zstd = nullptr;
  size_t zstd_hint = 0;  // 0 once a frame is complete
  std::string out = std::string(256 << 10, '\0');

  ~State() {
    if (z_open) inflateEnd(&z);
    if (zstd) ZSTD_freeDStream(zstd);
  }
};

LayerDecoder::LayerDecoder(std::string_view media_type) : state_(std::make_unique<State>()) {
  using Kind = State::Kind;
  auto ends = [&](std::string_view s) { return media_type.ends_with(s); };
  if (ends("+gzip") || ends(".tar.gzip")) {
    state_->kind = Kind::kGzip;
    if (inflateInit2(&state_->z, 15 + 32) != Z_OK) throw std::runtime_error("inflateInit2 failed");
    state_->z_open = true;
  } else if (ends("+zstd") || ends(".tar.zstd")) {
    state_->kind = Kind::kZstd;
    state_->zstd = ZSTD_createDStream();
    if (!state_->zstd) throw std::runtime_error("ZSTD_createDStream failed");
    ZSTD_initDStream(state_->zstd);
    state_->zstd_hint = 1;
  } else if (!ends(".tar") && !ends(".rootfs.diff.tar")) {
    throw std::runtime_error("layer media type `" + std::string(media_type) +
                             "` is not a tar, a gzip tar or a zstd tar");
  }
}

LayerDecoder::~LayerDecoder() = default;

void LayerDecoder::Feed(std::string_view in, TarScanner& tar) {
  State& s = *state_;
  std::string& out = s.out;
  switch (s.kind) {
    case State::Kind::kPlain:
      tar.Feed(in);
      return;
    case State::Kind::kGzip:
      s.z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
      s.z.avail_in = static_cast<uInt>(in.size());
      while (s.z.avail_in > 0) {
        if (s.z_member_done) {
          // Another gzip member follows (concatenated streams decompress to their concatenation).
          inflateReset(&s.z);
          s.z_member_done = false;
        }
        s.z.next_out = reinterpret_cast<Bytef*>(out.data());
        s.z.avail_out = static_cast<uInt>(out.size());
        const int r = inflate(&s.z, Z_NO_FLUSH);
        tar.Feed(std::string_view(out.data(), out.size() - s.z.avail_out));
        if (r == Z_STREAM_END) {
          s.z_member_done = true;
        } else if (r != Z_OK && r != Z_BUF_ERROR) {
          throw std::runtime_error(std::string("gzip: ") + (s.z.msg ? s.z.msg : "corrupt data"));
        }
      }
      return;
    case State::Kind::kZstd: {
      ZSTD_inBuffer zin{in.data(), in.size(), 0};
      while (zin.pos < zin.size) {
        ZSTD_outBuffer zout{out.data(), out.size(), 0};
        const size_t r = ZSTD_decompressStream(s.zstd, &zout, &zin);
        if (ZSTD_isError(r)) throw std::runtime_error(std::string("zstd: ") + ZSTD_getErrorName(r));
        tar.Feed(std::string_view(out.data(), zout.pos));
        s.zstd_hint = r;
      }
      return;
    }
  }
}

void LayerDecoder::Finish(TarScanner& tar) {
  State& s = *state_;
  if (s.kind == State::Kind::kGzip) {
    // Flush what inflate still holds.
    while (!s.z_member_done) {
      s.z.next_in = nullptr;
      s.z.avail_in = 0;
      s.z.next_out = reinterpret_cast<Bytef*>(s.out.data());
      s.z.avail_out = static_cast<uInt>(s.out.size());
      const int r = inflate(&s.z, Z_FINISH);
      tar.Feed(std::string_view(s.out.data(), s.out.size() - s.z.avail_out));
      if (r == Z_STREAM_END) break;
      if (s.z.avail_out != 0) throw std::runtime_error("gzip: the stream is cut short");
    }
  } else if (s.kind == State::Kind::kZstd && s.zstd_hint != 0) {
    throw std::runtime_error("zstd: the stream is cut short");
  }
}

// ---- the cache file -----------------------------------------------------------------------------

namespace {

constexpr std::string_view kCacheMagic = "ocifs-sbom-layer 1\n";

}  // namespace

// Records "KIND LEN[ LEN]\nBYTES[BYTES]\n", then "check SHA256\n" of all before it.
std::string EncodeLayerFiles(const LayerFiles& files) {
  std::string out(kCacheMagic);
  auto pair = [&](char kind, const std::string& a, const std::string& b) {
    out += kind;
    ((((out += ' ') += std::to_string(a.size())) += ' ') += std::to_string(b.size())) += '\n';
    ((out += a) += b) += '\n';
  };
  for (const auto& [path, content] : files.files) pair('f', path, content);
  for (const auto& [path, target] : files.symlinks) pair('l', path, target);
  for (const auto& path : files.whiteouts) pair('w', path, "");
  for (const auto& path : files.opaque_dirs) pair('o', path, "");
  out += "check " + Sha256Hex(out) + "\n";
  return out;
}

std::optional<LayerFiles> DecodeLayerFiles(std::string_view text) {
  const size_t check = text.rfind("check ");
  if (!text.starts_with(kCacheMagic) || check == std::string_view::npos ||
      text.substr(check) != "check " + Sha256Hex(text.substr(0, check)) + "\n")
    return std::nullopt;
  LayerFiles files;
  std::string_view rest = text.substr(kCacheMagic.size(), check - kCacheMagic.size());
  while (!rest.empty()) {
    const size_t eol = rest.find('\n');
    if (eol == std::string_view::npos || eol < 2) return std::nullopt;
    const char kind = rest[0];
    uint64_t a = 0, b = 0;
    const std::string_view header = rest.substr(2, eol - 2);
    const size_t space = header.find(' ');
    if (space == std::string_view::npos || !Number10(header.substr(0, space), a) ||
        !Number10(header.substr(space + 1), b) || rest.size() - eol - 1 < a + b + 1)
      return std::nullopt;
    std::string first(rest.substr(eol + 1, a)), second(rest.substr(eol + 1 + a, b));
    rest.remove_prefix(eol + 1 + a + b + 1);
    switch (kind) {
      case 'f':
        files.files[first] = std::move(second);
        break;
      case 'l':
        files.symlinks[first] = std::move(second);
        break;
      case 'w':
        files.whiteouts.push_back(std::move(first));
        break;
      case 'o':
        files.opaque_dirs.push_back(std::move(first));
        break;
      default:
        return std::nullopt;
    }
  }
  return files;
}

// ---- stacking and parsing -----------------------------------------------------------------------

LayerFiles StackLayers(const std::vector<const LayerFiles*>& layers) {
  LayerFiles root;
  auto erase_under = [](std::map<std::string, std::string>& m, const std::string& path, bool self) {
    for (auto it = m.begin(); it != m.end();) {
      const bool under =
          path.empty() || (it->first.starts_with(path) && it->first.size() > path.size() &&
                           it->first[path.size()] == '/');
      it = (under || (self && it->first == path)) ? m.erase(it) : std::next(it);
    }
  };
  for (const LayerFiles* l : layers) {
    for (const auto& w : l->whiteouts) {
      erase_under(root.files, w, true);
      erase_under(root.symlinks, w, true);
    }
    for (const auto& d : l->opaque_dirs) {
      erase_under(root.files, d, false);
      erase_under(root.symlinks, d, false);
    }
    for (const auto& [path, content] : l->files) {
      root.symlinks.erase(path);
      root.files[path] = content;
    }
    for (const auto& [path, target] : l->symlinks) {
      root.files.erase(path);
      root.symlinks[path] = target;
    }
  }
  return root;
}

OsRelease ParseOsRelease(std::string_view text) {
  OsRelease r;
  ForEachLine(text, [&](std::string_view line) {
    line = Trim(line);
    const size_t eq = line.find('=');
    if (line.empty() || line.front() == '#' || eq == std::string_view::npos) return true;
    std::string_view key = line.substr(0, eq), value = line.substr(eq + 1);
    std::string v;
    if (!value.empty() && (value.front() == '"' || value.front() == '\'')) {
      const char q = value.front();
      for (size_t i = 1; i < value.size() && value[i] != q; ++i) {
        if (value[i] == '\\' && i + 1 < value.size()) ++i;
        v += value[i];
      }
    } else {
      v = std::string(value);
    }
    if (key == "ID") r.id = v;
    if (key == "VERSION_ID") r.version_id = v;
    if (key == "PRETTY_NAME") r.pretty_name = v;
    return true;
  });
  return r;
}

std::vector<OsPackage> ParseDpkgStatus(std::string_view text) {
  std::vector<RawPackage> raw;
  ForEachParagraph(text, [&](const std::map<std::string, std::string>& f) {
    auto get = [&](const char* key) -> std::string {
      auto it = f.find(key);
      return it == f.end() ? "" : it->second;
    };
    // "install ok installed"; "deinstall ok config-files" and half-installed ones are not there.
    // The status.d files of distroless images have no Status: each stands for an installed one.
    const std::string status = get("Status");
    if (get("Package").empty() || (!status.empty() && !status.ends_with(" installed"))) return;
    RawPackage r;
    r.package.name = get("Package");
    r.package.version = get("Version");
    r.package.arch = get("Architecture");
    std::string source = get("Source");
    source = source.substr(0, source.find(' '));
    if (source != r.package.name) r.package.source = source;
    const std::string description = get("Description");
    r.package.summary = description.substr(0, description.find('\n'));
    r.package.homepage = get("Homepage");
    for (const char* key : {"Pre-Depends", "Depends"}) {
      for (auto& g : DpkgRelations(get(key))) r.requires_.push_back(std::move(g));
    }
    for (auto& g : DpkgRelations(get("Provides"))) r.provides.push_back(std::move(g.front()));
    raw.push_back(std::move(r));
  });
  return Resolve(std::move(raw));
}

std::vector<OsPackage> ParseApkInstalled(std::string_view text) {
  std::vector<RawPackage> raw;
  // "name>=1.2", "so:libc.musl-x86_64.so.1", "!conflict": the name, with what apk allows.
  auto name_of = [](std::string_view word) {
    return std::string(word.substr(0, word.find_first_of("<>=~")));
  };
  ForEachLine(text, [&](std::string_view line) {
    if (line.size() < 2 || line[1] != ':') return true;
    const char key = line[0];
    std::string_view value = line.substr(2);
    if (key == 'P') {
      raw.emplace_back();
      raw.back().package.name = std::string(value);
      return true;
    }
    if (raw.empty()) return true;
    OsPackage& p = raw.back().package;
    switch (key) {
      case 'V':
        p.version = std::string(value);
        break;
      case 'A':
        p.arch = std::string(value);
        break;
      case 'T':
        p.summary = std::string(value);
        break;
      case 'U':
        p.homepage = std::string(value);
        break;
      case 'L':
        p.license = std::string(value);
        break;
      case 'o':
        p.source = value == p.name ? "" : std::string(value);
        break;
      case 'D':
      case 'p':
        for (std::string_view word : Split(value, ' ')) {
          if (word.front() == '!') continue;
          if (key == 'D')
            raw.back().requires_.push_back({name_of(word)});
          else
            raw.back().provides.push_back(name_of(word));
        }
        break;
      default:
        break;
    }
    return true;
  });
  return Resolve(std::move(raw));
}

OsInventory InventoryOf(const LayerFiles& root) {
  OsInventory inv;
  auto file = [&](const std::string& path) -> const std::string* {
    auto it = root.files.find(path);
    return it == root.files.end() ? nullptr : &it->second;
  };
  // /etc/os-release is usually a symlink to ../usr/lib/os-release.
  const std::string* os = file("etc/os-release");
  if (!os) os = file("usr/lib/os-release");
  if (os) inv.os = ParseOsRelease(*os);
  if (const std::string* status = file("var/lib/dpkg/status")) {
    inv.database = "dpkg";
    inv.packages = ParseDpkgStatus(*status);
  }
  // Distroless: one paragraph file per package in status.d.
  std::string status_d;
  for (const auto& [path, content] : root.files) {
    if (path.starts_with("var/lib/dpkg/status.d/")) (status_d += content) += "\n\n";
  }
  if (!status_d.empty()) {
    inv.database = "dpkg";
    std::vector<OsPackage> more = ParseDpkgStatus(status_d);
    inv.packages.insert(inv.packages.end(), more.begin(), more.end());
    std::sort(inv.packages.begin(), inv.packages.end(), [](const auto& a, const auto& b) {
      return std::tie(a.name, a.arch, a.version) < std::tie(b.name, b.arch, b.version);
    });
  }
  if (inv.database.empty()) {
    if (const std::string* apk = file("lib/apk/db/installed")) {
      inv.database = "apk";
      inv.packages = ParseApkInstalled(*apk);
    }
  }
  return inv;
}

}  // namespace ocifs::sbom
