// Image and base references split as written, header-only: the host (which then checks them
// against the distribution grammar, core/oci/reference.h) and plugins (which name a base in their
// documents) split them by the same rules.
//
//   "oci:PATH[:TAG]"           a local OCI layout: PATH as given
//   "NAME[:TAG][@DIGEST]"      an image: NAME as written ("python", "ghcr.io/org/app")
//
// A ':' after the last '/' starts the TAG; an earlier one is a registry's port or part of a path.
// Nothing is validated or normalized here.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace ocifs::sdk {

struct NameTag {
  std::string name;
  std::optional<std::string> tag;  // set, possibly empty, when a ':' starts one
};

// "localhost:5000/app:1.0" -> {"localhost:5000/app", "1.0"}; "/a:b/c" -> {"/a:b/c", nullopt}.
inline NameTag SplitNameTag(std::string_view text) {
  const size_t slash = text.rfind('/'), colon = text.rfind(':');
  if (colon != std::string_view::npos && (slash == std::string_view::npos || colon > slash))
    return {std::string(text.substr(0, colon)), std::string(text.substr(colon + 1))};
  return {std::string(text), std::nullopt};
}

struct ReferenceParts {
  bool layout = false;  // `oci:PATH[:TAG]`
  std::string name;     // PATH of a layout, NAME of an image
  std::optional<std::string> tag;
  std::optional<std::string> digest;  // after '@', images only ("sha256:...")
};

inline ReferenceParts SplitReference(std::string_view reference) {
  ReferenceParts r;
  std::string_view rest = reference;
  if (rest.substr(0, 4) == "oci:") {
    r.layout = true;
    rest.remove_prefix(4);
  } else if (const size_t at = rest.find('@'); at != std::string_view::npos) {
    r.digest = std::string(rest.substr(at + 1));
    rest = rest.substr(0, at);
  }
  NameTag nt = SplitNameTag(rest);
  r.name = std::move(nt.name);
  r.tag = std::move(nt.tag);
  return r;
}

}  // namespace ocifs::sdk
