// The `ocifs` command: mount, build, inspect, sbom, push, umount, and the cache, status and
// plugins views.
//
// Every subcommand that makes an image runs the same pipeline (core/image/image.h): resolve the
// project, open the base, plan the layers, and (for mount and build) hash them into a Generation.
// Exit codes: 0 success, 1 an error (printed as "ocifs: error: ..."), 2 bad usage.
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <optional>
#include <sstream>
#include <thread>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "core/image/image.h"
#include "core/live/live.h"
#include "core/live/mount_status.h"
#include "core/oci/archive.h"
#include "core/oci/digest_cache.h"
#include "core/oci/layer.h"
#include "core/pipeline/pipeline.h"
#include "core/plugins/plugin_host.h"
#include "core/registry/push.h"
#include "core/registry/registry_source.h"
#include "core/support/atomic_file.h"
#include "core/support/digest.h"
#include "core/support/heap.h"
#include "core/support/private_dir.h"
#include "core/system/system_packages.h"
#include "fs/vfs.h"

namespace {

using ocifs::ImageOptions;
using ocifs::Result;
using ocifs::Status;

int Fail(const Status& s) {
  std::fprintf(stderr, "ocifs: error: %s\n", s.message().c_str());
  return 1;
}

// The one rule for every path a command keeps: absolute and normal, from the directory it started
// in (a mount's daemon works from `/`).
std::string Absolute(const std::string& path) {
  return std::filesystem::absolute(path).lexically_normal().string();
}

// The daemon's log: syslog and stderr always, a file when given.
struct LogFlags {
  std::string file;
  std::string level = "info";
  Result<ocifs::LogLevel> Level() const {
    if (level == "error") return ocifs::LogLevel::kError;
    if (level == "warning") return ocifs::LogLevel::kWarning;
    if (level == "info") return ocifs::LogLevel::kInfo;
    return ocifs::InvalidArgument(
        fmt::format("--log-level `{}`: want error, warning or info", level));
  }
};

// Where layer digests are cached (core/oci/digest_cache.h); shared by every command that hashes.
struct CacheFlags {
  std::string dir;
  std::string max_size;
  bool disabled = false;

  void Register(CLI::App& app, bool with_disable) {
    app.add_option("--cache-dir", dir,
                   "Digest cache directory (default: $XDG_CACHE_HOME/ocifs or ~/.cache/ocifs)")
        ->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
    app.add_option("--cache-max-size", max_size,
                   "Bound of the digest cache, e.g. 256M (default: 256M)")
        ->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
    if (with_disable)
      app.add_flag("--no-cache", disabled, "Hash every layer; neither read nor write the cache");
  }

  // Absolute: a mount's daemon works from `/`, so a relative --cache-dir must be resolved here.
  std::string Dir() const {
    if (dir.empty()) return ocifs::DigestCache::DefaultDir();
    return Absolute(dir);
  }

  // Null when the cache is disabled.
  Result<std::unique_ptr<ocifs::DigestCache>> Open() const {
    if (disabled) return std::unique_ptr<ocifs::DigestCache>();
    uint64_t max = ocifs::kDefaultCacheMaxBytes;
    if (!max_size.empty()) {
      auto parsed = ocifs::ParseByteSize(max_size);
      if (!parsed.ok()) return parsed.status().WithContext("--cache-max-size");
      max = *parsed;
    }
    return ocifs::DigestCache::Open(Dir(), max);
  }
};

// The directory of the running executable ("" when unknown).
std::string ExecutableDir() {
  std::error_code ec;
  auto exe = std::filesystem::read_symlink("/proc/self/exe", ec);
  return ec ? std::string() : exe.parent_path().string();
}

// Which plugins a command loads (core/plugins/plugin_host.h).
struct PluginFlags {
  std::vector<std::string> files, disabled;
  bool none = false;

  void Register(CLI::App& app) {
    app.add_option("--plugin", files, "Load the plugin FILE (repeatable; before the others)");
    app.add_flag("--no-plugins", none, "Load no plugin at all");
    app.add_option("--disable-plugin", disabled, "Do not load the plugin NAME (repeatable)");
  }

  // The install's plugin directory is found relative to the executable, so a moved install (and
  // the build tree, which mirrors it) finds its own plugins.
  ocifs::PluginSearch Search(std::vector<std::string> forbidden) const {
    ocifs::PluginSearch search;
    for (const auto& f : files) search.files.push_back(Absolute(f));
    const std::string exe_dir = ExecutableDir();
    search.dirs = ocifs::PluginDirs(
        std::getenv("OCIFS_PLUGIN_PATH"),
        exe_dir.empty() ? std::string()
                        : (std::filesystem::path(exe_dir) / OCIFS_PLUGIN_DIR_FROM_BIN)
                              .lexically_normal()
                              .string());
    search.disabled.insert(disabled.begin(), disabled.end());
    search.none = none;
    search.forbidden = std::move(forbidden);
    return search;
  }
};

// The image flags, as CLI11 fills them, before they become ImageOptions.
struct ImageFlags {
  std::vector<std::string> tags, env, labels, expose, volumes, exclude, include, variants;
  std::vector<std::string> plugin_opts, insecure_registries, registry_mirrors, deps, extra_deps;
  std::vector<std::string> system_packages, apt_mirrors, apt_keyrings;
  std::string base, python, platform, workdir, user, entrypoint, cmd, healthcheck;
  bool strict = false, offline = false, refresh_packages = false;
  CacheFlags cache;
  PluginFlags plugins;

  void Register(CLI::App& app) {
    app.add_option("--tag,-t", tags,
                   "Tag of the image in index.json (repeatable; default: latest)");
    app.add_option(
        "--base", base,
        "Base image: scratch, oci:PATH[:TAG], or a registry reference such as "
        "python:3.12-slim or HOST:PORT/REPO:TAG[@sha256:...] (default: python:X.Y-slim)");
    app.add_option("--insecure-registry", insecure_registries,
                   "Registry HOST[:PORT] that may be reached over plain HTTP or unverified TLS "
                   "(repeatable; loopback hosts always may)");
    app.add_option("--registry-mirror", registry_mirrors,
                   "[REGISTRY=]HOST[:PORT][/PATH]: pull REGISTRY's (default docker.io) images "
                   "from this mirror first (repeatable; tried in order, then REGISTRY)");
    app.add_flag("--offline", offline,
                 "Use no network: registry bases and system packages come from the cache (an error "
                 "if not there)");
    app.add_option("--system-package", system_packages,
                   "Debian package to add in a layer above the base: NAME or NAME=VERSION, VERSION "
                   "exact or with * (repeatable)");
    app.add_option("--apt-mirror", apt_mirrors,
                   "apt archive for system packages instead of the base's sources: URL (the base's "
                   "suites) or \"URL SUITE COMPONENT...\" (repeatable)");
    app.add_option(
        "--apt-keyring", apt_keyrings,
        "Keyring file (.gpg or .asc) trusted for apt archives beside the base's (repeatable)");
    app.add_flag(
        "--refresh-packages", refresh_packages,
        "Resolve system packages against the archive again instead of the cached resolution");
    app.add_option("--deps", deps,
                   "Dependencies: a virtualenv or a site-packages directory (default: .venv or "
                   "venv); PLATFORM=DIR for one platform's own (repeatable)");
    app.add_option("--extra-deps", extra_deps,
                   "More dependencies: a virtualenv or a site-packages directory, each a layer "
                   "above the dependencies (repeatable; replaces [tool.ocifs] extra-deps)");
    app.add_option("--python", python,
                   "CPython minor version, e.g. 3.12 (default: from the venv or requires-python)");
    app.add_option("--platform", platform,
                   "OS/ARCH[/VARIANT] of the image, or several separated by commas for a "
                   "multi-platform image (default: the host's)");
    app.add_option("--workdir", workdir, "Where the project goes in the image (default: /app)");
    app.add_option("--env,-e", env, "Environment variable KEY=VALUE (repeatable)");
    app.add_option("--label,-l", labels, "Label KEY=VALUE (repeatable)");
    app.add_option("--variant", variants,
                   "A variant of [tool.ocifs.variants] to make, `default` for the unnamed image "
                   "(repeatable; default: the unnamed image and every variant)");
    app.add_option("--expose", expose, "Port to expose: PORT[/tcp|udp|sctp] (repeatable)");
    app.add_option("--volume", volumes,
                   "A writable place beside /tmp and HOME, declared in the config's Volumes: an "
                   "absolute path (repeatable)");
    app.add_option("--user,-u", user,
                   "User the image runs as: NAME or UID[:GID] (default: the base's, else 65532)");
    app.add_option("--entrypoint", entrypoint, "Entrypoint: a command line or a JSON array");
    app.add_option("--cmd", cmd, "Cmd: a command line or a JSON array");
    app.add_option("--exclude", exclude, "Ignore pattern, .dockerignore syntax (repeatable)");
    app.add_option("--include", include,
                   "Pattern to ship although ignored, e.g. a secret on purpose (repeatable)");
    app.add_option("--healthcheck", healthcheck,
                   "Health check command (a command line or a JSON array), or NONE");
    app.add_flag("--strict", strict, "Make every warning an error");
    app.add_option("--plugin-opt", plugin_opts, "Plugin setting NAME.KEY=VALUE (repeatable)");
    cache.Register(app, /*with_disable=*/true);
    plugins.Register(app);
    for (const char* name : {"--base", "--python", "--platform", "--workdir", "--user",
                             "--entrypoint", "--cmd", "--healthcheck"}) {
      app.get_option(name)->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
    }
  }

