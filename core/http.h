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
// Thread safety: Send may be called from many threads at once.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "core/status.h"

namespace ocifs {

struct HttpRequest {
  std::string method = "GET";  // GET or HEAD
  std::string url;
  std::vector<std::string> headers;  // "Name: value"
  bool verify_tls = true;
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

// Percent-encodes a query value (RFC 3986 unreserved characters stay).
std::string UrlEncode(std::string_view s);

}  // namespace ocifs
