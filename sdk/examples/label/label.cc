// The smallest complete ocifs plugin: it adds one label to the image.
//
//   [tool.ocifs.plugins.example-label]      # in the project's pyproject.toml (optional)
//   label = "com.example.team=payments"
//
// or `--plugin-opt example-label.label=com.example.team=payments`. Without a setting it adds
// `com.example.built-by=ocifs-example-label`. Build it against the installed SDK with CMake
// (CMakeLists.txt beside this file) or with pkg-config:
//
//   c++ -std=c++20 -shared -fPIC $(pkg-config --cflags ocifs-plugin) label.cc -o example-label.so
#include <string>

#include "ocifs/plugin.hpp"

class ExampleLabel {
 public:
  static constexpr const char* kName = "example-label";
  static constexpr const char* kVersion = "1.0.0";
  static constexpr const char* kDescription = "adds one label to the image";

  explicit ExampleLabel(const ocifs::sdk::Settings& settings) {
    settings.RequireKnown({"label"});
    const std::string label(settings.GetOr("label", "com.example.built-by=ocifs-example-label"));
    const size_t eq = label.find('=');
    if (eq == std::string::npos || eq == 0)
      throw ocifs::sdk::Error("setting `label`: want KEY=VALUE, got `" + label + "`",
                              OCIFS_ERR_INVALID_ARGUMENT);
    key_ = label.substr(0, eq);
    value_ = label.substr(eq + 1);
  }

  // The detect capability: runs on every plan of the project.
  void Detect(ocifs::sdk::Context&, const ocifs::sdk::Project&, ocifs::sdk::Config& config) {
    config.SetLabel(key_, value_);
  }

 private:
  std::string key_, value_;
};

OCIFS_PLUGIN(ExampleLabel)
