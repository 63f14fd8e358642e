// A client of the OCI distribution API, for pulls: manifests and blobs, verified.
//
// Transport: HTTPS with the system's CA certificates. Plain HTTP (after HTTPS failed its
// handshake) and unverified TLS only for loopback hosts (`localhost`, 127.0.0.0/8, [::1]) and
// the hosts named in RegistryOptions::insecure, as docker does.
//
// Authentication: on a 401 the `WWW-Authenticate` challenge is answered. Bearer: a token from
// the realm for `repository:NAME:pull`, anonymous or with the host's credentials
// (credentials.h), kept per host and repository and fetched again on the next 401 (an expired
// token). Basic: the credentials. A second 401 in a row is an error naming the reference.
//
// Retries: connection errors, cut bodies, 5xx and 429 are tried again with exponential backoff
// (honouring Retry-After on 429 and 503), at most RetryPolicy::attempts times and within
// RetryPolicy::budget. 4xx other than 401/429 fail at once: 404 as kNotFound, 401/403 as
// kPermissionDenied, each naming the reference and the host. A blob cut mid-way resumes with a
// Range request when the registry allows it.
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
#include <string>
#include <vector>

#include "core/credentials.h"
#include "core/digest.h"
#include "core/http.h"
#include "core/reference.h"
#include "core/status.h"

namespace ocifs {

struct RetryPolicy {
  int attempts = 6;                                      // per request, the first included
  std::chrono::milliseconds first_delay{250};            // doubled after each failure
  std::chrono::milliseconds max_delay{8000};             // per wait, Retry-After included
  std::chrono::milliseconds budget{120000};              // all waits of one request together
  std::function<void(std::chrono::milliseconds)> sleep;  // default: std::this_thread::sleep_for
};

struct RegistryOptions {
  std::vector<std::string> insecure;  // hosts ("host" or "host:port") allowed over plain HTTP
  bool offline = false;
  RetryPolicy retry;
};

// The Accept list for manifests: OCI manifest and index, Docker schema 2 manifest and list.
extern const char kManifestAccept[];

struct FetchedManifest {
  std::string media_type;
  Digest digest;
  std::string bytes;
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

  // Requests made, for tests and `ocifs status`: by kind ("manifest", "blob", "token").
  std::map<std::string, uint64_t> RequestCounts() const;

 private:
  // Sends `make()`'s request until it gets an answer that is not worth retrying (see above).
  Result<HttpResponse> SendWithRetries(const std::string& what, const std::string& kind,
                                       const std::function<HttpRequest()>& make,
                                       const BodySink* sink, size_t max_body);
  // A registry request: `path` below https://HOST, with authentication and retries.
  Result<HttpResponse> Do(const ImageReference& ref, const std::string& what,
                          const std::string& kind, const std::string& method,
                          const std::string& path, std::vector<std::string> headers,
                          const std::function<std::vector<std::string>()>& extra_headers,
                          const BodySink* sink, size_t max_body);
  Status Authenticate(const ImageReference& ref, const std::string& what,
                      const std::string& challenge);
  bool Insecure(const std::string& host) const;

  RegistryOptions options_;
  std::shared_ptr<HttpTransport> transport_;
  std::shared_ptr<const CredentialStore> credentials_;
  mutable std::mutex mu_;
  std::map<std::string, std::string> scheme_;         // host -> "https" or "http"
  std::map<std::string, std::string> authorization_;  // host/repository -> header value
  std::map<std::string, uint64_t> counts_;
};

}  // namespace ocifs
