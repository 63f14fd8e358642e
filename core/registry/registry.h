// A client of the OCI distribution API: pulls (manifests and blobs, verified) and the verbs a
// push is made of (blob existence, uploads, cross-repository mounts, manifest PUT). What to push
// and in which order is push.h's business; this file speaks the protocol.
//
// Transport: HTTPS with the system's CA certificates. Plain HTTP (after HTTPS failed its
// handshake) and unverified TLS only for loopback hosts (`localhost`, 127.0.0.0/8, [::1]) and
// the hosts named in RegistryOptions::insecure, as docker does.
//
// Authentication: on a 401 the `WWW-Authenticate` challenge is answered. Bearer: a token from
// the realm for `repository:NAME:pull`, anonymous or with the host's credentials
// (credentials.h), kept per host and repository and fetched again on the next 401 (an expired
// token). Basic: the credentials. A second 401 in a row is an error naming the reference. A
// client made with RegistryOptions::push asks for `repository:NAME:pull,push` from the start, and
// for every scope the registry's challenge names (a mount's source repository too).
//
// Retries: connection errors, cut bodies, 5xx and 429 are tried again with exponential backoff
// (honouring Retry-After on 429 and 503), at most RetryPolicy::attempts times and within
// RetryPolicy::budget. 4xx other than 401/429 fail at once: 404 as kNotFound, 401/403 as
// kPermissionDenied, each naming the reference and the host. A blob cut mid-way resumes with a
// Range request when the registry allows it. An upload chunk (PATCH) is sent once: whether a
// failed chunk may be sent again, and from where, only the upload's status can tell
// (UploadStatus), so its caller decides.
//
// Integrity: a manifest is hashed and compared with the digest it was asked by, or with the
// registry's Docker-Content-Digest when asked by tag. A blob is hashed as it streams and checked
// against its digest and size before GetBlob returns Ok; the caller must not use bytes of a
// failed GetBlob.
//
// Offline (RegistryOptions::offline): every call fails with kFailedPrecondition, naming what
// would have needed the network.
//
// Thread safety: all calls may run concurrently.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "core/oci/reference.h"
#include "core/registry/credentials.h"
#include "core/registry/fetch.h"
#include "core/registry/http.h"
#include "core/support/digest.h"
#include "core/support/status.h"

namespace ocifs {

struct RegistryOptions {
  std::vector<std::string> insecure;  // hosts ("host" or "host:port") allowed over plain HTTP
  bool offline = false;
  bool push = false;  // ask tokens for pull and push
  RetryPolicy retry;
};

// The Accept list for manifests: OCI manifest and index, Docker schema 2 manifest and list.
extern const char kManifestAccept[];

struct FetchedManifest {
  std::string media_type;
  Digest digest;
  std::string bytes;
};

// Where an upload session stands: its URL (a path below the registry, or a URL of another host
// the registry sent the upload to) and how many bytes the registry holds.
struct UploadSession {
  std::string location;
  uint64_t received = 0;
};

struct PushedManifest {
  Digest digest;
  // The registry said it indexed the manifest's subject (`OCI-Subject`): it has the referrers
  // API, and no fallback tag is needed.
  bool subject_indexed = false;
};

class RegistryClient {
 public:
  RegistryClient(RegistryOptions options, std::shared_ptr<HttpTransport> transport,
                 std::shared_ptr<const CredentialStore> credentials);

  // The manifest `reference` (a tag or "sha256:...") of ref's repository.
  Result<FetchedManifest> GetManifest(const ImageReference& ref, const std::string& reference);

  // Streams the blob to `sink`. `restart` is called before bytes are sent again from offset 0
  // (a retry the registry answered without honouring Range); the sink must then drop what it
  // has. Ok only when the bytes hashed to `digest` and counted `size`.
  using BlobSink = std::function<Status(std::span<const std::byte>)>;
  Status GetBlob(const ImageReference& ref, const Digest& digest, uint64_t size,
                 const BlobSink& sink, const std::function<Status()>& restart);

