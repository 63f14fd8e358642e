#include "core/debian/package.h"

#include <charconv>

namespace ocifs::debian {
namespace {

bool IsHex64(std::string_view s) {
  if (s.size() != 64) return false;
  for (char c : s) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

// Whether dpkg's Status field says the package's files are on disk.
bool Unpacked(std::string_view status) {
  const size_t last = status.rfind(' ');
  const std::string_view state = last == std::string_view::npos ? status : status.substr(last + 1);
  return state == "installed" || state == "half-configured" || state == "unpacked" ||
         state == "triggers-awaited" || state == "triggers-pending";
}

}  // namespace

Result<Package> PackageFromParagraph(const Paragraph& p, std::string_view what, bool index) {
  const std::string where = std::string(what) + " line " + std::to_string(p.line());
  std::string of = where;  // then names the package
  auto need = [&](std::string_view field) -> Result<std::string> {
    std::optional<std::string_view> v = p.Get(field);
    if (!v || v->empty())
      return InvalidArgument(of + ": the paragraph has no " + std::string(field));
    return std::string(*v);
  };
  Package pkg;
  OCIFS_ASSIGN_OR_RETURN(pkg.name, need("Package"));
  of += ": package `" + pkg.name + "`";
  if (!ValidPackageName(pkg.name)) return InvalidArgument(of + " is not a valid package name");
  OCIFS_ASSIGN_OR_RETURN(pkg.version, need("Version"));
  if (Status s = CheckVersion(pkg.version); !s.ok()) return s.WithContext(of);
  OCIFS_ASSIGN_OR_RETURN(pkg.arch, need("Architecture"));
  pkg.multi_arch = std::string(p.Get("Multi-Arch").value_or(""));
  pkg.priority = std::string(p.Get("Priority").value_or(""));
  struct Field {
    const char* name;
    std::vector<Alternatives>* out;
  };
  for (const Field& f : {Field{"Pre-Depends", &pkg.pre_depends}, Field{"Depends", &pkg.depends},
                         Field{"Conflicts", &pkg.conflicts}, Field{"Breaks", &pkg.breaks}}) {
    OCIFS_ASSIGN_OR_RETURN(*f.out, ParseRelations(p.Get(f.name).value_or(""), of + ", " + f.name));
  }
  OCIFS_ASSIGN_OR_RETURN(std::vector<Alternatives> provides,
                         ParseRelations(p.Get("Provides").value_or(""), of + ", Provides"));
  for (Alternatives& group : provides) {
    if (group.size() != 1 || (group[0].op != RelOp::kNone && group[0].op != RelOp::kEq))
      return InvalidArgument(of + ", Provides: only names and \"(= version)\" may be provided");
    pkg.provides.push_back(std::move(group[0]));
  }
  if (index) {
    OCIFS_ASSIGN_OR_RETURN(pkg.filename, need("Filename"));
    if (pkg.filename.starts_with('/') || pkg.filename.find("..") != std::string::npos)
      return InvalidArgument(of + ": Filename `" + pkg.filename + "` leaves the mirror");
    OCIFS_ASSIGN_OR_RETURN(std::string size, need("Size"));
    auto [end, ec] = std::from_chars(size.data(), size.data() + size.size(), pkg.size);
    if (ec != std::errc() || end != size.data() + size.size())
      return InvalidArgument(of + ": Size `" + size + "` is not a number");
    OCIFS_ASSIGN_OR_RETURN(pkg.sha256, need("SHA256"));
    if (!IsHex64(pkg.sha256))
      return InvalidArgument(of + ": SHA256 `" + pkg.sha256 + "` is not 64 lower-case hex digits");
  } else {
    OCIFS_ASSIGN_OR_RETURN(pkg.status, need("Status"));
  }
  return pkg;
}

Result<std::vector<Package>> ParsePackages(std::string_view text, std::string_view what) {
  OCIFS_ASSIGN_OR_RETURN(std::vector<Paragraph> paragraphs, ParseControl(text, what));
  std::vector<Package> out;
  out.reserve(paragraphs.size());
  for (const Paragraph& p : paragraphs) {
    OCIFS_ASSIGN_OR_RETURN(Package pkg, PackageFromParagraph(p, what, /*index=*/true));
    out.push_back(std::move(pkg));
  }
  return out;
}

Result<std::vector<Package>> ParseStatus(std::string_view text, std::string_view what) {
  OCIFS_ASSIGN_OR_RETURN(std::vector<Paragraph> paragraphs, ParseControl(text, what));
  std::vector<Package> out;
  for (const Paragraph& p : paragraphs) {
    // Removed and never-unpacked packages may lack a version: decide before reading one.
    if (!Unpacked(p.Get("Status").value_or("not-installed"))) continue;
    OCIFS_ASSIGN_OR_RETURN(Package pkg, PackageFromParagraph(p, what, /*index=*/false));
    out.push_back(std::move(pkg));
  }
  return out;
}

}  // namespace ocifs::debian
