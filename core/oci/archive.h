// Archives of an image layout: the layout as one tar stream, made while it is written (no layout
// is written to disk first), for `ocifs export`.
//
//   oci-archive     the layout itself: `blobs/sha256/HEX`, `index.json`, `oci-layout`. What
//                   `skopeo copy oci-archive:FILE[:TAG]` reads, and the form to hand an image
//                   around as one file. (podman 4 loads one only when index.json has a single
//                   entry, and names it `localhost/TAG`: docker-archive is podman's form.)
//   docker-archive  the same layout, with one single-platform image per tag, plus
//                   `manifest.json` and `repositories`: the form `docker save` writes since
//                   Docker 25, which `docker load`, `podman load` and
//                   `skopeo copy docker-archive:FILE` read. manifest.json names each image's
//                   config and layers by their paths in the archive and its tags as
//                   `REPOSITORY:TAG`; index.json's entries carry the full name
//                   (`io.containerd.image.name`, `docker.io/library/app:1.0`), which is what
//                   podman load names the image by.
//
// The bytes depend only on the layout and the options: entries in a fixed order (directories,
// blobs by digest, then the small files by name), one mtime, owner 0:0, modes 0644 and 0755, no
// user or group names. Every blob is hashed as it is streamed and compared with its digest; one
// that does not match fails the archive (kCorrupt) before its last byte is written, so a caller
// that removes its partial output on error never leaves an archive with a wrong blob.
//
// Thread safety: WriteArchive reads `source` on the calling thread; no shared state.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/oci/layout_source.h"
#include "core/oci/platform.h"
#include "core/support/status.h"

namespace ocifs {

enum class ArchiveFormat { kOci, kDocker };

// "oci-archive" or "docker-archive"; the error names `what` ("--format") and the choices.
Result<ArchiveFormat> ParseArchiveFormat(std::string_view text, std::string_view what);

// An image to put in the archive: the index.json ref name of a tag, and, for docker-archive, the
// repository its RepoTag names (empty: ArchiveOptions::repository).
struct ArchiveTag {
  std::string ref_name;    // "latest"
  std::string repository;  // "registry.example/app"; docker-archive only
};

// `--tag` as export takes it: `TAG`, or `REPOSITORY:TAG` (the last `:` after the last `/`), e.g.
// `app:1.0`, `localhost:5000/team/app:dev`. The repository, when given, is checked against the
// reference grammar and must be lower case.
Result<ArchiveTag> ParseArchiveTag(std::string_view text, std::string_view what);

struct ArchiveOptions {
  ArchiveFormat format = ArchiveFormat::kOci;
  // The tags to put in; empty: every image tag of the layout. oci-archive keeps the artifacts
  // attached to a tag (index.json entries `TAG.SUFFIX`); docker-archive has no place for them.
  std::vector<ArchiveTag> tags;
  // docker-archive: the repository of RepoTags when a tag names none is the image's
  // `org.opencontainers.image.title` made a repository name (lower case, runs of other
  // characters as one `-`), else this one; when both are empty, an error says to name it.
  std::string repository;
  // docker-archive: which platform's image to take from a tag that names an image index.
  // nullopt: the machine's own when the index has it, else an error naming the platforms.
  std::optional<Platform> platform;
  int64_t mtime = 0;  // of every entry (SOURCE_DATE_EPOCH)
};

struct ArchiveReport {
  uint64_t bytes = 0;                  // the whole stream
  size_t blobs = 0;                    // blob files in it
  std::vector<std::string> ref_names;  // index.json's ref names, in order
  std::vector<std::string> repo_tags;  // docker-archive's RepoTags, in order
};

// A repository name made of any text (a title, a directory name): lower case, each run of other
// characters than ASCII letters and digits one `-`, none at either end; may be empty.
std::string RepositoryName(std::string_view text);

// Receives the archive's bytes in order; an error stops the writing and is returned.
using ArchiveSink = std::function<Status(std::span<const std::byte>)>;

// Streams the archive of `source` into `sink`. Errors name the tag, the blob or the document.
Result<ArchiveReport> WriteArchive(const LayoutSource& source, const ArchiveOptions& options,
                                   const ArchiveSink& sink);

}  // namespace ocifs
