/*
 * The ocifs plugin ABI: what a plugin shared object and the ocifs host agree on.
 *
 * Start here. A plugin is a shared object that exports one function,
 *
 *     const ocifs_plugin_descriptor* ocifs_plugin_entry(void);
 *
 * which returns a pointer to a static descriptor: the plugin's name and version, the ABI version it
 * was built against, and the capabilities it offers (each optional, NULL when not offered):
 *
 *   detect      project facts in (JSON), configuration contributions out (command, env, ports,
 *               labels, health check, user, files to exclude);
 *   layer       a layer of files the plugin writes (deterministically: same inputs, same bytes);
 *   artifact    documents attached to the image as OCI 1.1 artifacts (an SBOM, a signature),
 *               listed in index.json beside the image's tags (since ABI 0.2);
 *   generation  told about each new image generation (tags, manifest digests, blobs to read).
 *
 * Rules that hold for every function of this file:
 *
 * Versions. The host loads a plugin when its `abi_major` equals the host's and its `abi_minor` is
 * not newer than the host's; while the major is 0 the minor must match exactly. A newer host may
 * hand a plugin structs larger than the plugin knows (fields appended at their end); a plugin
 * reads only the fields its `struct_size` check admits (OCIFS_HAS_FIELD).
 *
 * Structs. Every struct that may grow begins with `uint32_t struct_size`, set by whoever fills it
 * to sizeof() as it was compiled. Fields are only ever appended; nothing is removed or reordered
 * within a major version. tests/sdk/abi_test.c pins every size and offset.
 *
 * Ownership. Strings and buffers passed to a plugin are borrowed `ocifs_str` {ptr, len} views,
 * valid until the function they were passed to returns; they are not NUL-terminated. Everything a
 * plugin produces goes through host-owned sinks (function pointers with an opaque `host` context),
 * which copy what they are given before they return. Nothing is ever freed across the boundary:
 * the host never frees plugin memory, the plugin never frees host memory. The descriptor and its
 * strings are static and live as long as the shared object is loaded.
 *
 * Errors. A function returns OCIFS_OK or an error code; before returning an error it may give a
 * message with `call->set_error` (the last one wins), which the host shows with the plugin's
 * name. An error fails the mount (or the new generation) that asked for it; it never crashes the
 * host. A plugin must not let a C++ exception or a longjmp cross this boundary (plugin.hpp
 * catches exceptions for C++ plugins).
 *
 * Threads. The host calls one plugin instance from one thread at a time (calls are serialized per
 * instance), not always the same thread. Host functions (call->..., sinks) may be used only
 * during the call that received them, from the thread that made it (set_status excepted). A
 * plugin may start threads of its own, but not in init: a host may fork after init (only the
 * forking thread survives), and most commands load every plugin and call few of them. Start them
 * on first use (a generation is only ever told by the process that serves it), and end them in
 * destroy.
 *
 * Trust. A plugin runs inside the ocifs daemon with its privileges. The host loads plugins only
 * from the install's plugin directory, OCIFS_PLUGIN_PATH and --plugin, never from the project or
 * the mount. Facts a plugin receives come from the project, which may be hostile: parse them as
 * untrusted input.
 *
 * This header is pure C (C99 and C++), depends only on <stddef.h> and <stdint.h>, and is the ABI;
 * plugin.hpp is a C++ convenience on top of it and is not.
 */
#ifndef OCIFS_PLUGIN_H_
#define OCIFS_PLUGIN_H_

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define OCIFS_PLUGIN_ABI_MAJOR 0
#define OCIFS_PLUGIN_ABI_MINOR 3

/* The one symbol a plugin exports. */
#define OCIFS_PLUGIN_ENTRY_SYMBOL "ocifs_plugin_entry"

#if defined(_WIN32)
#define OCIFS_PLUGIN_EXPORT __declspec(dllexport)
#else
#define OCIFS_PLUGIN_EXPORT __attribute__((visibility("default")))
#endif

/* True when a struct of `struct_size` bytes (as its filler compiled it) holds `field`. */
#define OCIFS_HAS_FIELD(ptr, type, field) \
  ((ptr)->struct_size >= offsetof(type, field) + sizeof(((type*)0)->field))

/* Result codes. Hosts treat any value they do not know like OCIFS_ERR_FAILED. */
typedef int32_t ocifs_result;
#define OCIFS_OK 0
#define OCIFS_ERR_FAILED 1           /* the operation failed; see the message */
#define OCIFS_ERR_INVALID_ARGUMENT 2 /* bad settings or input (e.g. an unknown setting) */
#define OCIFS_ERR_NOT_FOUND 3        /* a file or key asked for does not exist */
#define OCIFS_ERR_UNSUPPORTED 4      /* a request this plugin or host version cannot serve */
#define OCIFS_ERR_INTERNAL 5         /* a bug; the message says where */