  // ---- pushing ----

  // HEAD: the size of the blob if ref's repository has it, nullopt if it does not.
  Result<std::optional<uint64_t>> BlobSize(const ImageReference& ref, const Digest& digest);

  // POST: starts an upload session. With `mount_from` (a repository of the same registry), asks
  // the registry to mount `digest` from there instead: nullopt when it did (the blob is in ref's
  // repository now), else the session to upload into, as without a mount.
  Result<std::optional<UploadSession>> StartUpload(
      const ImageReference& ref, const std::optional<std::pair<Digest, std::string>>& mount_from);

  // PATCH: `chunk` as the bytes from session.received on (Content-Range). Sent once, never
  // retried (see above). Returns the session the registry answered with.
  Result<UploadSession> PatchUpload(const ImageReference& ref, const UploadSession& session,
                                    std::span<const std::byte> chunk);

  // GET on the session: how many bytes the registry holds. kNotFound when the session is gone
  // (the registry cancelled it, as distribution does after a chunk it got only part of).
  Result<UploadSession> UploadStatus(const ImageReference& ref, const UploadSession& session);

  // PUT ?digest=: completes the upload, with the last bytes `last` (all of them, for a
  // monolithic upload; sent once) or none. The registry checks the digest.
  Status FinishUpload(const ImageReference& ref, const UploadSession& session, const Digest& digest,
                      std::span<const std::byte> last = {});

  // DELETE on the session, for an abandoned upload; errors are not worth reporting.
  void CancelUpload(const ImageReference& ref, const UploadSession& session);

  // PUT /v2/NAME/manifests/REFERENCE with Content-Type `media_type`. The registry's
  // Docker-Content-Digest, when sent, must be the bytes' digest.
  Result<PushedManifest> PutManifest(const ImageReference& ref, const std::string& reference,
                                     const std::string& media_type, const std::string& bytes);

  // Requests made, for tests and `ocifs status`: by kind ("manifest", "blob", "token",
  // "blob-exists", "upload", "manifest-put").
  std::map<std::string, uint64_t> RequestCounts() const;

 private:
  // One registry request. `target` is a path below the registry ("/v2/...") or, for an upload
  // the registry sent elsewhere, a whole URL (which gets no Authorization header).
  struct Call {
    std::string what;  // the start of every message
    std::string kind;  // for RequestCounts
    std::string method = "GET";
    std::string target;
    std::vector<std::string> headers{};
    std::function<std::vector<std::string>()> extra_headers{};  // made again for each attempt
    std::function<HttpBody()> body{};                           // made again for each attempt
    const BodySink* sink = nullptr;
    size_t max_body = 64 << 10;  // of bodies no sink takes
    bool retry = true;           // false: one attempt (401 answered all the same)
  };

  // Sends `make()`'s request until it gets an answer that is not worth retrying (see above).
  Result<HttpResponse> SendWithRetries(const std::string& what, const std::string& kind,
                                       const std::function<HttpRequest()>& make,
                                       const BodySink* sink, size_t max_body, bool retry);
  // A registry request, with authentication and retries.
  Result<HttpResponse> Do(const ImageReference& ref, const Call& call);
  Status Authenticate(const ImageReference& ref, const std::string& what,
                      const std::string& challenge);
  bool Insecure(const std::string& host) const;
  // A Location header as a Call target: a path when it names the registry's own host.
  std::string Target(const ImageReference& ref, const std::string& location) const;

  RegistryOptions options_;
  std::shared_ptr<HttpTransport> transport_;
  std::shared_ptr<const CredentialStore> credentials_;
  mutable std::mutex mu_;
  std::map<std::string, std::string> scheme_;         // host -> "https" or "http"
  std::map<std::string, std::string> authorization_;  // host/repository -> header value
  std::map<std::string, uint64_t> counts_;
};

}  // namespace ocifs
