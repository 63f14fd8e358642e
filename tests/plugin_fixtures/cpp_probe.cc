// A plugin written with plugin.hpp: settings, detect (with an exclusion), a layer, and a
// generation hook that fails on request. core/plugin_host_test.cc checks what it does.
#include <string>

#include "ocifs/plugin.hpp"

class CppProbe {
 public:
  static constexpr const char* kName = "cpp-probe";
  static constexpr const char* kVersion = "2.0.0";
  static constexpr const char* kDescription = "the C++ helper's every capability";
  static constexpr const char* kLayerName = "cpp-probe";

  explicit CppProbe(const ocifs::sdk::Settings& settings) : settings_(settings) {
    settings_.RequireKnown({"label", "exclude", "fail-generation", "user"});
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

  void OnGeneration(ocifs::sdk::Context& ctx, const ocifs::sdk::Generation& gen) {
    if (settings_.Get("fail-generation") == std::to_string(gen.number()))
      throw ocifs::sdk::Error("told to fail generation " + std::to_string(gen.number()));
    ctx.Info("generation " + std::to_string(gen.number()));
  }

 private:
  ocifs::sdk::Settings settings_;
};

OCIFS_PLUGIN(CppProbe)