/* Log levels for call->log. */
#define OCIFS_LOG_ERROR 0
#define OCIFS_LOG_WARNING 1
#define OCIFS_LOG_INFO 2
#define OCIFS_LOG_DEBUG 3

/* A borrowed run of bytes (UTF-8 text unless said otherwise); not NUL-terminated. */
typedef struct ocifs_str {
  const char* ptr; /* may be NULL when len == 0 */
  size_t len;
} ocifs_str;

/* Handed to every plugin function: the way back to the host for this call. Host-owned. */
typedef struct ocifs_call {
  uint32_t struct_size;
  uint32_t reserved; /* 0 */
  void* host;        /* opaque; pass it back to the functions below */
  /* The message of the error this call is about to return. Copied; the last one wins. */
  void (*set_error)(void* host, ocifs_str message);
  /* A line for the host's log (the host adds the plugin's name). */
  void (*log)(void* host, int32_t level, ocifs_str message);
} ocifs_call;

/* One plugin setting: from [tool.ocifs.plugins.NAME] in pyproject.toml (strings as they are,
 * numbers and booleans as TOML writes them, arrays and tables as JSON) and from
 * --plugin-opt NAME.KEY=VALUE, which wins. Sorted by key, keys unique. */
typedef struct ocifs_setting {
  ocifs_str key;
  ocifs_str value;
} ocifs_setting;

typedef struct ocifs_init_input {
  uint32_t struct_size;
  uint32_t settings_count;
  const ocifs_setting* settings;
  ocifs_str host_version; /* "0.1.0" */
  /* Since 0.2. A directory of this plugin's own (`<cache dir>/plugins/NAME`, mode 0700, made by
   * the host) for what it can compute again: keep only results named by what they were computed
   * from (a blob digest), write them atomically (a temporary file, then rename), check them when
   * read back. Empty when there is no cache (--no-cache). `ocifs cache prune --all` empties it. */
  ocifs_str cache_dir;
  /* Since 0.3. The ocifs executable the host runs as, for a plugin that runs ocifs commands of
   * its own (registry-sync runs `ocifs push --mount`). */
  ocifs_str host_executable;
  /* Since 0.3. Sets what `ocifs status` shows for this plugin: a JSON object, with a one-line
   * "summary" string for people. Unlike every other host function, it may be called from any
   * thread, at any time until destroy returns (a plugin's own threads report with it); the text
   * is copied. Text that is not a JSON object is ignored. */
  void* status_host;
  void (*set_status)(void* status_host, ocifs_str json);
} ocifs_init_input;

/* ---- detect ------------------------------------------------------------------------------- */

/* A Docker-compatible health check (the config's Healthcheck). Durations in nanoseconds; 0 means
 * the runtime's default. `test` is the command run with exec (Healthcheck.Test "CMD", ...). */
typedef struct ocifs_healthcheck {
  uint32_t struct_size;
  uint32_t test_count;
  const ocifs_str* test;
  int64_t interval_ns;
  int64_t timeout_ns;
  int64_t start_period_ns;
  int32_t retries;
  int32_t reserved; /* 0 */
} ocifs_healthcheck;

/* Where detect writes its contributions. Host-owned; every function copies its arguments and
 * returns OCIFS_OK or OCIFS_ERR_INVALID_ARGUMENT (with the reason set on the call). Contributions
 * rank below [tool.ocifs] and flags: an explicit setting always wins. */
typedef struct ocifs_config_sink {
  uint32_t struct_size;
  uint32_t reserved; /* 0 */
  void* host;
  /* The command: entrypoint and cmd, as exec words. Either may be given without the other. */
  ocifs_result (*set_entrypoint)(void* host, const ocifs_str* argv, size_t argc);
  ocifs_result (*set_cmd)(void* host, const ocifs_str* argv, size_t argc);
  ocifs_result (*set_env)(void* host, ocifs_str key, ocifs_str value);
  ocifs_result (*set_label)(void* host, ocifs_str key, ocifs_str value);
  /* "8000", "8000/tcp", "53/udp" */
  ocifs_result (*expose)(void* host, ocifs_str port);
  ocifs_result (*set_user)(void* host, ocifs_str user);
  ocifs_result (*set_healthcheck)(void* host, const ocifs_healthcheck* check);
  /* A pattern in .dockerignore syntax to leave out of the application layer. */
  ocifs_result (*exclude)(void* host, ocifs_str pattern);
} ocifs_config_sink;