  Result<ImageOptions> ToOptions(const CLI::App& app) const {
    ImageOptions o;
    auto given = [&](const char* name) { return app.count(name) > 0; };
    if (given("--tag")) {
      for (const auto& t : tags) OCIFS_RETURN_IF_ERROR(ocifs::ValidateTag(t).WithContext("--tag"));
      o.tags = tags;
    }
    if (given("--base")) {
      o.base = ocifs::AbsoluteBase(base, std::filesystem::current_path().string());
    }
    for (const auto& d : deps) {
      OCIFS_RETURN_IF_ERROR(ocifs::AddDepsOption(o, d, "--deps"));
    }
    if (o.deps) o.deps = Absolute(*o.deps);
    if (given("--extra-deps")) {
      o.extra_deps.emplace();
      for (const auto& d : extra_deps) {
        if (d.empty()) return ocifs::InvalidArgument("--extra-deps: an empty path");
        o.extra_deps->push_back(Absolute(d));
      }
    }
    for (auto& [platform_name, dir] : o.platform_deps) dir = Absolute(dir);
    for (const auto& m : registry_mirrors) {
      OCIFS_RETURN_IF_ERROR(
          ocifs::ParseRegistryMirror(m).status().WithContext("--registry-mirror"));
      o.registry_mirrors.push_back(m);
    }
    if (given("--python")) o.python = python;
    if (given("--platform")) o.platform = platform;
    if (given("--workdir")) o.workdir = workdir;
    if (given("--user")) {
      OCIFS_RETURN_IF_ERROR(ocifs::ValidateUser(user).WithContext("--user"));
      o.user = user;
    }
    if (given("--strict")) o.strict = strict;
    for (const auto& kv : env) {
      OCIFS_ASSIGN_OR_RETURN(auto p, ocifs::ParseKeyValue(kv, "--env"));
      ocifs::SetKeyValue(o.env, p.first, p.second);
    }
    for (const auto& kv : labels) {
      OCIFS_ASSIGN_OR_RETURN(auto p, ocifs::ParseKeyValue(kv, "--label"));
      ocifs::SetKeyValue(o.labels, p.first, p.second);
    }
    for (const auto& port : expose) {
      auto n = ocifs::NormalizePort(port);
      if (!n.ok()) return n.status().WithContext("--expose");
      o.expose.push_back(*n);
    }
    for (const auto& v : volumes) {
      OCIFS_RETURN_IF_ERROR(ocifs::ValidateVolume(v).WithContext("--volume"));
      o.volumes.push_back(v);
    }
    if (given("--entrypoint")) {
      OCIFS_ASSIGN_OR_RETURN(o.entrypoint, ocifs::ParseCommand(entrypoint, "--entrypoint"));
    }
    if (given("--cmd")) {
      OCIFS_ASSIGN_OR_RETURN(o.cmd, ocifs::ParseCommand(cmd, "--cmd"));
    }
    if (given("--healthcheck")) {
      OCIFS_ASSIGN_OR_RETURN(o.healthcheck, ocifs::ParseHealthcheck(healthcheck, "--healthcheck"));
    }
    for (const auto& opt : plugin_opts)
      OCIFS_RETURN_IF_ERROR(ocifs::AddPluginOption(o.plugins, opt));
    o.exclude = exclude;
    o.include = include;
    o.system_packages = system_packages;
    if (given("--apt-mirror")) o.apt_mirrors = apt_mirrors;
    for (const auto& k : apt_keyrings) o.apt_keyrings.push_back(Absolute(k));
    return o;
  }
};

void PrintWarnings(const std::vector<std::string>& warnings) {
  for (const auto& w : warnings) std::fprintf(stderr, "ocifs: warning: %s\n", w.c_str());
}

// A mount of this process's mount namespace, as /proc/self/mountinfo lists it.
struct MountEntry {
  std::string point;   // absolute
  std::string fstype;  // "fuse.ocifs" for an ocifs mount
};

std::vector<MountEntry> Mounts() {
  std::vector<MountEntry> out;
  std::ifstream in("/proc/self/mountinfo");
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream fields(line);
    std::string id, parent, dev, root, point, word, fstype;
    if (!(fields >> id >> parent >> dev >> root >> point)) continue;
    while (fields >> word && word != "-") {
    }
    fields >> fstype;
    std::string unescaped;  // the kernel writes ' ', '\t', '\n' and '\\' as \ooo
    for (size_t i = 0; i < point.size(); ++i) {
      auto octal = [&](size_t k) { return point[k] >= '0' && point[k] <= '7'; };
      if (point[i] == '\\' && i + 3 < point.size() && octal(i + 1) && octal(i + 2) &&
          octal(i + 3)) {
        unescaped += static_cast<char>((point[i + 1] - '0') * 64 + (point[i + 2] - '0') * 8 +
                                       (point[i + 3] - '0'));
        i += 3;
      } else {
        unescaped += point[i];
      }
    }
    out.push_back({std::move(unescaped), std::move(fstype)});
  }
  return out;
}

std::vector<std::string> MountPoints() {
  std::vector<std::string> out;
  for (auto& m : Mounts()) out.push_back(std::move(m.point));
  return out;
}

const MountEntry* FindMount(const std::vector<MountEntry>& mounts, const std::string& point) {
  // The last entry for a path is the one on top.
  for (auto it = mounts.rbegin(); it != mounts.rend(); ++it) {
    if (it->point == point) return &*it;
  }
  return nullptr;
}

// The canonical path of a mountpoint, or (a dead FUSE mount cannot be stat'ed) its absolute one.
std::string MountpointPath(const std::string& mountpoint) {
  std::error_code ec;
  std::string real = std::filesystem::canonical(mountpoint, ec).string();
  return ec ? Absolute(mountpoint) : real;
}

// Whether the daemon `pid` of the ocifs mount at `real` still serves it: the process is there and
// is not a zombie, and an ocifs file system is mounted at `real`.
bool DaemonServes(int pid, const std::string& real) {
  if (pid <= 0 || (::kill(pid, 0) != 0 && errno == ESRCH)) return false;
  std::ifstream stat(fmt::format("/proc/{}/stat", pid));
  std::string text((std::istreambuf_iterator<char>(stat)), std::istreambuf_iterator<char>());
  const size_t paren = text.rfind(')');
  if (paren != std::string::npos && paren + 2 < text.size()) {
    const char state = text[paren + 2];
    if (state == 'Z' || state == 'X') return false;
  }
  const MountEntry* m = FindMount(Mounts(), real);
  return m != nullptr && m->fstype == "fuse.ocifs";
}

