#include "core/registry/registry.h"

#include <deque>
#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>

#include "core/support/text.h"

namespace ocifs {
namespace {

// Answers requests from a script, in order, and records them.
class ScriptedTransport : public HttpTransport {
 public:
  using Step = std::function<Result<HttpResponse>(const HttpRequest&, const BodySink*)>;
  std::deque<Step> steps;
  std::vector<HttpRequest> seen;

  Result<HttpResponse> Send(const HttpRequest& request, const BodySink* sink, size_t) override {
    seen.push_back(request);
    if (steps.empty()) return Internal("unexpected request " + request.url);
    Step step = std::move(steps.front());
    steps.pop_front();
    return step(request, sink);
  }
};

ScriptedTransport::Step Answer(long status, std::string body,
                               std::map<std::string, std::string> headers = {}) {
  return [=](const HttpRequest&, const BodySink* sink) -> Result<HttpResponse> {
    HttpResponse r;
    r.status = status;
    r.headers = headers;
    if (sink != nullptr && status >= 200 && status < 300) {
      OCIFS_RETURN_IF_ERROR((*sink)(status, std::as_bytes(std::span(body))));
    } else {
      r.body = body;
    }
    return r;
  };
}

ScriptedTransport::Step Cut(std::string partial_body) {  // sends some bytes, then the link drops
  return [=](const HttpRequest&, const BodySink* sink) -> Result<HttpResponse> {
    if (sink != nullptr)
      OCIFS_RETURN_IF_ERROR((*sink)(200, std::as_bytes(std::span(partial_body))));
    return Status(Code::kIo, "127.0.0.1: Connection reset by peer");
  };
}

bool HasHeader(const HttpRequest& r, std::string_view h) {
  return std::find(r.headers.begin(), r.headers.end(), h) != r.headers.end();
}

class FixedCredentials : public CredentialStore {
 public:
  explicit FixedCredentials(std::optional<Credential> c) : c_(std::move(c)) {}
  Result<std::optional<Credential>> Lookup(const std::string&) const override { return c_; }

 private:
  std::optional<Credential> c_;
};

struct Fixture {
  std::shared_ptr<ScriptedTransport> transport = std::make_shared<ScriptedTransport>();
  std::vector<std::chrono::milliseconds> sleeps;
  std::unique_ptr<RegistryClient> client;
  ImageReference ref = *ParseImageReference("registry.example:5000/library/python:3.11-slim");

