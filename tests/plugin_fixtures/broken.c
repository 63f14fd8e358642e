/* Plugins broken on purpose, one per BROKEN_* value (tests/plugin_fixtures/CMakeLists.txt builds
 * each); core/plugin_host_test.cc pins the outcome of each. */
#include <string.h>

#include "ocifs/plugin.h"

static ocifs_result Detect(void* instance, const ocifs_call* call, const ocifs_project_input* in,
                           const ocifs_config_sink* out) {
  (void)instance;
  (void)in;
#if defined(BROKEN_RETURNS_ERROR)
  static const char kMessage[] = "no framework found in app.py";
  ocifs_str m = {kMessage, sizeof kMessage - 1};
  call->set_error(call->host, m);
  (void)out;
  return OCIFS_ERR_FAILED;
#elif defined(BROKEN_BAD_PORT)
  ocifs_str port = {"99999", 5};
  (void)call;
  out->expose(out->host, port); /* refused by the host; the plugin ignores the result */
  return OCIFS_OK;
#else
  (void)call;
  (void)out;
  return OCIFS_OK;
#endif
}

static const ocifs_detect_capability kDetect = {sizeof(ocifs_detect_capability), 0, Detect};

static ocifs_plugin_descriptor kDescriptor = {
    sizeof(ocifs_plugin_descriptor),
    OCIFS_PLUGIN_ABI_MAJOR,
    OCIFS_PLUGIN_ABI_MINOR,
    "broken",
    "0.0.1",
    "a plugin broken on purpose",
    NULL,
    NULL,
#if defined(BROKEN_NULL_CAPABILITIES)
    NULL,
#else
    &kDetect,
#endif
    NULL,
    NULL,
    NULL,
};

#if !defined(BROKEN_NO_ENTRY)
OCIFS_PLUGIN_EXPORT const ocifs_plugin_descriptor* ocifs_plugin_entry(void) {
#if defined(BROKEN_WRONG_MAJOR)
  kDescriptor.abi_major = OCIFS_PLUGIN_ABI_MAJOR + 1;
#elif defined(BROKEN_NEWER_MINOR)
  kDescriptor.abi_minor = OCIFS_PLUGIN_ABI_MINOR + 1;
#elif defined(BROKEN_TOO_SMALL)
  kDescriptor.struct_size = offsetof(ocifs_plugin_descriptor, detect);
#elif defined(BROKEN_NULL_DESCRIPTOR)
  return NULL;
#elif defined(BROKEN_NULL_CAPABILITIES)
  (void)kDetect; /* built, but the descriptor does not offer it */
#endif
  return &kDescriptor;
}
#else
/* Exports the descriptor under another name: the host must not find it. */
OCIFS_PLUGIN_EXPORT const ocifs_plugin_descriptor* not_the_entry_point(void) {
  return &kDescriptor;
}
#endif
