/* A complete plugin in plain C (C99), every capability: what a C author writes without the C++
 * helper. It keeps a little state of its own (malloc'ed by init, freed by destroy: nothing
 * crosses the boundary to be freed). core/plugin_host_test.cc checks what it contributes. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ocifs/plugin.h"

typedef struct probe {
  char port[16];
  int generations;
} probe;

static ocifs_str S(const char* s) {
  ocifs_str out = {s, strlen(s)};
  return out;
}

static ocifs_result Init(const ocifs_call* call, const ocifs_init_input* in, void** instance) {
  probe* p = calloc(1, sizeof *p);
  uint32_t i;
  if (p == NULL) return OCIFS_ERR_FAILED;
  strcpy(p->port, "8080");
  for (i = 0; i < in->settings_count; ++i) {
    const ocifs_setting* s = &in->settings[i];
    if (s->key.len == 4 && memcmp(s->key.ptr, "port", 4) == 0 && s->value.len < sizeof p->port) {
      memcpy(p->port, s->value.ptr, s->value.len);
      p->port[s->value.len] = 0;
    } else {
      call->set_error(call->host, S("unknown setting (known: port)"));
      free(p);
      return OCIFS_ERR_INVALID_ARGUMENT;
    }
  }
  *instance = p;
  return OCIFS_OK;
}

static void Destroy(void* instance) { free(instance); }

/* Collects read_file's chunks into a fixed buffer. */
typedef struct buffer {
  char data[4096];
  size_t len;
} buffer;

static void Append(void* ctx, ocifs_str chunk) {
  buffer* b = ctx;
  size_t n = chunk.len < sizeof b->data - 1 - b->len ? chunk.len : sizeof b->data - 1 - b->len;
  memcpy(b->data + b->len, chunk.ptr, n);
  b->len += n;
  b->data[b->len] = 0;
}

static ocifs_result Detect(void* instance, const ocifs_call* call, const ocifs_project_input* in,
                           const ocifs_config_sink* out) {
  probe* p = instance;
  buffer app;
  ocifs_str cmd[3];
  ocifs_str test[2];
  ocifs_healthcheck check;
  ocifs_result r;
  app.len = 0;
  app.data[0] = 0;
  r = in->read_file(in->host, OCIFS_LAYER_APPLICATION, S("app.py"), 1 << 20, &app, Append);
  if (r == OCIFS_ERR_NOT_FOUND) {
    call->log(call->host, OCIFS_LOG_INFO, S("no app.py: nothing to detect"));
    return OCIFS_OK;
  }
  if (r != OCIFS_OK) return r;
  out->set_label(out->host, S("probe.app-py"), S(strstr(app.data, "hello") ? "hello" : "other"));
  out->set_env(out->host, S("PROBE"), S("1"));
  out->expose(out->host, S(p->port));
  cmd[0] = S("python3");
  cmd[1] = S("-m");
  cmd[2] = S("app");
  out->set_cmd(out->host, cmd, 3);
  memset(&check, 0, sizeof check);
  check.struct_size = sizeof check;
  test[0] = S("python3");
  test[1] = S("-c");
  check.test = test;
  check.test_count = 2;
  check.interval_ns = 30000000000LL;
  check.retries = 3;
  out->set_healthcheck(out->host, &check);
  return OCIFS_OK;
}

static ocifs_result WriteLayer(void* instance, const ocifs_call* call,
                               const ocifs_project_input* in, const ocifs_layer_sink* out) {
  (void)instance;
  (void)call;
  out->add_directory(out->host, S("etc/probe"), 0755);
  out->add_file(out->host, S("etc/probe/facts.json"), 0644, in->facts_json);
  out->add_symlink(out->host, S("etc/probe/latest"), S("facts.json"));
  return OCIFS_OK;
}

static ocifs_result OnGeneration(void* instance, const ocifs_call* call,
                                 const ocifs_generation_input* gen) {
  probe* p = instance;
  char line[128];
  char head[8];
  size_t n = 0;
  ocifs_result r;
  if (gen->tag_count == 0 || gen->blob_count == 0) return OCIFS_ERR_INTERNAL;
  /* Read the first bytes of the tagged manifest: it is JSON, so it starts with '{'. */
  r = gen->read_blob(gen->host, gen->tags[0].manifest_digest, 0, head, sizeof head, &n);
  if (r != OCIFS_OK || n == 0 || head[0] != '{') {
    call->set_error(call->host, S("the manifest did not read as JSON"));
    return OCIFS_ERR_FAILED;
  }
  p->generations++;
  snprintf(line, sizeof line, "generation %llu seen (%d so far), %u blobs",
           (unsigned long long)gen->number, p->generations, (unsigned)gen->blob_count);
  call->log(call->host, OCIFS_LOG_INFO, S(line));
  return OCIFS_OK;
}

/* Attaches the facts as a document; a base blob that is not there must read as NOT_FOUND. */
static ocifs_result WriteArtifacts(void* instance, const ocifs_call* call,
                                   const ocifs_project_input* in, const ocifs_artifact_sink* out) {
  char byte;
  size_t n = 0;
  (void)instance;
  if (in->read_base_blob(in->host, S("sha256:0000"), 0, &byte, 1, &n) != OCIFS_ERR_NOT_FOUND) {
    call->set_error(call->host, S("read_base_blob of an unknown digest did not say NOT_FOUND"));
    return OCIFS_ERR_FAILED;
  }
  return out->add(out->host, S("c-probe"), S("application/vnd.ocifs.probe.facts+json"),
                  S("application/json"), in->facts_json);
}

static const ocifs_detect_capability kDetect = {sizeof(ocifs_detect_capability), 0, Detect};
static const ocifs_layer_capability kLayer = {sizeof(ocifs_layer_capability), 0, "probe",
                                              WriteLayer};
static const ocifs_generation_capability kGeneration = {sizeof(ocifs_generation_capability), 0,
                                                        OnGeneration};
static const ocifs_artifact_capability kArtifact = {sizeof(ocifs_artifact_capability), 0,
                                                    WriteArtifacts};
static const ocifs_plugin_descriptor kDescriptor = {
    sizeof(ocifs_plugin_descriptor),
    OCIFS_PLUGIN_ABI_MAJOR,
    OCIFS_PLUGIN_ABI_MINOR,
    "c-probe",
    "1.0.0",
    "every capability, in C",
    Init,
    Destroy,
    &kDetect,
    &kLayer,
    &kGeneration,
    &kArtifact,
};

OCIFS_PLUGIN_EXPORT const ocifs_plugin_descriptor* ocifs_plugin_entry(void) { return &kDescriptor; }
