#include "core/registry/http.h"

#include <curl/curl.h>
#include <dlfcn.h>

#include <algorithm>
#include <cctype>
#include <cstring>
#include <mutex>

#include <fmt/format.h>

namespace ocifs {
namespace {

std::string HostOf(const std::string& url) {
  size_t start = url.find("://");
  start = start == std::string::npos ? 0 : start + 3;
  size_t end = url.find_first_of("/?#", start);
  return url.substr(start, end == std::string::npos ? std::string::npos : end - start);
}

// libcurl, loaded at the first request rather than linked. Linked, it and the libraries it needs
// (TLS, HTTP/2, IDN, LDAP, Kerberos, SASL, ...: 27 of the 41 the program would load) cost every
// run of every command about 12 ms of loading and relocation on the benchmark machine (a
// program that links libcurl and returns at once starts in 15 ms, 3.5 ms without), while most
// runs never make a request: a mount on a local or scratch base, build, inspect, a warm remount.
struct CurlApi {
  decltype(&curl_global_init) global_init;
  decltype(&curl_easy_init) easy_init;
  decltype(&curl_easy_cleanup) easy_cleanup;
  decltype(&curl_easy_setopt) easy_setopt;
  decltype(&curl_easy_perform) easy_perform;
  decltype(&curl_easy_getinfo) easy_getinfo;
  decltype(&curl_easy_strerror) easy_strerror;
  decltype(&curl_slist_append) slist_append;
  decltype(&curl_slist_free_all) slist_free_all;
};

constexpr const char* kCurlLibrary = "libcurl.so.4";

// Loads libcurl and initializes it, once per process; never unloaded.
Result<const CurlApi*> Curl() {
  static const Result<const CurlApi*> loaded = []() -> Result<const CurlApi*> {
    void* lib = ::dlopen(kCurlLibrary, RTLD_NOW | RTLD_LOCAL);
    if (lib == nullptr) {
      return Unsupported(fmt::format(
          "registry and package archive access needs libcurl ({}), which could not be loaded: "
          "{}; install it (Debian: apt-get install libcurl4)",
          kCurlLibrary, ::dlerror()));
    }
    static CurlApi api;
    std::string missing;
    auto bind = [&](auto& fn, const char* name) {
      fn = reinterpret_cast<std::remove_reference_t<decltype(fn)>>(::dlsym(lib, name));
      if (fn == nullptr) missing += missing.empty() ? name : std::string(", ") + name;
    };
    bind(api.global_init, "curl_global_init");
    bind(api.easy_init, "curl_easy_init");
    bind(api.easy_cleanup, "curl_easy_cleanup");
    bind(api.easy_setopt, "curl_easy_setopt");
    bind(api.easy_perform, "curl_easy_perform");
    bind(api.easy_getinfo, "curl_easy_getinfo");
    bind(api.easy_strerror, "curl_easy_strerror");
    bind(api.slist_append, "curl_slist_append");
    bind(api.slist_free_all, "curl_slist_free_all");
    if (!missing.empty()) {
      return Unsupported(
          fmt::format("{} is not a usable libcurl: it lacks {}", kCurlLibrary, missing));
    }
    if (CURLcode rc = api.global_init(CURL_GLOBAL_DEFAULT); rc != CURLE_OK) {
      return Internal(
          fmt::format("libcurl could not initialize (curl_global_init: {})", static_cast<int>(rc)));
    }
    return &api;
  }();
  return loaded;
}

struct Transfer {
  const CurlApi* api = nullptr;
  CURL* curl = nullptr;
  const BodySink* sink = nullptr;
  size_t max_body = 0;
  HttpResponse response;
  Status sink_error;
  bool too_large = false;
  const HttpBody* body = nullptr;
  uint64_t body_sent = 0;
  Status body_error;
};

size_t OnHeader(char* data, size_t size, size_t n, void* user) {
  auto& t = *static_cast<Transfer*>(user);
  std::string_view line(data, size * n);
  if (line.starts_with("HTTP/")) {
    t.response.headers.clear();  // a new answer (after a redirect or a 100 Continue)
    return size * n;
  }
  size_t colon = line.find(':');
  if (colon == std::string_view::npos) return size * n;
  std::string name(line.substr(0, colon));
  std::transform(name.begin(), name.end(), name.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  std::string_view value = line.substr(colon + 1);
  while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) value.remove_prefix(1);
  while (!value.empty() && (value.back() == '\r' || value.back() == '\n' || value.back() == ' '))
    value.remove_suffix(1);
  t.response.headers[name] = std::string(value);
  return size * n;
}

size_t OnBody(char* data, size_t size, size_t n, void* user) {
  auto& t = *static_cast<Transfer*>(user);
  long status = 0;
  t.api->easy_getinfo(t.curl, CURLINFO_RESPONSE_CODE, &status);
  const size_t len = size * n;
  if (t.sink != nullptr && status >= 200 && status < 300) {
    Status s = (*t.sink)(status, std::span(reinterpret_cast<const std::byte*>(data), len));
    if (!s.ok()) {
      t.sink_error = std::move(s);
      return 0;  // aborts the transfer
    }
    return len;
  }
  if (t.response.body.size() + len > t.max_body) {
    t.too_large = true;
    return 0;
  }
  t.response.body.append(data, len);
  return len;
}

size_t OnRead(char* data, size_t size, size_t n, void* user) {
  auto& t = *static_cast<Transfer*>(user);
  if (t.body == nullptr) return 0;
  const uint64_t left = t.body->size - t.body_sent;
  if (left == 0) return 0;
  const size_t want = static_cast<size_t>(std::min<uint64_t>(size * n, left));
  auto got = t.body->read(std::span(reinterpret_cast<std::byte*>(data), want));
  if (!got.ok()) {
    t.body_error = got.status();
    return CURL_READFUNC_ABORT;
  }
  if (*got == 0 || *got > want) {
    t.body_error = Internal(
        fmt::format("a request body ended after {} of its {} bytes", t.body_sent, t.body->size));
    return CURL_READFUNC_ABORT;
  }
  t.body_sent += *got;
  return *got;
}

class CurlTransport : public HttpTransport {
 public:
  Result<HttpResponse> Send(const HttpRequest& request, const BodySink* sink,
                            size_t max_body) override {
    OCIFS_ASSIGN_OR_RETURN(const CurlApi* api, Curl());
    std::unique_ptr<CURL, decltype(&curl_easy_cleanup)> curl(api->easy_init(), api->easy_cleanup);
    if (!curl) return Internal("curl_easy_init failed");
    struct curl_slist* headers = nullptr;
    for (const auto& h : request.headers) headers = api->slist_append(headers, h.c_str());
    const bool reads = request.method == "GET" || request.method == "HEAD";
    // No `Expect: 100-continue` round trip: registries read the body or answer at once.
    if (!reads) headers = api->slist_append(headers, "Expect:");
    std::unique_ptr<curl_slist, decltype(&curl_slist_free_all)> header_guard(headers,
                                                                             api->slist_free_all);
    Transfer t;
    t.api = api;
    t.curl = curl.get();
    t.sink = sink;
    t.max_body = max_body;
    CURL* c = curl.get();
    api->easy_setopt(c, CURLOPT_URL, request.url.c_str());
    api->easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    api->easy_setopt(c, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
    api->easy_setopt(c, CURLOPT_FOLLOWLOCATION, reads ? 1L : 0L);
    api->easy_setopt(c, CURLOPT_MAXREDIRS, 10L);
    api->easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    api->easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 30L);
    // A transfer that moves less than 1 KiB/s for 60 s is dead: retry it.
    api->easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1024L);
    api->easy_setopt(c, CURLOPT_LOW_SPEED_TIME, 60L);
    api->easy_setopt(c, CURLOPT_USERAGENT, "ocifs/" OCIFS_VERSION_STRING);
    api->easy_setopt(c, CURLOPT_HTTPHEADER, headers);
    api->easy_setopt(c, CURLOPT_SSL_VERIFYPEER, request.verify_tls ? 1L : 0L);
    api->easy_setopt(c, CURLOPT_SSL_VERIFYHOST, request.verify_tls ? 2L : 0L);
    if (request.method == "HEAD") api->easy_setopt(c, CURLOPT_NOBODY, 1L);
    if (!reads) {
      // An upload (with an empty body when there is none), under the request's own method.
      t.body = request.body ? &*request.body : nullptr;
      api->easy_setopt(c, CURLOPT_UPLOAD, 1L);
      api->easy_setopt(c, CURLOPT_CUSTOMREQUEST, request.method.c_str());
      api->easy_setopt(c, CURLOPT_INFILESIZE_LARGE,
                       static_cast<curl_off_t>(request.body ? request.body->size : 0));
      api->easy_setopt(c, CURLOPT_READFUNCTION, OnRead);
      api->easy_setopt(c, CURLOPT_READDATA, &t);
    }
    api->easy_setopt(c, CURLOPT_HEADERFUNCTION, OnHeader);
    api->easy_setopt(c, CURLOPT_HEADERDATA, &t);
    api->easy_setopt(c, CURLOPT_WRITEFUNCTION, OnBody);
    api->easy_setopt(c, CURLOPT_WRITEDATA, &t);
    char error[CURL_ERROR_SIZE] = {};
    api->easy_setopt(c, CURLOPT_ERRORBUFFER, error);