// `mountpoint` (for mount) is one of the places no plugin is loaded from, with the project.
// Paths are made absolute here, from the working directory the command started in: a mount's
// daemon works from `/`, and every later generation reads the project again.
Result<ocifs::PlanInputs> Inputs(const std::string& project, const ImageFlags& flags,
                                 const CLI::App& app, const std::string& mountpoint = "") {
  OCIFS_ASSIGN_OR_RETURN(ImageOptions options, flags.ToOptions(app));
  ocifs::PlanInputs in;
  in.project_dir = Absolute(project);
  if (!mountpoint.empty()) {
    std::error_code ec;
    in.mountpoint = std::filesystem::canonical(mountpoint, ec).string();
    if (ec)
      return ocifs::ErrnoStatus(ec.value(), fmt::format("mountpoint `{}`", mountpoint), "resolve");
    in.other_mounts = MountPoints();
  }
  in.flags = std::move(options);
  if (!flags.variants.empty()) in.variants = flags.variants;
  if (const char* sde = std::getenv("SOURCE_DATE_EPOCH")) in.source_date_epoch = sde;
  std::vector<std::string> forbidden = {project};
  if (!mountpoint.empty()) forbidden.push_back(mountpoint);
  std::vector<std::string> warnings;
  OCIFS_ASSIGN_OR_RETURN(in.plugins,
                         ocifs::PluginHost::Load(flags.plugins.Search(forbidden), &warnings));
  if (!flags.cache.disabled) in.plugins->set_cache_dir(flags.cache.Dir());
  PrintWarnings(warnings);
  ocifs::RegistryOptions registry;
  registry.insecure = flags.insecure_registries;
  registry.offline = flags.offline;
  OCIFS_ASSIGN_OR_RETURN(
      in.registry, ocifs::RegistryContext::Make(std::move(registry),
                                                flags.cache.disabled ? "" : flags.cache.Dir()));
  auto system = std::make_shared<ocifs::SystemContext>();
  system->transport = ocifs::MakeCurlTransport();
  system->offline = flags.offline;
  system->refresh = flags.refresh_packages;
  if (flags.cache.disabled) {
    // The packages still need a place: a directory of this run's, removed with the context.
    OCIFS_ASSIGN_OR_RETURN(ocifs::ScratchDir dir, ocifs::ScratchDir::Make("ocifs-apt"));
    auto scratch = std::make_shared<ocifs::ScratchDir>(std::move(dir));
    system->cache_dir = scratch->path();
    system->keep = std::move(scratch);
  } else {
    system->cache_dir = flags.cache.Dir();
  }
  in.system = std::move(system);
  return in;
}

Result<ocifs::ImagePlan> Plan(const ocifs::PlanInputs& in) {
  OCIFS_ASSIGN_OR_RETURN(auto plan, ocifs::PlanProject(in));
  for (const ocifs::ImagePlan* v : ocifs::VariantPlans(plan)) {
    const std::string prefix =
        v->project->variant.empty() ? "" : "variant `" + v->project->variant + "`: ";
    for (const auto& w : v->warnings)
      std::fprintf(stderr, "ocifs: warning: %s%s\n", prefix.c_str(), w.c_str());
  }
  return plan;
}

Result<ocifs::ImagePlan> Plan(const std::string& project, const ImageFlags& flags,
                              const CLI::App& app) {
  OCIFS_ASSIGN_OR_RETURN(auto in, Inputs(project, flags, app));
  return Plan(in);
}

// "hashing 123 MiB of 211 MiB (58%): dependencies 120/205 MiB, application done" on one line.
std::string ProgressLine(const ocifs::HashProgress& progress) {
  auto mib = [](uint64_t b) { return static_cast<double>(b) / (1 << 20); };
  const uint64_t done = progress.bytes_done(), total = progress.bytes_total();
  std::string line =
      fmt::format("hashing {:.0f} MiB of {:.0f} MiB ({:.0f}%)", mib(done), mib(total),
                  total ? 100.0 * static_cast<double>(done) / static_cast<double>(total) : 100.0);
  const char* sep = ": ";
  for (const auto& l : progress.Snapshot()) {
    line += sep;
    sep = ", ";
    line += l.state == ocifs::HashProgress::State::kHashing
                ? fmt::format("{} {:.0f}/{:.0f} MiB", l.name, mib(l.done), mib(l.total))
                : fmt::format("{} {}", l.name, ocifs::StateName(l.state));
  }
  return line;
}

// Prints a progress line on a terminal while `work` runs (after 300 ms, so quick runs stay quiet).
template <typename F>
auto WithProgressLine(const ocifs::HashProgress& progress, F work) {
  std::atomic<bool> done{false};
  std::jthread printer;
  if (::isatty(STDERR_FILENO)) {
    printer = std::jthread([&] {
      for (int tick = 0; !done; ++tick) {
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
        if (tick >= 3 && !done)
          std::fprintf(stderr, "\r\033[Kocifs: %s", ProgressLine(progress).c_str());
      }
      std::fprintf(stderr, "\r\033[K");
    });
  }
  auto result = work();
  done = true;
  return result;
}

int ShowStatus(const std::string& mountpoint, bool as_json) {
  std::error_code ec;
  if (!std::filesystem::exists(Absolute(mountpoint), ec) && ec.value() != ENOTCONN) {
    return Fail(ocifs::NotFound(fmt::format("mountpoint `{}` does not exist", mountpoint)));
  }
  const std::string real = MountpointPath(mountpoint);
  auto status = ocifs::ReadStatusFile(ocifs::StatusFilePath(real));
  if (!status.ok()) {
    if (status.status().code() != ocifs::Code::kNotFound) return Fail(status.status());
    return Fail(ocifs::NotFound(
        fmt::format("`{}` is not an ocifs mount of this user (no status file)", mountpoint)));
  }
  const nlohmann::json& j = *status;  // its fields have their types (CheckStatusJson)
  const int pid = j.value("pid", 0);
  if (!DaemonServes(pid, real)) {
    return Fail(ocifs::NotFound(
        fmt::format("the ocifs daemon of `{}` (pid {}) is gone; `ocifs umount {}` cleans up",
                    mountpoint, pid, mountpoint)));
  }
  if (as_json) {
    std::cout << j.dump(2) << "\n";
    return 0;
  }
  std::printf(
      "mountpoint:  %s\nproject:     %s\ndaemon:      pid %d%s\ngeneration:  %llu (%s)\nstate:     "
      "  %s\n",
      j.value("mountpoint", "").c_str(), j.value("project", "").c_str(), pid,
      j.value("watching", false) ? ", watching for changes" : ", frozen (--no-watch)",
      static_cast<unsigned long long>(j.value("generation", 0ULL)),
      j.value("manifest", "none").c_str(), j.value("state", "").c_str());
  for (const auto& l : j.value("layers", nlohmann::json::array())) {
    std::printf("  layer %-14s %12llu of %12llu bytes  %s\n", l.value("name", "").c_str(),
                static_cast<unsigned long long>(l.value("done", 0ULL)),
                static_cast<unsigned long long>(l.value("total", 0ULL)),
                l.value("state", "").c_str());
  }
  if (j.contains("cache")) {
    std::printf("cache:       %llu hits, %llu misses (%s)\n",
                static_cast<unsigned long long>(j["cache"].value("hits", 0ULL)),
                static_cast<unsigned long long>(j["cache"].value("misses", 0ULL)),
                j["cache"].value("dir", "").c_str());
  }
  if (j.contains("serving")) {
    const nlohmann::json& s = j["serving"];
    std::printf(
        "reads:       %llu requests (%llu bytes) reached the daemon; %llu bytes of layers "
        "were stored in the page cache ahead of reads\n",
        static_cast<unsigned long long>(s.value("read_requests", 0ULL)),
        static_cast<unsigned long long>(s.value("read_bytes", 0ULL)),
        static_cast<unsigned long long>(s.value("stored_bytes", 0ULL)));
  }
  const nlohmann::json plugins = j.value("plugins", nlohmann::json::object());
  for (const auto& [name, plugin] : plugins.items()) {
    std::printf("plugin %-12s %s\n", (name + ":").c_str(),
                plugin.value("summary", plugin.dump()).c_str());
  }
  std::string err = j.value("last_error", "");
  std::printf("last error:  %s\nupdated:     %s\n", err.empty() ? "none" : err.c_str(),
              j.value("updated", "").c_str());
  return 0;
}

