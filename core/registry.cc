#include "core/registry.h"

#include <algorithm>
#include <thread>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

namespace ocifs {

const char kManifestAccept[] =
    "Accept: application/vnd.oci.image.manifest.v1+json, "
    "application/vnd.oci.image.index.v1+json, "
    "application/vnd.docker.distribution.manifest.v2+json, "
    "application/vnd.docker.distribution.manifest.list.v2+json";

namespace {

constexpr size_t kMaxManifestBytes = 4 << 20;  // the distribution spec's suggested limit
constexpr size_t kMaxErrorBody = 64 << 10;

bool IsLoopback(const std::string& host) {
  std::string h = host;
  if (h.starts_with("[")) return h.starts_with("[::1]");
  if (size_t colon = h.find(':'); colon != std::string::npos) h.resize(colon);
  return h == "localhost" || h.starts_with("127.");
}

// `Bearer realm="https://auth",service="registry",scope="repository:a:pull"` -> its parts.
struct Challenge {
  std::string scheme;  // lower case
  std::map<std::string, std::string> params;
};

Challenge ParseChallenge(std::string_view text) {
  Challenge c;
  size_t i = text.find(' ');
  std::string scheme(text.substr(0, i));
  std::transform(scheme.begin(), scheme.end(), scheme.begin(),
                 [](unsigned char ch) { return static_cast<char>(std::tolower(ch)); });
  c.scheme = scheme;
  if (i == std::string_view::npos) return c;
  while (i < text.size()) {
    while (i < text.size() && (text[i] == ' ' || text[i] == ',')) ++i;
    size_t eq = text.find('=', i);
    if (eq == std::string_view::npos) break;
    std::string key(text.substr(i, eq - i));
    std::transform(key.begin(), key.end(), key.begin(),
                   [](unsigned char ch) { return static_cast<char>(std::tolower(ch)); });
    std::string value;
    i = eq + 1;
    if (i < text.size() && text[i] == '"') {
      for (++i; i < text.size() && text[i] != '"'; ++i) {
        if (text[i] == '\\' && i + 1 < text.size()) ++i;
        value += text[i];
      }
      ++i;
    } else {
      size_t end = text.find(',', i);
      value = std::string(text.substr(i, end == std::string_view::npos ? end : end - i));
      i = end == std::string_view::npos ? text.size() : end;
    }
    c.params[key] = value;
  }
  return c;
}

// The registry's own words from an error body ({"errors":[{"code":..,"message":..}]}), if any.
std::string RegistryError(const std::string& body) {
  auto j = nlohmann::json::parse(body, nullptr, false);
  if (j.is_discarded() || !j.is_object() || !j.contains("errors") || !j["errors"].is_array() ||
      j["errors"].empty() || !j["errors"][0].is_object()) {
    return "";
  }
  const auto& e = j["errors"][0];
  std::string code = e.value("code", ""), message = e.value("message", "");
  if (code.empty()) return message;
  return message.empty() ? code : code + ": " + message;
}

bool Retryable(long status) { return status == 429 || (status >= 500 && status <= 599); }

}  // namespace

RegistryClient::RegistryClient(RegistryOptions options, std::shared_ptr<HttpTransport> transport,
                               std::shared_ptr<const CredentialStore> credentials)
    : options_(std::move(options)),
      transport_(std::move(transport)),
      credentials_(std::move(credentials)) {
  if (!options_.retry.sleep)
    options_.retry.sleep = [](std::chrono::milliseconds d) { std::this_thread::sleep_for(d); };
}

bool RegistryClient::Insecure(const std::string& host) const {
  return IsLoopback(host) || std::find(options_.insecure.begin(), options_.insecure.end(), host) !=
                                 options_.insecure.end();
}

std::map<std::string, uint64_t> RegistryClient::RequestCounts() const {
  std::lock_guard lock(mu_);
  return counts_;
}

Result<HttpResponse> RegistryClient::SendWithRetries(const std::string& what,
                                                     const std::string& kind,
                                                     const std::function<HttpRequest()>& make,
                                                     const BodySink* sink, size_t max_body) {
  const RetryPolicy& p = options_.retry;
  std::chrono::milliseconds delay = p.first_delay, waited{0};
  for (int attempt = 1;; ++attempt) {
    {
      std::lock_guard lock(mu_);
      ++counts_[kind];
    }
    Result<HttpResponse> r = transport_->Send(make(), sink, max_body);
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
    if (attempt >= p.attempts || waited + wait > p.budget) {
      return Status(Code::kIo, fmt::format("{}: gave up after {} attempts: {}", what, attempt,
                                           r.ok() ? why + " " + RegistryError(r->body) : why));
    }
    p.sleep(wait);
    waited += wait;
    delay = std::min(delay * 2, p.max_delay);
  }
}

Result<HttpResponse> RegistryClient::Do(
    const ImageReference& ref, const std::string& what, const std::string& kind,
    const std::string& method, const std::string& path, std::vector<std::string> headers,
    const std::function<std::vector<std::string>()>& extra_headers, const BodySink* sink,
    size_t max_body) {
  if (options_.offline) {
    return Status(Code::kFailedPrecondition,
                  fmt::format("{}: needs the network, and --offline is set", what));
  }
  const std::string host = ref.Host();
  const std::string auth_key = host + "/" + ref.repository;
  for (int round = 0;; ++round) {
    auto make = [&] {
      HttpRequest req;
      req.method = method;
      std::string scheme;
      {
        std::lock_guard lock(mu_);
        scheme = scheme_.contains(host) ? scheme_[host] : "https";
        if (auto it = authorization_.find(auth_key); it != authorization_.end())
          req.headers.push_back("Authorization: " + it->second);
      }
      req.url = fmt::format("{}://{}{}", scheme, host, path);
      req.verify_tls = !Insecure(host);
      req.headers.insert(req.headers.end(), headers.begin(), headers.end());
      if (extra_headers) {
        auto more = extra_headers();
        req.headers.insert(req.headers.end(), more.begin(), more.end());
      }
      return req;
    };
    Result<HttpResponse> r = SendWithRetries(what, kind, make, sink, max_body);
    if (!r.ok() && r.status().code() == Code::kUnsupported && Insecure(host)) {
      // TLS failed with a host that may speak plain HTTP: use that from now on.
      bool switched = false;
      {
        std::lock_guard lock(mu_);
        if (scheme_[host] != "http") scheme_[host] = "http", switched = true;
      }
      if (switched) r = SendWithRetries(what, kind, make, sink, max_body);
    }
    if (!r.ok()) return r;
    if (r->status != 401) return r;
    if (round > 0) {
      return Status(Code::kPermissionDenied,
                    fmt::format("{}: {} refused the credentials (HTTP 401{})", what, host,
                                RegistryError(r->body).empty() ? std::string()
                                                               : ": " + RegistryError(r->body)));
    }
    auto challenge = r->headers.find("www-authenticate");
    if (challenge == r->headers.end()) {
      return Status(
          Code::kPermissionDenied,
          fmt::format("{}: {} answered HTTP 401 without a WWW-Authenticate challenge", what, host));
    }
    OCIFS_RETURN_IF_ERROR(Authenticate(ref, what, challenge->second));
  }
}

Status RegistryClient::Authenticate(const ImageReference& ref, const std::string& what,
                                    const std::string& challenge_text) {
  const std::string host = ref.Host();
  Challenge challenge = ParseChallenge(challenge_text);
  std::optional<Credential> cred;
  if (credentials_) {
    auto found = credentials_->Lookup(ref.domain);
    if (!found.ok()) return found.status().WithContext(what);
    cred = *found;
  }
  std::string header;
  if (challenge.scheme == "basic") {
    if (!cred) {
      return Status(Code::kPermissionDenied,
                    fmt::format("{}: {} wants a user name and password, and none is stored for "
                                "`{}` (docker login, or an auth.json)",
                                what, host, ref.domain));
    }
    header = "Basic " + Base64Encode(cred->username + ":" + cred->secret);
  } else if (challenge.scheme == "bearer") {
    std::string realm = challenge.params["realm"];
    if (!realm.starts_with("https://") && !(realm.starts_with("http://") && Insecure(host))) {
      return Status(
          Code::kPermissionDenied,
          fmt::format("{}: {} names a token server that is not https: `{}`", what, host, realm));
    }
    std::string scope = challenge.params.contains("scope")
                            ? challenge.params["scope"]
                            : fmt::format("repository:{}:pull", ref.repository);
    std::string url = realm + (realm.find('?') == std::string::npos ? "?" : "&");
    if (challenge.params.contains("service"))
      url += "service=" + UrlEncode(challenge.params["service"]) + "&";
    url += "scope=" + UrlEncode(scope);
    auto make = [&] {
      HttpRequest req;
      req.url = url;
      req.verify_tls = !Insecure(host);
      if (cred)
        req.headers.push_back("Authorization: Basic " +
                              Base64Encode(cred->username + ":" + cred->secret));
      return req;
    };
    OCIFS_ASSIGN_OR_RETURN(HttpResponse r,
                           SendWithRetries(what + ": token", "token", make, nullptr, 1 << 20));
    if (r.status == 401 || r.status == 403) {
      return Status(Code::kPermissionDenied,
                    fmt::format("{}: the token server of {} refused {} (HTTP {})", what, host,
                                cred ? fmt::format("the credentials stored for `{}`", ref.domain)
                                     : std::string("anonymous access"),
                                r.status));
    }
    if (r.status != 200) {
      return Status(Code::kIo, fmt::format("{}: the token server of {} answered HTTP {}", what,
                                           host, r.status));
    }
    auto j = nlohmann::json::parse(r.body, nullptr, false);
    std::string token;
    if (j.is_object()) token = j.value("token", j.value("access_token", ""));
    if (token.empty()) {
      return Corrupt(
          fmt::format("{}: the token server of {} answered without a token", what, host));
    }
    header = "Bearer " + token;
  } else {
    return Unsupported(fmt::format("{}: {} asks for `{}` authentication, which ocifs does not do",
                                   what, host, challenge.scheme));
  }
  std::lock_guard lock(mu_);
  authorization_[host + "/" + ref.repository] = header;
  return Status::Ok();
}

Result<FetchedManifest> RegistryClient::GetManifest(const ImageReference& ref,
                                                    const std::string& reference) {
  const std::string what =
      fmt::format("manifest `{}` of `{}/{}`", reference, ref.domain, ref.repository);
  std::string body;
  OCIFS_ASSIGN_OR_RETURN(HttpResponse r,
                         Do(ref, what, "manifest", "GET",
                            fmt::format("/v2/{}/manifests/{}", ref.repository, reference),
                            {kManifestAccept}, nullptr, nullptr, kMaxManifestBytes));
  if (r.status == 404) {
    std::string said = RegistryError(r.body);
    return NotFound(fmt::format("{}: not found at {}{} (is the repository or tag right?)", what,
                                ref.Host(), said.empty() ? "" : " (" + said + ")"));
  }
  if (r.status == 403) {
    return Status(Code::kPermissionDenied,
                  fmt::format("{}: {} denied access (HTTP 403)", what, ref.Host()));
  }
  if (r.status != 200) {
    return Status(Code::kIo, fmt::format("{}: {} answered HTTP {} {}", what, ref.Host(), r.status,
                                         RegistryError(r.body)));
  }
  FetchedManifest m;
  m.bytes = std::move(r.body);
  m.digest = Digest::Of(m.bytes);
  m.media_type = r.headers["content-type"];
  if (size_t semi = m.media_type.find(';'); semi != std::string::npos) m.media_type.resize(semi);
  auto j = nlohmann::json::parse(m.bytes, nullptr, false);
  if (j.is_discarded() || !j.is_object())
    return Corrupt(fmt::format("{}: the answer is not a JSON object", what));
  if (j.contains("mediaType") && j["mediaType"].is_string())
    m.media_type = j["mediaType"].get<std::string>();
  if (reference.starts_with("sha256:")) {
    if (m.digest.str() != reference) {
      return Corrupt(
          fmt::format("{}: the registry sent bytes that hash to {}", what, m.digest.str()));
    }
  } else if (auto it = r.headers.find("docker-content-digest");
             it != r.headers.end() && it->second != m.digest.str()) {
    return Corrupt(fmt::format("{}: the bytes hash to {}, the registry says {}", what,
                               m.digest.str(), it->second));
  }
  return m;
}

Status RegistryClient::GetBlob(const ImageReference& ref, const Digest& digest, uint64_t size,
                               const BlobSink& sink, const std::function<Status()>& restart) {
  const std::string what =
      fmt::format("blob {} of `{}/{}`", digest.str(), ref.domain, ref.repository);
  Sha256 hash;
  uint64_t received = 0;
  uint64_t asked_from = 0;  // the Range start of the current attempt
  bool first_chunk = true;
  BodySink counted = [&](long status, std::span<const std::byte> bytes) -> Status {
    if (first_chunk) {
      first_chunk = false;
      if (status != 206 && received > 0) {
        // A full answer to a resumed request: start over.
        OCIFS_RETURN_IF_ERROR(restart());
        hash = Sha256();
        received = 0;
      } else if (status == 206 && received != asked_from) {
        return Corrupt(what + ": a partial answer that does not continue the bytes received");
      }
    }
    if (received + bytes.size() > size) {
      return Corrupt(fmt::format("{}: more than the {} bytes its descriptor says", what, size));
    }
    hash.Update(bytes);
    received += bytes.size();
    return sink(bytes);
  };
  auto range = [&]() -> std::vector<std::string> {
    first_chunk = true;
    asked_from = received;
    if (received == 0) return {};
    return {fmt::format("Range: bytes={}-", received)};
  };
  OCIFS_ASSIGN_OR_RETURN(
      HttpResponse r,
      Do(ref, what, "blob", "GET", fmt::format("/v2/{}/blobs/{}", ref.repository, digest.str()), {},
         range, &counted, kMaxErrorBody));
  if (r.status == 404) {
    return NotFound(
        fmt::format("{}: not found at {} ({})", what, ref.Host(), RegistryError(r.body)));
  }
  if (r.status == 403) {
    return Status(Code::kPermissionDenied,
                  fmt::format("{}: {} denied access (HTTP 403)", what, ref.Host()));
  }
  if (r.status != 200 && r.status != 206) {
    return Status(Code::kIo, fmt::format("{}: {} answered HTTP {} {}", what, ref.Host(), r.status,
                                         RegistryError(r.body)));
  }
  if (received != size) {
    return Corrupt(
        fmt::format("{}: {} bytes arrived, its descriptor says {}", what, received, size));
  }
  Digest got = hash.Finish();
  if (got != digest) {
    return Corrupt(fmt::format("{}: the bytes hash to {}", what, got.str()));
  }
  return Status::Ok();
}

}  // namespace ocifs
