#include "core/oci/reference.h"

#include <algorithm>
#include <cctype>
#include <filesystem>

#include <fmt/format.h>

#include "ocifs/reference.hpp"

namespace ocifs {
namespace {

constexpr size_t kMaxNameLength = 255;

bool IsLowerAlnum(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); }
bool IsAlnum(char c) { return std::isalnum(static_cast<unsigned char>(c)) != 0; }

// One path component: [a-z0-9]+ ((\.|_|__|-+)[a-z0-9]+)*
bool IsPathComponent(std::string_view c) {
  if (c.empty() || !IsLowerAlnum(c.front()) || !IsLowerAlnum(c.back())) return false;
  for (size_t i = 0; i < c.size();) {
    if (IsLowerAlnum(c[i])) {
      ++i;
      continue;
    }
    size_t j = i;
    while (j < c.size() && !IsLowerAlnum(c[j])) ++j;
    std::string_view sep = c.substr(i, j - i);
    bool dashes = std::all_of(sep.begin(), sep.end(), [](char x) { return x == '-'; });
    if (sep != "." && sep != "_" && sep != "__" && !dashes) return false;
    i = j;
  }
  return true;
}

// host[:port], the host a DNS name, an IPv4 address or a bracketed IPv6 address.
bool IsDomain(std::string_view d) {
  std::string_view host = d;
  if (!d.empty() && d.front() == '[') {
    size_t close = d.find(']');
    if (close == std::string_view::npos || close == 1) return false;
    for (char c : d.substr(1, close - 1))
      if (!std::isxdigit(static_cast<unsigned char>(c)) && c != ':') return false;
    host = {};
    d = d.substr(close + 1);
    if (d.empty()) return true;
    if (d.front() != ':') return false;
  } else {
    size_t colon = d.rfind(':');
    host = d.substr(0, colon);
    d = colon == std::string_view::npos ? std::string_view() : d.substr(colon);
    if (host.empty()) return false;
    size_t start = 0;
    while (start <= host.size()) {
      size_t dot = host.find('.', start);
      std::string_view label =
          host.substr(start, dot == std::string_view::npos ? std::string_view::npos : dot - start);
      if (label.empty() || !IsAlnum(label.front()) || !IsAlnum(label.back())) return false;
      for (char c : label)
        if (!IsAlnum(c) && c != '-') return false;
      if (dot == std::string_view::npos) break;
      start = dot + 1;
    }
  }
  if (d.empty()) return true;
  std::string_view port = d.substr(1);
  return !port.empty() && port.size() <= 5 &&
         std::all_of(port.begin(), port.end(), [](char c) { return c >= '0' && c <= '9'; });
}

bool IsTag(std::string_view t) {
  if (t.empty() || t.size() > 128) return false;
  auto word = [](char c) { return IsAlnum(c) || c == '_'; };
  if (!word(t.front())) return false;
  return std::all_of(t.begin(), t.end(), [&](char c) { return word(c) || c == '.' || c == '-'; });
}

}  // namespace

std::string ImageReference::Host() const {
  return domain == "docker.io" ? "registry-1.docker.io" : domain;
}

std::string ImageReference::ManifestReference() const { return digest ? digest->str() : tag; }

std::string ImageReference::str() const {
  std::string s = domain + "/" + repository;
  if (!tag.empty()) s += ":" + tag;
  if (digest) s += "@" + digest->str();
  return s;
}

