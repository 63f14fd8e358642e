// HTTP for the registry client: one request, one answer, nothing else.
//
// HttpTransport is the seam: the real one is libcurl (MakeCurlTransport); unit tests script
// answers. Retries, authentication and redirects to other hosts' credentials are not its business
// (registry.h does the first two; libcurl never sends an Authorization header to another host on
// a redirect).
//
// Errors: a request that got no complete HTTP answer (refused, reset, timed out, cut mid-body)
// is kIo, which the caller may retry; a TLS failure is kUnsupported (the caller may fall back to
// plain HTTP where that is allowed). Messages name the host, never a header.
//
// Redirects are followed for GET and HEAD only; the answer to any other method is returned as it
// is (a registry's 201 or 202 carries a Location to read, not to follow).
//
// Thread safety: Send may be called from many threads at once.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "core/support/status.h"

namespace ocifs {

// A request body, read in order from its start; `size` bytes in all (sent as Content-Length).
struct HttpBody {
  uint64_t size = 0;
  // Fills the front of `out` with the next bytes and returns how many (0 only after `size`). An
  // error stops the request and is returned by Send.
  std::function<Result<size_t>(std::span<std::byte> out)> read;
};

struct HttpRequest {
  std::string method = "GET";  // GET, HEAD, or PUT, POST, PATCH, DELETE (with a body or not)
  std::string url;
  std::vector<std::string> headers;  // "Name: value"
  bool verify_tls = true;
  std::optional<HttpBody> body;  // only with PUT, POST, PATCH
};

struct HttpResponse {
  long status = 0;
  std::map<std::string, std::string> headers;  // names in lower case; of the last answer
  std::string body;  // the body when no sink took it (bounded by max_body)
};

// Takes the body of a 2xx answer as it arrives, with the answer's status (200, 206, ...); an
// error stops the transfer and is returned.
using BodySink = std::function<Status(long status, std::span<const std::byte>)>;

class HttpTransport {
 public:
  virtual ~HttpTransport() = default;
  // With a sink, a 2xx body goes to it; other bodies (errors) go to response.body, at most
  // max_body bytes (more is an error).
  virtual Result<HttpResponse> Send(const HttpRequest& request, const BodySink* sink,
                                    size_t max_body) = 0;
};

std::unique_ptr<HttpTransport> MakeCurlTransport();

// A body of `bytes`, which the caller keeps alive until the request is answered. Each call gives
// a reader that starts at the first byte.
HttpBody BytesBody(std::span<const std::byte> bytes);

// Percent-encodes a query value (RFC 3986 unreserved characters stay).
std::string UrlEncode(std::string_view s);

}  // namespace ocifs
