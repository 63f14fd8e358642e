// The planning pipeline, the one place that turns inputs into an image plan:
//
//   inputs -> ResolveProject -> base source -> PlanImage -> system packages -> plugins -> checks
//   -> plan
//
// System packages (`system-packages`) are a layer below the dependencies, planned against the
// platform's base (PlanSystemPackages); a later generation keeps the served one while the
// packages, mirrors and keyrings asked for stay the same.
//
// for each platform of the project. Every command (`build`, `inspect`, `push`), a mount's first
// plan and every later generation's plan (Replan) go through it. It owns the two choices they
// share: which kind of base a reference names (OpenBaseSource), and when a dependencies layer
// already packed is kept instead of packing the directory again (ReusableDependencies).
//
// Plugins: the host only runs them (PluginHost::Detect, PluginHost::Extend); merging what they
// contribute, packing the application again when they exclude files, and putting their layers
// and artifacts on the plan happen here.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "core/image/image.h"
#include "core/oci/base.h"
#include "core/python/project.h"

namespace ocifs {

class PluginHost;       // plugin_host.h
class RegistryContext;  // registry_source.h
struct SystemContext;   // system_packages.h

struct PlanInputs : ProjectInputs {
  // The loaded plugins (plugin_host.h) that every plan of this project goes through; may be null.
  std::shared_ptr<PluginHost> plugins;
  // How registry bases are pulled (registry_source.h); null: a registry base is an error.
  std::shared_ptr<RegistryContext> registry;
  // How system packages are fetched and cached (system_packages.h); null: `system-packages` is
  // an error.
  std::shared_ptr<const SystemContext> system;
};

// `scratch`, `oci:PATH[:TAG]` (see OpenLayoutBase), or an image reference pulled through
// `registry` (an error when it is null), from `mirrors` first (those of the reference's registry).
Result<std::unique_ptr<BaseSource>> OpenBaseSource(const std::string& reference,
                                                   std::shared_ptr<RegistryContext> registry,
                                                   const std::vector<RegistryMirror>& mirrors = {});

// Told the project of each variant a plan holds, in the plan's order, before planning starts.
using ResolvedHook =
    std::function<Status(const std::vector<std::shared_ptr<const ResolvedProject>>& variants)>;

// ResolveProject, then the base, then PlanImage and ApplyPlugins for each variant and platform
// (the second and later in ImagePlan::variants and other_platforms): what every command does
// first. `on_resolved`, when given, sees the resolved projects before planning starts (a watcher
// is opened there for their directories and ignore rules); `on_directory` each directory as the
// walks reach it (see PlanVariants in pipeline.cc for which).
Result<ImagePlan> PlanProject(const PlanInputs& in, const ResolvedHook& on_resolved = {},
                              const PlanDirectoryHook& on_directory = {});

// The plan after a change, from `served` (the plan being served): the project is resolved again;
// each platform served before keeps its base (bases are resolved once per mount) and, unless
// `deps_changed`, its dependencies layer when ReusableDependencies allows it. A platform's own
// dependencies directory (platform_deps) is not watched, so it is packed again every time.
Result<ImagePlan> Replan(const PlanInputs& in, const ImagePlan& served, bool deps_changed);

// The dependencies layer of `earlier` that a plan of `view` may keep instead of packing its
// dependencies directory again: the same directory, Python and strictness, and a dependencies
// layer in `earlier`; null otherwise. The caller vouches that the directory has not changed
// since `earlier` was planned (a watcher, or the same plan's other platform).
const PlannedLayer* ReusableDependencies(const ImagePlan& earlier, const ResolvedProject& view);

// Runs `in.plugins` (when set) on a plan: configures them with the project's plugin settings;
// merges what detection contributes (ApplyContributions), packing the application again when a
// plugin excludes files; puts the plugins' layers and artifacts on the plan. Then a project that
// still has no command is an error, and the command and the base's Python are checked (warnings,
// or errors under --strict). Every plan of every platform passes through it.
Result<ImagePlan> ApplyPlugins(const PlanInputs& in, ImagePlan plan);

}  // namespace ocifs
