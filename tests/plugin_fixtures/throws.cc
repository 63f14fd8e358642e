// A plugin written with plugin.hpp whose Detect throws: the helper turns it into an error code and
// the exception's message.
#include <stdexcept>

#include "ocifs/plugin.hpp"

class Throws {
 public:
  static constexpr const char* kName = "throws";
  static constexpr const char* kVersion = "0.0.1";
  static constexpr const char* kDescription = "throws from Detect";
  void Detect(ocifs::sdk::Context&, const ocifs::sdk::Project&, ocifs::sdk::Config&) {
    throw std::runtime_error("cannot parse app.py");
  }
};

OCIFS_PLUGIN(Throws)
