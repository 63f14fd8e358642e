// The bill of materials of one image, and its SPDX 2.3 and CycloneDX 1.5/1.6 JSON documents.
//
// Documents are deterministic: the same Sbom gives the same bytes. Their identities (SPDX
// documentNamespace, CycloneDX serialNumber) are name-based UUIDs (RFC 4122 version 5) of a
// SHA-256 of the rest of the document, so they change exactly when the content does.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace ocifs::sbom {

struct Component {
  enum class Kind {
    kApplication,      // the project itself
    kBaseImage,        // the image this one is built on
    kOperatingSystem,  // the base's distribution (os-release)
    kOsPackage,        // a deb or apk package of the base
    kPython,           // a distribution in the dependencies layer
  };
  Kind kind = Kind::kPython;
  std::string key;  // unique within the Sbom: "application", "pypi/fastapi", "deb/libc6/amd64"
  std::string name, version;
  std::string purl;          // empty when there is none
  std::string license;       // an SPDX expression; empty: NOASSERTION
  std::string license_name;  // what the metadata says when no expression could be made
  std::string summary, homepage;
  std::string source;      // the source package (debs)
  std::string sha256;      // hex; the base image's manifest digest
  std::string incomplete;  // why what it contains is not all listed (empty: nothing known)
  std::vector<std::string> depends_on;  // keys of other components, sorted
};

struct Sbom {
  std::string name, version;          // the image's: the project's name and version
  std::string created;                // RFC 3339, the image's `created`
  std::string tool_version;           // the plugin's
  std::vector<Component> components;  // in document order
};

std::string SpdxJson(const Sbom& sbom);
// `spec_version` "1.5" or "1.6".
std::string CycloneDxJson(const Sbom& sbom, std::string_view spec_version);

// purl pieces (purl-spec): percent-encodes all but ASCII letters, digits, ".-_~" and ':'.
std::string PurlEncode(std::string_view s);

// An RFC 4122 version 5 UUID of `name` in the URL namespace, lower case.
std::string Uuid5(std::string_view name);

}  // namespace ocifs::sbom