int CacheInfo(const CacheFlags& flags) {
  auto cache = flags.Open();
  if (!cache.ok()) return Fail(cache.status());
  auto stats = (*cache)->Scan();
  if (!stats.ok()) return Fail(stats.status());
  std::printf("directory: %s\nentries: %llu\nsize on disk: %llu bytes (bound %llu)\n",
              (*cache)->dir().c_str(), static_cast<unsigned long long>(stats->entries),
              static_cast<unsigned long long>(stats->bytes),
              static_cast<unsigned long long>((*cache)->max_bytes()));
  return 0;
}

int CachePrune(const CacheFlags& flags, bool all) {
  auto cache = flags.Open();
  if (!cache.ok()) return Fail(cache.status());
  auto left = (*cache)->Prune(all ? 0 : (*cache)->max_bytes());
  if (!left.ok()) return Fail(left.status());
  if (all) {
    // The plugins' caches (ocifs_init_input.cache_dir) go too.
    std::error_code ec;
    std::filesystem::remove_all(ocifs::PluginCacheRoot((*cache)->dir()), ec);
    if (ec)
      return Fail(
          ocifs::ErrnoStatus(ec.value(), ocifs::PluginCacheRoot((*cache)->dir()), "remove"));
  }
  std::printf("%llu entries, %llu bytes left in %s\n",
              static_cast<unsigned long long>(left->entries),
              static_cast<unsigned long long>(left->bytes), (*cache)->dir().c_str());
  return 0;
}

nlohmann::json EntryJson(const ocifs::TarEntry& e) {
  static const char* kTypes[] = {"file", "directory", "symlink", "hardlink"};
  nlohmann::json j = {{"name", e.name},
                      {"type", kTypes[static_cast<int>(e.type)]},
                      {"mode", fmt::format("{:04o}", e.mode)},
                      {"uid", e.uid},
                      {"gid", e.gid}};
  if (e.type == ocifs::TarEntry::Type::kFile) j["size"] = e.size;
  if (!e.link.empty()) j["link"] = e.link;
  return j;
}

int Inspect(const std::string& project, const ImageFlags& flags, const CLI::App& app,
            bool digests) {
  auto plan = Plan(project, flags, app);
  if (!plan.ok()) return Fail(plan.status());
  const ocifs::ResolvedProject& p = *plan->project;
  nlohmann::json out;
  out["project"] = {{"dir", p.dir}, {"name", p.pyproject.name}, {"version", p.pyproject.version}};
  out["python"] = {{"version", p.python}, {"reason", p.python_reason}};
  out["entrypoint_reason"] = p.entrypoint_reason;
  // The dependency trees, bottom layer first: the dependencies, then each of extra-deps.
  out["dependencies"] = nlohmann::json::array();
  for (const ocifs::DepsSource* d : ocifs::DependencyTrees(p))
    out["dependencies"].push_back(d->host_path);
  out["base"] = {{"reference", plan->base.reference}, {"layers", plan->base.layers.size()}};
  if (plan->base.manifest_digest) out["base"]["manifest"] = plan->base.manifest_digest->str();
  out["variant"] = p.variant.empty() ? ocifs::kDefaultVariant : p.variant;
  out["tags"] = p.tags;
  out["platform"] = p.platform.str();
  // The layers, config and artifacts below are this variant's; the others' tags here
  // (`--variant NAME` shows one).
  out["variants"] = nlohmann::json::array();
  for (const auto& v : plan->variants) {
    out["variants"].push_back({{"variant", v.project->variant}, {"tags", v.project->tags}});
  }
  out["warnings"] = plan->warnings;
  out["left_out"] = plan->left_out;
  // `layers` and `artifacts` below are the first platform's; the others' bases here.
  for (const auto& other : plan->other_platforms) {
    nlohmann::json o = {{"platform", other.project->platform.str()},
                        {"base", {{"layers", other.base.layers.size()}}}};
    if (other.base.manifest_digest) o["base"]["manifest"] = other.base.manifest_digest->str();
    out["other_platforms"].push_back(o);
  }
  std::vector<ocifs::Digest> ids;
  if (digests) {
    auto cache = flags.cache.Open();
    if (!cache.ok()) return Fail(cache.status());
    auto gen = ocifs::BuildGeneration(*plan, 1, {.cache = cache->get()});
    if (!gen.ok()) return Fail(gen.status());
    PrintWarnings((*gen)->warnings());
    for (const auto& l : (*gen)->own_layers()) ids.push_back(l.descriptor.digest);
    out["manifest"] = (*gen)->manifest_digest().str();
  }
  nlohmann::json layers = nlohmann::json::array();
  for (size_t i = 0; i < plan->layers.size(); ++i) {
    const auto& l = plan->layers[i];
    nlohmann::json lj = {
        {"name", l.name}, {"size", l.tar->size()}, {"entries", nlohmann::json::array()}};
    if (i < ids.size()) lj["digest"] = ids[i].str();
    for (const auto& e : l.tar->entries()) lj["entries"].push_back(EntryJson(e));
    layers.push_back(lj);
  }
  out["layers"] = layers;
  nlohmann::json artifacts = nlohmann::json::array();
  for (const auto& a : plan->artifacts) {
    artifacts.push_back({{"plugin", a.plugin},
                         {"ref_suffix", a.ref_suffix},
                         {"artifactType", a.artifact_type},
                         {"mediaType", a.media_type},
                         {"size", a.content->size()},
                         {"digest", ocifs::Digest::Of(*a.content).str()}});
  }
  out["artifacts"] = artifacts;
  out["config"] = ocifs::ImageConfig(*plan, ids);
  // Before hashing, rootfs would list only the base's diff_ids: leave it out rather than mislead.
  if (!digests) out["config"].erase("rootfs");
  std::cout << out.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
  return 0;
}

// Prints the SBOM the sbom plugin attaches to PROJECT's image, without mounting or hashing.
int PrintSbom(const std::string& project, const std::string& format, ImageFlags flags,
              const CLI::App& app) {
  // Only the asked-for format: settings from pyproject.toml and flags are kept otherwise.
  flags.plugin_opts.push_back("sbom.formats=" + format);
  auto in = Inputs(project, flags, app);
  if (!in.ok()) return Fail(in.status());
  const auto& loaded = in->plugins->loaded();
  if (std::none_of(loaded.begin(), loaded.end(), [](const auto& p) { return p.name == "sbom"; })) {
    return Fail(ocifs::NotFound(
        "the sbom plugin is not loaded (disabled with --disable-plugin or --no-plugins, or not "
        "installed: see `ocifs plugins`)"));
  }
  auto plan = Plan(*in);
  if (!plan.ok()) return Fail(plan.status());
  for (const auto& a : plan->artifacts) {
    if (a.plugin == "sbom" && a.ref_suffix == "sbom." + format) {
      std::cout << *a.content;
      return 0;
    }
  }
  return Fail(ocifs::Internal(fmt::format("the sbom plugin attached no {} document", format)));
}

