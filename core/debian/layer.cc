#include "core/debian/layer.h"

#include <algorithm>
#include <charconv>
#include <cstring>

#include "core/debian/control.h"
#include "core/support/digest.h"
#include "core/support/text.h"

namespace ocifs::debian {
namespace {

// A file of DebTree: `size` bytes of a data.tar from `offset`.
class DebFile : public File {
 public:
  DebFile(const DebTree& tree, std::string sha256, uint64_t offset, FileInfo info)
      : tree_(tree), sha256_(std::move(sha256)), offset_(offset), info_(info) {}
  const FileInfo& info_at_open() const override { return info_; }
  Result<FileInfo> Stat() override { return info_; }
  Result<size_t> Pread(std::span<std::byte> buf, uint64_t offset) override {
    if (offset >= info_.size) return size_t{0};
    const size_t n = static_cast<size_t>(std::min<uint64_t>(buf.size(), info_.size - offset));
    OCIFS_RETURN_IF_ERROR(tree_.ReadData(sha256_, offset_ + offset, buf.first(n)));
    return n;
  }

 private:
  const DebTree& tree_;
  std::string sha256_;
  uint64_t offset_;
  FileInfo info_;
};

// "SHA/OFFSET/SIZE" -> its parts.
bool ParseSourcePath(std::string_view path, std::string& sha, uint64_t& offset, uint64_t& size) {
  const size_t a = path.find('/');
  const size_t b = a == std::string_view::npos ? a : path.find('/', a + 1);
  if (b == std::string_view::npos) return false;
  sha = std::string(path.substr(0, a));
  const std::string_view o = path.substr(a + 1, b - a - 1), s = path.substr(b + 1);
  auto r1 = std::from_chars(o.data(), o.data() + o.size(), offset);
  auto r2 = std::from_chars(s.data(), s.data() + s.size(), size);
  return r1.ec == std::errc() && r1.ptr == o.data() + o.size() && r2.ec == std::errc() &&
         r2.ptr == s.data() + s.size() && IsLowerHex64(sha);
}

std::string DebName(const Package& p) {
  return "`" + p.name + "_" + p.version + "_" + p.arch + ".deb`";
}

}  // namespace

// ---- DebTree ------------------------------------------------------------------------------------

DebTree::DebTree(const std::vector<LayerPackage>& packages, DebOpener open)
    : open_(std::move(open)) {
  for (const LayerPackage& p : packages) {
    LayerPackage slim;
    slim.package = p.package;
    slim.contents.data = p.contents.data;
    by_sha_.emplace(p.package.sha256, std::move(slim));
  }
}

std::string DebTree::SourcePath(const std::string& sha256, uint64_t offset, uint64_t size) {
  return sha256 + "/" + std::to_string(offset) + "/" + std::to_string(size);
}

FileInfo DebTree::SourceInfo(const std::string& sha256, uint64_t offset, uint64_t size) {
  FileInfo info;
  info.type = FileType::kRegular;
  info.mode = 0644;
  info.size = size;
  // Stable across mounts: the digest cache keys layers by these.
  uint64_t ino = 0;
  for (size_t i = 0; i < 16; ++i)
    ino = ino * 16 +
          static_cast<uint64_t>(std::isdigit(sha256[i]) ? sha256[i] - '0' : sha256[i] - 'a' + 10);
  info.ino = ino ^ offset;
  info.dev = 0xdeb;
  return info;
}

Result<std::unique_ptr<File>> DebTree::Open(std::string_view path) const {
  std::string sha;
  uint64_t offset = 0, size = 0;
  if (!ParseSourcePath(path, sha, offset, size) || !by_sha_.contains(sha))
    return NotFound("`" + std::string(path) + "` names no data of the packages to add");
  return std::unique_ptr<File>(
      std::make_unique<DebFile>(*this, sha, offset, SourceInfo(sha, offset, size)));
}

Result<FileInfo> DebTree::Lstat(std::string_view path) const {
  return Unsupported("the packages' files are not walked (`" + std::string(path) + "`)");
}
Result<std::vector<DirEntry>> DebTree::ReadDir(std::string_view path) const {
  return Unsupported("the packages' files are not walked (`" + std::string(path) + "`)");
}
Result<std::string> DebTree::ReadLink(std::string_view path) const {
  return Unsupported("the packages' files are not walked (`" + std::string(path) + "`)");
}

Result<std::shared_ptr<File>> DebTree::OpenVerified(const LayerPackage& p) const {
  {
    std::lock_guard lock(mu_);
    if (auto it = verified_.find(p.package.sha256); it != verified_.end()) return it->second;
  }
  OCIFS_ASSIGN_OR_RETURN(std::shared_ptr<File> file, open_(p.package));
  OCIFS_RETURN_IF_ERROR(VerifyDebFile(*file, p.package));  // before a byte of it is used
  std::lock_guard lock(mu_);
  verified_.emplace(p.package.sha256, file);
  return file;
}

Status VerifyDebFile(File& file, const Package& p) {
  Sha256 hash;
  uint64_t total = 0;
  std::vector<std::byte> buf(1 << 20);
  while (true) {
    OCIFS_ASSIGN_OR_RETURN(size_t n, file.Pread(buf, total));
    if (n == 0) break;
    hash.Update(std::span(buf).first(n));
    total += n;
  }
  const Digest got = hash.Finish();
  if (total != p.size || got.hex() != p.sha256) {
    return Corrupt(DebName(p) + " is " + std::to_string(total) + " bytes with SHA256 " + got.hex() +
                   ", but the index says " + std::to_string(p.size) + " bytes with " + p.sha256);
  }
  return Status::Ok();
}

Status DebTree::ReadData(const std::string& sha256, uint64_t offset,
                         std::span<std::byte> out) const {
  auto pkg = by_sha_.find(sha256);
  if (pkg == by_sha_.end()) return Internal("no package has .deb " + sha256);
  std::shared_ptr<Cursor> cursor;
  {
    std::lock_guard lock(mu_);
    auto& slot = cursors_[sha256];
    if (!slot) slot = std::make_shared<Cursor>();
    cursor = slot;
    lru_.erase(std::remove(lru_.begin(), lru_.end(), sha256), lru_.end());
    lru_.push_back(sha256);
    while (lru_.size() > kCursors) {
      cursors_.erase(lru_.front());  // a reader holding it finishes with its own reference
      lru_.erase(lru_.begin());
    }
  }
  std::lock_guard lock(cursor->mu);
  if (!cursor->stream || cursor->position > offset) {
    OCIFS_ASSIGN_OR_RETURN(std::shared_ptr<File> file, OpenVerified(pkg->second));
    cursor->stream = OpenDebData(file, pkg->second.contents.data, DebName(pkg->second.package));
    cursor->position = 0;
  }
  std::byte skip[65536];
  while (cursor->position < offset) {
    const size_t want =
        static_cast<size_t>(std::min<uint64_t>(offset - cursor->position, sizeof(skip)));
    OCIFS_ASSIGN_OR_RETURN(size_t n, cursor->stream->Read(std::span(skip, want)));
    if (n == 0) break;
    cursor->position += n;
  }
  size_t done = 0;
  while (done < out.size() && cursor->position == offset + done) {
    OCIFS_ASSIGN_OR_RETURN(size_t n, cursor->stream->Read(out.subspan(done)));
    if (n == 0) break;
    done += n;
    cursor->position += n;
  }
  if (done < out.size()) {
    cursor->stream.reset();
    return Corrupt(DebName(pkg->second.package) +
                   ": its data.tar ends before the bytes its listing names");
  }
  return Status::Ok();
}

// ---- PlanSystemLayer ----------------------------------------------------------------------------

std::optional<std::string> UnhandledScriptLine(std::string_view script) {
  static constexpr std::string_view kExact[] = {
      "set -e", "set -u", "set -eu", "set -ue", "exit 0", "fi",         "esac",
      ";;",     "then",   "else",    "*)",      "exit 1", "configure)", "true"};
  static constexpr std::string_view kPrefix[] = {"if [ \"$1\" = \"configure\" ]",
                                                 "if [ \"$1\" = configure ]",
                                                 "case \"$1\" in",
                                                 "case $1 in",
                                                 "ldconfig",
                                                 "dpkg-trigger",
                                                 "abort-upgrade|",
                                                 "abort-remove|",
                                                 "triggered)",
                                                 "echo \"postinst called with unknown argument"};
  for (std::string_view line : SplitLines(script)) {
    line = TrimSpace(line);
    if (line.empty() || line.front() == '#') continue;
    if (std::find(std::begin(kExact), std::end(kExact), line) != std::end(kExact)) continue;
    if (std::any_of(std::begin(kPrefix), std::end(kPrefix),
                    [&](std::string_view p) { return line.starts_with(p); }))
      continue;
    return std::string(line);
  }
  return std::nullopt;
}

namespace {

TarEntry Generated(std::string name, std::string content) {
  TarEntry e;
  e.name = std::move(name);
  e.mode = 0644;
  e.size = content.size();
  e.data = std::make_shared<const std::string>(std::move(content));
  return e;
}

// The package's paragraph for dpkg's status: its control file with the Status after Package, and
// the Conffiles with their MD5s.
Result<std::string> StatusParagraph(const LayerPackage& p) {
  OCIFS_ASSIGN_OR_RETURN(std::vector<Paragraph> paragraphs,
                         ParseControl(p.contents.control, "control file of " + DebName(p.package)));
  if (paragraphs.size() != 1)
    return Corrupt("control file of " + DebName(p.package) + ": one paragraph expected, found " +
                   std::to_string(paragraphs.size()));
  Paragraph out;
  for (const auto& [name, value] : paragraphs[0].fields()) {
    out.Add(name, value);
    if (name == "Package") out.Add("Status", "install ok installed");
  }
  if (!p.contents.conffiles.empty()) {
    std::string value;
    for (const auto& [path, md5] : p.contents.conffiles) value += "\n " + path + " " + md5;
    out.Add("Conffiles", value);
  }
  return out.Text();
}

}  // namespace

Result<SystemLayerPlan> PlanSystemLayer(const std::vector<LayerPackage>& packages,
                                        const BaseSystem& base,
                                        std::shared_ptr<const DebTree> debs) {
  SystemLayerPlan plan;
  std::map<std::string, std::string> owner;  // layer name -> package that shipped it
  // The layer's order: every directory first (sorted, so parents come first), then each
  // package's other entries in its data.tar's order, so that reading the layer in order reads
  // each package's data.tar once, front to back; then dpkg's files.
  std::map<std::string, TarEntry> directories;
  std::vector<TarEntry> entries;
  std::vector<TarEntry> generated;
  std::string status = std::string(TrimSpace(base.dpkg_status));

  auto normalize = [&](const std::string& name) -> std::string {
    const std::string top = name.substr(0, name.find('/'));
    return base.merged_usr.contains(top) ? "usr/" + name : name;
  };
  auto directory = [&](std::string name, uint32_t mode, uint32_t uid, uint32_t gid) {
    TarEntry d;
    d.name = name;
    d.type = TarEntry::Type::kDirectory;
    d.mode = mode;
    d.uid = uid;
    d.gid = gid;
    directories.emplace(std::move(name), std::move(d));  // the first package's mode wins
  };

  for (const LayerPackage& p : packages) {
    const std::string& sha = p.package.sha256;
    const std::string id = DebName(p.package);
    std::map<std::string, std::string> emitted;  // the package's data.tar name -> layer name
    std::string list = "/.\n";
    for (const TarHeader& h : p.contents.entries) {
      if (h.name.empty()) continue;
      list += "/" + h.name + "\n";
      if (h.type == '3' || h.type == '4' || h.type == '6') {
        plan.warnings.push_back(id + ": `/" + h.name + "` is a device or FIFO, left out");
        continue;
      }
      if (h.type == '5') {
        if (!base.merged_usr.contains(h.name)) directory(normalize(h.name), h.mode, h.uid, h.gid);
        continue;  // a directory the base links into usr/: the base's link stays
      }
      TarEntry e;
      e.name = normalize(h.name);
      e.mode = h.mode;
      e.uid = h.uid;
      e.gid = h.gid;
      if (h.type == '2') {
        e.type = TarEntry::Type::kSymlink;
        e.link = h.link;
      } else if (h.type == '1' && emitted.contains(h.link)) {
        e.type = TarEntry::Type::kHardlink;  // to an earlier entry, as tar requires
        e.link = emitted[h.link];
      } else if (h.type == '0' || h.type == '1') {
        const TarHeader* content = &h;
        if (h.type == '1') {  // its first name was left out (another package's): a copy
          auto it =
              std::find_if(p.contents.entries.begin(), p.contents.entries.end(),
                           [&](const TarHeader& o) { return o.name == h.link && o.type == '0'; });
          if (it == p.contents.entries.end())
            return Corrupt(id + ": hardlink `/" + h.name + "` names `/" + h.link +
                           "`, which is no file of it");
          content = &*it;
        }
        e.type = TarEntry::Type::kFile;
        e.size = content->size;
        e.tree = debs;
        e.source_path = DebTree::SourcePath(sha, content->offset, content->size);
        e.source_info = DebTree::SourceInfo(sha, content->offset, content->size);
      } else {
        return Unsupported(id + ": `/" + h.name + "` has tar type '" + std::string(1, h.type) +
                           "'");
      }
      auto [it, fresh] = owner.emplace(e.name, p.package.name);
      if (!fresh) {
        plan.warnings.push_back(id + ": `/" + e.name + "` is shipped by " + it->second + " too; " +
                                it->second + "'s is kept");
        continue;
      }
      if (h.type == '0') emitted[h.name] = e.name;
      entries.push_back(std::move(e));
    }

    // dpkg's database.
    OCIFS_ASSIGN_OR_RETURN(std::string paragraph, StatusParagraph(p));
    status += (status.empty() ? "" : "\n\n") + paragraph.substr(0, paragraph.size() - 1);
    const std::string info = "var/lib/dpkg/info/" + p.package.name +
                             (p.package.multi_arch == "same" ? ":" + p.package.arch : "") + ".";
    generated.push_back(Generated(info + "list", list));
    for (const auto& [name, content] : p.contents.info) {
      TarEntry g = Generated(info + name, content);
      if (name == "preinst" || name == "postinst" || name == "prerm" || name == "postrm" ||
          name == "config")
        g.mode = 0755;
      generated.push_back(std::move(g));
    }
    // ld.so finds libraries in Debian's multiarch directories without /etc/ld.so.cache (they are
    // its built-in search path); a directory named in ld.so.conf.d is searched only through the
    // cache, which ldconfig would rebuild and ocifs does not.
    for (const TarHeader& h : p.contents.entries) {
      if (h.type == '0' && h.name.starts_with("etc/ld.so.conf.d/"))
        plan.warnings.push_back(id + ": `/" + h.name +
                                "` adds library directories that only /etc/ld.so.cache "
                                "(ldconfig, not run) makes known: set LD_LIBRARY_PATH for them");
    }
    if (auto it = p.contents.info.find("postinst"); it != p.contents.info.end()) {
      if (std::optional<std::string> line = UnhandledScriptLine(it->second))
        plan.warnings.push_back(
            id + ": its postinst is not run, and it does more than ldconfig: `" + *line + "`");
    }
  }
  generated.push_back(Generated("var/lib/dpkg/status", status + "\n"));
  std::sort(generated.begin(), generated.end(),
            [](const TarEntry& a, const TarEntry& b) { return a.name < b.name; });

  // Every parent directory, root-owned 0755 where no package shipped it (a path moved into usr/).
  for (const auto* list : {&entries, &generated}) {
    for (const TarEntry& e : *list) {
      for (size_t slash = e.name.find('/'); slash != std::string::npos;
           slash = e.name.find('/', slash + 1))
        directory(e.name.substr(0, slash), 0755, 0, 0);
    }
  }
  for (const auto& [name, d] : std::map<std::string, TarEntry>(directories)) {
    for (size_t slash = name.find('/'); slash != std::string::npos;
         slash = name.find('/', slash + 1))
      directory(name.substr(0, slash), 0755, 0, 0);
  }
  for (const auto& [name, d] : directories) {
    if (owner.contains(name))
      return Unsupported("`/" + name + "` is a directory in one package and not in " + owner[name]);
    plan.entries.push_back(d);
  }
  for (TarEntry& e : entries) plan.entries.push_back(std::move(e));
  for (TarEntry& g : generated) {
    if (owner.contains(g.name))
      return Unsupported("`/" + g.name + "`, which ocifs writes for dpkg, is shipped by " +
                         owner[g.name]);
    plan.entries.push_back(std::move(g));
  }
  return plan;
}

}  // namespace ocifs::debian
