// Image references as docker, skopeo and crane read them.
//
//   python:3.12-slim                 -> docker.io/library/python:3.12-slim
//   ghcr.io/org/app                  -> ghcr.io/org/app:latest
//   localhost:5000/app@sha256:<hex>  -> that manifest, by digest
//   127.0.0.1:5000/a/b:v1@sha256:<hex> -> the digest wins; the tag is kept for messages
//
// The grammar is distribution/reference's: a name of lowercase path components joined by '/'
// (separators '.', '_', '__', runs of '-'), an optional domain first (a component with '.' or
// ':', `localhost`, or one with upper case), `:tag` ([A-Za-z0-9_][A-Za-z0-9_.-]{0,127}) and
// `@algorithm:encoded`. A name alone gets the tag `latest`. `docker.io` (and `index.docker.io`)
// is reached at `registry-1.docker.io`, and its one-component names live under `library/`.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "core/support/digest.h"
#include "core/support/status.h"

namespace ocifs {

struct ImageReference {
  std::string domain;      // "docker.io", "ghcr.io", "127.0.0.1:5000"
  std::string repository;  // "library/python"
  std::string tag;         // "3.12-slim"; empty when only a digest was given
  std::optional<Digest> digest;

  // The host (and port) to talk to: `registry-1.docker.io` for docker.io.
  std::string Host() const;
  // What the manifest is fetched by: the digest if given, else the tag.
  std::string ManifestReference() const;
  // The full form: "docker.io/library/python:3.12-slim", "host/repo@sha256:...".
  std::string str() const;
};

// REQUIRES nothing: any text gives a reference or an error that quotes it and says what is wrong.
Result<ImageReference> ParseImageReference(std::string_view text);

// A registry mirror, as `--registry-mirror [REGISTRY=]MIRROR` names it: pulls from REGISTRY
// (default `docker.io`) try MIRROR (`host[:port][/path]`) first. The mirror serves REGISTRY's
// repositories under its path: `mirror.example/hub` serves `docker.io/library/python` as
// `mirror.example/hub/library/python`.
struct RegistryMirror {
  std::string registry;     // normalized as a reference's domain: "docker.io", "ghcr.io"
  std::string domain;       // the mirror's host[:port]
  std::string prefix;       // its path, without slashes at either end; may be empty
  std::string str() const;  // "docker.io=mirror.example/hub"
  bool operator==(const RegistryMirror&) const = default;
};

Result<RegistryMirror> ParseRegistryMirror(std::string_view text);

// `ref` as `mirror` serves it (same tag and digest). REQUIRES: mirror.registry == ref.domain.
ImageReference Mirrored(const ImageReference& ref, const RegistryMirror& mirror);

// A base reference `oci:PATH[:TAG]` split in its parts (a ':' after the last '/' starts the TAG);
// nullopt for any other reference.
struct OciLayoutRef {
  std::string path;
  std::optional<std::string> tag;  // set (possibly empty, which is an error) when a ':' was given
};
std::optional<OciLayoutRef> SplitOciLayoutRef(std::string_view reference);
// The same reference with a relative PATH of `oci:PATH[:TAG]` made absolute against `dir`; any
// other reference unchanged.
std::string AbsoluteBase(std::string_view reference, const std::string& dir);

}  // namespace ocifs