/* Which of the image's own layers a file belongs to. */
#define OCIFS_LAYER_APPLICATION 0
#define OCIFS_LAYER_DEPENDENCIES 1

/* What detect, layer and artifact see of the project. Host-owned, valid for the call. */
typedef struct ocifs_project_input {
  uint32_t struct_size;
  uint32_t reserved; /* 0 */
  void* host;        /* pass it back to read_file and read_base_blob */
  /* A JSON object, described in docs/plugins.md:
   *   {"name", "version", "python": "3.12", "workdir": "/app", "platform": "linux/amd64",
   *    "created": "1970-01-01T00:00:00Z" (the image's; since 0.2),
   *    "pyproject": {... pyproject.toml as JSON, {} when absent ...},
   *    "dependencies": ["fastapi", ...]     (normalized names of the installed distributions),
   *    "base": {"reference", "digest" (the base manifest's, or null), "layers": [{"digest",
   *             "mediaType", "size"}, ...]}                                     (since 0.2),
   *    "application_files": ["app/main.py", ...], "dependency_files": [...] (paths in the layer)}
   */
  ocifs_str facts_json;
  /* Reads a file of the application layer (`layer` OCIFS_LAYER_APPLICATION) or the dependencies
   * layer, by its path in the layer as facts list it, into `out` (called once or more with the
   * content). At most `max_bytes` are read; OCIFS_ERR_NOT_FOUND when there is no such file. */
  ocifs_result (*read_file)(void* host, int32_t layer, ocifs_str path, uint64_t max_bytes,
                            void* out_ctx, void (*out)(void* out_ctx, ocifs_str chunk));
  /* Since 0.2. Reads `len` bytes at `offset` of a base layer blob (a digest of facts' base.layers,
   * in the media type listed there, e.g. gzip) into `buf`, which the plugin owns; sets *read
   * (short only at the end). OCIFS_ERR_NOT_FOUND for another digest. Every byte returned hashes
   * to the digest, or the read fails. */
  ocifs_result (*read_base_blob)(void* host, ocifs_str digest, uint64_t offset, void* buf,
                                 size_t len, size_t* read);
} ocifs_project_input;

typedef struct ocifs_detect_capability {
  uint32_t struct_size;
  uint32_t reserved; /* 0 */
  ocifs_result (*detect)(void* instance, const ocifs_call* call, const ocifs_project_input* in,
                         const ocifs_config_sink* out);
} ocifs_detect_capability;

/* ---- layer -------------------------------------------------------------------------------- */

/* Where a layer plugin writes its files. Paths are relative ("etc/app.conf"), '/'-separated, with
 * no "." or ".." parts and no ".wh." names; parent directories are made as needed (0755); every
 * entry is owned by root. Modes are permission bits (0777; setuid, setgid and sticky are dropped,
 * as for packed files). Same inputs must give the same calls: the layer's digest depends on every
 * byte. A path written twice is refused. */
typedef struct ocifs_layer_sink {
  uint32_t struct_size;
  uint32_t reserved; /* 0 */
  void* host;
  ocifs_result (*add_file)(void* host, ocifs_str path, uint32_t mode, ocifs_str content);
  ocifs_result (*add_directory)(void* host, ocifs_str path, uint32_t mode);
  ocifs_result (*add_symlink)(void* host, ocifs_str path, ocifs_str target);
} ocifs_layer_sink;

typedef struct ocifs_layer_capability {
  uint32_t struct_size;
  uint32_t reserved; /* 0 */
  /* The layer's name in status and history ("sbom"); static. */
  const char* layer_name;
  /* Writes the layer. Writing nothing leaves the layer out of the image. */
  ocifs_result (*write_layer)(void* instance, const ocifs_call* call, const ocifs_project_input* in,
                              const ocifs_layer_sink* out);
} ocifs_layer_capability;

/* ---- artifact (since 0.2) ------------------------------------------------------------------ */

/* Where an artifact plugin attaches its documents. Each becomes an OCI 1.1 artifact manifest:
 * `artifactType` = artifact_type, config the empty descriptor, one layer holding `content` with
 * `media_type`, `subject` = the image manifest; index.json lists it once per image tag, with the
 * ref name "TAG.SUFFIX" (e.g. "latest.sbom.spdx"). `ref_suffix` is [a-z0-9]+ parts joined by '.'
 * or '-' and unique within the image; types are media types ("application/spdx+json"). Same
 * inputs must give the same calls: the artifact's digest depends on every byte. */
