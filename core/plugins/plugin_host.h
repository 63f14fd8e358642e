// The plugin host: finds plugin shared objects, loads them through the C ABI of
// sdk/include/ocifs/plugin.h, and runs their capabilities on an image plan and on generations.
//
//   FindPlugins()   what the search path holds, loaded or refused with the reason (`ocifs
//   plugins`); PluginHost      the loaded plugins of one command or mount:
//     Configure()     makes each plugin's instance from its settings (again when they change),
//                     handing each its cache directory (set_cache_dir);
//     Detect()        runs detection: what each plugin contributes (the planning pipeline merges
//                     it below the user's settings and packs again what it excludes);
//     Extend()        the plugins' layers for the top of the plan, and the documents they attach
//                     as artifacts;
//     OnGeneration()  tells the generation plugins about a new generation.
//
// Where plugins come from, in this order (a later file with a name already loaded is skipped with
// a warning): `--plugin FILE`, the directories of OCIFS_PLUGIN_PATH, the install's plugin
// directory. Never from inside the project or the mountpoint. A file given with --plugin that
// cannot be loaded is an error; one found in a directory is refused with a warning.
//
// Ownership: a PluginHost owns the dlopen handles and the instances; it destroys the instances
// and closes the handles when it goes (after every call has returned).
// Thread safety: thread-compatible. The caller serializes every call (a mount's one update thread,
// see live.h), which is also the ABI's promise to plugins; no lock is held across a plugin call.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "core/image/image.h"
#include "core/python/options.h"
#include "core/support/status.h"

namespace ocifs {

// The host's ABI version (plugin.h's OCIFS_PLUGIN_ABI_MAJOR/MINOR, as this ocifs was built).
struct AbiVersion {
  uint16_t major = 0;
  uint16_t minor = 0;
};
AbiVersion HostAbiVersion();
// The loading rule: same major, plugin minor not newer; while the major is 0, the same minor.
bool AbiCompatible(AbiVersion host, AbiVersion plugin);

struct PluginSearch {
  std::vector<std::string> files;  // --plugin, in order
  std::vector<std::string> dirs;   // OCIFS_PLUGIN_PATH's entries, then the install directory
  std::set<std::string> disabled;  // --disable-plugin NAME
  bool none = false;               // --no-plugins: load nothing
  // Directories no plugin is ever loaded from (the project, the mountpoint).
  std::vector<std::string> forbidden;
};

// The directories a command searches: OCIFS_PLUGIN_PATH (':'-separated; `env_value` may be null)
// and then `install_dir`.
std::vector<std::string> PluginDirs(const char* env_value, const std::string& install_dir);

// When plugins are wanted (no --no-plugins, no --plugin FILE) and not one of the search
// directories exists, the plugins an install ships (sbom, frameworks) are missing: the warning
// says so and names every place looked in. Nullopt otherwise (an empty directory is a choice).
std::optional<std::string> MissingPluginDirsWarning(const PluginSearch& search);

// What one plugin file is, as `ocifs plugins` lists it.
struct PluginInfo {
  std::string path;
  std::string name, version, description;
  AbiVersion abi;
  std::vector<std::string> capabilities;  // "detect", "layer", "artifact", "generation"
  std::string refused;                    // why it was not loaded; empty when it was
  bool disabled = false;                  // named by --disable-plugin
};

// Loads nothing for good: opens each candidate, checks it, and closes it again.
std::vector<PluginInfo> FindPlugins(const PluginSearch& search);

// What detection contributed, after the checks of the config sink.
struct Contribution {
  std::string plugin;
  std::optional<std::vector<std::string>> entrypoint, cmd;
  KeyValues env, labels;
  std::vector<std::string> expose;
  std::optional<std::string> user;
  std::optional<Healthcheck> healthcheck;
  std::vector<std::string> exclude;
};

// Merges contributions into a resolved project, below what the user set explicitly
// (`project.options`): for the command, user and health check the first contribution in plugin
// order wins and a second one is a warning; env and labels merge key by key (the user's win);
// ports are a union; excludes are added to the ignore rules. Exposed for tests.
void ApplyContributions(ResolvedProject& project, const std::vector<Contribution>& contributions,
                        std::vector<std::string>& warnings);

// What layer and artifact plugins add to a plan, in plugin load order.
struct PluginAdditions {
  std::vector<PlannedLayer> layers;
  std::vector<PlannedArtifact> artifacts;
};

class LoadedPlugin;

// The facts of one plan as detect and layer plugins read them: the JSON text (ProjectFacts) and
// the file index behind ocifs_project_input's read_file, made at the first Detect or Extend that
// needs them (4-5 ms for the benchmark corpus's 12k files) and kept for the next. They hold what
// the plan's project, base and layers were then: make new ones when those change (a plugin that
// excludes files packs the application again). The plan must outlive them, in place.
class PluginFacts {
 public:
  explicit PluginFacts(const ImagePlan& plan);
  PluginFacts(PluginFacts&&) noexcept;
  PluginFacts& operator=(PluginFacts&&) noexcept;
  ~PluginFacts();

