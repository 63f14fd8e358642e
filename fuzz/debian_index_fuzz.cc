// libFuzzer target: the Debian text ocifs reads from archives and bases (Packages, dpkg's status,
// Release, sources.list and deb822 .sources), then the resolver over what parsed, and dpkg's
// version order over the versions found.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/debian/package.h"
#include "core/debian/resolve.h"
#include "core/debian/sources.h"
#include "core/debian/version.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace ocifs::debian;
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  (void)ParseRelease(text, "bookworm", "InRelease");
  (void)ParseSourcesList(text, "sources.list");
  (void)ParseDeb822Sources(text, "debian.sources");
  auto index = ParsePackages(text, "Packages");
  auto base = ParseStatus(text, "status");
  std::vector<Package> none;
  const std::vector<Package>& packages = index.ok() ? *index : none;
  const std::vector<Package>& installed = base.ok() ? *base : none;
  std::vector<Request> requests;
  for (const Package& p : packages) {
    if (requests.size() < 4) requests.push_back({p.name, requests.size() % 2 ? p.version : ""});
    (void)CompareVersions(p.version, packages.front().version);
    (void)MatchesVersionPattern(p.version, "1*:?.*");
  }
  (void)Resolve(requests, packages, installed, "amd64");
  return 0;
}