// Loads libcrypto's SHA-256 (ocifs::PrepareSha256) on a thread of its own, while the caller reads
// and plans the project on this one: the 2-3 ms it takes then leave the path to the first hash.
std::jthread PrepareSha256Behind() {
  return std::jthread([] { ocifs::PrepareSha256(); });
}

int Build(const std::string& project, const std::string& output, const ImageFlags& flags,
          const CLI::App& app) {
  std::jthread sha256 = PrepareSha256Behind();
  auto in = Inputs(project, flags, app);
  if (!in.ok()) return Fail(in.status());
  auto plan = Plan(*in);
  if (!plan.ok()) return Fail(plan.status());
  auto cache = flags.cache.Open();
  if (!cache.ok()) return Fail(cache.status());
  ocifs::HashProgress progress;
  auto gen = WithProgressLine(progress, [&] {
    return ocifs::BuildGeneration(*plan, 1, {.progress = &progress, .cache = cache->get()});
  });
  if (!gen.ok()) return Fail(gen.status());
  PrintWarnings((*gen)->warnings());
  Status s = in->plugins->OnGeneration(**gen);
  if (!s.ok()) return Fail(s);
  s = ocifs::WriteLayout(**gen, output);
  if (!s.ok()) return Fail(s);
  std::fprintf(stderr, "ocifs: wrote %s (manifest %s)\n", output.c_str(),
               (*gen)->manifest_digest().str().c_str());
  return 0;
}

// With --allow-other every local user can read the blobs, so files that only their owner may read
// on the host would be readable by all: named in a warning (an error with --strict).
Status CheckAllowOther(const ocifs::ImagePlan& plan) {
  std::vector<std::string> private_files;
  std::vector<const ocifs::ImagePlan*> plans = {&plan};
  for (const auto& other : plan.other_platforms) plans.push_back(&other);
  for (const auto* one : plans) {
    for (const auto& layer : one->layers) {
      for (const auto& e : layer.tar->entries()) {
        if (e.tree == nullptr || e.type != ocifs::TarEntry::Type::kFile) continue;
        if ((e.source_info.mode & S_IROTH) != 0) continue;
        std::string path = e.tree->root_name() + "/" + e.source_path;
        if (std::find(private_files.begin(), private_files.end(), path) == private_files.end())
          private_files.push_back(std::move(path));
      }
    }
  }
  if (private_files.empty()) return Status::Ok();
  const size_t shown = std::min<size_t>(private_files.size(), 10);
  std::string message = fmt::format(
      "--allow-other lets every local user read the image, and with it {} file(s) that only "
      "their owner may read here: {}{}; exclude them, or drop --allow-other",
      private_files.size(),
      fmt::format("`{}`", fmt::join(private_files.begin(), private_files.begin() + shown, "`, `")),
      shown < private_files.size() ? fmt::format(" and {} more", private_files.size() - shown)
                                   : "");
  if (plan.project->strict) {
    return ocifs::InvalidArgument(message + " (an error with --strict)");
  }
  std::fprintf(stderr, "ocifs: warning: %s\n", message.c_str());
  return Status::Ok();
}

int Mount(const std::string& project, const ocifs::vfs::MountOptions& mo, bool watch,
          const LogFlags& log, const ImageFlags& flags, const CLI::App& app) {
  // Everything that can be wrong with the input is found before mounting.
  Status mp = ocifs::vfs::CheckMountpoint(mo.mountpoint);
  if (!mp.ok()) return Fail(mp);
  auto level = log.Level();
  if (!level.ok()) return Fail(level.status());
  ocifs::vfs::ConfigureLog(log.file.empty() ? "" : Absolute(log.file), *level);
  // The daemon is forked now, before the project is read (see fs/daemon.h); what goes wrong from
  // here on, the child says on stderr and the parent exits with its code.
  std::optional<ocifs::vfs::Daemon> daemon;
  if (!mo.foreground) {
    auto forked = ocifs::vfs::Daemon::Fork();
    if (!forked.ok()) return Fail(forked.status());
    daemon.emplace(std::move(forked).value());
  }
  std::jthread sha256 = PrepareSha256Behind();  // after the fork: see ocifs::PrepareSha256
  auto in = Inputs(project, flags, app, mo.mountpoint);
  if (!in.ok()) return Fail(in.status());
  in->plugins->set_log(ocifs::vfs::Log);
  auto planned = ocifs::PlanAndWatch(*in, watch);
  if (!planned.ok()) return Fail(planned.status());
  PrintWarnings(planned->plan.warnings);
  if (mo.allow_other) {
    Status exposed = CheckAllowOther(planned->plan);
    if (!exposed.ok()) return Fail(exposed);
  }
  auto cache = flags.cache.Open();
  if (!cache.ok()) return Fail(cache.status());
  ocifs::LiveOptions live;
  live.inputs = *in;
  live.watch = watch;
  live.cache = std::move(cache).value();
  live.log = ocifs::vfs::Log;
  live.mountpoint = in->mountpoint;
  live.status_file = ocifs::StatusFilePath(live.mountpoint);
  // The daemon writes its status there: a directory someone else made is refused now, not
  // logged later.
  if (auto dir = ocifs::OpenPrivateDir(ocifs::RuntimeDir()); !dir.ok()) {
    return Fail(dir.status().WithContext("the status directory"));
  }
  // Daemons killed without `ocifs umount` left their status files; they would pile up.
  if (auto swept = ocifs::SweepStatusFiles(ocifs::RuntimeDir(), MountPoints()); !swept.ok()) {
    ocifs::vfs::Log(ocifs::LogLevel::kWarning, "status directory: " + swept.status().message());
  } else if (*swept > 0) {
    ocifs::vfs::Log(ocifs::LogLevel::kInfo,
                    fmt::format("removed {} status files of daemons that are gone", *swept));
  }
  if (mo.foreground && ::isatty(STDERR_FILENO)) {
    live.on_progress = [](const ocifs::HashProgress& p) {
      std::fprintf(stderr, "\r\033[Kocifs: %s", ProgressLine(p).c_str());
    };
  }
  ocifs::LiveImage source(std::move(planned->plan), std::move(live), std::move(planned->watcher));
  ocifs::vfs::MountOptions serve = mo;
  serve.daemon = daemon ? &*daemon : nullptr;
  Status s = ocifs::vfs::Serve(serve, source);
  if (!s.ok()) return Fail(s);
  return 0;
}

// `ocifs push`'s own flags (PROJECT mode also takes the image flags).
// The layout a command reads whole (push, export): the ocifs mount or layout directory `mount`
// when given, else PROJECT's image built here (digests from `cache`, which may be null).
Result<std::unique_ptr<ocifs::LayoutSource>> LayoutOf(const std::string& project,
                                                      const std::string& mount,
                                                      const ImageFlags& flags, const CLI::App& app,
                                                      ocifs::DigestCache* cache) {
  if (!mount.empty()) {
    std::error_code ec;
    std::string dir = std::filesystem::canonical(mount, ec).string();
    if (ec || !std::filesystem::is_regular_file(dir + "/index.json", ec)) {
      return ocifs::NotFound(fmt::format(
          "--mount `{}`: not an ocifs mount or OCI layout (no index.json there)", mount));
    }
    return ocifs::LayoutDirectory(dir);
  }
  OCIFS_ASSIGN_OR_RETURN(ocifs::PlanInputs in, Inputs(project, flags, app));
  OCIFS_ASSIGN_OR_RETURN(ocifs::ImagePlan plan, Plan(in));
  ocifs::HashProgress progress;
  auto gen = WithProgressLine(progress, [&] {
    return ocifs::BuildGeneration(plan, 1, {.progress = &progress, .cache = cache});
  });
  if (!gen.ok()) return gen.status();
  PrintWarnings((*gen)->warnings());
  return ocifs::GenerationLayout(*gen);
}

struct PushFlags {
  std::vector<std::string> args;  // [PROJECT] REF
  std::string mount, compression = "gzip", source_tag, chunk_size;
  std::vector<std::string> also_tags;
  int jobs = 3;
  bool json = false;

