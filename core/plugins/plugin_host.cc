#include "core/plugins/plugin_host.h"

#include <dlfcn.h>
#include <limits.h>
#include <stdlib.h>

#include <algorithm>
#include <cstddef>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <regex>
#include <set>
#include <sstream>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <toml++/toml.h>

#include "core/oci/layer.h"
#include "core/support/private_dir.h"
#include "core/support/text.h"
#include "ocifs/plugin.h"

namespace ocifs {

using json = nlohmann::json;

namespace {

std::string_view View(ocifs_str s) { return s.len ? std::string_view(s.ptr, s.len) : ""; }
ocifs_str Str(std::string_view s) { return {s.data(), s.size()}; }

// The sizes of ABI 0.3's structs: a plugin's struct must be at least this large.
constexpr uint32_t kMinDescriptorSize = sizeof(ocifs_plugin_descriptor);
constexpr uint32_t kMinDetectSize = sizeof(ocifs_detect_capability);
constexpr uint32_t kMinLayerSize = sizeof(ocifs_layer_capability);
constexpr uint32_t kMinGenerationSize = sizeof(ocifs_generation_capability);
constexpr uint32_t kMinArtifactSize = sizeof(ocifs_artifact_capability);

std::string_view ResultName(ocifs_result r) {
  switch (r) {
    case OCIFS_ERR_FAILED:
      return "failed";
    case OCIFS_ERR_INVALID_ARGUMENT:
      return "invalid argument";
    case OCIFS_ERR_NOT_FOUND:
      return "not found";
    case OCIFS_ERR_UNSUPPORTED:
      return "unsupported";
    case OCIFS_ERR_INTERNAL:
      return "internal error";
    default:
      return "unknown error code";
  }
}

bool ValidPluginName(std::string_view name) {
  static const std::regex kName("[a-z0-9][a-z0-9-]{0,63}");
  return std::regex_match(name.begin(), name.end(), kName);
}

// Why a descriptor cannot be used, or "" when it can. Reads no field beyond `struct_size`.
std::string CheckDescriptor(const ocifs_plugin_descriptor* d, PluginInfo& info) {
  if (d == nullptr) return "its entry point returned no descriptor (NULL)";
  if (d->struct_size < offsetof(ocifs_plugin_descriptor, name))
    return fmt::format("its descriptor is too small ({} bytes)", d->struct_size);
  info.abi = {d->abi_major, d->abi_minor};
  const AbiVersion host = HostAbiVersion();
  if (!AbiCompatible(host, info.abi)) {
    return fmt::format(
        "it was built for plugin ABI {}.{}; this ocifs has ABI {}.{} (wanted: the same major{})",
        info.abi.major, info.abi.minor, host.major, host.minor,
        host.major == 0 ? " and, while it is 0, the same minor" : ", a minor not newer");
  }
  if (d->struct_size < kMinDescriptorSize) {
    return fmt::format("its descriptor is too small ({} bytes; ABI {}.{} needs {})", d->struct_size,
                       info.abi.major, info.abi.minor, kMinDescriptorSize);
  }
  if (d->name == nullptr || !ValidPluginName(d->name))
    return "its name is missing or not of the form [a-z0-9][a-z0-9-]* (at most 64 characters)";
  info.name = d->name;
  if (d->version == nullptr) return "its version is missing (NULL)";
  info.version = d->version;
  info.description = d->description ? d->description : "";
  if (d->detect) {
    if (d->detect->struct_size < kMinDetectSize || d->detect->detect == nullptr)
      return "its detect capability is malformed (too small, or no function)";
    info.capabilities.push_back("detect");
  }
  if (d->layer) {
    if (d->layer->struct_size < kMinLayerSize || d->layer->write_layer == nullptr)
      return "its layer capability is malformed (too small, or no function)";
    if (d->layer->layer_name == nullptr || !ValidPluginName(d->layer->layer_name))
      return "its layer capability has no valid layer_name ([a-z0-9][a-z0-9-]*)";
    info.capabilities.push_back("layer");
  }
  if (d->artifact) {
    if (d->artifact->struct_size < kMinArtifactSize || d->artifact->write_artifacts == nullptr)
      return "its artifact capability is malformed (too small, or no function)";
    info.capabilities.push_back("artifact");
  }
  if (d->generation) {
    if (d->generation->struct_size < kMinGenerationSize || d->generation->on_generation == nullptr)
      return "its generation capability is malformed (too small, or no function)";
    info.capabilities.push_back("generation");
  }
  if (info.capabilities.empty())
    return "it offers no capability (detect, layer, artifact and generation are NULL)";
  return "";
}

bool Inside(const std::string& path, const std::string& dir) {
  return path == dir || (path.size() > dir.size() && path.starts_with(dir) &&
                         (dir.ends_with('/') || path[dir.size()] == '/'));
}

std::string RealPath(const std::string& path) {
  char buf[PATH_MAX];
  if (::realpath(path.c_str(), buf) == nullptr) return std::filesystem::absolute(path).string();
  return buf;
}

struct Candidate {
  std::string path;
  bool given = false;  // named with --plugin (errors are errors, not warnings)
};

std::vector<Candidate> Candidates(const PluginSearch& search) {
  std::vector<Candidate> out;
  for (const auto& f : search.files) out.push_back({f, true});
  for (const auto& dir : search.dirs) {
    std::error_code ec;
    std::vector<std::string> found;
    for (const auto& e : std::filesystem::directory_iterator(dir, ec)) {
      if (e.path().extension() == ".so" && e.is_regular_file(ec)) found.push_back(e.path());
    }
    std::sort(found.begin(), found.end());
    for (auto& f : found) out.push_back({std::move(f), false});
  }
  return out;
}

}  // namespace

AbiVersion HostAbiVersion() { return {OCIFS_PLUGIN_ABI_MAJOR, OCIFS_PLUGIN_ABI_MINOR}; }

bool AbiCompatible(AbiVersion host, AbiVersion plugin) {
  if (plugin.major != host.major) return false;
  return host.major == 0 ? plugin.minor == host.minor : plugin.minor <= host.minor;
}

std::vector<std::string> PluginDirs(const char* env_value, const std::string& install_dir) {
  std::vector<std::string> dirs;
  if (env_value != nullptr) {
    std::string_view rest = env_value;
    while (!rest.empty()) {
      size_t colon = rest.find(':');
      std::string_view part = rest.substr(0, colon);
      if (!part.empty()) dirs.emplace_back(part);
      rest = colon == std::string_view::npos ? std::string_view() : rest.substr(colon + 1);
    }
  }
  if (!install_dir.empty()) dirs.push_back(install_dir);
  return dirs;
}

std::optional<std::string> MissingPluginDirsWarning(const PluginSearch& search) {
  if (search.none || !search.files.empty()) return std::nullopt;
  std::error_code ec;
  for (const auto& dir : search.dirs) {
    if (std::filesystem::is_directory(dir, ec)) return std::nullopt;
  }
  return fmt::format(
      "no plugin directory found (looked in {}): the image gets no SBOM and no framework "
      "detection; build the plugins (`cmake --build build`), install them (`cmake --install "
      "build`), or name their directory in OCIFS_PLUGIN_PATH",
      search.dirs.empty() ? std::string("no directory: OCIFS_PLUGIN_PATH is empty and the "
                                        "executable's own directory is unknown")
                          : fmt::format("`{}`", fmt::join(search.dirs, "`, `")));
}

// One loaded shared object and its instance. Owns the dlopen handle.
class LoadedPlugin {
 public:
  LoadedPlugin(void* handle, const ocifs_plugin_descriptor* d, PluginInfo info)
      : handle_(handle), d_(d), info_(std::move(info)) {}
  ~LoadedPlugin() {
    DestroyInstance();
    if (handle_) ::dlclose(handle_);
  }
  LoadedPlugin(const LoadedPlugin&) = delete;
  LoadedPlugin& operator=(const LoadedPlugin&) = delete;

