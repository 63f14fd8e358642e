/* Pins the size and every field offset of every struct of the plugin ABI (sdk/include/ocifs/
 * plugin.h) on LP64 Linux, the platforms ocifs builds for. Compiled as C99, as a plugin author's
 * C compiler sees the header. A failure here means a built plugin would break: fields may only be
 * appended within a major version (then add rows; never change one).
 *
 * Also checks the constants of the ABI's version and result codes, and OCIFS_HAS_FIELD. */
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "ocifs/plugin.h"

#define SIZE(type, size) \
  { #type, "sizeof", sizeof(type), size }
#define OFFSET(type, field, offset) \
  { #type, #field, offsetof(type, field), offset }

struct row {
  const char* type;
  const char* what;
  size_t actual;
  size_t expected;
};

static const struct row kRows[] = {
    SIZE(ocifs_str, 16),
    OFFSET(ocifs_str, ptr, 0),
    OFFSET(ocifs_str, len, 8),
    SIZE(ocifs_call, 32),
    OFFSET(ocifs_call, struct_size, 0),
    OFFSET(ocifs_call, reserved, 4),
    OFFSET(ocifs_call, host, 8),
    OFFSET(ocifs_call, set_error, 16),
    OFFSET(ocifs_call, log, 24),
    SIZE(ocifs_setting, 32),
    OFFSET(ocifs_setting, key, 0),
    OFFSET(ocifs_setting, value, 16),
    SIZE(ocifs_init_input, 80),
    OFFSET(ocifs_init_input, struct_size, 0),
    OFFSET(ocifs_init_input, settings_count, 4),
    OFFSET(ocifs_init_input, settings, 8),
    OFFSET(ocifs_init_input, host_version, 16),
    OFFSET(ocifs_init_input, cache_dir, 32),
    OFFSET(ocifs_init_input, host_executable, 48),
    OFFSET(ocifs_init_input, status_host, 64),
    OFFSET(ocifs_init_input, set_status, 72),
    SIZE(ocifs_healthcheck, 48),
    OFFSET(ocifs_healthcheck, struct_size, 0),
    OFFSET(ocifs_healthcheck, test_count, 4),
    OFFSET(ocifs_healthcheck, test, 8),
    OFFSET(ocifs_healthcheck, interval_ns, 16),
    OFFSET(ocifs_healthcheck, timeout_ns, 24),
    OFFSET(ocifs_healthcheck, start_period_ns, 32),
    OFFSET(ocifs_healthcheck, retries, 40),
    OFFSET(ocifs_healthcheck, reserved, 44),
    SIZE(ocifs_config_sink, 80),
    OFFSET(ocifs_config_sink, struct_size, 0),
    OFFSET(ocifs_config_sink, reserved, 4),
    OFFSET(ocifs_config_sink, host, 8),
    OFFSET(ocifs_config_sink, set_entrypoint, 16),
    OFFSET(ocifs_config_sink, set_cmd, 24),
    OFFSET(ocifs_config_sink, set_env, 32),
    OFFSET(ocifs_config_sink, set_label, 40),
    OFFSET(ocifs_config_sink, expose, 48),
    OFFSET(ocifs_config_sink, set_user, 56),
    OFFSET(ocifs_config_sink, set_healthcheck, 64),
    OFFSET(ocifs_config_sink, exclude, 72),
    SIZE(ocifs_project_input, 48),
    OFFSET(ocifs_project_input, struct_size, 0),
    OFFSET(ocifs_project_input, reserved, 4),
    OFFSET(ocifs_project_input, host, 8),
    OFFSET(ocifs_project_input, facts_json, 16),
    OFFSET(ocifs_project_input, read_file, 32),
    OFFSET(ocifs_project_input, read_base_blob, 40),
    SIZE(ocifs_detect_capability, 16),
    OFFSET(ocifs_detect_capability, struct_size, 0),
    OFFSET(ocifs_detect_capability, reserved, 4),
    OFFSET(ocifs_detect_capability, detect, 8),
    SIZE(ocifs_layer_sink, 40),
    OFFSET(ocifs_layer_sink, struct_size, 0),
    OFFSET(ocifs_layer_sink, reserved, 4),
    OFFSET(ocifs_layer_sink, host, 8),
    OFFSET(ocifs_layer_sink, add_file, 16),
    OFFSET(ocifs_layer_sink, add_directory, 24),
    OFFSET(ocifs_layer_sink, add_symlink, 32),
    SIZE(ocifs_layer_capability, 24),
    OFFSET(ocifs_layer_capability, struct_size, 0),
    OFFSET(ocifs_layer_capability, reserved, 4),
    OFFSET(ocifs_layer_capability, layer_name, 8),
    OFFSET(ocifs_layer_capability, write_layer, 16),
    SIZE(ocifs_blob_info, 40),
    OFFSET(ocifs_blob_info, digest, 0),
    OFFSET(ocifs_blob_info, media_type, 16),
    OFFSET(ocifs_blob_info, size, 32),
    SIZE(ocifs_tagged_manifest, 32),
    OFFSET(ocifs_tagged_manifest, tag, 0),
    OFFSET(ocifs_tagged_manifest, manifest_digest, 16),
    SIZE(ocifs_generation_input, 120),
    OFFSET(ocifs_generation_input, struct_size, 0),
    OFFSET(ocifs_generation_input, reserved, 4),
    OFFSET(ocifs_generation_input, host, 8),
    OFFSET(ocifs_generation_input, number, 16),
    OFFSET(ocifs_generation_input, index_json, 24),
    OFFSET(ocifs_generation_input, tag_count, 40),
    OFFSET(ocifs_generation_input, blob_count, 44),
    OFFSET(ocifs_generation_input, tags, 48),
    OFFSET(ocifs_generation_input, blobs, 56),
    OFFSET(ocifs_generation_input, read_blob, 64),
    OFFSET(ocifs_generation_input, mountpoint, 72),
    OFFSET(ocifs_generation_input, project_dir, 88),
    OFFSET(ocifs_generation_input, project_version, 104),
    SIZE(ocifs_generation_capability, 16),
    OFFSET(ocifs_generation_capability, struct_size, 0),
    OFFSET(ocifs_generation_capability, reserved, 4),
    OFFSET(ocifs_generation_capability, on_generation, 8),
    SIZE(ocifs_artifact_sink, 24),
    OFFSET(ocifs_artifact_sink, struct_size, 0),
    OFFSET(ocifs_artifact_sink, reserved, 4),
    OFFSET(ocifs_artifact_sink, host, 8),
    OFFSET(ocifs_artifact_sink, add, 16),
    SIZE(ocifs_artifact_capability, 16),
    OFFSET(ocifs_artifact_capability, struct_size, 0),
    OFFSET(ocifs_artifact_capability, reserved, 4),
    OFFSET(ocifs_artifact_capability, write_artifacts, 8),
    SIZE(ocifs_plugin_descriptor, 80),
    OFFSET(ocifs_plugin_descriptor, struct_size, 0),
    OFFSET(ocifs_plugin_descriptor, abi_major, 4),
    OFFSET(ocifs_plugin_descriptor, abi_minor, 6),
    OFFSET(ocifs_plugin_descriptor, name, 8),
    OFFSET(ocifs_plugin_descriptor, version, 16),
    OFFSET(ocifs_plugin_descriptor, description, 24),
    OFFSET(ocifs_plugin_descriptor, init, 32),
    OFFSET(ocifs_plugin_descriptor, destroy, 40),
    OFFSET(ocifs_plugin_descriptor, detect, 48),
    OFFSET(ocifs_plugin_descriptor, layer, 56),
    OFFSET(ocifs_plugin_descriptor, generation, 64),
    OFFSET(ocifs_plugin_descriptor, artifact, 72),
};

int main(void) {
  int failures = 0;
  size_t i;
  ocifs_healthcheck old_check;
  if (sizeof(void*) != 8) {
    printf("abi_test: the pinned layout is LP64's; this platform is not\n");
    return 1;
  }
  for (i = 0; i < sizeof kRows / sizeof kRows[0]; ++i) {
    if (kRows[i].actual != kRows[i].expected) {
      printf("FAIL %s %s: %zu, pinned %zu\n", kRows[i].type, kRows[i].what, kRows[i].actual,
             kRows[i].expected);
      ++failures;
    }
  }
  if (OCIFS_PLUGIN_ABI_MAJOR != 0 || OCIFS_PLUGIN_ABI_MINOR != 3) {
    printf("FAIL the ABI version changed: update the rows and this check together\n");
    ++failures;
  }
  if (OCIFS_OK != 0 || OCIFS_ERR_FAILED != 1 || OCIFS_ERR_INVALID_ARGUMENT != 2 ||
      OCIFS_ERR_NOT_FOUND != 3 || OCIFS_ERR_UNSUPPORTED != 4 || OCIFS_ERR_INTERNAL != 5 ||
      OCIFS_LAYER_APPLICATION != 0 || OCIFS_LAYER_DEPENDENCIES != 1) {
    printf("FAIL a result code or layer number changed\n");
    ++failures;
  }
  if (strcmp(OCIFS_PLUGIN_ENTRY_SYMBOL, "ocifs_plugin_entry") != 0) {
    printf("FAIL the entry symbol changed\n");
    ++failures;
  }
  /* A struct filled by an older filler (smaller struct_size) does not hold the later fields. */
  memset(&old_check, 0, sizeof old_check);
  old_check.struct_size = (uint32_t)offsetof(ocifs_healthcheck, retries);
  if (OCIFS_HAS_FIELD(&old_check, ocifs_healthcheck, retries) ||
      !OCIFS_HAS_FIELD(&old_check, ocifs_healthcheck, start_period_ns)) {
    printf("FAIL OCIFS_HAS_FIELD\n");
    ++failures;
  }
  printf("abi_test: %zu rows, %d failures\n", sizeof kRows / sizeof kRows[0], failures);
  return failures == 0 ? 0 : 1;
}