typedef struct ocifs_artifact_sink {
  uint32_t struct_size;
  uint32_t reserved; /* 0 */
  void* host;
  ocifs_result (*add)(void* host, ocifs_str ref_suffix, ocifs_str artifact_type,
                      ocifs_str media_type, ocifs_str content);
} ocifs_artifact_sink;

typedef struct ocifs_artifact_capability {
  uint32_t struct_size;
  uint32_t reserved; /* 0 */
  /* Called when an image is planned, after detect and layer plugins (facts list their files
   * neither); attaching nothing is fine. */
  ocifs_result (*write_artifacts)(void* instance, const ocifs_call* call,
                                  const ocifs_project_input* in, const ocifs_artifact_sink* out);
} ocifs_artifact_capability;

/* ---- generation --------------------------------------------------------------------------- */

typedef struct ocifs_blob_info {
  ocifs_str digest;     /* "sha256:..." */
  ocifs_str media_type; /* "application/vnd.oci.image.layer.v1.tar", ... */
  uint64_t size;
} ocifs_blob_info;

/* One entry of index.json: an image tag ("latest") or, since 0.2, an artifact attached to it
 * ("latest.sbom.spdx"; its manifest's `artifactType` tells which). */
typedef struct ocifs_tagged_manifest {
  ocifs_str tag;             /* the ref name */
  ocifs_str manifest_digest; /* "sha256:..." */
} ocifs_tagged_manifest;

typedef struct ocifs_generation_input {
  uint32_t struct_size;
  uint32_t reserved; /* 0 */
  void* host;        /* pass it back to read_blob */
  uint64_t number;   /* 1, 2, ... within one mount */
  ocifs_str index_json;
  uint32_t tag_count;
  uint32_t blob_count;
  const ocifs_tagged_manifest* tags;
  const ocifs_blob_info* blobs; /* every blob (configs, manifests, layers), by digest */
  /* Reads `len` bytes of a blob at `offset` into `buf`, which the plugin owns; sets *read (short
   * only at the end). Every byte returned hashes to the digest, or the read fails. */
  ocifs_result (*read_blob)(void* host, ocifs_str digest, uint64_t offset, void* buf, size_t len,
                            size_t* read);
  /* Since 0.3. Where the generation will be served: the mountpoint; empty when it is not
   * mounted (`ocifs build`). It is served once on_generation has returned and every generation
   * plugin accepted it; until then the mount serves the one before. */
  ocifs_str mountpoint;
  /* Since 0.3. The project directory on the host, and [project] version ("" when not given). */
  ocifs_str project_dir;
  ocifs_str project_version;
} ocifs_generation_input;

typedef struct ocifs_generation_capability {
  uint32_t struct_size;
  uint32_t reserved; /* 0 */
  /* Called after a generation is built and before it is served. An error fails the generation
   * (the mount keeps serving the one before). */
  ocifs_result (*on_generation)(void* instance, const ocifs_call* call,
                                const ocifs_generation_input* gen);
} ocifs_generation_capability;

/* ---- the descriptor ----------------------------------------------------------------------- */

typedef struct ocifs_plugin_descriptor {
  uint32_t struct_size;
  uint16_t abi_major; /* OCIFS_PLUGIN_ABI_MAJOR as the plugin was built */
  uint16_t abi_minor; /* OCIFS_PLUGIN_ABI_MINOR as the plugin was built */
  const char* name;   /* [a-z0-9][a-z0-9-]*, unique among loaded plugins */
  const char* version;
  const char* description;
  /* Optional (NULL: the instance is NULL). Makes an instance from the settings. Unknown settings
   * should be an OCIFS_ERR_INVALID_ARGUMENT naming the key. */
  ocifs_result (*init)(const ocifs_call* call, const ocifs_init_input* in, void** instance);
  /* Optional. Releases what init made. Called once, after the last call to the instance. */
  void (*destroy)(void* instance);
  /* Capabilities; NULL when not offered. A plugin offers at least one. */
  const ocifs_detect_capability* detect;
  const ocifs_layer_capability* layer;
  const ocifs_generation_capability* generation;
  const ocifs_artifact_capability* artifact; /* since 0.2 */
} ocifs_plugin_descriptor;

/* The entry point's type. */
typedef const ocifs_plugin_descriptor* (*ocifs_plugin_entry_fn)(void);

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* OCIFS_PLUGIN_H_ */