  explicit Fixture(std::optional<Credential> cred = std::nullopt, RegistryOptions o = {}) {
    o.retry.sleep = [this](std::chrono::milliseconds d) { sleeps.push_back(d); };
    client =
        std::make_unique<RegistryClient>(o, transport, std::make_shared<FixedCredentials>(cred));
  }
};

const std::string kManifest =
    R"({"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json"})";

TEST(RegistryClient, BearerTokenFlowAnonymousAndWithCredentials) {
  for (bool with_cred : {false, true}) {
    Fixture f(with_cred ? std::optional<Credential>(Credential{"alice", "s3cret"}) : std::nullopt);
    f.transport->steps = {
        Answer(
            401, "",
            {{"www-authenticate",
              R"(Bearer realm="https://auth.example/token",service="reg",scope="repository:library/python:pull")"}}),
        Answer(200, R"({"token":"T0K"})"),
        Answer(200, kManifest, {{"content-type", "application/vnd.oci.image.manifest.v1+json"}}),
    };
    auto m = f.client->GetManifest(f.ref, "3.11-slim");
    ASSERT_TRUE(m.ok()) << m.status().message();
    EXPECT_EQ(m->media_type, "application/vnd.oci.image.manifest.v1+json");
    EXPECT_EQ(m->digest, Digest::Of(kManifest));
    ASSERT_EQ(f.transport->seen.size(), 3u);
    EXPECT_EQ(f.transport->seen[0].url,
              "https://registry.example:5000/v2/library/python/manifests/3.11-slim");
    EXPECT_TRUE(HasHeader(f.transport->seen[0], kManifestAccept));
    EXPECT_EQ(f.transport->seen[1].url,
              "https://auth.example/token?service=reg&scope=repository%3Alibrary%2Fpython%3Apull");
    EXPECT_EQ(
        HasHeader(f.transport->seen[1], "Authorization: Basic " + Base64Encode("alice:s3cret")),
        with_cred);
    EXPECT_TRUE(HasHeader(f.transport->seen[2], "Authorization: Bearer T0K"));
  }
}

TEST(RegistryClient, ExpiredTokenIsFetchedAgainOnce) {
  Fixture f;
  auto challenge = std::map<std::string, std::string>{
      {"www-authenticate", R"(Bearer realm="https://auth.example/token",service="reg")"}};
  f.transport->steps = {
      Answer(401, "", challenge),
      Answer(200, R"({"access_token":"A"})"),
      Answer(200, kManifest),
      // Later: the token expired.
      Answer(401, "", challenge),
      Answer(200, R"({"token":"B"})"),
      Answer(200, kManifest),
  };
  ASSERT_TRUE(f.client->GetManifest(f.ref, "3.11-slim").ok());
  auto again = f.client->GetManifest(f.ref, "3.11-slim");
  ASSERT_TRUE(again.ok()) << again.status().message();
  EXPECT_TRUE(HasHeader(f.transport->seen[3], "Authorization: Bearer A"));
  EXPECT_TRUE(HasHeader(f.transport->seen[5], "Authorization: Bearer B"));
}

TEST(RegistryClient, AuthenticationFailures) {
  struct Case {
    const char* label;
    std::optional<Credential> cred;
    std::vector<ScriptedTransport::Step> steps;
    Code code;
    std::string message;
  } cases[] = {
      {"basic without credentials",
       std::nullopt,
       {Answer(401, "", {{"www-authenticate", R"(Basic realm="Registry")"}})},
       Code::kPermissionDenied,
       "wants a user name and password, and none is stored for `registry.example:5000`"},
      {"basic with wrong credentials",
       Credential{"alice", "wrong-s3cret"},
       {Answer(401, "", {{"www-authenticate", R"(Basic realm="Registry")"}}),
        Answer(401, R"({"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]})",
               {{"www-authenticate", R"(Basic realm="Registry")"}})},
       Code::kPermissionDenied,
       "refused the credentials (HTTP 401: UNAUTHORIZED"},
      {"token server refuses",
       Credential{"alice", "wrong-s3cret"},
       {Answer(401, "", {{"www-authenticate", R"(Bearer realm="https://auth.example/t")"}}),
        Answer(401, "")},
       Code::kPermissionDenied,
       "refused the credentials stored for `registry.example:5000` (HTTP 401)"},
      {"plain-http token realm",
       std::nullopt,
       {Answer(401, "", {{"www-authenticate", R"(Bearer realm="http://auth.example/t")"}})},
       Code::kPermissionDenied,
       "names a token server that is not https"},
      {"no challenge",
       std::nullopt,
       {Answer(401, "")},
       Code::kPermissionDenied,
       "without a WWW-Authenticate challenge"},
      {"unknown scheme",
       std::nullopt,
       {Answer(401, "", {{"www-authenticate", R"(Negotiate)"}})},
       Code::kUnsupported,
       "asks for `negotiate` authentication"},
      {"unknown tag",
       std::nullopt,
       {Answer(404, R"({"errors":[{"code":"MANIFEST_UNKNOWN","message":"manifest unknown"}]})")},
       Code::kNotFound,
       "manifest `3.11-slim` of `registry.example:5000/library/python`: not found at "
       "registry.example:5000 (MANIFEST_UNKNOWN: manifest unknown)"},
      {"forbidden", std::nullopt, {Answer(403, "")}, Code::kPermissionDenied, "denied access"},
  };
  for (auto& c : cases) {
    Fixture f(c.cred);
    f.transport->steps.assign(c.steps.begin(), c.steps.end());
    auto m = f.client->GetManifest(f.ref, "3.11-slim");
    ASSERT_FALSE(m.ok()) << c.label;
    EXPECT_EQ(m.status().code(), c.code) << c.label << ": " << m.status().message();
    EXPECT_NE(m.status().message().find(c.message), std::string::npos)
        << c.label << ": " << m.status().message();
    EXPECT_EQ(m.status().message().find("s3cret"), std::string::npos) << c.label;
    EXPECT_TRUE(f.transport->steps.empty()) << c.label << ": fewer requests than scripted";
  }
}

TEST(RegistryClient, RetriesTransientFailuresWithBackoffAndRetryAfter) {
  Fixture f;
  f.transport->steps = {
      [](const HttpRequest&, const BodySink*) -> Result<HttpResponse> {
        return Status(Code::kIo, "registry.example:5000: Connection refused");
      },
      Answer(503, ""),
      Answer(429, "", {{"retry-after", "3"}}),
      Answer(429, "", {{"retry-after", "600"}}),  // capped at max_delay
      Answer(200, kManifest),
  };
  auto m = f.client->GetManifest(f.ref, "3.11-slim");
  ASSERT_TRUE(m.ok()) << m.status().message();
  using ms = std::chrono::milliseconds;
  EXPECT_EQ(f.sleeps, (std::vector<ms>{ms(250), ms(500), ms(3000), ms(8000)}));
  EXPECT_EQ(f.client->RequestCounts()["manifest"], 5u);
}

TEST(RegistryClient, GivesUpAfterTheAttemptsAndFailsFastOnPermanentErrors) {
  Fixture f;
  for (int i = 0; i < 6; ++i) f.transport->steps.push_back(Answer(502, ""));
  auto m = f.client->GetManifest(f.ref, "3.11-slim");
  ASSERT_FALSE(m.ok());
  EXPECT_EQ(m.status().code(), Code::kIo);
  EXPECT_NE(m.status().message().find("gave up after 6 attempts: HTTP 502"), std::string::npos)
      << m.status().message();

  Fixture g;
  g.transport->steps = {Answer(400, R"({"errors":[{"code":"NAME_INVALID"}]})")};
  auto n = g.client->GetManifest(g.ref, "3.11-slim");
  ASSERT_FALSE(n.ok());
  EXPECT_TRUE(g.sleeps.empty());
  EXPECT_NE(n.status().message().find("HTTP 400 NAME_INVALID"), std::string::npos)
      << n.status().message();
}

TEST(RegistryClient, ManifestDigestsAreChecked) {
  Fixture f;
  std::string want = "sha256:" + std::string(64, 'a');
  f.transport->steps = {Answer(200, kManifest),
                        Answer(200, kManifest, {{"docker-content-digest", want}})};
  auto by_digest = f.client->GetManifest(f.ref, want);
  ASSERT_FALSE(by_digest.ok());
  EXPECT_EQ(by_digest.status().code(), Code::kCorrupt);
  auto by_tag = f.client->GetManifest(f.ref, "3.11-slim");
  ASSERT_FALSE(by_tag.ok());
  EXPECT_NE(by_tag.status().message().find("the registry says " + want), std::string::npos);
}

TEST(RegistryClient, BlobsResumeAfterACutAndAreVerified) {
  const std::string blob = std::string(3000, 'x') + std::string(2000, 'y');
  const Digest d = Digest::Of(blob);
  struct Case {
    const char* label;
    std::vector<ScriptedTransport::Step> steps;
    Code code;
    int restarts;
  } cases[] = {
      {"in one piece", {Answer(200, blob)}, Code::kOk, 0},
      {"cut, then a 206 from the cut on",
       {Cut(blob.substr(0, 3000)),
        [&](const HttpRequest& r, const BodySink* sink) -> Result<HttpResponse> {
          EXPECT_TRUE(HasHeader(r, "Range: bytes=3000-"));
          OCIFS_RETURN_IF_ERROR((*sink)(206, std::as_bytes(std::span(blob).subspan(3000))));
          HttpResponse resp;
          resp.status = 206;
          return resp;
        }},
       Code::kOk,
       0},
      {"cut, then the whole blob again (Range not honoured)",
       {Cut(blob.substr(0, 1000)), Answer(200, blob)},
       Code::kOk,
       1},
      {"wrong bytes", {Answer(200, std::string(5000, 'z'))}, Code::kCorrupt, 0},
      {"too many bytes", {Answer(200, blob + "!")}, Code::kCorrupt, 0},
      {"too few bytes", {Answer(200, blob.substr(1))}, Code::kCorrupt, 0},
      {"unknown blob",
       {Answer(404, R"({"errors":[{"code":"BLOB_UNKNOWN"}]})")},
       Code::kNotFound,
       0},
  };
  for (auto& c : cases) {
    Fixture f;
    f.transport->steps.assign(c.steps.begin(), c.steps.end());
    std::string got;
    int restarts = 0;
    Status s = f.client->GetBlob(
        f.ref, d, blob.size(),
        [&](std::span<const std::byte> b) {
          got.append(reinterpret_cast<const char*>(b.data()), b.size());
          return Status::Ok();
        },
        [&] {
          ++restarts;
          got.clear();
          return Status::Ok();
        });
    EXPECT_EQ(s.code(), c.code) << c.label << ": " << s.message();
    EXPECT_EQ(restarts, c.restarts) << c.label;
    if (c.code == Code::kOk) {
      EXPECT_EQ(got, blob) << c.label;
    }
  }
}

TEST(RegistryClient, PlainHttpOnlyForLoopbackAndInsecureHosts) {
  auto tls_fails = [](const HttpRequest& r, const BodySink*) -> Result<HttpResponse> {
    if (r.url.starts_with("https://")) return Unsupported("TLS failed: wrong version number");
    return Internal("unreachable");
  };
  struct Case {
    std::string reference;
    std::vector<std::string> insecure;
    bool falls_back;
  } cases[] = {
      {"127.0.0.1:5000/app:v1", {}, true},
      {"localhost:5000/app:v1", {}, true},
      {"[::1]:5000/app:v1", {}, true},
      {"registry.lan:5000/app:v1", {"registry.lan:5000"}, true},
      {"registry.lan:5000/app:v1", {"registry.lan"}, false},
      {"ghcr.io/app:v1", {}, false},
  };
  for (const auto& c : cases) {
    RegistryOptions o;
    o.insecure = c.insecure;
    Fixture f(std::nullopt, o);
    f.ref = *ParseImageReference(c.reference);
    f.transport->steps = {tls_fails, Answer(200, kManifest), Answer(200, kManifest)};
    auto m = f.client->GetManifest(f.ref, "v1");
    EXPECT_EQ(m.ok(), c.falls_back) << c.reference << ": " << m.status().message();
    if (!c.falls_back) continue;
    EXPECT_FALSE(f.transport->seen[0].verify_tls) << c.reference;
    EXPECT_TRUE(f.transport->seen[1].url.starts_with("http://")) << c.reference;
    ASSERT_TRUE(f.client->GetManifest(f.ref, "v1").ok());  // remembered: no TLS attempt
    EXPECT_TRUE(f.transport->seen[2].url.starts_with("http://")) << c.reference;
  }
}

TEST(RegistryClient, OfflineUsesNoNetwork) {
  RegistryOptions o;
  o.offline = true;
  Fixture f(std::nullopt, o);
  auto m = f.client->GetManifest(f.ref, "3.11-slim");
  ASSERT_FALSE(m.ok());
  EXPECT_EQ(m.status().code(), Code::kFailedPrecondition);
  EXPECT_NE(m.status().message().find("--offline"), std::string::npos);
  EXPECT_TRUE(f.transport->seen.empty());
}

}  // namespace
}  // namespace ocifs
