// A synthetic OCI layout, for the tests of bases and of what is built on them.
#pragma once

#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "core/oci/descriptor.h"
#include "core/support/digest.h"
#include "core/support/test_util.h"

namespace ocifs {

// A synthetic OCI layout base, as skopeo writes it: optionally an index with several platforms.
struct BaseLayout {
  using json = nlohmann::json;

  TempDir dir;
  Digest layer;
  Digest manifest_amd64;
  json history;
  json env = {"PATH=/usr/local/bin:/usr/bin:/bin", "LANG=C.UTF-8"};

  std::string Put(const std::string& content) {
    Digest d = Digest::Of(content);
    dir.Write("blobs/sha256/" + d.hex(), content);
    return d.str();
  }

  json ManifestFor(const std::string& arch, const std::string& layer_content) {
    std::string layer_digest = Put(layer_content);
    json config = {
        {"architecture", arch},
        {"os", "linux"},
        {"config",
         {{"Env", env}, {"Cmd", {"python3"}}, {"User", ""}, {"Labels", {{"base", "yes"}}}}},
        {"rootfs", {{"type", "layers"}, {"diff_ids", {Digest::Of(layer_content).str()}}}},
        {"history", history}};
    std::string config_text = config.dump();
    std::string config_digest = Put(config_text);
    return {{"schemaVersion", 2},
            {"mediaType", kMediaTypeOciManifest},
            {"config",
             {{"mediaType", kMediaTypeOciConfig},
              {"digest", config_digest},
              {"size", config_text.size()}}},
            {"layers",
             {{{"mediaType", kMediaTypeOciLayer},
               {"digest", layer_digest},
               {"size", layer_content.size()}}}}};
  }

  // `base_history`: the history of the base's config (one entry for its one layer by default).
  // `base_env`: its config's Env.
  explicit BaseLayout(bool multi_platform, json base_history = {{{"created_by", "base"}}},
                      std::optional<json> base_env = std::nullopt)
      : history(std::move(base_history)) {
    if (base_env) env = *std::move(base_env);
    dir.Write("oci-layout", R"({"imageLayoutVersion":"1.0.0"})");
    std::string layer_content(2048, 'L');
    layer = Digest::Of(layer_content);
    std::string m = ManifestFor("amd64", layer_content).dump();
    manifest_amd64 = Digest::Of(m);
    json top = {{"mediaType", kMediaTypeOciManifest}, {"digest", Put(m)}, {"size", m.size()}};
    if (multi_platform) {
      std::string arm = ManifestFor("arm64", std::string(1024, 'A')).dump();
      json index = {{"schemaVersion", 2},
                    {"mediaType", kMediaTypeOciIndex},
                    {"manifests",
                     {{{"mediaType", kMediaTypeOciManifest},
                       {"digest", Put(arm)},
                       {"size", arm.size()},
                       {"platform", {{"os", "linux"}, {"architecture", "arm64"}}}},
                      {{"mediaType", kMediaTypeOciManifest},
                       {"digest", manifest_amd64.str()},
                       {"size", m.size()},
                       {"platform", {{"os", "linux"}, {"architecture", "amd64"}}}}}}};
      std::string it = index.dump();
      top = {{"mediaType", kMediaTypeOciIndex}, {"digest", Put(it)}, {"size", it.size()}};
    }
    top["annotations"] = {{"org.opencontainers.image.ref.name", "3.11-slim"}};
    dir.Write("index.json", json({{"schemaVersion", 2}, {"manifests", {top}}}).dump());
  }
};

}  // namespace ocifs