  const PluginInfo& info() const { return info_; }
  const std::string& name() const { return info_.name; }
  const ocifs_plugin_descriptor& descriptor() const { return *d_; }
  void* instance() const { return instance_; }
  bool configured() const { return configured_; }
  const std::map<std::string, std::string>& settings() const { return settings_; }

  void DestroyInstance() {
    if (configured_ && d_->destroy) d_->destroy(instance_);
    instance_ = nullptr;
    configured_ = false;
  }
  void SetInstance(void* instance, std::map<std::string, std::string> settings) {
    instance_ = instance;
    settings_ = std::move(settings);
    configured_ = true;
  }

 private:
  void* handle_;
  const ocifs_plugin_descriptor* d_;
  PluginInfo info_;
  void* instance_ = nullptr;
  bool configured_ = false;
  std::map<std::string, std::string> settings_;
};

namespace {

// Opens and checks one file. On success the plugin is loaded (not yet configured); otherwise
// `info.refused` says why and nothing stays loaded.
std::unique_ptr<LoadedPlugin> OpenPlugin(const std::string& path, PluginInfo& info) {
  info.path = path;
  ::dlerror();
  void* handle = ::dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (handle == nullptr) {
    const char* err = ::dlerror();
    info.refused = fmt::format("it cannot be loaded: {}", err ? err : "dlopen failed");
    return nullptr;
  }
  auto entry = reinterpret_cast<ocifs_plugin_entry_fn>(::dlsym(handle, OCIFS_PLUGIN_ENTRY_SYMBOL));
  if (entry == nullptr) {
    info.refused =
        fmt::format("it does not export `{}` (is it an ocifs plugin?)", OCIFS_PLUGIN_ENTRY_SYMBOL);
    ::dlclose(handle);
    return nullptr;
  }
  const ocifs_plugin_descriptor* d = entry();
  info.refused = CheckDescriptor(d, info);
  if (!info.refused.empty()) {
    ::dlclose(handle);
    return nullptr;
  }
  return std::make_unique<LoadedPlugin>(handle, d, info);
}

// What one call to a plugin collects: its error message and what the host's sinks refused.
struct CallState {
  const LoadedPlugin* plugin = nullptr;
  const PluginHost::LogFn* log = nullptr;
  std::string error;       // set_error's message
  std::string sink_error;  // the first value a sink refused
};

void SetErrorThunk(void* host, ocifs_str message) {
  static_cast<CallState*>(host)->error = std::string(View(message));
}

void LogThunk(void* host, int32_t level, ocifs_str message) {
  auto* st = static_cast<CallState*>(host);
  LogLevel l = level <= OCIFS_LOG_ERROR     ? LogLevel::kError
               : level == OCIFS_LOG_WARNING ? LogLevel::kWarning
                                            : LogLevel::kInfo;
  std::string line = fmt::format("plugin `{}`: {}", st->plugin->name(), View(message));
  if (st->log && *st->log) {
    (*st->log)(l, line);
  } else {
    std::fprintf(stderr, "ocifs: %s\n", line.c_str());
  }
}

// Runs `f(call)` against plugin `p` and turns its outcome into a Status naming the plugin and
// `what`. An exception that crossed the C boundary (a plugin breaking the ABI's rule) is caught.
template <typename F>
Status Invoke(const LoadedPlugin& p, const PluginHost::LogFn& log, std::string_view what,
              CallState& st, F&& f) {
  st.plugin = &p;
  st.log = &log;
  ocifs_call call{sizeof(ocifs_call), 0, &st, &SetErrorThunk, &LogThunk};
  ocifs_result r = OCIFS_ERR_INTERNAL;
  try {
    r = f(&call);
  } catch (const std::exception& e) {
    return Status(Code::kFailedPrecondition,
                  fmt::format("plugin `{}` ({}): an exception crossed the C ABI: {}", p.name(),
                              what, e.what()));
  } catch (...) {
    return Status(Code::kFailedPrecondition,
                  fmt::format("plugin `{}` ({}): an exception crossed the C ABI", p.name(), what));
  }
  if (r != OCIFS_OK) {
    std::string message = !st.error.empty() ? st.error : std::string(ResultName(r));
    if (!st.sink_error.empty()) message += fmt::format(" (after: {})", st.sink_error);
    return Status(
        r == OCIFS_ERR_INVALID_ARGUMENT ? Code::kInvalidArgument : Code::kFailedPrecondition,
        fmt::format("plugin `{}` ({}) failed: {}", p.name(), what, message));
  }
  if (!st.sink_error.empty()) {
    return InvalidArgument(
        fmt::format("plugin `{}` ({}) gave a bad value: {}", p.name(), what, st.sink_error));
  }
  return Status::Ok();
}

// ---- project input (detect, layer) -------------------------------------------------------------

// The files of a layer by their path as facts list them, sorted bytewise. The paths point into
// the plan's TarEntry names (a vector of views: 24 bytes a file, for trees of 100,000 files).
using FileIndex = std::vector<std::pair<std::string_view, const TarEntry*>>;

// Files of the application and dependencies layers.
struct ProjectState {
  const ImagePlan* plan = nullptr;
  FileIndex files[2];  // by OCIFS_LAYER_*
};

// Where a layer's own paths start: the workdir for the application, site-packages for deps.
std::string LayerPrefix(const ImagePlan& plan, int layer) {
  const ResolvedProject& p = *plan.project;
  if (layer == OCIFS_LAYER_APPLICATION) return p.workdir.substr(1) + "/";
  return fmt::format("{}/lib/python{}/site-packages/", kDepsPrefix, p.python);
}

const PlannedLayer* FindLayer(const ImagePlan& plan, std::string_view name) {
  for (const auto& l : plan.layers) {
    if (l.name == name) return &l;
  }
  return nullptr;
}

// The layers whose files a layer of the facts lists: the application's, or the dependencies'
// (the dependencies layer and the extra dependency layers above it, one site-packages).
std::vector<const PlannedLayer*> FactLayers(const ImagePlan& plan, int layer) {
  std::vector<const PlannedLayer*> out;
  for (const auto& l : plan.layers) {
    const bool want = layer == OCIFS_LAYER_APPLICATION
                          ? l.name == "application"
                          : l.name == "dependencies" || l.name.starts_with(kExtraDependenciesLayer);
    if (want) out.push_back(&l);
  }
  return out;
}

void IndexFiles(ProjectState& st) {
  for (int layer : {OCIFS_LAYER_APPLICATION, OCIFS_LAYER_DEPENDENCIES}) {
    const std::vector<const PlannedLayer*> layers = FactLayers(*st.plan, layer);
    const std::string prefix = LayerPrefix(*st.plan, layer);
    FileIndex& files = st.files[layer];
    for (const PlannedLayer* l : layers) {
      for (const TarEntry& e : l->tar->entries()) {
        if (e.type != TarEntry::Type::kFile && e.type != TarEntry::Type::kHardlink) continue;
        if (!e.name.starts_with(prefix)) continue;
        files.emplace_back(std::string_view(e.name).substr(prefix.size()), &e);
      }
    }
    // Layers list their entries sorted by name already, as a rule; checking is cheaper than
    // sorting. A path in several layers is the upper layer's file, as in the image: a stable sort
    // keeps the layers' order among equal paths, and the last of each run stays.
    if (layers.size() > 1 || !std::is_sorted(files.begin(), files.end())) {
      std::stable_sort(files.begin(), files.end(),
                       [](const auto& a, const auto& b) { return a.first < b.first; });
    }
    if (layers.size() > 1) {
      FileIndex unique;
      for (size_t i = 0; i < files.size(); ++i) {
        if (i + 1 < files.size() && files[i + 1].first == files[i].first) continue;
        unique.push_back(files[i]);
      }
      files = std::move(unique);
    }
  }
}

// The layer of `layers` whose entries hold `e`.
const PlannedLayer* LayerHolding(const std::vector<const PlannedLayer*>& layers,
                                 const TarEntry* e) {
  for (const PlannedLayer* l : layers) {
    const auto& entries = l->tar->entries();
    if (!entries.empty() && e >= &entries.front() && e <= &entries.back()) return l;
  }
  return nullptr;
}

const TarEntry* FindFile(const FileIndex& files, std::string_view path) {
  auto it = std::lower_bound(files.begin(), files.end(), path,
                             [](const auto& f, std::string_view p) { return f.first < p; });
  return it != files.end() && it->first == path ? it->second : nullptr;
}

ocifs_result ReadFileThunk(void* host, int32_t layer, ocifs_str path, uint64_t max_bytes,
                           void* out_ctx, void (*out)(void* out_ctx, ocifs_str chunk)) {
  auto* st = static_cast<ProjectState*>(host);
  if (layer != OCIFS_LAYER_APPLICATION && layer != OCIFS_LAYER_DEPENDENCIES)
    return OCIFS_ERR_INVALID_ARGUMENT;
  const TarEntry* e = FindFile(st->files[layer], View(path));
  if (e == nullptr) return OCIFS_ERR_NOT_FOUND;
  if (e->type == TarEntry::Type::kHardlink) {
    // The first name of the same file, elsewhere in the entry's layer.
    const PlannedLayer* l = LayerHolding(FactLayers(*st->plan, layer), e);
    if (l == nullptr) return OCIFS_ERR_INTERNAL;
    const std::string& first = e->link;
    e = nullptr;
    for (const TarEntry& other : l->tar->entries()) {
      if (other.name == first) e = &other;
    }
    if (e == nullptr) return OCIFS_ERR_INTERNAL;
  }
  if (e->data) {
    std::string_view d = *e->data;
    out(out_ctx, Str(d.substr(0, std::min<uint64_t>(d.size(), max_bytes))));
    return OCIFS_OK;
  }
  auto file = e->tree->Open(e->source_path);
  if (!file.ok()) return OCIFS_ERR_NOT_FOUND;
  std::vector<std::byte> buf(64 << 10);
  for (uint64_t off = 0; off < max_bytes;) {
    auto n = (*file)->Pread(
        std::span(buf.data(), static_cast<size_t>(std::min<uint64_t>(buf.size(), max_bytes - off))),
        off);
    if (!n.ok()) return OCIFS_ERR_FAILED;
    if (*n == 0) break;
    out(out_ctx, ocifs_str{reinterpret_cast<const char*>(buf.data()), *n});
    off += *n;
  }
  return OCIFS_OK;
}

// Reads a blob through `blob`'s ReadAt, for the read_blob and read_base_blob functions.
ocifs_result ReadBlobInto(const Blob* blob, uint64_t offset, void* buf, size_t len, size_t* read) {
  *read = 0;
  if (blob == nullptr) return OCIFS_ERR_NOT_FOUND;
  if (offset >= blob->size()) return OCIFS_OK;
  size_t n = static_cast<size_t>(std::min<uint64_t>(len, blob->size() - offset));
  Status s = blob->ReadAt(offset, std::span(static_cast<std::byte*>(buf), n));
  if (!s.ok()) return OCIFS_ERR_FAILED;
  *read = n;
  return OCIFS_OK;
}

ocifs_result ReadBaseBlobThunk(void* host, ocifs_str digest, uint64_t offset, void* buf, size_t len,
                               size_t* read) {
  const auto* st = static_cast<const ProjectState*>(host);
  const Blob* blob = nullptr;
  for (const auto& l : st->plan->base.layers) {
    if (l.descriptor.digest.str() == View(digest)) blob = l.blob.get();
  }
  // The system-packages layer, named by its content key (see SystemLayerFacts).
  std::optional<TarBlob> system;
  if (const PlannedLayer* l = FindLayer(*st->plan, "system-packages");
      blob == nullptr && l != nullptr && l->tar->CacheKey().str() == View(digest)) {
    system.emplace(l->tar);
    blob = &*system;
  }
  return ReadBlobInto(blob, offset, buf, len, read);
}

ocifs_project_input ProjectInput(ProjectState& st, const std::string& facts) {
  return {sizeof(ocifs_project_input), 0, &st, Str(facts), &ReadFileThunk, &ReadBaseBlobThunk};
}

// ---- config sink (detect) ----------------------------------------------------------------------

struct DetectState {
  CallState* call;
  Contribution c;
  void Refuse(std::string reason) {
    if (call->sink_error.empty()) call->sink_error = std::move(reason);
  }
};

bool CheckWords(DetectState* st, const ocifs_str* argv, size_t argc, std::string_view what,
                std::vector<std::string>& out) {
  if (argc == 0 || argv == nullptr) {
    st->Refuse(fmt::format("an empty {}", what));
    return false;
  }
  for (size_t i = 0; i < argc; ++i) out.emplace_back(View(argv[i]));
  if (out[0].empty()) {
    st->Refuse(fmt::format("a {} whose first word is empty", what));
    return false;
  }
  return true;
}

ocifs_result SetCommandThunk(void* host, const ocifs_str* argv, size_t argc, bool entrypoint) {
  auto* st = static_cast<DetectState*>(host);
  std::vector<std::string> words;
  if (!CheckWords(st, argv, argc, entrypoint ? "entrypoint" : "cmd", words))
    return OCIFS_ERR_INVALID_ARGUMENT;
  (entrypoint ? st->c.entrypoint : st->c.cmd) = std::move(words);
  return OCIFS_OK;
}

ocifs_result SetKeyThunk(DetectState* st, KeyValues& kv, std::string_view what, ocifs_str key,
                         ocifs_str value) {
  std::string_view k = View(key);
  if (k.empty() || (what == "env" && k.find('=') != std::string_view::npos) || !IsValidUtf8(k) ||
      !IsValidUtf8(View(value))) {
    st->Refuse(fmt::format("{} key `{}` (empty, not UTF-8, or with '=')", what, k));
    return OCIFS_ERR_INVALID_ARGUMENT;
  }
  SetKeyValue(kv, std::string(k), std::string(View(value)));
  return OCIFS_OK;
}

ocifs_config_sink ConfigSink(DetectState& state) {
  ocifs_config_sink s{};
  s.struct_size = sizeof s;
  s.host = &state;
  s.set_entrypoint = [](void* h, const ocifs_str* argv, size_t argc) {
    return SetCommandThunk(h, argv, argc, true);
  };
  s.set_cmd = [](void* h, const ocifs_str* argv, size_t argc) {
    return SetCommandThunk(h, argv, argc, false);
  };
  s.set_env = [](void* h, ocifs_str k, ocifs_str v) {
    auto* st = static_cast<DetectState*>(h);
    return SetKeyThunk(st, st->c.env, "env", k, v);
  };
  s.set_label = [](void* h, ocifs_str k, ocifs_str v) {
    auto* st = static_cast<DetectState*>(h);
    return SetKeyThunk(st, st->c.labels, "label", k, v);
  };
  s.expose = [](void* h, ocifs_str port) -> ocifs_result {
    auto* st = static_cast<DetectState*>(h);
    auto p = NormalizePort(View(port));
    if (!p.ok()) {
      st->Refuse(p.status().message());
      return OCIFS_ERR_INVALID_ARGUMENT;
    }
    if (std::find(st->c.expose.begin(), st->c.expose.end(), *p) == st->c.expose.end())
      st->c.expose.push_back(*p);
    return OCIFS_OK;
  };
  s.set_user = [](void* h, ocifs_str user) -> ocifs_result {
    auto* st = static_cast<DetectState*>(h);
    if (user.len == 0 || !IsValidUtf8(View(user))) {
      st->Refuse("an empty user");
      return OCIFS_ERR_INVALID_ARGUMENT;
    }
    st->c.user = std::string(View(user));
    return OCIFS_OK;
  };
  s.set_healthcheck = [](void* h, const ocifs_healthcheck* check) -> ocifs_result {
    auto* st = static_cast<DetectState*>(h);
    if (check == nullptr || check->struct_size < sizeof(ocifs_healthcheck)) {
      st->Refuse("a health check struct that is NULL or too small");
      return OCIFS_ERR_INVALID_ARGUMENT;
    }
    Healthcheck hc;
    if (check->test_count > 0 &&
        !CheckWords(st, check->test, check->test_count, "health check", hc.test)) {
      return OCIFS_ERR_INVALID_ARGUMENT;
    }
    if (check->interval_ns < 0 || check->timeout_ns < 0 || check->start_period_ns < 0 ||
        check->retries < 0) {
      st->Refuse("a health check with a negative duration or retry count");
      return OCIFS_ERR_INVALID_ARGUMENT;
    }
    hc.interval_ns = check->interval_ns;
    hc.timeout_ns = check->timeout_ns;
    hc.start_period_ns = check->start_period_ns;
    hc.retries = check->retries;
    st->c.healthcheck = std::move(hc);
    return OCIFS_OK;
  };
  s.exclude = [](void* h, ocifs_str pattern) -> ocifs_result {
    auto* st = static_cast<DetectState*>(h);
    IgnoreRules probe;
    Status ok = probe.Add(View(pattern), "plugin");
    if (pattern.len == 0 || !ok.ok()) {
      st->Refuse(
          fmt::format("exclude pattern `{}`: {}", View(pattern), ok.ok() ? "empty" : ok.message()));
      return OCIFS_ERR_INVALID_ARGUMENT;
    }
    st->c.exclude.emplace_back(View(pattern));
    return OCIFS_OK;
  };
  return s;
}

// ---- layer sink ---------------------------------------------------------------------------------

// Entries a layer plugin writes, by name (a name written twice is refused).
struct LayerState {
  CallState* call;
  std::map<std::string, TarEntry> entries;
  uint64_t bytes = 0;