  void Register(CLI::App& app) {
    app.add_option("ARGS", args, "PROJECT REF, or REF with --mount")->required()->expected(1, 2);
    app.add_option("--mount", mount, "Push the image of this ocifs mount (or any OCI layout)");
    app.add_option("--also-tag", also_tags, "Also push the image under this tag (repeatable)");
    app.add_option("--source-tag", source_tag,
                   "The image of the layout to push, by its index.json tag (default: the first)");
    app.add_option("--compression", compression,
                   "How layers served uncompressed are pushed: gzip, zstd or none; gzip:LEVEL "
                   "(1-9), zstd:LEVEL (1-19) (default: gzip, level 1)");
    app.add_option("--chunk-size", chunk_size,
                   "Blobs larger than this (or than 4 MiB) are uploaded in chunks of this size "
                   "(default: 16M)");
    app.add_option("--jobs", jobs, "Blobs transferred at once (default: 3)")
        ->check(CLI::Range(1, 16));
    app.add_flag("--json", json, "Print the push report as JSON on stdout");
  }
};

std::atomic<bool> g_push_cancelled{false};

// "layer 2/3 sha256:1234567890ab (12.0 MiB): uploaded, 12.0 MiB sent"
std::string PushedLine(const ocifs::PushedBlob& b) {
  auto mib = [](uint64_t n) { return static_cast<double>(n) / (1 << 20); };
  std::string line =
      fmt::format("{} {} ({:.1f} MiB): {}", b.role, b.pushed.digest.str().substr(0, 19),
                  mib(b.pushed.size), ocifs::OutcomeName(b.outcome));
  if (b.outcome == ocifs::PushedBlob::Outcome::kUploaded)
    line += fmt::format(", {:.1f} MiB sent", mib(b.bytes_sent));
  if (b.compressed_now) line += ", compressed";
  if (b.restarts + b.resumes > 0)
    line += fmt::format(" ({} restarted, {} resumed)", b.restarts, b.resumes);
  return line;
}

int PushCommand(const PushFlags& pf, const ImageFlags& flags, const CLI::App& app) {
  const bool from_mount = !pf.mount.empty();
  if (pf.args.size() != (from_mount ? 1u : 2u)) {
    return Fail(ocifs::InvalidArgument(
        from_mount ? "push --mount MNT takes one argument: the REF to push to"
                   : "push takes PROJECT and REF (or REF with --mount MNT)"));
  }
  const std::string& ref_text = pf.args.back();
  auto target = ocifs::ParseImageReference(ref_text);
  if (!target.ok()) return Fail(target.status());
  if (target->digest) {
    return Fail(ocifs::InvalidArgument(fmt::format(
        "`{}`: push to a tag, not a digest (the digest is what the push makes)", ref_text)));
  }
  ocifs::PushOptions options;
  options.tags.push_back(target->tag.empty() ? "latest" : target->tag);
  for (const auto& t : pf.also_tags) {
    Status s = ocifs::ValidateTag(t).WithContext("--also-tag");
    if (!s.ok()) return Fail(s);
    if (std::find(options.tags.begin(), options.tags.end(), t) == options.tags.end())
      options.tags.push_back(t);
  }
  auto compression = ocifs::ParseCompression(pf.compression, "--compression");
  if (!compression.ok()) return Fail(compression.status());
  options.compression = *compression;
  if (!pf.chunk_size.empty()) {
    auto size = ocifs::ParseByteSize(pf.chunk_size);
    if (!size.ok() || *size < (64 << 10)) {
      return Fail(ocifs::InvalidArgument(
          fmt::format("--chunk-size `{}`: a size of at least 64K, such as 8M", pf.chunk_size)));
    }
    options.chunk_size = *size;
  }
  options.jobs = pf.jobs;
  options.source_tag = pf.source_tag;
  auto cache = flags.cache.Open();
  if (!cache.ok()) return Fail(cache.status());
  options.cache = cache->get();

  auto source = LayoutOf(from_mount ? "" : pf.args.front(), pf.mount, flags, app, cache->get());
  if (!source.ok()) return Fail(source.status());

  ocifs::RegistryOptions registry;
  registry.insecure = flags.insecure_registries;
  registry.push = true;
  ocifs::RegistryClient client(std::move(registry), ocifs::MakeCurlTransport(),
                               ocifs::MakeDefaultCredentialStore());
  const bool tty = ::isatty(STDERR_FILENO);
  options.on_progress = [&](const ocifs::PushProgress& p) {
    if (p.done) {
      std::fprintf(stderr, "%socifs: %s\n", tty ? "\r\033[K" : "", PushedLine(*p.blob).c_str());
    } else if (tty) {
      const double mib = 1 << 20;
      // Compressed for the first time, a layer's compressed size is known only at its end.
      const double sent = static_cast<double>(p.bytes) / mib;
      const std::string line = p.blob->pushed.size != 0
                                   ? fmt::format("{:.1f} of {:.1f} MiB", sent,
                                                 static_cast<double>(p.blob->pushed.size) / mib)
                                   : fmt::format("{:.1f} MiB sent, compressing {:.1f} MiB", sent,
                                                 static_cast<double>(p.blob->source.size) / mib);
      std::fprintf(stderr, "\r\033[Kocifs: %s %s", p.blob->role.c_str(), line.c_str());
    }
  };
  struct sigaction sa = {};
  sa.sa_handler = [](int) { g_push_cancelled = true; };
  sa.sa_flags = SA_RESETHAND;  // a second signal ends the process at once
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
  options.cancelled = &g_push_cancelled;

  // The unnamed image (or the one --source-tag names), then, unless --source-tag chose one,
  // every variant's under its tags (VariantPushes): their shared blobs are there already.
  std::vector<ocifs::VariantPush> pushes = {{"", options.source_tag, options.tags}};
  if (pf.source_tag.empty()) {
    auto index = (*source)->Index();
    if (!index.ok()) return Fail(index.status());
    for (auto& v : ocifs::VariantPushes(*index, options.tags)) pushes.push_back(std::move(v));
  }
  nlohmann::json out;
  for (const ocifs::VariantPush& one : pushes) {
    ocifs::PushOptions o = options;
    o.source_tag = one.source_tag;
    o.tags = one.tags;
    auto report = ocifs::Push(client, **source, *target, o);
    if (!report.ok()) {
      return Fail(report.status().WithContext(fmt::format(
          "push {}to `{}/{}`", one.variant.empty() ? "" : "of variant `" + one.variant + "` ",
          target->domain, target->repository)));
    }
    std::vector<std::string> refs;
    for (const auto& t : report->tags) refs.push_back(":" + t);
    std::fprintf(stderr, "ocifs: pushed %s/%s%s (%s): %s\n", target->domain.c_str(),
                 target->repository.c_str(), fmt::format("{}", fmt::join(refs, ", ")).c_str(),
                 report->root.digest.str().c_str(), report->Summary().c_str());
    if (one.variant.empty()) {
      out = report->ToJson();
    } else {
      nlohmann::json v = report->ToJson();
      v["variant"] = one.variant;
      out["variants"].push_back(std::move(v));
    }
  }
  if (pf.json) std::cout << out.dump(2) << "\n";
  return 0;
}

struct ExportFlags {
  std::string project, mount, format = "oci-archive", output;

  void Register(CLI::App& app) {
    app.add_option("PROJECT", project, "Project directory (or --mount MNT)");
    app.add_option("--mount", mount, "Export the image of this ocifs mount (or any OCI layout)");
    app.add_option("--format", format,
                   "oci-archive (an OCI layout as one tar) or docker-archive (for docker load, "
                   "podman load) (default: oci-archive)");
    app.add_option("--output,-o", output, "The archive to write; - for standard output")
        ->required();
  }
};

