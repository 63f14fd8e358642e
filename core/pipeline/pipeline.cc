#include "core/pipeline/pipeline.h"

#include <algorithm>
#include <map>
#include <optional>

#include <fmt/format.h>

#include "core/plugins/plugin_host.h"
#include "core/python/pep440.h"
#include "core/registry/registry_source.h"
#include "core/support/text.h"
#include "core/system/system_packages.h"

namespace ocifs {
namespace {

// ResolveProject, told whether a detect plugin may still give the command.
Result<ResolvedProject> Resolve(const PlanInputs& in) {
  ProjectInputs project = in;
  project.plugins_may_detect = in.plugins && in.plugins->detects();
  return ResolveProject(project);
}

constexpr char kSystemLayer[] = "system-packages";

// Whether two views ask for the same system packages, from the same archives.
bool SameSystemPackages(const ResolvedProject& a, const ResolvedProject& b) {
  return a.options.system_packages == b.options.system_packages &&
         a.options.apt_mirrors == b.options.apt_mirrors &&
         a.options.apt_keyrings == b.options.apt_keyrings;
}

// Puts the system-packages layer (when the view asks for packages) below the plan's others:
// `reuse` when given, else planned on the plan's base.
Result<ImagePlan> AddSystemLayer(const PlanInputs& in, ImagePlan plan, const PlannedLayer* reuse) {
  const ResolvedProject& p = *plan.project;
  if (p.options.system_packages.empty()) return plan;
  PlannedLayer layer;
  if (reuse) {
    layer = *reuse;
  } else {
    if (!in.system) return Internal("system-packages: no system context to fetch packages with");
    SystemPackagesOptions o;
    o.packages = p.options.system_packages;
    o.mirrors = p.options.apt_mirrors.value_or(std::vector<std::string>{});
    o.keyrings = p.options.apt_keyrings;
    o.origin = "system-packages";
    OCIFS_ASSIGN_OR_RETURN(SystemLayer s,
                           PlanSystemPackages(plan.base, p.platform, o, *in.system, p.epoch));
    for (const std::string& w : s.warnings) plan.warnings.push_back("system-packages: " + w);
    layer = {kSystemLayer, s.created_by, s.tar};
  }
  plan.layers.insert(plan.layers.begin(), std::move(layer));
  return plan;
}

// The plans of every platform of `project` (ForPlatform views), each through ApplyPlugins:
// `base_of` gives a platform's base, `reuse_dependencies` an unchanged dependencies layer the
// view may keep (or null; see PlanImage). Platforms with the same dependencies directory share
// one layer. Errors name the platform when there are several.
Result<ImagePlan> PlanPlatforms(
    const PlanInputs& in, const ResolvedProject& project,
    const std::function<Result<BaseImage>(const Platform&)>& base_of,
    const std::function<const PlannedLayer*(const ResolvedProject&)>& reuse_dependencies,
    const PlanDirectoryHook& on_directory = {},
    const std::function<const PlannedLayer*(const ResolvedProject&)>& reuse_system = {}) {
  const bool several = project.platforms.size() > 1;
  std::vector<ImagePlan> plans;
  plans.reserve(project.platforms.size());  // `reuse` below points into it
  for (const Platform& platform : project.platforms) {
    auto fail = [&](const Status& s) { return several ? s.WithContext(platform.str()) : s; };
    auto view = std::make_shared<const ResolvedProject>(ForPlatform(project, platform));
    auto base = base_of(platform);
    if (!base.ok()) return fail(base.status());
    const PlannedLayer* reuse = reuse_dependencies(*view);
    // Dependencies from the directory of an earlier platform: that platform's layer.
    for (const ImagePlan& earlier : plans) {
      if (reuse == nullptr) reuse = ReusableDependencies(earlier, *view);
    }
    // The watcher follows the first platform's directories (the project tree is the same).
    auto plan = PlanImage(view, std::move(base).value(), reuse,
                          plans.empty() ? on_directory : PlanDirectoryHook());
    if (plan.ok())
      plan =
          AddSystemLayer(in, std::move(plan).value(), reuse_system ? reuse_system(*view) : nullptr);
    if (plan.ok()) plan = ApplyPlugins(in, std::move(plan).value());
    if (!plan.ok()) return fail(plan.status());
    plans.push_back(std::move(plan).value());
  }
  ImagePlan first = std::move(plans.front());
  for (size_t i = 1; i < plans.size(); ++i) first.other_platforms.push_back(std::move(plans[i]));
  OCIFS_RETURN_IF_ERROR(CheckRefNames(first));
  return first;
}

const PlannedLayer* FindLayer(const ImagePlan& plan, std::string_view name) {
  for (const PlannedLayer& l : plan.layers) {
    if (l.name == name) return &l;
  }
  return nullptr;
}

// The Python module a command's server or framework is, when it is one ocifs knows: the word
// after `-m`, a console script's name, `manage.py` (Django), `exec X` in a `sh -c` script.
std::vector<std::string> ServerModules(const std::vector<std::string>& argv) {
  static const std::map<std::string, std::string, std::less<>> kKnown = {
      {"gunicorn", "gunicorn"},
      {"uvicorn", "uvicorn"},
      {"streamlit", "streamlit"},
      {"flask", "flask"},
      {"hypercorn", "hypercorn"},
      {"daphne", "daphne"},
      {"waitress-serve", "waitress"},
      {"waitress", "waitress"},
      {"celery", "celery"}};
  const std::vector<std::string> words = SplitWords(argv);
  std::vector<std::string> out;
  for (size_t i = 0; i < words.size(); ++i) {
    const std::string& w = words[i];
    const bool command = i == 0 || words[i - 1] == "-m" || words[i - 1] == "exec" ||
                         words[i - 1] == "&&" || words[i - 1] == "-c";
    const std::string name = w.substr(w.rfind('/') + 1);
    if (command) {
      if (auto it = kKnown.find(name); it != kKnown.end()) out.push_back(it->second);
    }
    if (name == "manage.py") out.push_back("django");
  }
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

// What the command needs that the image may not have, and where it would only listen on the
// container's loopback: warnings, or errors under --strict for the missing pieces.
Status CheckCommand(const ResolvedProject& p, std::vector<std::string>& warnings) {
  std::vector<std::string> argv = p.entrypoint.value_or(std::vector<std::string>{});
  if (p.cmd) argv.insert(argv.end(), p.cmd->begin(), p.cmd->end());
  if (argv.empty()) return Status::Ok();
  if (auto why = LoopbackOnly(argv, p.env)) warnings.push_back("the command: " + *why);
  std::vector<std::string> needed = ServerModules(argv);
  for (const auto& [k, v] : p.labels) {
    const bool framework = v == "flask" || v == "django" || v == "fastapi" || v == "streamlit";
    if (k == "io.ocifs.framework" && framework &&
        std::find(needed.begin(), needed.end(), v) == needed.end())
      needed.push_back(v);
  }
  for (const std::string& module : needed) {
    auto in = [&](const std::shared_ptr<const Tree>& tree) {
      return tree && (tree->Lstat(module).ok() || tree->Lstat(module + ".py").ok());
    };
    if ((p.deps && in(p.deps->tree)) || in(p.tree)) continue;
    std::string msg =
        p.deps ? fmt::format(
                     "the image runs `{}`, which is not in the dependencies layer (`{}`): "
                     "install it there, or set the command",
                     module, p.deps->host_path)
               : fmt::format(
                     "the image runs `{}`, and it has no dependencies layer (no .venv, "
                     "--deps or [tool.ocifs] deps): the base `{}` must have it",
                     module, p.base);
    if (p.strict) return InvalidArgument(msg + " (an error with --strict)");
    warnings.push_back(std::move(msg));
  }
  return Status::Ok();
}

// The base's Python, from the PYTHON_VERSION its config sets (as the official python images do),
// against the image's Python and requires-python: warnings when they disagree.
void CheckBasePython(const ImagePlan& plan, std::vector<std::string>& warnings) {
  const ResolvedProject& p = *plan.project;
  const nlohmann::json* env = nullptr;
  if (plan.base.config.contains("config") && plan.base.config["config"].is_object() &&
      plan.base.config["config"].contains("Env") && plan.base.config["config"]["Env"].is_array())
    env = &plan.base.config["config"]["Env"];
  if (env == nullptr) return;
  std::string version;
  for (const auto& e : *env) {
    const std::string kv = e.is_string() ? e.get<std::string>() : "";
    if (kv.starts_with("PYTHON_VERSION=")) version = kv.substr(15);
  }
  auto parsed = Version::Parse(version);
  if (version.empty() || !parsed.ok()) return;
  const std::string minor = version.substr(0, version.find('.', version.find('.') + 1));
  if (minor != p.python) {
    warnings.push_back(fmt::format(
        "the base `{}` has Python {} (its PYTHON_VERSION), but the image is for Python {} ({}): "
        "name a base with Python {}, or set python",
        p.base, version, p.python, p.python_reason, p.python));
  }
  if (p.pyproject.requires_python.empty()) return;
  auto spec = SpecifierSet::Parse(p.pyproject.requires_python);
  if (spec.ok() && !spec->Contains(*parsed)) {
    warnings.push_back(
        fmt::format("the base `{}` has Python {}, which requires-python `{}` of "
                    "`{}/pyproject.toml` excludes",
                    p.base, version, p.pyproject.requires_python, p.dir));
  }
}

}  // namespace

Result<std::unique_ptr<BaseSource>> OpenBaseSource(const std::string& reference,
                                                   std::shared_ptr<RegistryContext> registry,
                                                   const std::vector<RegistryMirror>& mirrors) {
  if (reference == "scratch") return ScratchBase();
  if (SplitOciLayoutRef(reference)) return OpenLayoutBase(reference);
  OCIFS_RETURN_IF_ERROR(ParseImageReference(reference).status().WithContext("base"));
  if (!registry)
    return Internal(fmt::format("base `{}`: no registry context to pull it with", reference));
  return RegistryBase(reference, std::move(registry), mirrors);
}

Result<ImagePlan> PlanProject(
    const PlanInputs& in,
    const std::function<Status(const std::shared_ptr<const ResolvedProject>&)>& on_resolved,
    const PlanDirectoryHook& on_directory) {
  OCIFS_ASSIGN_OR_RETURN(ResolvedProject resolved, Resolve(in));
  auto project = std::make_shared<const ResolvedProject>(std::move(resolved));
  if (on_resolved) OCIFS_RETURN_IF_ERROR(on_resolved(project));
  OCIFS_ASSIGN_OR_RETURN(auto source,
                         OpenBaseSource(project->base, in.registry, project->registry_mirrors));
  return PlanPlatforms(
      in, *project, [&](const Platform& platform) { return source->Resolve(platform); },
      [](const ResolvedProject&) { return nullptr; }, on_directory);
}

Result<ImagePlan> Replan(const PlanInputs& in, const ImagePlan& served, bool deps_changed) {
  OCIFS_ASSIGN_OR_RETURN(ResolvedProject project, Resolve(in));
  auto before = [&served](const Platform& platform) -> const ImagePlan* {
    if (served.project->platform == platform) return &served;
    for (const ImagePlan& other : served.other_platforms) {
      if (other.project->platform == platform) return &other;
    }
    return nullptr;
  };
  std::unique_ptr<BaseSource> source;  // opened for a platform that was not served before
  auto base_of = [&](const Platform& platform) -> Result<BaseImage> {
    if (const ImagePlan* b = before(platform)) return b->base;
    if (!source) {
      OCIFS_ASSIGN_OR_RETURN(source,
                             OpenBaseSource(project.base, in.registry, project.registry_mirrors));
    }
    return source->Resolve(platform);
  };
  auto reuse = [&](const ResolvedProject& view) -> const PlannedLayer* {
    const ImagePlan* b = before(view.platform);
    if (deps_changed || b == nullptr || project.platform_deps.contains(view.platform.str()))
      return nullptr;
    return ReusableDependencies(*b, view);
  };
  auto reuse_system = [&](const ResolvedProject& view) -> const PlannedLayer* {
    const ImagePlan* b = before(view.platform);
    if (b == nullptr || !SameSystemPackages(*b->project, view)) return nullptr;
    return FindLayer(*b, kSystemLayer);
  };
  return PlanPlatforms(in, project, base_of, reuse, {}, reuse_system);
}

const PlannedLayer* ReusableDependencies(const ImagePlan& earlier, const ResolvedProject& view) {
  const ResolvedProject& e = *earlier.project;
  if (!view.deps || !e.deps || view.deps->host_path != e.deps->host_path ||
      view.python != e.python || view.strict != e.strict)
    return nullptr;
  return FindLayer(earlier, "dependencies");
}

Result<ImagePlan> ApplyPlugins(const PlanInputs& in, ImagePlan plan) {
  if (in.plugins && !in.plugins->empty()) {
    PluginHost& host = *in.plugins;
    OCIFS_RETURN_IF_ERROR(host.Configure(plan.project->options.plugins, &plan.warnings));
    if (host.detects()) {
      OCIFS_ASSIGN_OR_RETURN(std::vector<Contribution> contributions, host.Detect(plan));
      ResolvedProject project = *plan.project;
      ApplyContributions(project, contributions, plan.warnings);
      const bool excluded = std::any_of(contributions.begin(), contributions.end(),
                                        [](const auto& c) { return !c.exclude.empty(); });
      if (excluded) {
        // Pack the application again under the new rules; the dependencies layer stays.
        std::optional<PlannedLayer> kept, system;
        if (const PlannedLayer* deps = FindLayer(plan, "dependencies")) kept = *deps;
        if (const PlannedLayer* s = FindLayer(plan, kSystemLayer)) system = *s;
        std::vector<std::string> warnings = std::move(plan.warnings);
        OCIFS_ASSIGN_OR_RETURN(
            plan, PlanImage(std::make_shared<const ResolvedProject>(std::move(project)),
                            std::move(plan.base), kept ? &*kept : nullptr));
        if (system) plan.layers.insert(plan.layers.begin(), std::move(*system));
        plan.warnings = std::move(warnings);
      } else {
        plan.project = std::make_shared<const ResolvedProject>(std::move(project));
      }
    }
    OCIFS_ASSIGN_OR_RETURN(PluginAdditions added, host.Extend(plan));
    for (auto& l : added.layers) plan.layers.push_back(std::move(l));
    for (auto& a : added.artifacts) plan.artifacts.push_back(std::move(a));
  }
  const ResolvedProject& p = *plan.project;
  if (!p.entrypoint && !p.cmd && !p.missing_entrypoint.empty())
    return InvalidArgument(p.missing_entrypoint + "; no plugin detected one either");
  OCIFS_RETURN_IF_ERROR(CheckCommand(p, plan.warnings));
  CheckBasePython(plan, plan.warnings);
  return plan;
}

}  // namespace ocifs
