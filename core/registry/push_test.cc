#include "core/registry/push.h"

#include <zlib.h>
#include <zstd.h>

#include <cstring>
#include <map>
#include <mutex>
#include <random>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "core/oci/layout_test_util.h"
#include "core/registry/compress_test_util.h"
#include "core/support/test_util.h"

namespace ocifs {
namespace {

using json = nlohmann::json;

// ---- pushing ----

// The distribution API in memory, with the behaviour of docker-registry 2.8 where it matters: an
// upload session is a URL with a state that moves on with each chunk; a chunk that arrives in
// part is kept, and then the session is cancelled (`drop_partial`), as distribution does when the
// next request's state no longer matches; a PUT checks the digest of what was uploaded.
class FakeDistribution : public HttpTransport {
 public:
  struct Fault {
    std::string method;  // "PATCH", "PUT", ...
    std::string path;    // a substring of the path
    int skip = 0;        // matching requests let through first
    enum Kind { kCut, kStatus, kLoseAnswer } kind = kCut;
    long status = 503;
    bool used = false;
  };
  std::map<std::string, std::string> blobs;      // "REPO DIGEST" -> bytes
  std::map<std::string, std::string> manifests;  // "REPO REFERENCE" -> bytes
  std::map<std::string, std::string> media_types;
  std::vector<Fault> faults;
  bool drop_partial = true;
  bool referrers_api = false;
  std::vector<std::string> seen;                 // "METHOD PATH"
  std::map<std::string, int> uploads_completed;  // by digest

  Result<HttpResponse> Send(const HttpRequest& req, const BodySink* sink, size_t) override {
    std::lock_guard lock(mu_);
    const std::string rest = req.url.substr(req.url.find("://") + 3);
    const std::string path_query = rest.substr(rest.find('/'));
    const std::string path = path_query.substr(0, path_query.find('?'));
    const std::string query = path_query.find('?') == std::string::npos
                                  ? ""
                                  : path_query.substr(path_query.find('?') + 1);
    seen.push_back(req.method + " " + path);
    std::string body;
    bool cut = false;
    Fault* fault = nullptr;
    for (auto& f : faults) {
      if (!f.used && f.method == req.method && path.find(f.path) != std::string::npos) {
        if (f.skip-- > 0) continue;
        f.used = true;
        fault = &f;
        break;
      }
    }
    if (fault != nullptr && fault->kind == Fault::kStatus) return Answer(fault->status);
    if (req.body) {
      std::vector<std::byte> buf(req.body->size);
      size_t got = 0;
      while (got < buf.size()) {
        auto n = req.body->read(std::span(buf.data() + got, buf.size() - got));
        if (!n.ok()) return n.status();
        got += *n;
      }
      body.assign(reinterpret_cast<const char*>(buf.data()), got);
      if (fault != nullptr && fault->kind == Fault::kCut) {
        body.resize(body.size() / 2);  // half arrives, then the connection drops
        cut = true;
      }
    }
    auto r = Handle(req, path, query, body, sink);
    if (cut) return Status(Code::kIo, "127.0.0.1: Connection reset by peer");
    if (fault != nullptr && fault->kind == Fault::kLoseAnswer)
      return Status(Code::kIo, "127.0.0.1: Connection reset by peer");
    return r;
  }

  int Count(const std::string& method, const std::string& part) {
    std::lock_guard lock(mu_);
    return static_cast<int>(std::count_if(seen.begin(), seen.end(), [&](const std::string& s) {
      return s.starts_with(method + " ") && s.find(part) != std::string::npos;
    }));
  }

 private:
  struct Session {
    std::string repo;
    std::string data;
    int state = 0;  // bumped by every chunk; a request with another state cancels the session
    bool dead = false;
  };

  static HttpResponse Answer(long status, std::map<std::string, std::string> headers = {},
                             std::string body = "") {
    HttpResponse r;
    r.status = status;
    r.headers = std::move(headers);
    r.body = std::move(body);
    return r;
  }

