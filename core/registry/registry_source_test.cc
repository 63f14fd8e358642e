#include "core/registry/registry_source.h"

#include <map>
#include <mutex>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <gtest/gtest.h>

#include "core/support/test_util.h"

namespace ocifs {
namespace {

using json = nlohmann::json;

// A registry (or several, by host) in memory: manifests by tag and digest, blobs by digest. Hosts
// in `down` refuse connections; `missing` hosts answer 404 for everything. Records "HOST PATH".
class FakeRegistries : public HttpTransport {
 public:
  std::map<std::string, std::string> objects;  // "/v2/REPO/manifests/REF" or ".../blobs/DIGEST"
  std::vector<std::string> down, missing;
  std::vector<std::string> seen;

  Result<HttpResponse> Send(const HttpRequest& request, const BodySink* sink, size_t) override {
    const std::string rest = request.url.substr(request.url.find("://") + 3);
    const std::string host = rest.substr(0, rest.find('/'));
    const std::string path = rest.substr(host.size());
    {
      std::lock_guard lock(mu_);
      seen.push_back(host + " " + path);
    }
    if (std::find(down.begin(), down.end(), host) != down.end())
      return Status(Code::kIo, host + ": Connection refused");
    HttpResponse r;
    auto it = objects.find(path);
    if (it == objects.end() || std::find(missing.begin(), missing.end(), host) != missing.end()) {
      r.status = 404;
      r.body = R"({"errors":[{"code":"MANIFEST_UNKNOWN"}]})";
      return r;
    }
    r.status = 200;
    r.headers["docker-content-digest"] = Digest::Of(it->second).str();
    r.headers["content-type"] = kMediaTypeOciManifest;
    if (sink != nullptr) {
      OCIFS_RETURN_IF_ERROR((*sink)(200, std::as_bytes(std::span(it->second))));
    } else {
      r.body = it->second;
    }
    return r;
  }

  size_t Count(std::string_view host) const {
    return static_cast<size_t>(std::count_if(seen.begin(), seen.end(), [&](const auto& s) {
      return s.starts_with(std::string(host) + " ");
    }));
  }