  static constexpr uint64_t kMaxBytes = 256 << 20;  // held in memory for the generation's life

  bool Accept(std::string_view path, std::string_view what) {
    bool ok = !path.empty() && path.front() != '/' && path.back() != '/' && IsValidUtf8(path) &&
              path.find('\0') == std::string_view::npos;
    for (size_t i = 0; ok && i <= path.size();) {
      size_t slash = std::min(path.find('/', i), path.size());
      std::string_view part = path.substr(i, slash - i);
      ok = !part.empty() && part != "." && part != ".." && !part.starts_with(".wh.");
      i = slash + 1;
    }
    if (!ok) {
      Refuse(fmt::format("{} path `{}` (want relative, '/'-separated, no '.', '..' or .wh.)", what,
                         path));
      return false;
    }
    if (entries.contains(std::string(path))) {
      Refuse(fmt::format("{} `{}` written twice", what, path));
      return false;
    }
    return true;
  }
  void Refuse(std::string reason) {
    if (call->sink_error.empty()) call->sink_error = std::move(reason);
  }
};

ocifs_layer_sink LayerSink(LayerState& state) {
  ocifs_layer_sink s{};
  s.struct_size = sizeof s;
  s.host = &state;
  s.add_file = [](void* h, ocifs_str path, uint32_t mode, ocifs_str content) -> ocifs_result {
    auto* st = static_cast<LayerState*>(h);
    if (!st->Accept(View(path), "file")) return OCIFS_ERR_INVALID_ARGUMENT;
    st->bytes += content.len;
    if (st->bytes > LayerState::kMaxBytes) {
      st->Refuse(fmt::format("more than {} MiB of files", LayerState::kMaxBytes >> 20));
      return OCIFS_ERR_INVALID_ARGUMENT;
    }
    TarEntry e;
    e.name = std::string(View(path));
    e.type = TarEntry::Type::kFile;
    e.mode = mode & 0777;
    e.data = std::make_shared<const std::string>(View(content));
    e.size = e.data->size();
    st->entries.emplace(e.name, std::move(e));
    return OCIFS_OK;
  };
  s.add_directory = [](void* h, ocifs_str path, uint32_t mode) -> ocifs_result {
    auto* st = static_cast<LayerState*>(h);
    if (!st->Accept(View(path), "directory")) return OCIFS_ERR_INVALID_ARGUMENT;
    TarEntry e;
    e.name = std::string(View(path));
    e.type = TarEntry::Type::kDirectory;
    e.mode = mode & 0777;
    st->entries.emplace(e.name, std::move(e));
    return OCIFS_OK;
  };
  s.add_symlink = [](void* h, ocifs_str path, ocifs_str target) -> ocifs_result {
    auto* st = static_cast<LayerState*>(h);
    if (!st->Accept(View(path), "symlink")) return OCIFS_ERR_INVALID_ARGUMENT;
    if (target.len == 0 || !IsValidUtf8(View(target))) {
      st->Refuse(fmt::format("symlink `{}` with an empty target", View(path)));
      return OCIFS_ERR_INVALID_ARGUMENT;
    }
    TarEntry e;
    e.name = std::string(View(path));
    e.type = TarEntry::Type::kSymlink;
    e.mode = 0777;
    e.link = std::string(View(target));
    st->entries.emplace(e.name, std::move(e));
    return OCIFS_OK;
  };
  return s;
}

// ---- artifact sink ------------------------------------------------------------------------------

// Documents artifact plugins attach, with the suffixes taken so far (across plugins).
struct ArtifactState {
  CallState* call;
  std::string plugin;
  std::vector<PlannedArtifact>* artifacts;
  uint64_t bytes = 0;

