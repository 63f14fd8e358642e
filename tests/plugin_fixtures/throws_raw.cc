// A C++ plugin written without plugin.hpp that lets an exception escape its detect function,
// which the ABI forbids. The host must catch it, fail the plan naming the plugin, and live on.
#include <stdexcept>

#include "ocifs/plugin.h"

namespace {

ocifs_result Detect(void*, const ocifs_call*, const ocifs_project_input*,
                    const ocifs_config_sink*) {
  throw std::runtime_error("raw exception from detect");
}

const ocifs_detect_capability kDetect = {sizeof(ocifs_detect_capability), 0, Detect};
const ocifs_plugin_descriptor kDescriptor = {sizeof(ocifs_plugin_descriptor),
                                             OCIFS_PLUGIN_ABI_MAJOR,
                                             OCIFS_PLUGIN_ABI_MINOR,
                                             "throws-raw",
                                             "0.0.1",
                                             "throws across the ABI",
                                             nullptr,
                                             nullptr,
                                             &kDetect,
                                             nullptr,
                                             nullptr,
                                             nullptr};

}  // namespace

extern "C" OCIFS_PLUGIN_EXPORT const ocifs_plugin_descriptor* ocifs_plugin_entry(void) {
  return &kDescriptor;
}