  static std::string Param(const std::string& query, const std::string& name) {
    for (size_t i = 0; i < query.size();) {
      size_t amp = query.find('&', i);
      std::string kv = query.substr(i, amp == std::string::npos ? std::string::npos : amp - i);
      if (kv.starts_with(name + "=")) {
        std::string v = kv.substr(name.size() + 1);
        for (size_t p; (p = v.find("%3A")) != std::string::npos;) v.replace(p, 3, ":");
        for (size_t p; (p = v.find("%2F")) != std::string::npos;) v.replace(p, 3, "/");
        return v;
      }
      if (amp == std::string::npos) break;
      i = amp + 1;
    }
    return "";
  }

  std::string Location(const std::string& id) {
    const Session& s = sessions_[id];
    return fmt::format("/v2/{}/blobs/uploads/{}?_state={}", s.repo, id, s.state);
  }

  HttpResponse SessionAnswer(long status, const std::string& id) {
    const Session& s = sessions_[id];
    return Answer(status, {{"location", Location(id)},
                           {"range", fmt::format("0-{}", s.data.empty() ? 0 : s.data.size() - 1)}});
  }

  Result<HttpResponse> Handle(const HttpRequest& req, const std::string& path,
                              const std::string& query, const std::string& body,
                              const BodySink* sink) {
    // /v2/REPO/(blobs|manifests)/REF, /v2/REPO/blobs/uploads/[ID]
    const size_t uploads = path.find("/blobs/uploads/");
    if (uploads != std::string::npos) {
      const std::string repo = path.substr(4, uploads - 4);
      const std::string id = path.substr(uploads + 15);
      if (req.method == "POST") {
        const std::string mount = Param(query, "mount"), from = Param(query, "from");
        if (!mount.empty() && blobs.contains(from + " " + mount)) {
          blobs[repo + " " + mount] = blobs[from + " " + mount];
          return Answer(201, {{"location", fmt::format("/v2/{}/blobs/{}", repo, mount)}});
        }
        const std::string nid = fmt::format("u{}", next_id_++);
        sessions_[nid] = Session{repo, "", 0, false};
        return SessionAnswer(202, nid);
      }
      auto it = sessions_.find(id);
      if (it == sessions_.end() || it->second.dead) {
        return Answer(404, {}, R"({"errors":[{"code":"BLOB_UPLOAD_UNKNOWN"}]})");
      }
      Session& s = it->second;
      if (drop_partial && Param(query, "_state") != std::to_string(s.state)) {
        s.dead = true;  // distribution: "upload resumed at wrong offset", cancelled
        return Answer(404, {}, R"({"errors":[{"code":"BLOB_UPLOAD_INVALID"}]})");
      }
      if (req.method == "GET") return SessionAnswer(204, id);
      if (req.method == "DELETE") {
        s.dead = true;
        return Answer(204);
      }
      if (req.method == "PATCH") {
        std::string range;
        for (const auto& h : req.headers)
          if (h.starts_with("Content-Range: ")) range = h.substr(15);
        if (range.empty() || std::stoull(range.substr(0, range.find('-'))) != s.data.size())
          return Answer(416);
        s.data += body;
        ++s.state;
        return SessionAnswer(202, id);
      }
      if (req.method == "PUT") {
        s.data += body;
        const std::string digest = Param(query, "digest");
        if (Digest::Of(s.data).str() != digest)
          return Answer(400, {}, R"({"errors":[{"code":"DIGEST_INVALID"}]})");
        blobs[s.repo + " " + digest] = s.data;
        ++uploads_completed[digest];
        s.dead = true;
        return Answer(201, {{"docker-content-digest", digest}});
      }
      return Answer(405);
    }
    for (const char* kind : {"/blobs/", "/manifests/"}) {
      const size_t at = path.find(kind);
      if (at == std::string::npos) continue;
      const std::string repo = path.substr(4, at - 4);
      const std::string ref = path.substr(at + std::strlen(kind));
      auto& store = std::string(kind) == "/blobs/" ? blobs : manifests;
      if (req.method == "PUT") {
        const json m = json::parse(body);
        for (const auto& d : m.value("layers", json::array()))
          if (!blobs.contains(repo + " " + d["digest"].get<std::string>())) return Answer(400);
        manifests[repo + " " + ref] = body;
        manifests[repo + " " + Digest::Of(body).str()] = body;
        for (const auto& h : req.headers)
          if (h.starts_with("Content-Type: ")) media_types[repo + " " + ref] = h.substr(14);
        std::map<std::string, std::string> headers = {
            {"docker-content-digest", Digest::Of(body).str()}};
        if (referrers_api && m.contains("subject"))
          headers["oci-subject"] = m["subject"]["digest"].get<std::string>();
        return Answer(201, headers);
      }
      auto it = store.find(repo + " " + ref);
      if (it == store.end()) return Answer(404);
      HttpResponse r = Answer(200, {{"content-length", std::to_string(it->second.size())},
                                    {"docker-content-digest", Digest::Of(it->second).str()}});
      if (req.method == "GET") {
        if (sink != nullptr) {
          OCIFS_RETURN_IF_ERROR((*sink)(200, std::as_bytes(std::span(it->second))));
        } else {
          r.body = it->second;
        }
      }
      return r;
    }
    return Answer(404);
  }