// The archive's bytes into `fd`; an error names `path`.
ocifs::ArchiveSink FdSink(int fd, const std::string& path) {
  return [fd, path](std::span<const std::byte> bytes) {
    return ocifs::WriteAll(fd, bytes, fmt::format("`{}`", path));
  };
}

// `ocifs export`: the image as one archive, streamed from the mount or the project. A file is
// written under a temporary name beside it and renamed at the end, so a failed export leaves
// nothing behind (and no earlier archive of that name half overwritten).
int ExportCommand(const ExportFlags& ef, const ImageFlags& flags, const CLI::App& app) {
  if (ef.project.empty() == ef.mount.empty()) {
    return Fail(ocifs::InvalidArgument(
        "export takes PROJECT, or --mount MNT for the image of a mount (not both)"));
  }
  ocifs::ArchiveOptions options;
  auto format = ocifs::ParseArchiveFormat(ef.format, "--format");
  if (!format.ok()) return Fail(format.status());
  options.format = *format;
  // `--tag TAG` or `--tag REPOSITORY:TAG`: the tags the archive holds; built from a project, the
  // image is given those tags.
  ImageFlags build_flags = flags;
  build_flags.tags.clear();
  for (const std::string& t : flags.tags) {
    auto tag = ocifs::ParseArchiveTag(t, "--tag");
    if (!tag.ok()) return Fail(tag.status());
    Status valid = ocifs::ValidateTag(tag->ref_name).WithContext("--tag");
    if (!valid.ok()) return Fail(valid);
    options.tags.push_back(*tag);
    build_flags.tags.push_back(tag->ref_name);
  }
  if (!flags.platform.empty() && flags.platform.find(',') == std::string::npos) {
    auto platform = ocifs::ParsePlatform(flags.platform);
    if (!platform.ok()) return Fail(platform.status().WithContext("--platform"));
    options.platform = *platform;
  }
  if (const char* sde = std::getenv("SOURCE_DATE_EPOCH"); sde != nullptr && *sde != '\0') {
    char* end = nullptr;
    errno = 0;
    const long long v = std::strtoll(sde, &end, 10);
    if (errno != 0 || *end != '\0' || v < 0) {
      return Fail(ocifs::InvalidArgument(
          fmt::format("SOURCE_DATE_EPOCH `{}`: seconds since 1970, a whole number", sde)));
    }
    options.mtime = v;
  }
  if (!ef.project.empty()) {
    options.repository = ocifs::RepositoryName(
        std::filesystem::path(Absolute(ef.project)).lexically_normal().filename().string());
  }
  const bool to_stdout = ef.output == "-";
  if (to_stdout && ::isatty(STDOUT_FILENO)) {
    return Fail(ocifs::InvalidArgument(
        "--output -: standard output is a terminal; redirect it (`> image.tar`, `| docker load`)"));
  }
  auto cache = flags.cache.Open();
  if (!cache.ok()) return Fail(cache.status());
  auto source = LayoutOf(ef.project, ef.mount, build_flags, app, cache->get());
  if (!source.ok()) return Fail(source.status());

  std::string temp;
  int fd = STDOUT_FILENO;
  if (!to_stdout) {
    const std::filesystem::path out = Absolute(ef.output);
    temp = (out.parent_path() / ("." + out.filename().string() + ".ocifs-XXXXXX")).string();
    fd = ::mkstemp(temp.data());
    if (fd < 0) return Fail(ocifs::ErrnoStatus(errno, fmt::format("`{}`", ef.output), "create"));
    ::fchmod(fd, 0644);
  }
  auto report = ocifs::WriteArchive(**source, options, FdSink(fd, ef.output));
  Status done = report.ok() ? Status::Ok() : report.status();
  if (!to_stdout) {
    if (done.ok() && ::fsync(fd) != 0)
      done = ocifs::ErrnoStatus(errno, fmt::format("`{}`", ef.output), "sync");
    if (::close(fd) != 0 && done.ok())
      done = ocifs::ErrnoStatus(errno, fmt::format("`{}`", ef.output), "close");
    if (done.ok() && ::rename(temp.c_str(), Absolute(ef.output).c_str()) != 0)
      done = ocifs::ErrnoStatus(errno, fmt::format("`{}`", ef.output), "rename into place");
    if (!done.ok()) ::unlink(temp.c_str());
  }
  if (!done.ok()) return Fail(done.WithContext(fmt::format("export to `{}`", ef.output)));
  const std::vector<std::string>& names =
      options.format == ocifs::ArchiveFormat::kDocker ? report->repo_tags : report->ref_names;
  std::fprintf(stderr, "ocifs: wrote %s (%s, %.1f MiB, %zu blobs): %s\n",
               to_stdout ? "standard output" : ef.output.c_str(), ef.format.c_str(),
               static_cast<double>(report->bytes) / (1 << 20), report->blobs,
               fmt::format("{}", fmt::join(names, ", ")).c_str());
  return 0;
}

// `ocifs plugins`: every plugin file the search finds, loaded or refused, and why.
int ListPlugins(const PluginFlags& flags, bool as_json) {
  ocifs::PluginSearch search = flags.Search({});
  if (flags.none) {
    std::printf("plugins are off (--no-plugins)\n");
    return 0;
  }
  const auto found = ocifs::FindPlugins(search);
  if (as_json) {
    nlohmann::json out = nlohmann::json::array();
    for (const auto& p : found) {
      nlohmann::json j = {{"path", p.path}, {"loaded", p.refused.empty() && !p.disabled}};
      if (!p.name.empty()) j["name"] = p.name;
      if (!p.version.empty()) j["version"] = p.version;
      if (!p.description.empty()) j["description"] = p.description;
      if (!p.name.empty()) j["abi"] = fmt::format("{}.{}", p.abi.major, p.abi.minor);
      j["capabilities"] = p.capabilities;
      if (!p.refused.empty()) j["refused"] = p.refused;
      if (p.disabled) j["disabled"] = true;
      out.push_back(j);
    }
    std::cout << out.dump(2) << "\n";
    return 0;
  }
  const ocifs::AbiVersion abi = ocifs::HostAbiVersion();
  std::printf("plugin ABI %u.%u; searched, in order:\n", abi.major, abi.minor);
  for (const auto& dir : search.dirs) {
    std::error_code ec;
    const bool here = std::filesystem::is_directory(dir, ec);
    std::printf("  %s%s\n", dir.c_str(), here ? "" : "  (no such directory)");
  }
  if (auto missing = ocifs::MissingPluginDirsWarning(search)) {
    std::fprintf(stderr, "ocifs: warning: %s\n", missing->c_str());
  }
  if (found.empty()) std::printf("no plugins found\n");
  for (const auto& p : found) {
    if (!p.refused.empty()) {
      std::printf("refused  %s\n         %s\n", p.path.c_str(), p.refused.c_str());
      continue;
    }
    std::printf("%-8s %s %s (ABI %u.%u) [%s]\n         %s\n         %s\n",
                p.disabled ? "disabled" : "loaded", p.name.c_str(), p.version.c_str(), p.abi.major,
                p.abi.minor, fmt::format("{}", fmt::join(p.capabilities, ", ")).c_str(),
                p.description.c_str(), p.path.c_str());
  }
  return 0;
}

// Runs fusermount3 -u MOUNTPOINT; its stderr comes back in `err`.
Result<bool> RunFusermountUnmount(const std::string& mountpoint, std::string& err) {
  int pipe_fds[2];
  if (::pipe2(pipe_fds, O_CLOEXEC) != 0) return ocifs::ErrnoStatus(errno, "a pipe", "create");
  pid_t pid = ::fork();
  if (pid == 0) {
    ::dup2(pipe_fds[1], STDERR_FILENO);
    ::execlp("fusermount3", "fusermount3", "-u", mountpoint.c_str(), static_cast<char*>(nullptr));
    std::perror("could not run fusermount3 (is fuse3 installed?)");
    ::_exit(127);
  }
  ::close(pipe_fds[1]);
  char buf[4096];
  for (ssize_t n; (n = ::read(pipe_fds[0], buf, sizeof buf)) != 0;) {
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) break;
    err.append(buf, static_cast<size_t>(n));
  }
  ::close(pipe_fds[0]);
  int status = 0;
  if (pid < 0 || ::waitpid(pid, &status, 0) < 0)
    return Status(ocifs::Code::kIo, "could not run fusermount3");
  while (!err.empty() && err.back() == '\n') err.pop_back();
  return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