Result<ImageReference> ParseImageReference(std::string_view text) {
  auto bad = [&](std::string_view why) {
    return InvalidArgument(fmt::format("image reference `{}`: {}", text, why));
  };
  if (text.empty()) return bad("it is empty");
  ImageReference ref;
  std::string_view rest = text;
  if (size_t at = rest.find('@'); at != std::string_view::npos) {
    std::string_view digest = rest.substr(at + 1);
    rest = rest.substr(0, at);
    size_t colon = digest.find(':');
    if (colon == std::string_view::npos)
      return bad("want `@sha256:<64 hex digits>` after the name");
    if (digest.substr(0, colon) != "sha256") {
      return InvalidArgument(
          fmt::format("image reference `{}`: digest algorithm `{}` is not supported (only sha256)",
                      text, digest.substr(0, colon)));
    }
    auto d = Digest::Parse(digest);
    if (!d.ok()) return bad("want `@sha256:<64 lowercase hex digits>` after the name");
    ref.digest = *d;
  }
  // A ':' after the last '/' starts the tag (an earlier one belongs to the domain's port).
  const sdk::NameTag name_tag = sdk::SplitNameTag(rest);
  if (name_tag.tag) {
    ref.tag = *name_tag.tag;
    rest = rest.substr(0, name_tag.name.size());
    if (!IsTag(ref.tag)) {
      return bad(fmt::format(
          "tag `{}` is not valid (letters, digits, `_`, `.`, `-`; at most 128; not starting with "
          "`.` or `-`)",
          ref.tag));
    }
  }
  if (rest.empty()) return bad("the name is empty");
  if (rest.size() > kMaxNameLength) return bad("the name is longer than 255 characters");
  if (rest.size() == 64 && std::all_of(rest.begin(), rest.end(), [](char c) {
        return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
      })) {
    return bad("a 64-digit hex string is an image ID, not a name");
  }
  // The first component is a domain if it has '.' or ':', is `localhost`, or has upper case.
  std::string_view remainder = rest;
  size_t slash = rest.find('/');
  std::string_view first = rest.substr(0, slash);
  bool has_domain =
      slash != std::string_view::npos &&
      (first.find_first_of(".:[") != std::string_view::npos || first == "localhost" ||
       std::any_of(first.begin(), first.end(), [](char c) { return c >= 'A' && c <= 'Z'; }));
  if (has_domain) {
    if (!IsDomain(first)) return bad(fmt::format("`{}` is not a valid registry host", first));
    ref.domain = std::string(first);
    remainder = rest.substr(slash + 1);
  } else {
    ref.domain = "docker.io";
  }
  if (ref.domain == "index.docker.io") ref.domain = "docker.io";
  if (std::any_of(remainder.begin(), remainder.end(),
                  [](char c) { return c >= 'A' && c <= 'Z'; })) {
    return bad("repository names must be lowercase");
  }
  size_t start = 0;
  while (true) {
    size_t next = remainder.find('/', start);
    std::string_view component = remainder.substr(
        start, next == std::string_view::npos ? std::string_view::npos : next - start);
    if (!IsPathComponent(component)) {
      return bad(fmt::format(
          "`{}` is not a valid path component (lowercase letters and digits, joined by `.`, `_`, "
          "`__` or `-`)",
          component));
    }
    if (next == std::string_view::npos) break;
    start = next + 1;
  }
  ref.repository = std::string(remainder);
  if (ref.domain == "docker.io" && ref.repository.find('/') == std::string::npos)
    ref.repository = "library/" + ref.repository;
  if (ref.tag.empty() && !ref.digest) ref.tag = "latest";
  return ref;
}

std::string RegistryMirror::str() const {
  return registry + "=" + domain + (prefix.empty() ? "" : "/" + prefix);
}

Result<RegistryMirror> ParseRegistryMirror(std::string_view text) {
  auto bad = [&](std::string_view why) {
    return InvalidArgument(fmt::format("registry mirror `{}`: {}", text, why));
  };
  RegistryMirror m;
  std::string_view mirror = text;
  m.registry = "docker.io";
  if (size_t eq = text.find('='); eq != std::string_view::npos) {
    std::string_view registry = text.substr(0, eq);
    mirror = text.substr(eq + 1);
    if (registry.empty() || registry.find('/') != std::string_view::npos)
      return bad("want [REGISTRY=]HOST[:PORT][/PATH], REGISTRY a host such as `docker.io`");
    if (registry != "docker.io" && registry != "index.docker.io") {
      auto r = ParseImageReference(fmt::format("{}/x", registry));
      if (!r.ok() || r->domain != registry)
        return bad(fmt::format("`{}` is not a registry host (want e.g. `ghcr.io`)", registry));
    }
    m.registry = registry == "index.docker.io" ? "docker.io" : std::string(registry);
  }
  for (const char* scheme : {"https://", "http://"}) {
    if (mirror.starts_with(scheme))
      return bad("give the host without a scheme (plain HTTP is chosen by --insecure-registry)");
  }
  while (mirror.ends_with('/')) mirror.remove_suffix(1);
  size_t slash = mirror.find('/');
  m.domain = std::string(mirror.substr(0, slash));
  if (slash != std::string_view::npos) m.prefix = std::string(mirror.substr(slash + 1));
  if (m.domain.empty()) return bad("the mirror's host is empty");
  // The host must read as a registry host, and the path as repository components.
  auto r =
      ParseImageReference(fmt::format("{}/{}x", m.domain, m.prefix.empty() ? "" : m.prefix + "/"));
  if (!r.ok() || r->domain != m.domain) {
    return bad(
        fmt::format("`{}` is not a registry host with an optional lowercase path (want e.g. "
                    "`mirror.example:5000/hub`)",
                    mirror));
  }
  return m;
}

ImageReference Mirrored(const ImageReference& ref, const RegistryMirror& mirror) {
  ImageReference out = ref;
  out.domain = mirror.domain;
  out.repository = mirror.prefix.empty() ? ref.repository : mirror.prefix + "/" + ref.repository;
  return out;
}

std::optional<OciLayoutRef> SplitOciLayoutRef(std::string_view reference) {
  sdk::ReferenceParts parts = sdk::SplitReference(reference);
  if (!parts.layout) return std::nullopt;
  return OciLayoutRef{std::move(parts.name), std::move(parts.tag)};
}

std::string AbsoluteBase(std::string_view reference, const std::string& dir) {
  auto ref = SplitOciLayoutRef(reference);
  if (!ref || ref->path.empty()) return std::string(reference);
  std::filesystem::path path(ref->path);
  if (path.is_relative()) path = std::filesystem::path(dir) / path;
  std::string out = "oci:" + path.lexically_normal().string();
  if (ref->tag) out += ":" + *ref->tag;
  return out;
}

}  // namespace ocifs