  std::mutex mu_;
  std::map<std::string, Session> sessions_;
  int next_id_ = 1;
};

// An image as ocifs lays it out: a gzip base layer (from `base` when given), two own layers
// served uncompressed (one large enough to go in chunks), a config; and an SBOM artifact.
struct Layout {
  MapSource source;
  std::string base_layer = CompressString(Sample(200000, 1), {});
  std::string deps = Sample(3 << 20, 2), app = Sample(9000, 3);
  Descriptor manifest;

  explicit Layout(const std::string& base = "") {
    Descriptor b = source.Add(kMediaTypeOciLayerGzip, base_layer);
    Descriptor d = source.Add(kMediaTypeOciLayer, deps);
    Descriptor a = source.Add(kMediaTypeOciLayer, app);
    Descriptor config = source.Add(
        kMediaTypeOciConfig,
        json({{"rootfs",
               {{"type", "layers"},
                {"diff_ids",
                 {Digest::Of(Sample(200000, 1)).str(), d.digest.str(), a.digest.str()}}}}})
            .dump());
    json m = {{"schemaVersion", 2},
              {"mediaType", kMediaTypeOciManifest},
              {"config", config.ToJson()},
              {"layers", {b.ToJson(), d.ToJson(), a.ToJson()}}};
    if (!base.empty()) m["annotations"] = {{"org.opencontainers.image.base.name", base}};
    manifest = source.Add(kMediaTypeOciManifest, m.dump());
    Descriptor doc = source.Add("application/spdx+json", R"({"spdxVersion":"SPDX-2.3"})");
    Descriptor empty = source.Add(kMediaTypeOciEmpty, "{}");
    Descriptor artifact =
        source.Add(kMediaTypeOciManifest, json({{"schemaVersion", 2},
                                                {"mediaType", kMediaTypeOciManifest},
                                                {"artifactType", "application/spdx+json"},
                                                {"config", empty.ToJson()},
                                                {"layers", {doc.ToJson()}},
                                                {"subject", manifest.ToJson()}})
                                              .dump());
    json tag = manifest.ToJson();
    tag["annotations"] = {{"org.opencontainers.image.ref.name", "latest"}};
    json art = artifact.ToJson();
    art["artifactType"] = "application/spdx+json";
    art["annotations"] = {{"org.opencontainers.image.ref.name", "latest.sbom.spdx"}};
    source.index = json({{"schemaVersion", 2}, {"manifests", {tag, art}}}).dump();
  }
};

struct Pushing {
  std::shared_ptr<FakeDistribution> registry = std::make_shared<FakeDistribution>();
  RegistryClient client;
  ImageReference target{"127.0.0.1:5000", "app", "latest", std::nullopt};
  PushOptions options;
  TempDir tmp;
  std::unique_ptr<DigestCache> cache = std::move(DigestCache::Open(tmp.path()).value());