// Unmounts an ocifs mount, a dead one too, and removes the status file a dead daemon left.
int Umount(const std::string& mountpoint) {
  const std::string real = MountpointPath(mountpoint);
  const std::string status_file = ocifs::StatusFilePath(real);
  auto forget_dead_daemon = [&] {
    auto status = ocifs::ReadStatusFile(status_file);
    if (status.ok() && !DaemonServes(status->value("pid", 0), real)) {
      (void)ocifs::RemoveStatusFile(status_file);
    }
  };
  const auto mounts = Mounts();
  const MountEntry* m = FindMount(mounts, real);
  if (m == nullptr) {
    forget_dead_daemon();
    return Fail(ocifs::InvalidArgument(fmt::format("`{}` is not mounted", mountpoint)));
  }
  if (m->fstype != "fuse.ocifs") {
    return Fail(ocifs::InvalidArgument(fmt::format(
        "`{}` is a {} mount, not an ocifs one; unmount it with umount", mountpoint, m->fstype)));
  }
  std::string err;
  auto done = RunFusermountUnmount(real, err);
  // A busy mount may be a moment's: a system call in flight there (the daemon's own stat while it
  // stores pages, a reader just ending). Tried again for half a second before it is an error.
  for (int retry = 0; retry < 5 && done.ok() && !*done && err.find("busy") != std::string::npos;
       ++retry) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    err.clear();
    done = RunFusermountUnmount(real, err);
  }
  if (!done.ok()) return Fail(done.status());
  if (!*done) {
    if (err.find("busy") != std::string::npos) {
      return Fail(Status(
          ocifs::Code::kFailedPrecondition,
          fmt::format("`{}` is busy: a process has a file, or its working directory, in it "
                      "(`fuser -vm {}` lists them); end them and retry, or detach it now with "
                      "`fusermount3 -uz {}`",
                      mountpoint, real, real)));
    }
    return Fail(Status(ocifs::Code::kIo, fmt::format("could not unmount `{}`: {}", mountpoint,
                                                     err.empty() ? "fusermount3 failed" : err)));
  }
  forget_dead_daemon();
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  ocifs::PrepareHeap();  // before any thread: see core/support/heap.h
  CLI::App app{"ocifs: a Python project as an OCI image layout, through FUSE"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "ocifs " OCIFS_VERSION);

  std::string project, mountpoint, output;
  ocifs::vfs::MountOptions mo;

  auto* mount = app.add_subcommand("mount", "Mount PROJECT as an OCI image layout at MOUNTPOINT");
  ImageFlags mount_flags;
  mount->add_option("PROJECT", project, "Project directory")->required();
  mount->add_option("MOUNTPOINT", mo.mountpoint, "An empty directory")->required();
  mount->add_flag("--foreground,-f", mo.foreground, "Stay in the foreground");
  mount->add_flag("--debug", mo.debug, "Trace FUSE requests (implies --foreground)");
  mount->add_flag("--allow-other", mo.allow_other, "Let other users read the mount");
  bool no_watch = false;
  mount->add_flag("--no-watch", no_watch, "Serve one frozen generation; do not follow changes");
  LogFlags log_flags;
  mount->add_option("--log-file", log_flags.file, "Also append the daemon's messages to this file");
  mount->add_option("--log-level", log_flags.level, "error, warning or info (default: info)");
  mount_flags.Register(*mount);

  auto* build = app.add_subcommand("build", "Write PROJECT's image layout to a directory");
  ImageFlags build_flags;
  build->add_option("PROJECT", project, "Project directory")->required();
  build->add_option("--output,-o", output, "Output directory (must not exist or be empty)")
      ->required();
  build_flags.Register(*build);

  auto* inspect = app.add_subcommand("inspect", "Print the image plan of PROJECT as JSON");
  ImageFlags inspect_flags;
  bool digests = false;
  inspect->add_option("PROJECT", project, "Project directory")->required();
  inspect->add_flag("--digests", digests, "Hash the layers and include digests");
  inspect_flags.Register(*inspect);

  auto* sbom = app.add_subcommand(
      "sbom", "Print the software bill of materials of PROJECT's image (the sbom plugin's)");
  ImageFlags sbom_flags;
  std::string sbom_format = "spdx";
  sbom->add_option("PROJECT", project, "Project directory")->required();
  sbom->add_option("--format", sbom_format, "spdx (SPDX 2.3 JSON) or cyclonedx (CycloneDX JSON)")
      ->check(CLI::IsMember({"spdx", "cyclonedx"}));
  sbom_flags.Register(*sbom);

  auto* cache = app.add_subcommand("cache", "Show or prune the digest cache");
  cache->require_subcommand(1);
  CacheFlags cache_flags;
  auto* cache_info = cache->add_subcommand("info", "Print the cache's directory, entries and size");
  cache_flags.Register(*cache_info, /*with_disable=*/false);
  auto* cache_prune =
      cache->add_subcommand("prune", "Evict least recently used entries down to the bound");
  bool prune_all = false;
  cache_flags.Register(*cache_prune, /*with_disable=*/false);
  cache_prune->add_flag("--all", prune_all, "Remove every entry");

  auto* status = app.add_subcommand(
      "status", "Show a mount's generation, hashing progress, cache use, last error");
  bool status_json = false;
  status->add_option("MOUNTPOINT", mountpoint, "The mountpoint")->required();
  status->add_flag("--json", status_json, "Print the status as JSON");

  auto* plugins = app.add_subcommand("plugins", "List the plugins found, loaded or refused");
  PluginFlags plugin_flags;
  plugin_flags.Register(*plugins);
  bool plugins_json = false;
  plugins->add_flag("--json", plugins_json, "Print the list as JSON");

  auto* push = app.add_subcommand(
      "push", "Push PROJECT's image (or a mount's, with --mount) to a registry: push PROJECT REF");
  PushFlags push_flags;
  ImageFlags push_image_flags;
  push_flags.Register(*push);
  push_image_flags.Register(*push);

  auto* export_cmd = app.add_subcommand(
      "export",
      "Write PROJECT's image (or a mount's, with --mount) as one archive: oci-archive, or "
      "docker-archive for docker load");
  ExportFlags export_flags;
  ImageFlags export_image_flags;
  export_flags.Register(*export_cmd);
  export_image_flags.Register(*export_cmd);

  auto* umount = app.add_subcommand("umount", "Unmount an ocifs mount");
  umount->add_option("MOUNTPOINT", mountpoint, "The mountpoint")->required();

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 2;
  }
  if (mo.debug) mo.foreground = true;
  if (mount->parsed()) return Mount(project, mo, !no_watch, log_flags, mount_flags, *mount);
  if (build->parsed()) return Build(project, output, build_flags, *build);
  if (inspect->parsed()) return Inspect(project, inspect_flags, *inspect, digests);
  if (sbom->parsed()) return PrintSbom(project, sbom_format, sbom_flags, *sbom);
  if (push->parsed()) return PushCommand(push_flags, push_image_flags, *push);
  if (export_cmd->parsed()) return ExportCommand(export_flags, export_image_flags, *export_cmd);
  if (umount->parsed()) return Umount(mountpoint);
  if (plugins->parsed()) return ListPlugins(plugin_flags, plugins_json);
  if (status->parsed()) return ShowStatus(mountpoint, status_json);
  if (cache_info->parsed()) return CacheInfo(cache_flags);
  if (cache_prune->parsed()) return CachePrune(cache_flags, prune_all);
  return 2;
}