  static constexpr uint64_t kMaxBytes = 64 << 20;  // per plugin, held for the generation's life
};

// The media type grammar of the OCI descriptor schema (RFC 6838's restricted names).
bool ValidMediaType(std::string_view type) {
  static const std::regex kType(
      R"([A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,126}/[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,126})");
  return std::regex_match(type.begin(), type.end(), kType);
}

ocifs_artifact_sink ArtifactSink(ArtifactState& state) {
  ocifs_artifact_sink s{};
  s.struct_size = sizeof s;
  s.host = &state;
  s.add = [](void* h, ocifs_str suffix, ocifs_str artifact_type, ocifs_str media_type,
             ocifs_str content) -> ocifs_result {
    auto* st = static_cast<ArtifactState*>(h);
    static const std::regex kSuffix("[a-z0-9]+([.-][a-z0-9]+)*");
    const std::string_view sfx = View(suffix);
    std::string reason;
    if (sfx.size() > 64 || !std::regex_match(sfx.begin(), sfx.end(), kSuffix)) {
      reason =
          fmt::format("artifact ref suffix `{}` (want [a-z0-9]+ parts joined by '.' or '-')", sfx);
    } else if (!ValidMediaType(View(artifact_type)) || !ValidMediaType(View(media_type))) {
      reason =
          fmt::format("artifact `{}`: artifact type `{}` or media type `{}` is not a media type",
                      sfx, View(artifact_type), View(media_type));
    } else if (std::any_of(st->artifacts->begin(), st->artifacts->end(),
                           [&](const PlannedArtifact& a) { return a.ref_suffix == sfx; })) {
      reason = fmt::format("artifact ref suffix `{}` attached twice", sfx);
    } else if ((st->bytes += content.len) > ArtifactState::kMaxBytes) {
      reason = fmt::format("more than {} MiB of artifacts", ArtifactState::kMaxBytes >> 20);
    }
    if (!reason.empty()) {
      if (st->call->sink_error.empty()) st->call->sink_error = std::move(reason);
      return OCIFS_ERR_INVALID_ARGUMENT;
    }
    st->artifacts->push_back({st->plugin, std::string(sfx), std::string(View(artifact_type)),
                              std::string(View(media_type)),
                              std::make_shared<const std::string>(View(content))});
    return OCIFS_OK;
  };
  return s;
}

// ---- generation input ---------------------------------------------------------------------------

ocifs_result ReadBlobThunk(void* host, ocifs_str digest, uint64_t offset, void* buf, size_t len,
                           size_t* read) {
  const auto* gen = static_cast<const Generation*>(host);
  *read = 0;
  std::string_view d = View(digest);
  if (!d.starts_with("sha256:")) return OCIFS_ERR_INVALID_ARGUMENT;
  return ReadBlobInto(gen->FindBlob(d.substr(7)), offset, buf, len, read);
}

// Appends `s` as a JSON string (paths are valid UTF-8: the layer planner refuses other names).
void AppendJsonString(std::string& out, std::string_view s) {
  out += '"';
  for (size_t i = 0; i < s.size();) {
    // Runs of characters that need no escape are copied whole.
    size_t j = i;
    while (j < s.size() && s[j] != '"' && s[j] != '\\' && static_cast<unsigned char>(s[j]) >= 0x20)
      ++j;
    out.append(s.substr(i, j - i));
    if (j == s.size()) break;
    if (s[j] == '"' || s[j] == '\\') {
      out += '\\';
      out += s[j];
    } else {
      out += fmt::format("\\u{:04x}", static_cast<unsigned>(s[j]));
    }
    i = j + 1;
  }
  out += '"';
}

// The facts of the plan `st` indexes, as the JSON text plugins receive (see ProjectFacts). The
// file lists, most of it for a large project, are written straight into the text.
std::string FactsJson(const ProjectState& st) {
  const ResolvedProject& p = *st.plan->project;
  json facts = {{"name", p.pyproject.name},     {"version", p.pyproject.version},
                {"python", p.python},           {"workdir", p.workdir},
                {"platform", p.platform.str()}, {"created", Rfc3339(p.epoch)},
                {"pyproject", json::object()},  {"dependencies", json::array()}};
  if (p.pyproject.present) {
    auto text = ReadSmallFile(*p.tree, "pyproject.toml");
    if (text.ok()) {
      try {
        toml::table parsed =
            toml::parse(std::string_view(*text), std::string_view("pyproject.toml"));
        std::ostringstream os;
        os << toml::json_formatter{parsed};
        facts["pyproject"] = json::parse(os.str(), nullptr, /*allow_exceptions=*/false);
        if (facts["pyproject"].is_discarded()) facts["pyproject"] = json::object();
      } catch (const toml::parse_error&) {
        // ResolveProject parsed it a moment ago; a file changed since is planned again anyway.
      }
    }
  }
  std::set<std::string> dists;
  for (const auto& [path, e] : st.files[OCIFS_LAYER_DEPENDENCIES]) {
    size_t slash = path.find('/');
    if (slash == std::string::npos) continue;
    if (auto dist = sdk::python::ParseDistDir(std::string_view(path).substr(0, slash)))
      dists.insert(NormalizeName(dist->name));
  }
  for (const auto& d : dists) facts["dependencies"].push_back(d);
  // The names [project] dependencies declares, normalized like the installed ones.
  std::set<std::string> declared;
  static const std::regex kRequirementName(R"(\s*([A-Za-z0-9][A-Za-z0-9._-]*))");
  const json& project =
      facts["pyproject"].is_object() ? facts["pyproject"].value("project", json()) : json();
  if (project.is_object() && project.value("dependencies", json()).is_array()) {
    for (const auto& req : project["dependencies"]) {
      std::smatch m;
      const std::string text = req.is_string() ? req.get<std::string>() : "";
      if (std::regex_search(text, m, kRequirementName)) declared.insert(NormalizeName(m[1].str()));
    }
  }
  facts["declared_dependencies"] = declared;
  // What the project's dotenv files say of how it starts (never the rest of a .env, which holds
  // secrets and stays out of the image): `.env` first, as Flask's load_dotenv reads them.
  facts["dotenv"] = json::array();
  for (const char* file : {".env", ".flaskenv"}) {
    auto text = ReadSmallFile(*p.tree, file, 1 << 20);
    if (!text.ok()) continue;
    if (auto app = DotenvValue(*text, "FLASK_APP")) {
      facts["dotenv"].push_back("FLASK_APP=" + *app);
      break;
    }
  }
  const BaseImage& base = st.plan->base;
  json base_layers = json::array();
  for (const auto& l : base.layers) {
    base_layers.push_back({{"digest", l.descriptor.digest.str()},
                           {"mediaType", l.descriptor.media_type},
                           {"size", l.descriptor.size}});
  }
  // The system-packages layer is below the project's too: plugins read it as a base layer. Its
  // digest is unknown until it is hashed, so it is named by its cache key, which names its bytes
  // as surely (equal keys, equal bytes).
  if (const PlannedLayer* l = FindLayer(*st.plan, "system-packages")) {
    base_layers.push_back({{"digest", l->tar->CacheKey().str()},
                           {"mediaType", kMediaTypeOciLayer},
                           {"size", l->tar->size()}});
  }
  facts["base"] = {{"reference", base.reference},
                   {"digest", base.manifest_digest ? json(base.manifest_digest->str()) : json()},
                   {"layers", base_layers}};

  std::string text = facts.dump();
  text.pop_back();  // the closing brace
  for (int layer : {OCIFS_LAYER_APPLICATION, OCIFS_LAYER_DEPENDENCIES}) {
    text +=
        layer == OCIFS_LAYER_APPLICATION ? ",\"application_files\":[" : ",\"dependency_files\":[";
    for (size_t i = 0; i < st.files[layer].size(); ++i) {
      if (i) text += ',';
      AppendJsonString(text, st.files[layer][i].first);
    }
    text += ']';
  }
  text += '}';
  return text;
}

}  // namespace

struct PluginFacts::Built {
  ProjectState state;  // the project input's host: read_file and read_base_blob look here
  std::string text;
};

PluginFacts::PluginFacts(const ImagePlan& plan) : plan_(&plan) {}
PluginFacts::PluginFacts(PluginFacts&&) noexcept = default;
PluginFacts& PluginFacts::operator=(PluginFacts&&) noexcept = default;
PluginFacts::~PluginFacts() = default;

PluginFacts::Built& PluginFacts::Get() {
  if (!built_) {
    built_ = std::make_unique<Built>();
    built_->state.plan = plan_;
    IndexFiles(built_->state);
    built_->text = FactsJson(built_->state);
  }
  return *built_;
}

json ProjectFacts(const ImagePlan& plan) {
  ProjectState st{&plan, {}};
  IndexFiles(st);
  return json::parse(FactsJson(st));
}

void ApplyContributions(ResolvedProject& p, const std::vector<Contribution>& contributions,
                        std::vector<std::string>& warnings) {
  const ImageOptions& o = p.options;
  const bool user_command = o.entrypoint || o.cmd;
  std::string command_from, user_from, health_from;
  std::map<std::string, std::string> env_from, label_from;
  auto conflict = [&](const std::string& first, const std::string& second, std::string_view what) {
    warnings.push_back(
        fmt::format("plugins `{}` and `{}` both set {}; `{}`'s is used (the first "
                    "loaded wins)",
                    first, second, what, first));
  };
  // A scalar: the first plugin's value, unless the user set one.
  auto take_first = [&](const std::string& plugin, const auto& value, bool user_set, auto& into,
                        std::string& from, std::string_view what) {
    if (!value || user_set) return;
    if (!from.empty()) {
      conflict(from, plugin, what);
      return;
    }
    from = plugin;
    into = value;
  };
  // Env and labels: key by key, the user's keys untouched, the first plugin's value kept.
  auto merge_keys = [&](const std::string& plugin, const KeyValues& from, const KeyValues& user,
                        KeyValues& into, std::map<std::string, std::string>& owners,
                        std::string_view what) {
    for (const auto& [k, v] : from) {
      auto is_k = [&k = k](const auto& e) { return e.first == k; };  // clang 14: no binding capture
      if (std::any_of(user.begin(), user.end(), is_k)) continue;
      if (auto [it, fresh] = owners.emplace(k, plugin); !fresh) {
        conflict(it->second, plugin, fmt::format("{} {}", what, k));
        continue;
      }
      SetKeyValue(into, k, v);
    }
  };
  for (const Contribution& c : contributions) {
    if ((c.entrypoint || c.cmd) && !user_command && !p.entrypoint_stated) {
      if (!command_from.empty()) {
        conflict(command_from, c.plugin, "the command");
      } else {
        command_from = c.plugin;
        p.entrypoint = c.entrypoint;
        p.cmd = c.cmd;
        // Why, in the plugin's words (the frameworks plugin labels what it found), and what its
        // command replaced.
        std::string why;
        for (const auto& [k, v] : c.labels) {
          if (k == "io.ocifs.framework.app") why = fmt::format(": {}", v);
        }
        p.entrypoint_reason =
            p.entrypoint_reason.empty()
                ? fmt::format("plugin `{}`{}", c.plugin, why)
                : fmt::format(
                      "plugin `{}`{} (a plugin's command replaces ocifs's own guess, "
                      "{})",
                      c.plugin, why, p.entrypoint_reason);
      }
    }
    merge_keys(c.plugin, c.env, o.env, p.env, env_from, "env");
    merge_keys(c.plugin, c.labels, o.labels, p.labels, label_from, "label");
    for (const auto& port : c.expose) {
      if (std::find(p.expose.begin(), p.expose.end(), port) == p.expose.end())
        p.expose.push_back(port);
    }
    take_first(c.plugin, c.user, o.user.has_value(), p.user, user_from, "the user");
    take_first(c.plugin, c.healthcheck, o.healthcheck.has_value(), p.healthcheck, health_from,
               "the health check");
    for (const auto& pattern : c.exclude) {
      Status s = p.ignore.Add(pattern, fmt::format("plugin `{}`", c.plugin));
      if (!s.ok()) warnings.push_back(s.message());  // checked by the sink already
    }
  }
}

Result<std::unique_ptr<PluginHost>> PluginHost::Load(const PluginSearch& search,
                                                     std::vector<std::string>* warnings) {
  std::unique_ptr<PluginHost> host(new PluginHost());
  if (search.none) return host;
  if (auto missing = MissingPluginDirsWarning(search); missing && warnings) {
    warnings->push_back(*std::move(missing));
  }
  std::vector<std::string> forbidden;
  for (const auto& dir : search.forbidden) forbidden.push_back(RealPath(dir));
  for (const Candidate& c : Candidates(search)) {
    PluginInfo info;
    const std::string real = RealPath(c.path);
    std::unique_ptr<LoadedPlugin> plugin;
    for (const auto& dir : forbidden) {
      if (Inside(real, dir)) {
        info.path = c.path;
        info.refused = fmt::format(
            "it is inside `{}`; plugins are never loaded from the project or the mount", dir);
      }
    }
    if (info.refused.empty()) {
      if (c.given && !std::filesystem::is_regular_file(c.path)) {
        return NotFound(fmt::format("plugin `{}`: no such file", c.path));
      }
      plugin = OpenPlugin(c.path, info);
    }
    if (!plugin) {
      std::string message = fmt::format("plugin `{}` refused: {}", c.path, info.refused);
      if (c.given) return InvalidArgument(message);
      if (warnings) warnings->push_back(message);
      continue;
    }
    if (search.disabled.contains(plugin->name())) continue;
    const LoadedPlugin* same = nullptr;
    for (const auto& other : host->plugins_) {
      if (other->name() == plugin->name()) same = other.get();
    }
    if (same != nullptr) {
      if (warnings) {
        warnings->push_back(fmt::format("plugin `{}` from `{}` skipped: `{}` is loaded already",
                                        plugin->name(), c.path, same->info().path));
      }
      continue;
    }
    host->infos_.push_back(plugin->info());
    host->plugins_.push_back(std::move(plugin));
  }
  return host;
}

std::vector<PluginInfo> FindPlugins(const PluginSearch& search) {
  std::vector<PluginInfo> out;
  std::map<std::string, std::string> first;  // name -> the path it is loaded from
  for (const Candidate& c : Candidates(search)) {
    PluginInfo info;
    if (!std::filesystem::is_regular_file(c.path)) {
      info.path = c.path;
      info.refused = "no such file";
    } else {
      auto plugin = OpenPlugin(c.path, info);
    }
    info.disabled = !info.name.empty() && search.disabled.contains(info.name);
    if (info.refused.empty() && !info.disabled) {
      auto [it, fresh] = first.emplace(info.name, info.path);
      if (!fresh) info.refused = fmt::format("skipped: `{}` is loaded already", it->second);
    }
    out.push_back(std::move(info));
  }
  return out;
}

PluginHost::~PluginHost() = default;

bool PluginHost::detects() const {
  return std::any_of(plugins_.begin(), plugins_.end(),
                     [](const auto& p) { return p->descriptor().detect != nullptr; });
}

Status PluginHost::Configure(const PluginSettings& settings, std::vector<std::string>* warnings) {
  for (const auto& [name, kv] : settings) {
    bool loaded = std::any_of(plugins_.begin(), plugins_.end(),
                              [&name = name](const auto& p) { return p->name() == name; });
    if (!loaded && warnings) {
      warnings->push_back(
          fmt::format("settings for plugin `{}`, which is not loaded, are ignored", name));
    }
  }
  static const std::map<std::string, std::string> kNone;
  for (auto& p : plugins_) {
    auto it = settings.find(p->name());
    const auto& mine = it == settings.end() ? kNone : it->second;
    if (p->configured() && p->settings() == mine) continue;
    p->DestroyInstance();
    if (p->descriptor().init == nullptr) {
      if (!mine.empty()) {
        return InvalidArgument(fmt::format("plugin `{}` takes no settings (given: `{}`)", p->name(),
                                           mine.begin()->first));
      }
      p->SetInstance(nullptr, mine);
      continue;
    }
    std::vector<ocifs_setting> list;
    for (const auto& [k, v] : mine) list.push_back({Str(k), Str(v)});
    static const std::string kVersion = OCIFS_VERSION_STRING;
    std::string cache;
    if (!cache_dir_.empty()) {
      // Made here, inside the cache, which must be the user's alone (core/support/private_dir.h); a
      // plugin without one runs uncached.
      const std::string dir = PluginCacheRoot(cache_dir_) + "/" + p->name();
      auto root = OpenPrivateDir(cache_dir_, LooseMode::kTighten, /*make_parents=*/true);
      std::error_code ec;
      if (root.ok()) std::filesystem::create_directories(dir, ec);
      if (root.ok() && !ec)
        std::filesystem::permissions(dir, std::filesystem::perms::owner_all, ec);
      if ((!root.ok() || ec) && warnings) {
        warnings->push_back(fmt::format(
            "plugin `{}` runs without a cache: {}", p->name(),
            root.ok() ? fmt::format("{}: {}", dir, ec.message()) : root.status().message()));
      }
      if (root.ok() && !ec) cache = dir;
    }
    static const std::string kExecutable = [] {
      std::error_code ec;
      return std::filesystem::read_symlink("/proc/self/exe", ec).string();
    }();
    auto& slot = status_slots_[p->name()];
    if (!slot) slot = std::make_unique<StatusSlot>(StatusSlot{&status_mu_, &statuses_, p->name()});
    {
      std::lock_guard lock(status_mu_);
      statuses_.erase(p->name());  // the instance that reported it is gone
    }
    ocifs_init_input in{};
    in.struct_size = sizeof in;
    in.settings_count = static_cast<uint32_t>(list.size());
    in.settings = list.data();
    in.host_version = Str(kVersion);
    in.cache_dir = Str(cache);
    in.host_executable = Str(kExecutable);
    in.status_host = slot.get();
    in.set_status = [](void* slot_ptr, ocifs_str text) {
      const auto* target = static_cast<const StatusSlot*>(slot_ptr);
      json j = json::parse(View(text), nullptr, /*allow_exceptions=*/false);
      if (!j.is_object()) return;
      std::lock_guard lock(*target->mu);
      (*target->statuses)[target->name] = std::move(j);
    };
    void* instance = nullptr;
    CallState st;
    OCIFS_RETURN_IF_ERROR(Invoke(*p, log_, "init", st, [&](const ocifs_call* call) {
      return p->descriptor().init(call, &in, &instance);
    }));
    p->SetInstance(instance, mine);
  }
  return Status::Ok();
}

std::string PluginCacheRoot(const std::string& cache_dir) { return cache_dir + "/plugins"; }

Result<std::vector<Contribution>> PluginHost::Detect(PluginFacts& facts) {
  std::vector<Contribution> contributions;
  if (!detects()) return contributions;
  PluginFacts::Built& built = facts.Get();
  const ocifs_project_input in = ProjectInput(built.state, built.text);
  for (const auto& p : plugins_) {
    if (!p->descriptor().detect) continue;
    CallState st;
    DetectState ds{&st, {}};
    ds.c.plugin = p->name();
    const ocifs_config_sink sink = ConfigSink(ds);
    OCIFS_RETURN_IF_ERROR(Invoke(*p, log_, "detect", st, [&](const ocifs_call* call) {
      return p->descriptor().detect->detect(p->instance(), call, &in, &sink);
    }));
    contributions.push_back(std::move(ds.c));
  }
  return contributions;
}

Result<PluginAdditions> PluginHost::Extend(PluginFacts& facts) {
  PluginAdditions out;
  const bool any_layer = std::any_of(plugins_.begin(), plugins_.end(), [](const auto& p) {
    return p->descriptor().layer != nullptr;
  });
  const bool any_artifact = std::any_of(plugins_.begin(), plugins_.end(), [](const auto& p) {
    return p->descriptor().artifact != nullptr;
  });
  if (!any_layer && !any_artifact) return out;
  PluginFacts::Built& built = facts.Get();
  const ocifs_project_input in = ProjectInput(built.state, built.text);
  const ImagePlan& plan = *facts.plan_;
  for (const auto& p : plugins_) {
    const ocifs_layer_capability* cap = p->descriptor().layer;
    if (!cap) continue;
    CallState st;
    LayerState ls{&st, {}, 0};
    const ocifs_layer_sink sink = LayerSink(ls);
    OCIFS_RETURN_IF_ERROR(Invoke(*p, log_, "layer", st, [&](const ocifs_call* call) {
      return cap->write_layer(p->instance(), call, &in, &sink);
    }));
    if (ls.entries.empty()) continue;
    std::vector<TarEntry> generated, entries;
    for (auto& [name, e] : ls.entries) generated.push_back(std::move(e));
    Status s = AddGeneratedFiles(entries, std::move(generated));
    if (!s.ok()) return s.WithContext(fmt::format("plugin `{}` (layer)", p->name()));
    out.layers.push_back(
        {cap->layer_name,
         fmt::format("ocifs plugin {} {}: layer {}", p->name(), p->info().version, cap->layer_name),
         VirtualTar::Build(std::move(entries), plan.project->epoch)});
  }
  // The plan's artifacts too, so that a suffix attached twice is refused.
  std::vector<PlannedArtifact> artifacts = plan.artifacts;
  for (const auto& p : plugins_) {
    const ocifs_artifact_capability* cap = p->descriptor().artifact;
    if (!cap) continue;
    CallState st;
    ArtifactState as{&st, p->name(), &artifacts};
    const ocifs_artifact_sink sink = ArtifactSink(as);
    OCIFS_RETURN_IF_ERROR(Invoke(*p, log_, "artifact", st, [&](const ocifs_call* call) {
      return cap->write_artifacts(p->instance(), call, &in, &sink);
    }));
  }
  out.artifacts.assign(std::make_move_iterator(artifacts.begin() + plan.artifacts.size()),
                       std::make_move_iterator(artifacts.end()));
  return out;
}

json PluginHost::Statuses() const {
  std::lock_guard lock(status_mu_);
  return statuses_;
}

Status PluginHost::OnGeneration(const Generation& gen, const GenerationPlace& place) {
  bool any = std::any_of(plugins_.begin(), plugins_.end(),
                         [](const auto& p) { return p->descriptor().generation != nullptr; });
  if (!any) return Status::Ok();
  // The strings the ocifs_blob_info views point into; reserved, so they never move.
  std::vector<std::string> digests;
  digests.reserve(gen.blobs().size());
  std::vector<ocifs_blob_info> blobs;
  for (const auto& [hex, blob] : gen.blobs()) {
    const std::string& digest = digests.emplace_back("sha256:" + hex);
    const Descriptor* d = gen.FindDescriptor(hex);
    blobs.push_back({Str(digest), d ? Str(d->media_type) : Str(""), blob->size()});
  }
  std::vector<std::string> tag_digests;
  tag_digests.reserve(gen.index().size());
  std::vector<ocifs_tagged_manifest> tags;
  for (const IndexEntry& e : gen.index()) {
    const std::string& digest = tag_digests.emplace_back(e.descriptor.digest.str());
    tags.push_back({Str(e.ref_name), Str(digest)});
  }
  ocifs_generation_input in{};
  in.struct_size = sizeof in;
  in.host = const_cast<Generation*>(&gen);  // read only, through ReadBlobThunk
  in.number = gen.number();
  in.index_json = Str(gen.index_json());
  in.tag_count = static_cast<uint32_t>(tags.size());
  in.blob_count = static_cast<uint32_t>(blobs.size());
  in.tags = tags.data();
  in.blobs = blobs.data();
  in.read_blob = &ReadBlobThunk;
  in.mountpoint = Str(place.mountpoint);
  in.project_dir = Str(place.project_dir);
  in.project_version = Str(place.project_version);
  for (const auto& p : plugins_) {
    const ocifs_generation_capability* cap = p->descriptor().generation;
    if (!cap) continue;
    CallState st;
    OCIFS_RETURN_IF_ERROR(Invoke(*p, log_, "generation", st, [&](const ocifs_call* call) {
      return cap->on_generation(p->instance(), call, &in);
    }));
  }
  return Status::Ok();
}

}  // namespace ocifs