 private:
  friend class PluginHost;
  struct Built;
  Built& Get();  // builds them at the first call

  const ImagePlan* plan_;
  std::unique_ptr<Built> built_;
};

class PluginHost {
 public:
  using LogFn = std::function<void(LogLevel, const std::string&)>;

  // Loads what `search` finds (refusals of found files, and MissingPluginDirsWarning, become
  // `warnings`).
  static Result<std::unique_ptr<PluginHost>> Load(const PluginSearch& search,
                                                  std::vector<std::string>* warnings);
  ~PluginHost();
  PluginHost(const PluginHost&) = delete;
  PluginHost& operator=(const PluginHost&) = delete;

  // Where plugins' log lines go (prefixed with the plugin's name); unset: stderr.
  void set_log(LogFn log) { log_ = std::move(log); }
  // The cache directory (the digest cache's) under which each plugin gets `plugins/NAME`;
  // unset or empty: plugins get no cache directory. Takes effect at the next Configure().
  void set_cache_dir(std::string dir) { cache_dir_ = std::move(dir); }

  const std::vector<PluginInfo>& loaded() const { return infos_; }
  bool empty() const { return plugins_.empty(); }
  // Whether a loaded plugin offers detection (and so may give the command).
  bool detects() const;

  // Creates each plugin's instance with its settings (`settings[name]`, absent: none), and
  // re-creates those whose settings changed since the last call. Settings for a plugin that is
  // not loaded are a warning.
  Status Configure(const PluginSettings& settings, std::vector<std::string>* warnings);

  // Detection: the contribution of each detect plugin, in load order, from the facts of a plan
  // (see ApplyContributions). REQUIRES: Configure() succeeded.
  Result<std::vector<Contribution>> Detect(PluginFacts& facts);
  // What the layer and artifact plugins add to the plan of `facts` (planned after detection):
  // layers for the top of the image and documents to attach. REQUIRES: Configure() succeeded.
  Result<PluginAdditions> Extend(PluginFacts& facts);

  // Where a generation is served, for generation plugins (ocifs_generation_input since 0.3).
  struct GenerationPlace {
    std::string mountpoint;  // empty: not mounted
    std::string project_dir;
    std::string project_version;
  };
  // Tells each generation plugin; the first error is returned (named after the plugin).
  Status OnGeneration(const Generation& gen, const GenerationPlace& place = {});

  // What plugins reported with set_status, by plugin name (absent: nothing reported). Any
  // thread.
  nlohmann::json Statuses() const;

 private:
  // The `status_host` of one plugin instance: stable in memory while the host lives.
  struct StatusSlot {
    std::mutex* mu;
    nlohmann::json* statuses;
    std::string name;
  };

  PluginHost() = default;
  std::vector<std::unique_ptr<LoadedPlugin>> plugins_;  // in load order
  std::vector<PluginInfo> infos_;
  LogFn log_;
  std::string cache_dir_;
  std::map<std::string, std::unique_ptr<StatusSlot>> status_slots_;  // by plugin name
  mutable std::mutex status_mu_;
  mutable nlohmann::json statuses_ = nlohmann::json::object();  // guarded by status_mu_
};

// `<cache_dir>/plugins`: where plugins' cache directories are.
std::string PluginCacheRoot(const std::string& cache_dir);

// The facts JSON detect and layer plugins receive (see docs/plugins.md). Exposed for tests.
nlohmann::json ProjectFacts(const ImagePlan& plan);

}  // namespace ocifs
