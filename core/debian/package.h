// Binary packages as an apt index (Packages) or dpkg's database (status) describes them.
//
//   OCIFS_ASSIGN_OR_RETURN(auto index, ParsePackages(text, "`Packages` of bookworm/main"));
//   OCIFS_ASSIGN_OR_RETURN(auto base, ParseStatus(status_text, "`/var/lib/dpkg/status`"));
//
// Values; thread-compatible.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/debian/control.h"
#include "core/debian/relation.h"
#include "core/support/status.h"

namespace ocifs::debian {

struct Package {
  std::string name;
  std::string version;
  std::string arch;        // "amd64", "all", ...
  std::string multi_arch;  // "", "same", "foreign", "allowed"
  std::string priority;    // "required", "important", "standard", "optional", "extra", or ""
  std::vector<Alternatives> pre_depends, depends, conflicts, breaks;
  std::vector<Relation> provides;  // op is kNone or kEq
  // From an index only.
  std::string filename;  // relative to the mirror's root: "pool/main/p/postgresql-15/libpq5_..."
  uint64_t size = 0;
  std::string sha256;   // lower-case hex
  std::string archive;  // the URI of the archive whose index listed it (set by the apt client)
  // From dpkg's status only: "install ok installed" and the like.
  std::string status;

  std::string Id() const { return name + " " + version; }  // "libpq5 15.5-0+deb12u1"
};

// The binary packages of an apt `Packages` file. Each needs Package, Version, Architecture,
// Filename, Size and SHA256; an error names `what`, the line and the field.
Result<std::vector<Package>> ParsePackages(std::string_view text, std::string_view what);

// The packages of dpkg's `status` file that are installed ("install ok installed", or
// half-configured and the like, whose files are there); those only removed (config-files) or
// never unpacked are left out.
Result<std::vector<Package>> ParseStatus(std::string_view text, std::string_view what);

// One paragraph; `index` requires the download fields.
Result<Package> PackageFromParagraph(const Paragraph& p, std::string_view what, bool index);

}  // namespace ocifs::debian
