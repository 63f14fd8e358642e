#include "core/registry/fetch.h"

#include <algorithm>
#include <cstdlib>
#include <thread>

#include <fmt/format.h>

namespace ocifs {
namespace {

bool Retryable(long status) { return status == 429 || (status >= 500 && status <= 599); }

}  // namespace

Result<HttpResponse> SendWithRetries(HttpTransport& transport, const RetryPolicy& p,
                                     const std::string& what,
                                     const std::function<HttpRequest()>& make, const BodySink* sink,
                                     size_t max_body, const RetryHooks& hooks) {
  const int attempts = hooks.attempts > 0 ? hooks.attempts : p.attempts;
  std::chrono::milliseconds delay = p.first_delay, waited{0};
  for (int attempt = 1;; ++attempt) {
    if (hooks.on_attempt) hooks.on_attempt();
    Result<HttpResponse> r = transport.Send(make(), sink, max_body);
    std::chrono::milliseconds wait = delay;
    std::string why;
    if (!r.ok()) {
      if (r.status().code() != Code::kIo) return r.status().WithContext(what);
      why = r.status().message();
    } else if (Retryable(r->status)) {
      why = fmt::format("HTTP {}", r->status);
      if (auto it = r->headers.find("retry-after"); it != r->headers.end()) {
        char* end = nullptr;
        long seconds = std::strtol(it->second.c_str(), &end, 10);
        if (end != it->second.c_str() && *end == '\0' && seconds >= 0)
          wait = std::chrono::milliseconds(seconds * 1000);
      }
    } else {
      return r;
    }
    wait = std::min(wait, p.max_delay);
    if (attempt >= attempts || waited + wait > p.budget) {
      const std::string said = r.ok() && hooks.explain ? hooks.explain(r->body) : "";
      return Status(Code::kIo, fmt::format("{}: gave up after {} attempts: {}", what, attempt,
                                           r.ok() ? why + " " + said : why));
    }
    if (p.sleep) {
      p.sleep(wait);
    } else {
      std::this_thread::sleep_for(wait);
    }
    waited += wait;
    delay = std::min(delay * 2, p.max_delay);
  }
}

VerifiedDownload::VerifiedDownload(std::string what, Digest digest, uint64_t size, Sink sink,
                                   std::function<Status()> restart)
    : what_(std::move(what)),
      digest_(std::move(digest)),
      size_(size),
      sink_(std::move(sink)),
      restart_(std::move(restart)) {
  body_sink_ = [this](long status, std::span<const std::byte> bytes) -> Status {
    if (first_chunk_) {
      first_chunk_ = false;
      if (status != 206 && received_ > 0) {
        // A full answer to a resumed request: start over.
        OCIFS_RETURN_IF_ERROR(restart_());
        hash_ = Sha256();
        received_ = 0;
      } else if (status == 206 && received_ != asked_from_) {
        return Corrupt(what_ + ": a partial answer that does not continue the bytes received");
      }
    }
    if (received_ + bytes.size() > size_) {
      return Corrupt(fmt::format("{}: more than the {} bytes it should have", what_, size_));
    }
    hash_.Update(bytes);
    received_ += bytes.size();
    return sink_(bytes);
  };
}

std::vector<std::string> VerifiedDownload::RangeHeaders() {
  first_chunk_ = true;
  asked_from_ = received_;
  if (received_ == 0) return {};
  return {fmt::format("Range: bytes={}-", received_)};
}

Status VerifiedDownload::Finish() {
  if (received_ != size_) {
    return Corrupt(fmt::format("{}: {} bytes arrived, it should have {}", what_, received_, size_));
  }
  Digest got = hash_.Finish();
  if (got != digest_) return Corrupt(fmt::format("{}: the bytes hash to {}", what_, got.str()));
  return Status::Ok();
}

}  // namespace ocifs