  Pushing()
      : client(
            [] {
              RegistryOptions o;
              o.push = true;
              o.retry.sleep = [](std::chrono::milliseconds) {};
              return o;
            }(),
            registry, nullptr) {
    options.tags = {"latest", "1.0"};
    options.chunk_size = 128 << 10;  // the 3 MiB layer compresses to several chunks
    options.monolithic_max = 64 << 10;
    options.cache = cache.get();
  }
};

const PushedBlob& BlobRole(const PushReport& r, std::string_view role) {
  for (const auto& b : r.blobs)
    if (b.role == role) return b;
  static PushedBlob none;
  ADD_FAILURE() << "no blob " << role;
  return none;
}

// The image as the registry holds it: every layer decompresses to what the layout served.
void ExpectPushedImage(FakeDistribution& reg, const Layout& layout, const std::string& tag) {
  ASSERT_TRUE(reg.manifests.contains("app " + tag));
  const json m = json::parse(reg.manifests["app " + tag]);
  EXPECT_EQ(reg.media_types["app " + tag], kMediaTypeOciManifest);
  ASSERT_EQ(m["layers"].size(), 3u);
  const std::vector<std::string> want = {Gunzip(layout.base_layer), layout.deps, layout.app};
  for (size_t i = 0; i < 3; ++i) {
    EXPECT_EQ(m["layers"][i]["mediaType"], kMediaTypeOciLayerGzip);
    const std::string& blob = reg.blobs["app " + m["layers"][i]["digest"].get<std::string>()];
    EXPECT_EQ(blob.size(), m["layers"][i]["size"].get<uint64_t>());
    EXPECT_EQ(Gunzip(blob), want[i]) << "layer " << i;
  }
  EXPECT_TRUE(reg.blobs.contains("app " + m["config"]["digest"].get<std::string>()));
}

TEST(Push, UploadsCompressesAndSkipsWhatIsThere) {
  Pushing p;
  Layout layout;
  auto first = Push(p.client, layout.source, p.target, p.options);
  ASSERT_TRUE(first.ok()) << first.status().message();
  ExpectPushedImage(*p.registry, layout, "latest");
  ExpectPushedImage(*p.registry, layout, "1.0");
  EXPECT_EQ(BlobRole(*first, "layer 2/3").outcome, PushedBlob::Outcome::kUploaded);
  EXPECT_TRUE(BlobRole(*first, "layer 2/3").compressed_now);
  EXPECT_GT(p.registry->Count("PATCH", "/blobs/uploads/"), 1);  // chunked
  for (const auto& b : first->blobs)
    EXPECT_EQ(p.registry->uploads_completed[b.pushed.digest.str()], 1) << b.role;
  EXPECT_EQ(first->root.digest.str(), Digest::Of(p.registry->manifests["app latest"]).str());

  // Again: every blob is there; the compressed digests come from the cache; nothing is sent.
  auto again = Push(p.client, layout.source, p.target, p.options);
  ASSERT_TRUE(again.ok()) << again.status().message();
  EXPECT_EQ(again->root.digest, first->root.digest);  // same inputs, same digest
  for (const auto& b : again->blobs) {
    EXPECT_EQ(b.outcome, PushedBlob::Outcome::kPresent) << b.role;
    EXPECT_FALSE(b.compressed_now) << b.role;
  }
  EXPECT_EQ(again->BytesSent(), 0u);
}

TEST(Push, BaseLayersAreMountedFromTheBaseRepository) {
  Pushing p;
  Layout layout("127.0.0.1:5000/library/python:3.11-slim");
  const std::string base_digest = Digest::Of(layout.base_layer).str();
  p.registry->blobs["library/python " + base_digest] = layout.base_layer;
  auto r = Push(p.client, layout.source, p.target, p.options);
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(BlobRole(*r, "layer 1/3").outcome, PushedBlob::Outcome::kMounted);
  EXPECT_EQ(BlobRole(*r, "layer 1/3").bytes_sent, 0u);
  EXPECT_EQ(r->mounted_from, "library/python");
  ExpectPushedImage(*p.registry, layout, "latest");

  // A base in another registry is not mounted; one the base repository lacks is uploaded
  // into the session the mount request opened.
  Pushing q;
  Layout elsewhere("ghcr.io/library/python:3.11-slim");
  r = Push(q.client, elsewhere.source, q.target, q.options);
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(q.registry->Count("POST", "/blobs/uploads/"), 6);  // config, 3 layers, 2 artifact
  EXPECT_EQ(BlobRole(*r, "layer 1/3").outcome, PushedBlob::Outcome::kUploaded);
  Pushing s;
  Layout missing("127.0.0.1:5000/library/python:3.11-slim");
  r = Push(s.client, missing.source, s.target, s.options);
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(BlobRole(*r, "layer 1/3").outcome, PushedBlob::Outcome::kUploaded);
  ExpectPushedImage(*s.registry, missing, "latest");
}

TEST(Push, FaultsEndInACorrectImage) {
  using F = FakeDistribution::Fault;
  struct Case {
    std::string name;
    std::vector<F> faults;
    bool drop_partial;
    int min_resumes, min_restarts;
  };
  for (const Case& c : std::vector<Case>{
           {"a chunk cut half-way, the session dropped (distribution)",
            {F{"PATCH", "/uploads/", 1, F::kCut}},
            true,
            1,
            1},
           {"a chunk cut half-way, the session kept at the bytes that arrived",
            {F{"PATCH", "/uploads/", 1, F::kCut}},
            false,
            1,
            0},
           {"503 on a chunk", {F{"PATCH", "/uploads/", 0, F::kStatus, 503}}, true, 1, 0},
           {"the first chunk's answer lost after it was stored",
            {F{"PATCH", "/uploads/", 0, F::kLoseAnswer}},
            true,
            1,
            0},
           {"a monolithic upload cut", {F{"PUT", "/uploads/", 0, F::kCut}}, true, 0, 1},
           {"the completing PUT's answer lost",
            {F{"PUT", "/uploads/", 1, F::kLoseAnswer}},
            true,
            0,
            0},
           {"502 on a manifest", {F{"PUT", "/manifests/", 0, F::kStatus, 502}}, true, 0, 0},
       }) {
    SCOPED_TRACE(c.name);
    Pushing p;
    Layout layout;
    p.options.jobs = 1;  // faults fire on a predictable request
    p.registry->faults = c.faults;
    p.registry->drop_partial = c.drop_partial;
    auto r = Push(p.client, layout.source, p.target, p.options);
    ASSERT_TRUE(r.ok()) << r.status().message();
    for (const auto& f : p.registry->faults) EXPECT_TRUE(f.used);
    ExpectPushedImage(*p.registry, layout, "latest");
    int resumes = 0, restarts = 0;
    for (const auto& b : r->blobs) resumes += b.resumes, restarts += b.restarts;
    EXPECT_GE(resumes, c.min_resumes);
    EXPECT_GE(restarts, c.min_restarts);
  }
}

TEST(Push, PermanentErrorsFailAtOnceAndSayWhere) {
  using F = FakeDistribution::Fault;
  for (long status : {400L, 403L, 404L}) {
    SCOPED_TRACE(status);
    Pushing p;
    Layout layout;
    p.options.jobs = 1;
    p.registry->faults = {F{"POST", "/blobs/uploads/", 0, F::kStatus, status}};
    auto r = Push(p.client, layout.source, p.target, p.options);
    ASSERT_FALSE(r.ok());
    EXPECT_NE(r.status().message().find(fmt::format("HTTP {}", status)), std::string::npos)
        << r.status().message();
    EXPECT_NE(r.status().message().find("`127.0.0.1:5000/app`"), std::string::npos);
    EXPECT_EQ(p.registry->Count("POST", "/blobs/uploads/"), 1);
    EXPECT_TRUE(p.registry->manifests.empty());  // nothing half-pushed under a tag
  }
}

TEST(Push, ReferrersGetTheirSubjectAndTheFallbackTag) {
  for (bool api : {false, true}) {
    SCOPED_TRACE(api ? "registry with the referrers API" : "registry without (2.8)");
    Pushing p;
    p.registry->referrers_api = api;
    Layout layout;
    auto r = Push(p.client, layout.source, p.target, p.options);
    ASSERT_TRUE(r.ok()) << r.status().message();
    ASSERT_EQ(r->referrers.size(), 1u);
    const PushedReferrer& ref = r->referrers[0];
    EXPECT_EQ(ref.subject, r->root.digest);
    const json artifact = json::parse(p.registry->manifests["app " + ref.manifest.digest.str()]);
    EXPECT_EQ(artifact["subject"]["digest"], r->root.digest.str());
    const std::string fallback = "app sha256-" + r->root.digest.hex();
    if (api) {
      EXPECT_TRUE(ref.fallback_tag.empty());
      EXPECT_FALSE(p.registry->manifests.contains(fallback));
      continue;
    }
    EXPECT_EQ(ref.fallback_tag, "sha256-" + r->root.digest.hex());
    ASSERT_TRUE(p.registry->manifests.contains(fallback));
    json index = json::parse(p.registry->manifests[fallback]);
    ASSERT_EQ(index["manifests"].size(), 1u);
    EXPECT_EQ(index["manifests"][0]["digest"], ref.manifest.digest.str());
    EXPECT_EQ(index["manifests"][0]["artifactType"], "application/spdx+json");
    // Pushed again: the artifact is listed once.
    ASSERT_TRUE(Push(p.client, layout.source, p.target, p.options).ok());
    EXPECT_EQ(json::parse(p.registry->manifests[fallback])["manifests"].size(), 1u);
  }
}

TEST(Push, AnImageIndexIsPushedChildrenFirst) {
  Pushing p;
  Layout amd64;
  MapSource& src = amd64.source;
  // A second platform sharing the app layer: its own manifest, then an index over both.
  Descriptor other_layer = src.Add(kMediaTypeOciLayer, Sample(5000, 9));
  Descriptor config = src.Add(kMediaTypeOciConfig, R"({"architecture":"arm64"})");
  Descriptor arm = src.Add(
      kMediaTypeOciManifest,
      json({{"schemaVersion", 2},
            {"mediaType", kMediaTypeOciManifest},
            {"config", config.ToJson()},
            {"layers", {other_layer.ToJson(), src.Add(kMediaTypeOciLayer, amd64.app).ToJson()}}})
          .dump());
  json a = amd64.manifest.ToJson(), b = arm.ToJson();
  a["platform"] = {{"os", "linux"}, {"architecture", "amd64"}};
  b["platform"] = {{"os", "linux"}, {"architecture", "arm64"}};
  Descriptor index =
      src.Add(kMediaTypeOciIndex,
              json({{"schemaVersion", 2}, {"mediaType", kMediaTypeOciIndex}, {"manifests", {a, b}}})
                  .dump());
  json tag = index.ToJson();
  tag["annotations"] = {{"org.opencontainers.image.ref.name", "latest"}};
  src.index = json({{"schemaVersion", 2}, {"manifests", {tag}}}).dump();

  auto r = Push(p.client, src, p.target, p.options);
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(p.registry->media_types["app latest"], kMediaTypeOciIndex);
  const json pushed = json::parse(p.registry->manifests["app latest"]);
  ASSERT_EQ(pushed["manifests"].size(), 2u);
  EXPECT_EQ(pushed["manifests"][1]["platform"]["architecture"], "arm64");
  for (const auto& m : pushed["manifests"]) {
    ASSERT_TRUE(p.registry->manifests.contains("app " + m["digest"].get<std::string>()));
  }
  // The shared layer went once; manifests went children first, the index last.
  EXPECT_EQ(
      p.registry->uploads_completed[BlobRole(*r, "linux/amd64 layer 3/3").pushed.digest.str()], 1);
  ASSERT_EQ(r->manifests.size(), 3u);
  EXPECT_EQ(r->manifests.back().media_type, kMediaTypeOciIndex);
  EXPECT_EQ(r->root.digest, r->manifests.back().digest);
}

TEST(Push, CancelledBetweenChunks) {
  Pushing p;
  Layout layout;
  std::atomic<bool> cancelled{false};
  p.options.cancelled = &cancelled;
  p.options.jobs = 1;
  p.options.on_progress = [&](const PushProgress& progress) {
    if (!progress.done) cancelled = true;  // after the first chunk
  };
  auto r = Push(p.client, layout.source, p.target, p.options);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("cancelled"), std::string::npos);
  EXPECT_TRUE(p.registry->manifests.empty());
  EXPECT_EQ(p.registry->Count("DELETE", "/blobs/uploads/"), 1);  // the session is given up
  EXPECT_EQ(p.registry->Count("PATCH", "/blobs/uploads/"), 1);
}

// The variants a push sends beside the unnamed image, and the tags each goes under.
TEST(VariantPushesTest, DerivedTagsFollowThePushedTagsAndOwnTagsStay) {
  const Descriptor d{kMediaTypeOciManifest, Digest::Of("m"), 1};
  const Descriptor dev{kMediaTypeOciManifest, Digest::Of("dev"), 3};
  const Descriptor ci{kMediaTypeOciManifest, Digest::Of("ci"), 2};
  const std::vector<IndexEntry> index = {
      {d, "latest", "", std::nullopt},
      {d, "stable", "", std::nullopt},
      {ci, "ci", "", std::nullopt, "ci"},
      {dev, "latest-dev", "", std::nullopt, "dev"},
      {dev, "stable-dev", "", std::nullopt, "dev"},
      {dev, "nightly", "", std::nullopt, "dev"},  // its own tag
      {d, "latest.sbom.spdx", "application/spdx+json", std::nullopt},
      {dev, "latest-dev.sbom.spdx", "application/spdx+json", std::nullopt, "dev"},
  };
  struct Case {
    std::vector<std::string> tags;
    std::vector<VariantPush> want;
  };
  const std::vector<Case> cases = {
      {{"1.0"}, {{"ci", "ci", {"ci"}}, {"dev", "latest-dev", {"1.0-dev", "nightly"}}}},
      {{"1.0", "prod"},
       {{"ci", "ci", {"ci"}}, {"dev", "latest-dev", {"1.0-dev", "prod-dev", "nightly"}}}},
  };
  for (const Case& c : cases) {
    const std::vector<VariantPush> got = VariantPushes(index, c.tags);
    ASSERT_EQ(got.size(), c.want.size());
    for (size_t i = 0; i < got.size(); ++i) {
      EXPECT_EQ(got[i].variant, c.want[i].variant);
      EXPECT_EQ(got[i].source_tag, c.want[i].source_tag);
      EXPECT_EQ(got[i].tags, c.want[i].tags);
    }
  }
  // No variants: nothing beside the unnamed image.
  EXPECT_TRUE(VariantPushes({index[0], index[1]}, {"1.0"}).empty());
  // The annotation survives index.json.
  auto parsed = ParseIndex("test", IndexJson(index));
  ASSERT_TRUE(parsed.ok());
  EXPECT_EQ((*parsed)[3].variant, "dev");
  EXPECT_EQ((*parsed)[0].variant, "");
  EXPECT_NE(IndexJson(index).find("\"io.ocifs.variant\":\"dev\""), std::string::npos);
}

}  // namespace
}  // namespace ocifs
