#include "documents.h"

#include <cctype>
#include <map>
#include <set>

#include <nlohmann/json.hpp>

#include "hash.h"
#include "licenses.h"

namespace ocifs::sbom {
namespace {

using ojson = nlohmann::ordered_json;
using Kind = Component::Kind;

std::string Dump(const ojson& doc) {
  return doc.dump(2, ' ', false, ojson::error_handler_t::replace) + "\n";
}

// The identity of a document: a UUID of the SHA-256 of its bytes without it.
std::string ContentUuid(const ojson& doc) {
  return Uuid5("https://ocifs.invalid/sbom/sha256:" + Sha256Hex(Dump(doc)));
}

bool IsWebUrl(std::string_view url) {
  if (!url.starts_with("https://") && !url.starts_with("http://")) return false;
  for (char c : url) {
    if (std::isspace(static_cast<unsigned char>(c)) || c == '"' || c == '<' || c == '>')
      return false;
  }
  return true;
}

// SPDXRef-<text> with what SPDX ids may not hold replaced by '-'; unique within `taken`.
std::string ElementId(std::string_view text, std::set<std::string>& taken) {
  std::string id = "SPDXRef-";
  for (char c : text)
    id += std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-' ? c : '-';
  std::string unique = id;
  for (int n = 2; !taken.insert(unique).second; ++n) unique = id + "-" + std::to_string(n);
  return unique;
}

const char* SpdxPurpose(Kind k) {
  switch (k) {
    case Kind::kApplication:
      return "APPLICATION";
    case Kind::kBaseImage:
      return "CONTAINER";
    case Kind::kOperatingSystem:
      return "OPERATING_SYSTEM";
    case Kind::kOsPackage:
      return "LIBRARY";
    case Kind::kPython:
      return "LIBRARY";
  }
  return "OTHER";
}

const char* CycloneDxType(Kind k) {
  switch (k) {
    case Kind::kApplication:
      return "application";
    case Kind::kBaseImage:
      return "container";
    case Kind::kOperatingSystem:
      return "operating-system";
    case Kind::kOsPackage:
      return "library";
    case Kind::kPython:
      return "library";
  }
  return "library";
}

std::string SpdxIdText(const Component& c) {
  switch (c.kind) {
    case Kind::kApplication:
      return "Application";
    case Kind::kBaseImage:
      return "BaseImage";
    case Kind::kOperatingSystem:
      return "OperatingSystem";
    default:
      return "Package-" + c.key;
  }
}

}  // namespace

std::string PurlEncode(std::string_view s) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    if (std::isalnum(c) || c == '.' || c == '-' || c == '_' || c == '~' || c == ':') {
      out += ch;
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

std::string Uuid5(std::string_view name) {
  // The URL namespace, 6ba7b811-9dad-11d1-80b4-00c04fd430c8.
  static constexpr unsigned char kUrlNamespace[16] = {0x6b, 0xa7, 0xb8, 0x11, 0x9d, 0xad,
                                                      0x11, 0xd1, 0x80, 0xb4, 0x00, 0xc0,
                                                      0x4f, 0xd4, 0x30, 0xc8};
  std::string input(reinterpret_cast<const char*>(kUrlNamespace), 16);
  input += name;
  std::string sha1 = DigestBytes(EVP_sha1(), input);
  auto* b = reinterpret_cast<unsigned char*>(sha1.data());
  b[6] = static_cast<unsigned char>((b[6] & 0x0f) | 0x50);  // version 5
  b[8] = static_cast<unsigned char>((b[8] & 0x3f) | 0x80);  // RFC 4122 variant
  const std::string h = Hex(std::string_view(sha1).substr(0, 16));
  return h.substr(0, 8) + "-" + h.substr(8, 4) + "-" + h.substr(12, 4) + "-" + h.substr(16, 4) +
         "-" + h.substr(20, 12);
}

std::string SpdxJson(const Sbom& sbom) {
  std::set<std::string> taken = {"SPDXRef-DOCUMENT", "SPDXRef-Image"};
  std::map<std::string, std::string> ids;  // component key -> SPDXID
  for (const auto& c : sbom.components) ids[c.key] = ElementId(SpdxIdText(c), taken);

  ojson packages = ojson::array();
  packages.push_back({{"name", sbom.name},
                      {"SPDXID", "SPDXRef-Image"},
                      {"versionInfo", sbom.version},
                      {"downloadLocation", "NOASSERTION"},
                      {"filesAnalyzed", false},
                      {"primaryPackagePurpose", "CONTAINER"},
                      {"description", "The container image of " + sbom.name}});
  ojson relationships = ojson::array();
  auto relate = [&](const std::string& from, const char* type, const std::string& to) {
    relationships.push_back(
        {{"spdxElementId", from}, {"relationshipType", type}, {"relatedSpdxElement", to}});
  };
  relate("SPDXRef-DOCUMENT", "DESCRIBES", "SPDXRef-Image");
  for (const auto& c : sbom.components) {
    ojson p = {{"name", c.name}, {"SPDXID", ids[c.key]}};
    if (!c.version.empty()) p["versionInfo"] = c.version;
    p["downloadLocation"] = "NOASSERTION";
    p["filesAnalyzed"] = false;
    if (!c.sha256.empty())
      p["checksums"] = ojson::array({{{"algorithm", "SHA256"}, {"checksumValue", c.sha256}}});
    if (IsWebUrl(c.homepage)) p["homepage"] = c.homepage;
    if (!c.source.empty()) p["sourceInfo"] = "built from source package " + c.source;
    if (!c.incomplete.empty()) p["comment"] = "Its contents are not listed: " + c.incomplete;
    p["licenseConcluded"] = "NOASSERTION";
    p["licenseDeclared"] = c.license.empty() ? "NOASSERTION" : c.license;
    if (c.license.empty() && !c.license_name.empty())
      p["licenseComments"] = "The metadata says: " + c.license_name;
    p["copyrightText"] = "NOASSERTION";
    if (!c.summary.empty()) p["summary"] = c.summary;
    if (!c.purl.empty()) {
      p["externalRefs"] = ojson::array({{{"referenceCategory", "PACKAGE-MANAGER"},
                                         {"referenceType", "purl"},
                                         {"referenceLocator", c.purl}}});
    }
    p["primaryPackagePurpose"] = SpdxPurpose(c.kind);
    packages.push_back(std::move(p));
    relate("SPDXRef-Image", c.kind == Kind::kBaseImage ? "DESCENDANT_OF" : "CONTAINS", ids[c.key]);
  }
  for (const auto& c : sbom.components) {
    for (const auto& d : c.depends_on) {
      if (ids.count(d)) relate(ids[c.key], "DEPENDS_ON", ids[d]);
    }
  }

  ojson doc = {{"spdxVersion", "SPDX-2.3"},
               {"dataLicense", "CC0-1.0"},
               {"SPDXID", "SPDXRef-DOCUMENT"},
               {"name", sbom.name + "-" + sbom.version},
               {"documentNamespace", ""},
               {"creationInfo",
                {{"created", sbom.created},
                 {"creators", {"Tool: ocifs-sbom-" + sbom.tool_version}},
                 {"licenseListVersion", kLicenseListVersion}}},
               {"packages", std::move(packages)},
               {"relationships", std::move(relationships)}};
  // SPDX's suggested form: http(s)://<creator's domain>/spdxdocs/<name>-<UUID>.
  std::string doc_name;
  for (char c : sbom.name + "-" + sbom.version)
    doc_name += std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-' ? c : '-';
  doc["documentNamespace"] = "https://spdx.org/spdxdocs/" + doc_name + "-" + ContentUuid(doc);
  return Dump(doc);
}

std::string CycloneDxJson(const Sbom& sbom, std::string_view spec_version) {
  std::map<std::string, std::string> refs;  // component key -> bom-ref
  for (const auto& c : sbom.components) refs[c.key] = c.purl.empty() ? c.key : c.purl;

  ojson components = ojson::array();
  for (const auto& c : sbom.components) {
    ojson j = {{"type", CycloneDxType(c.kind)}, {"bom-ref", refs[c.key]}, {"name", c.name}};
    if (!c.version.empty()) j["version"] = c.version;
    if (!c.summary.empty()) j["description"] = c.summary;
    if (!c.sha256.empty())
      j["hashes"] = ojson::array({{{"alg", "SHA-256"}, {"content", c.sha256}}});
    if (!c.license.empty()) {
      // A single listed id as an id; anything else (operators, '+', LicenseRef-) as an expression.
      const bool single = c.license.find_first_of(" +") == std::string::npos &&
                          !c.license.starts_with("LicenseRef-");
      j["licenses"] = single ? ojson::array({{{"license", {{"id", c.license}}}}})
                             : ojson::array({{{"expression", c.license}}});
    } else if (!c.license_name.empty()) {
      j["licenses"] = ojson::array({{{"license", {{"name", c.license_name}}}}});
    }
    if (!c.purl.empty()) j["purl"] = c.purl;
    if (IsWebUrl(c.homepage))
      j["externalReferences"] = ojson::array({{{"type", "website"}, {"url", c.homepage}}});
    if (!c.source.empty())
      j["properties"] = ojson::array({{{"name", "ocifs:source-package"}, {"value", c.source}}});
    components.push_back(std::move(j));
  }
  ojson compositions = ojson::array();
  for (const auto& c : sbom.components) {
    if (c.incomplete.empty()) continue;
    compositions.push_back({{"aggregate", "incomplete"}, {"assemblies", {refs[c.key]}}});
    components[&c - sbom.components.data()]["properties"] =
        ojson::array({{{"name", "ocifs:incomplete"}, {"value", c.incomplete}}});
  }
  ojson dependencies = ojson::array();
  ojson image_deps = ojson::array();
  for (const auto& c : sbom.components) {
    if (c.kind == Kind::kApplication) image_deps.push_back(refs[c.key]);
  }
  if (!image_deps.empty()) dependencies.push_back({{"ref", "image"}, {"dependsOn", image_deps}});
  for (const auto& c : sbom.components) {
    ojson on = ojson::array();
    for (const auto& d : c.depends_on) {
      if (refs.count(d)) on.push_back(refs[d]);
    }
    if (!on.empty()) dependencies.push_back({{"ref", refs[c.key]}, {"dependsOn", std::move(on)}});
  }

  ojson doc = {{"bomFormat", "CycloneDX"},
               {"specVersion", spec_version},
               {"serialNumber", ""},
               {"version", 1},
               {"metadata",
                {{"timestamp", sbom.created},
                 {"tools",
                  {{"components", ojson::array({{{"type", "application"},
                                                 {"name", "ocifs-sbom"},
                                                 {"version", sbom.tool_version}}})}}},
                 {"component",
                  {{"type", "container"},
                   {"bom-ref", "image"},
                   {"name", sbom.name},
                   {"version", sbom.version}}}}},
               {"components", std::move(components)},
               {"dependencies", std::move(dependencies)}};
  if (!compositions.empty()) doc["compositions"] = std::move(compositions);
  doc.erase("serialNumber");
  const std::string uuid = ContentUuid(doc);
  ojson out = ojson::object();
  for (auto it = doc.begin(); it != doc.end(); ++it) {
    out[it.key()] = it.value();
    if (it.key() == "specVersion") out["serialNumber"] = "urn:uuid:" + uuid;
  }
  return Dump(out);
}

}  // namespace ocifs::sbom