 private:
  std::mutex mu_;
};

class NoCredentials : public CredentialStore {
 public:
  Result<std::optional<Credential>> Lookup(const std::string&) const override {
    return std::optional<Credential>();
  }
};

// One amd64 image, `REPO:1.0`, under `prefix` (the path a mirror serves it at).
struct Image {
  std::string layer = std::string(3000, 'L');
  std::string config, manifest;
  Image() {
    config = json({{"architecture", "amd64"},
                   {"os", "linux"},
                   {"rootfs", {{"type", "layers"}, {"diff_ids", {Digest::Of(layer).str()}}}}})
                 .dump();
    manifest = json({{"schemaVersion", 2},
                     {"mediaType", kMediaTypeOciManifest},
                     {"config",
                      {{"mediaType", kMediaTypeOciConfig},
                       {"digest", Digest::Of(config).str()},
                       {"size", config.size()}}},
                     {"layers",
                      {{{"mediaType", kMediaTypeOciLayer},
                        {"digest", Digest::Of(layer).str()},
                        {"size", layer.size()}}}}})
                   .dump();
  }
  void PutInto(FakeRegistries& r, const std::string& repo) const {
    r.objects["/v2/" + repo + "/manifests/1.0"] = manifest;
    r.objects["/v2/" + repo + "/manifests/" + Digest::Of(manifest).str()] = manifest;
    r.objects["/v2/" + repo + "/blobs/" + Digest::Of(config).str()] = config;
    r.objects["/v2/" + repo + "/blobs/" + Digest::Of(layer).str()] = layer;
  }
};

TEST(RegistryContext, MirrorsAreTriedFirstAndFallBackToTheRegistry) {
  const Image image;
  const Platform amd64{"linux", "amd64", ""};
  const std::string kRef = "registry.example/team/app:1.0";
  struct Case {
    std::string what;
    std::vector<std::string> mirrors;
    std::function<void(FakeRegistries&)> setup;
    size_t want_registry_requests;  // manifest, config, layer
    std::string want_warning;       // part of the one warning, or "" for none
    std::string want_error;         // part of the error, or "" for success
  };
  const Case cases[] = {
      {"no mirror", {}, [](FakeRegistries&) {}, 3, "", ""},
      {"the mirror has it",
       {"registry.example=mirror.example/cache"},
       [](FakeRegistries&) {},
       0,
       "",
       ""},
      {"a mirror of another registry is not asked",
       {"ghcr.io=mirror.example/cache"},
       [](FakeRegistries&) {},
       3,
       "",
       ""},
      {"the mirror lacks it",
       {"registry.example=mirror.example/cache"},
       [](FakeRegistries& r) { r.missing.push_back("mirror.example"); },
       3,
       "registry mirror `registry.example=mirror.example/cache` failed, used the next source: "
       "manifest `1.0` of `mirror.example/cache/team/app`: not found",
       ""},
      {"the mirror is down; the second mirror has it",
       {"registry.example=down.example", "registry.example=mirror.example/cache"},
       [](FakeRegistries& r) { r.down.push_back("down.example"); },
       0,
       "registry mirror `registry.example=down.example`",
       ""},
      {"mirror and registry are down",
       {"registry.example=down.example"},
       [](FakeRegistries& r) {
         r.down.push_back("down.example");
         r.down.push_back("registry.example");
       },
       6,  // the registry's six attempts at the manifest
       "",
       "(mirrors failed first: registry mirror `registry.example=down.example`: "},
  };
  for (const auto& c : cases) {
    TempDir cache;
    auto fake = std::make_shared<FakeRegistries>();
    image.PutInto(*fake, "team/app");
    image.PutInto(*fake, "cache/team/app");
    c.setup(*fake);
    RegistryOptions options;
    options.retry.sleep = [](std::chrono::milliseconds) {};
    auto context =
        RegistryContext::Make(options, cache.path(), fake, std::make_shared<NoCredentials>());
    ASSERT_TRUE(context.ok());
    std::vector<RegistryMirror> mirrors;
    for (const auto& m : c.mirrors) mirrors.push_back(*ParseRegistryMirror(m));
    auto base = (*context)->Resolve(kRef, amd64, mirrors);
    if (!c.want_error.empty()) {
      ASSERT_FALSE(base.ok()) << c.what;
      EXPECT_NE(base.status().message().find(c.want_error), std::string::npos)
          << c.what << ": " << base.status().message();
      EXPECT_NE(base.status().message().find("base `" + kRef + "`"), std::string::npos);
      EXPECT_EQ(fake->Count("registry.example"), c.want_registry_requests) << c.what;
      EXPECT_EQ(fake->Count("down.example"), 2u) << c.what << ": a mirror gets one retry";
      continue;
    }
    ASSERT_TRUE(base.ok()) << c.what << ": " << base.status().message();
    ASSERT_EQ(base->layers.size(), 1u);
    // The layer is fetched on its first read, from the same sources in the same order.
    std::string bytes(image.layer.size(), '\0');
    ASSERT_TRUE(base->layers[0].blob->ReadAt(0, std::as_writable_bytes(std::span(bytes))).ok())
        << c.what;
    EXPECT_EQ(bytes, image.layer) << c.what;
    EXPECT_EQ(fake->Count("registry.example"), c.want_registry_requests)
        << c.what << ": " << fmt::format("{}", fmt::join(fake->seen, ", "));
    EXPECT_EQ(base->name, "registry.example/team/app:1.0") << "the name is the registry's";
    if (c.want_warning.empty()) {
      EXPECT_TRUE(base->warnings.empty()) << c.what << ": " << base->warnings.front();
    } else {
      ASSERT_EQ(base->warnings.size(), 1u) << c.what;
      EXPECT_NE(base->warnings[0].find(c.want_warning), std::string::npos)
          << c.what << ": " << base->warnings[0];
    }
  }
}

}  // namespace
}  // namespace ocifs
