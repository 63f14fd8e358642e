// Downloads that survive a bad network: the retry loop of every ocifs HTTP client (the registry
// client, the apt client), and bytes checked against the size and SHA-256 they must have while
// they stream, resumed with a Range request after a cut.
//
//   VerifiedDownload d("`libpq5_15.5.deb`", digest, size, sink, restart);
//   auto r = SendWithRetries(transport, policy, what, [&] { req.headers = d.RangeHeaders(); return
//   req; },
//                            &d.body_sink(), 64 << 10, {});
//   if (r.ok() && ok status) OCIFS_RETURN_IF_ERROR(d.Finish());
//
// Retries: a request that got no complete answer (kIo), and answers 429 and 5xx, are sent again
// with exponential backoff (Retry-After honoured), at most RetryPolicy::attempts times and within
// its budget; any other answer is returned as it is.
//
// Thread safety: SendWithRetries may run on many threads; a VerifiedDownload belongs to one.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "core/registry/http.h"
#include "core/support/digest.h"
#include "core/support/status.h"

namespace ocifs {

struct RetryPolicy {
  int attempts = 6;                                      // per request, the first included
  std::chrono::milliseconds first_delay{250};            // doubled after each failure
  std::chrono::milliseconds max_delay{8000};             // per wait, Retry-After included
  std::chrono::milliseconds budget{120000};              // all waits of one request together
  std::function<void(std::chrono::milliseconds)> sleep;  // default: std::this_thread::sleep_for
};

struct RetryHooks {
  int attempts = 0;                                        // 0: the policy's; 1: no retry
  std::function<void()> on_attempt;                        // before each send (request counters)
  std::function<std::string(const std::string&)> explain;  // the server's words from an error body
};

// Sends `make()`'s request until it gets an answer not worth retrying (see above). Errors other
// than kIo are returned at once, with `what` before them; giving up is kIo naming the attempts.
Result<HttpResponse> SendWithRetries(HttpTransport& transport, const RetryPolicy& policy,
                                     const std::string& what,
                                     const std::function<HttpRequest()>& make, const BodySink* sink,
                                     size_t max_body, const RetryHooks& hooks);

// One download's bytes across attempts: hashed, counted against `size` (more is kCorrupt at
// once), passed to `sink`. A 206 must continue at the byte the attempt asked from; a full answer
// to a resumed request calls `restart` (the sink drops what it has) and starts over.
class VerifiedDownload {
 public:
  using Sink = std::function<Status(std::span<const std::byte>)>;
  VerifiedDownload(std::string what, Digest digest, uint64_t size, Sink sink,
                   std::function<Status()> restart);

  // The headers of the next attempt: a Range from the bytes received so far, if any.
  std::vector<std::string> RangeHeaders();
  const BodySink& body_sink() const { return body_sink_; }
  // After the last attempt answered 200 or 206: all bytes arrived, and they hash to the digest.
  Status Finish();
  uint64_t received() const { return received_; }

 private:
  std::string what_;
  Digest digest_;
  uint64_t size_;
  Sink sink_;
  std::function<Status()> restart_;
  Sha256 hash_;
  uint64_t received_ = 0;
  uint64_t asked_from_ = 0;
  bool first_chunk_ = true;
  BodySink body_sink_;
};

}  // namespace ocifs