    CURLcode rc = api->easy_perform(c);
    if (!t.sink_error.ok()) return t.sink_error;
    if (!t.body_error.ok()) return t.body_error;
    const std::string host = HostOf(request.url);
    if (t.too_large) {
      return Corrupt(fmt::format("{}: the answer is larger than {} bytes", host, max_body));
    }
    if (rc != CURLE_OK) {
      std::string why = error[0] != '\0' ? error : api->easy_strerror(rc);
      switch (rc) {
        case CURLE_SSL_CONNECT_ERROR:
        case CURLE_PEER_FAILED_VERIFICATION:
        case CURLE_SSL_CACERT_BADFILE:
        case CURLE_SSL_CERTPROBLEM:
          return Unsupported(fmt::format("TLS with {} failed: {}", host, why));
        case CURLE_URL_MALFORMAT:
        case CURLE_UNSUPPORTED_PROTOCOL:
          return InvalidArgument(fmt::format("bad registry URL for {}: {}", host, why));
        default:
          return Status(Code::kIo, fmt::format("{}: {}", host, why));
      }
    }
    api->easy_getinfo(c, CURLINFO_RESPONSE_CODE, &t.response.status);
    return std::move(t.response);
  }
};

}  // namespace

std::unique_ptr<HttpTransport> MakeCurlTransport() { return std::make_unique<CurlTransport>(); }

HttpBody BytesBody(std::span<const std::byte> bytes) {
  auto offset = std::make_shared<size_t>(0);
  return HttpBody{bytes.size(), [bytes, offset](std::span<std::byte> out) -> Result<size_t> {
                    const size_t n = std::min(out.size(), bytes.size() - *offset);
                    std::memcpy(out.data(), bytes.data() + *offset, n);
                    *offset += n;
                    return n;
                  }};
}

std::string UrlEncode(std::string_view s) {
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += fmt::format("%{:02X}", c);
    }
  }
  return out;
}

}  // namespace ocifs
