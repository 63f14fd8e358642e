// A plugin written with plugin.hpp: settings, detect (with an exclusion), a layer, artifacts
// (one reading the base's first layer), and a generation hook that fails on request.
// core/plugins/plugin_host_test.cc and the integration tests check what it does.
#include <nlohmann/json.hpp>
#include <string>

#include "ocifs/plugin.hpp"

class CppProbe {
 public:
  static constexpr const char* kName = "cpp-probe";
  static constexpr const char* kVersion = "2.0.0";
  static constexpr const char* kDescription = "the C++ helper's every capability";
  static constexpr const char* kLayerName = "cpp-probe";

  explicit CppProbe(const ocifs::sdk::Settings& settings) : settings_(settings) {
    settings_.RequireKnown({"label", "exclude", "fail-generation", "user", "artifact-suffix"});
  }

  void Detect(ocifs::sdk::Context& ctx, const ocifs::sdk::Project& project,
              ocifs::sdk::Config& config) {
    config.SetLabel("cpp-probe.label", settings_.GetOr("label", "on"));
    config.SetEntrypoint({"/bin/sh", "-c"});
    config.SetCmd({"exec python3 -m app"});
    if (auto user = settings_.Get("user")) config.SetUser(*user);
    if (auto pattern = settings_.Get("exclude")) config.Exclude(*pattern);
    if (!project.ReadFile("does-not-exist.py")) ctx.Info("no does-not-exist.py, as expected");
  }

  void WriteLayer(ocifs::sdk::Context&, const ocifs::sdk::Project& project,
                  ocifs::sdk::LayerWriter& layer) {
    layer.AddFile("opt/cpp-probe/bin/hello", "#!/bin/sh\necho hello\n", 0755);
    layer.AddFile("opt/cpp-probe/facts-size", std::to_string(project.facts_json().size()));
  }

  // "probe.facts": the facts; "probe.base": the first bytes of each base layer, in hex (a gzip
  // layer starts 1f8b).
  void WriteArtifacts(ocifs::sdk::Context&, const ocifs::sdk::Project& project,
                      ocifs::sdk::Artifacts& artifacts) {
    artifacts.Add(settings_.GetOr("artifact-suffix", "probe.facts"),
                  "application/vnd.ocifs.probe.facts+json", "application/json",
                  project.facts_json());
    const auto facts = nlohmann::json::parse(project.facts_json());
    std::string heads;
    for (const auto& layer : facts["base"]["layers"]) {
      std::byte head[2];
      size_t n = project.ReadBaseBlob(layer["digest"].get<std::string>(), 0, head);
      for (size_t i = 0; i < n; ++i) {
        static const char kHex[] = "0123456789abcdef";
        heads += kHex[static_cast<unsigned>(head[i]) >> 4];
        heads += kHex[static_cast<unsigned>(head[i]) & 15];
      }
      heads += '\n';
    }
    if (!heads.empty())
      artifacts.Add("probe.base", "application/vnd.ocifs.probe.base", "text/plain", heads);
  }

  void OnGeneration(ocifs::sdk::Context& ctx, const ocifs::sdk::Generation& gen) {
    if (settings_.Get("fail-generation") == std::to_string(gen.number()))
      throw ocifs::sdk::Error("told to fail generation " + std::to_string(gen.number()));
    ctx.Info("generation " + std::to_string(gen.number()));
  }

 private:
  ocifs::sdk::Settings settings_;
};

OCIFS_PLUGIN(CppProbe)
