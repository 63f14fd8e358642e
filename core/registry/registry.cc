#include "core/registry/registry.h"

#include <algorithm>
#include <cstring>
#include <thread>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <nlohmann/json.hpp>

#include "core/support/text.h"

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
                                                     const BodySink* sink, size_t max_body,
                                                     bool retry) {
  RetryHooks hooks;
  hooks.attempts = retry ? 0 : 1;
  hooks.on_attempt = [&] {
    std::lock_guard lock(mu_);
    ++counts_[kind];
  };
  hooks.explain = RegistryError;
  return ocifs::SendWithRetries(*transport_, options_.retry, what, make, sink, max_body, hooks);
}

std::string RegistryClient::Target(const ImageReference& ref, const std::string& location) const {
  if (location.starts_with("/")) return location;
  for (const char* scheme : {"https://", "http://"}) {
    const std::string own = scheme + ref.Host() + "/";
    if (location.starts_with(own)) return location.substr(own.size() - 1);
  }
  if (location.find("://") != std::string::npos) return location;
  return "/" + location;  // relative without a slash: below the registry's root
}

Result<HttpResponse> RegistryClient::Do(const ImageReference& ref, const Call& call) {
  if (options_.offline) {
    return Status(Code::kFailedPrecondition,
                  fmt::format("{}: needs the network, and --offline is set", call.what));
  }
  const std::string host = ref.Host();
  const std::string auth_key = host + "/" + ref.repository;
  const bool own_host = call.target.starts_with("/");
  for (int round = 0;; ++round) {
    auto make = [&] {
      HttpRequest req;
      req.method = call.method;
      if (own_host) {
        std::string scheme;
        {
          std::lock_guard lock(mu_);
          scheme = scheme_.contains(host) ? scheme_[host] : "https";
          if (auto it = authorization_.find(auth_key); it != authorization_.end())
            req.headers.push_back("Authorization: " + it->second);
        }
        req.url = fmt::format("{}://{}{}", scheme, host, call.target);
        req.verify_tls = !Insecure(host);
      } else {
        req.url = call.target;  // another host: no credentials of this registry's go there
      }
      req.headers.insert(req.headers.end(), call.headers.begin(), call.headers.end());
      if (call.extra_headers) {
        auto more = call.extra_headers();
        req.headers.insert(req.headers.end(), more.begin(), more.end());
      }
      if (call.body) req.body = call.body();
      return req;
    };
    Result<HttpResponse> r =
        SendWithRetries(call.what, call.kind, make, call.sink, call.max_body, call.retry);
    if (!r.ok() && r.status().code() == Code::kUnsupported && own_host && Insecure(host)) {
      // TLS failed with a host that may speak plain HTTP: use that from now on (another thread
      // may have switched already, after its own request failed the same way).
      {
        std::lock_guard lock(mu_);
        scheme_[host] = "http";
      }
      r = SendWithRetries(call.what, call.kind, make, call.sink, call.max_body, call.retry);
    }
    if (!r.ok()) return r;
    if (r->status != 401) return r;
    if (round > 0) {
      return Status(Code::kPermissionDenied,
                    fmt::format("{}: {} refused the credentials (HTTP 401{})", call.what, host,
                                RegistryError(r->body).empty() ? std::string()
                                                               : ": " + RegistryError(r->body)));
    }
    auto challenge = r->headers.find("www-authenticate");
    if (challenge == r->headers.end()) {
      return Status(Code::kPermissionDenied,
                    fmt::format("{}: {} answered HTTP 401 without a WWW-Authenticate challenge",
                                call.what, host));
    }
    OCIFS_RETURN_IF_ERROR(Authenticate(ref, call.what, challenge->second));
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
    // The challenge's scopes (space-separated), and this repository's with the actions this
    // client needs, so that a push does not come back for `push` after a token for `pull`.
    const std::string own = fmt::format("repository:{}:", ref.repository);
    std::vector<std::string> scopes;
    for (std::string_view rest = challenge.params["scope"]; !rest.empty();) {
      size_t space = rest.find(' ');
      std::string_view one = rest.substr(0, space);
      if (!one.empty() && !(options_.push && one.starts_with(own))) scopes.emplace_back(one);
      rest = space == std::string_view::npos ? std::string_view() : rest.substr(space + 1);
    }
    if (options_.push) {
      scopes.insert(scopes.begin(), own + "pull,push");
    } else if (scopes.empty()) {
      scopes.push_back(own + "pull");
    }
    std::vector<std::string> query;
    if (challenge.params.contains("service"))
      query.push_back("service=" + UrlEncode(challenge.params["service"]));
    for (const auto& scope : scopes) query.push_back("scope=" + UrlEncode(scope));
    const std::string url = fmt::format(
        "{}{}{}", realm, realm.find('?') == std::string::npos ? "?" : "&", fmt::join(query, "&"));
    auto make = [&] {
      HttpRequest req;
      req.url = url;
      req.verify_tls = !Insecure(host);
      if (cred)
        req.headers.push_back("Authorization: Basic " +
                              Base64Encode(cred->username + ":" + cred->secret));
      return req;
    };
    OCIFS_ASSIGN_OR_RETURN(
        HttpResponse r, SendWithRetries(what + ": token", "token", make, nullptr, 1 << 20, true));
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
  OCIFS_ASSIGN_OR_RETURN(
      HttpResponse r,
      Do(ref, {.what = what,
               .kind = "manifest",
               .target = fmt::format("/v2/{}/manifests/{}", ref.repository, reference),
               .headers = {kManifestAccept},
               .max_body = kMaxManifestBytes}));
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
  VerifiedDownload download(what, digest, size, sink, restart);
  OCIFS_ASSIGN_OR_RETURN(
      HttpResponse r,
      Do(ref, {.what = what,
               .kind = "blob",
               .target = fmt::format("/v2/{}/blobs/{}", ref.repository, digest.str()),
               .extra_headers = [&] { return download.RangeHeaders(); },
               .sink = &download.body_sink(),
               .max_body = kMaxErrorBody}));
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
  return download.Finish();
}

// ---- pushing ----

namespace {

// "0-1023" (the Range of an upload session: the bytes held, inclusive) -> 1024. Distribution
// answers "0-0" for an empty session too; a session's first chunk is never one byte, so that
// reads as nothing held.
std::optional<uint64_t> ParseUploadRange(const std::map<std::string, std::string>& headers) {
  auto it = headers.find("range");
  if (it == headers.end()) return std::nullopt;
  std::string_view v = it->second;
  if (v.starts_with("bytes=")) v.remove_prefix(6);
  size_t dash = v.find('-');
  if (dash == std::string_view::npos || v.substr(0, dash) != "0") return std::nullopt;
  uint64_t end = 0;
  std::string_view digits = v.substr(dash + 1);
  if (digits.empty()) return std::nullopt;
  for (char c : digits) {
    if (c < '0' || c > '9') return std::nullopt;
    end = end * 10 + static_cast<uint64_t>(c - '0');
  }
  return end == 0 ? 0 : end + 1;
}

std::string WithQuery(const std::string& target, const std::string& param) {
  return target + (target.find('?') == std::string::npos ? "?" : "&") + param;
}

// What a refusal of a push request says, by status: 401/403 permission, 404 not found.
Status PushRefused(const std::string& what, const std::string& host, const HttpResponse& r) {
  std::string said = RegistryError(r.body);
  std::string msg = fmt::format("{}: {} answered HTTP {}{}", what, host, r.status,
                                said.empty() ? std::string() : " (" + said + ")");
  if (r.status == 401 || r.status == 403) return Status(Code::kPermissionDenied, msg);
  if (r.status == 404) return NotFound(msg);
  if (r.status == 400 || r.status == 413 || r.status == 415) return InvalidArgument(msg);
  return Status(Code::kIo, msg);
}

}  // namespace

Result<std::optional<uint64_t>> RegistryClient::BlobSize(const ImageReference& ref,
                                                         const Digest& digest) {
  const std::string what =
      fmt::format("blob {} of `{}/{}`", digest.str(), ref.domain, ref.repository);
  OCIFS_ASSIGN_OR_RETURN(
      HttpResponse r,
      Do(ref, {.what = what,
               .kind = "blob-exists",
               .method = "HEAD",
               .target = fmt::format("/v2/{}/blobs/{}", ref.repository, digest.str())}));
  if (r.status == 404) return std::optional<uint64_t>();
  if (r.status != 200) return PushRefused(what, ref.Host(), r);
  uint64_t size = 0;
  if (auto it = r.headers.find("content-length"); it != r.headers.end())
    size = std::strtoull(it->second.c_str(), nullptr, 10);
  return std::optional<uint64_t>(size);
}

Result<std::optional<UploadSession>> RegistryClient::StartUpload(
    const ImageReference& ref, const std::optional<std::pair<Digest, std::string>>& mount_from) {
  std::string target = fmt::format("/v2/{}/blobs/uploads/", ref.repository);
  std::string what = fmt::format("upload to `{}/{}`", ref.domain, ref.repository);
  if (mount_from) {
    target +=
        fmt::format("?mount={}&from={}", mount_from->first.str(), UrlEncode(mount_from->second));
    what = fmt::format("mount of {} from `{}` into `{}/{}`", mount_from->first.str(),
                       mount_from->second, ref.domain, ref.repository);
  }
  OCIFS_ASSIGN_OR_RETURN(
      HttpResponse r,
      Do(ref, {.what = what, .kind = "upload", .method = "POST", .target = target}));
  if (r.status == 201 && mount_from) return std::optional<UploadSession>();
  if (r.status != 202) return PushRefused(what, ref.Host(), r);
  auto location = r.headers.find("location");
  if (location == r.headers.end() || location->second.empty())
    return Corrupt(fmt::format("{}: {} started an upload without a Location", what, ref.Host()));
  return std::optional<UploadSession>(UploadSession{Target(ref, location->second), 0});
}

Result<UploadSession> RegistryClient::PatchUpload(const ImageReference& ref,
                                                  const UploadSession& session,
                                                  std::span<const std::byte> chunk) {
  const uint64_t size = chunk.size();
  const std::string what = fmt::format("upload to `{}/{}`: bytes {}-{}", ref.domain, ref.repository,
                                       session.received, session.received + size - 1);
  OCIFS_ASSIGN_OR_RETURN(HttpResponse r,
                         Do(ref, {.what = what,
                                  .kind = "upload",
                                  .method = "PATCH",
                                  .target = session.location,
                                  .headers = {"Content-Type: application/octet-stream",
                                              fmt::format("Content-Range: {}-{}", session.received,
                                                          session.received + size - 1)},
                                  .body = [chunk] { return BytesBody(chunk); },
                                  .retry = false}));
  if (r.status != 202 && r.status != 204) return PushRefused(what, ref.Host(), r);
  UploadSession next = session;
  if (auto it = r.headers.find("location"); it != r.headers.end() && !it->second.empty())
    next.location = Target(ref, it->second);
  next.received = ParseUploadRange(r.headers).value_or(session.received + size);
  return next;
}

Result<UploadSession> RegistryClient::UploadStatus(const ImageReference& ref,
                                                   const UploadSession& session) {
  const std::string what =
      fmt::format("status of an upload to `{}/{}`", ref.domain, ref.repository);
  OCIFS_ASSIGN_OR_RETURN(HttpResponse r,
                         Do(ref, {.what = what, .kind = "upload", .target = session.location}));
  if (r.status != 204 && r.status != 200) return PushRefused(what, ref.Host(), r);
  UploadSession now = session;
  if (auto it = r.headers.find("location"); it != r.headers.end() && !it->second.empty())
    now.location = Target(ref, it->second);
  now.received = ParseUploadRange(r.headers).value_or(0);
  return now;
}

Status RegistryClient::FinishUpload(const ImageReference& ref, const UploadSession& session,
                                    const Digest& digest, std::span<const std::byte> last) {
  const std::string what =
      fmt::format("upload of {} to `{}/{}`", digest.str(), ref.domain, ref.repository);
  Call call{.what = what,
            .kind = "upload",
            .method = "PUT",
            .target = WithQuery(session.location, "digest=" + UrlEncode(digest.str()))};
  if (!last.empty()) {
    call.headers.push_back("Content-Type: application/octet-stream");
    call.body = [last] { return BytesBody(last); };
    call.retry = false;  // like a chunk: only the upload's status can tell what arrived
  }
  OCIFS_ASSIGN_OR_RETURN(HttpResponse r, Do(ref, call));
  if (r.status != 201 && r.status != 204) return PushRefused(what, ref.Host(), r);
  if (auto it = r.headers.find("docker-content-digest");
      it != r.headers.end() && it->second != digest.str()) {
    return Corrupt(fmt::format("{}: the registry stored it as {}", what, it->second));
  }
  return Status::Ok();
}

void RegistryClient::CancelUpload(const ImageReference& ref, const UploadSession& session) {
  (void)Do(ref, {.what = "cancel of an upload",
                 .kind = "upload",
                 .method = "DELETE",
                 .target = session.location,
                 .retry = false});
}

Result<PushedManifest> RegistryClient::PutManifest(const ImageReference& ref,
                                                   const std::string& reference,
                                                   const std::string& media_type,
                                                   const std::string& bytes) {
  const std::string what =
      fmt::format("manifest `{}` of `{}/{}`", reference, ref.domain, ref.repository);
  const auto content = std::as_bytes(std::span(bytes));
  OCIFS_ASSIGN_OR_RETURN(
      HttpResponse r,
      Do(ref, {.what = what,
               .kind = "manifest-put",
               .method = "PUT",
               .target = fmt::format("/v2/{}/manifests/{}", ref.repository, reference),
               .headers = {"Content-Type: " + media_type},
               .body = [content] { return BytesBody(content); }}));
  if (r.status != 201 && r.status != 200 && r.status != 202)
    return PushRefused(what, ref.Host(), r);
  PushedManifest pushed{Digest::Of(bytes), r.headers.contains("oci-subject")};
  if (auto it = r.headers.find("docker-content-digest");
      it != r.headers.end() && it->second != pushed.digest.str()) {
    return Corrupt(fmt::format("{}: the bytes hash to {}, the registry says {}", what,
                               pushed.digest.str(), it->second));
  }
  return pushed;
}

}  // namespace ocifs
