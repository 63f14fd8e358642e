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

// Whatever serves or writes a plan looks each layer up by its cache key before it hashes it, and
// the key of a large tree takes milliseconds (4 for the benchmark corpus's 12k dependencies):
// the keys of `plan`'s large layers are started on threads of their own (VirtualTar::
// StartCacheKey), to be computed while the plugins run and the mount gets ready. A key of fewer
// entries takes less than a thread's start.
constexpr size_t kKeyBehindEntries = 1024;
void StartCacheKeys(const ImagePlan& plan) {
  for (const PlannedLayer& l : plan.layers) {
    if (l.tar->entries().size() >= kKeyBehindEntries) l.tar->StartCacheKey();
  }
}

const PlannedLayer* FindLayer(const ImagePlan& plan, std::string_view name) {
  for (const PlannedLayer& l : plan.layers) {
    if (l.name == name) return &l;
  }
  return nullptr;
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
    // The watcher follows the first platform's directories (the project tree is the same), and
    // its dependencies when they are the project's, not a platform's own (those are not
    // watched).
    PlanDirectoryHook hook;
    if (plans.empty() && on_directory) {
      const bool own_deps =
          view->deps && project.deps && view->deps->host_path != project.deps->host_path;
      hook = [&on_directory, own_deps](PlanRoot root, const std::string& dir) {
        if (root == PlanRoot::kProject || !own_deps) on_directory(root, dir);
      };
    }
    auto plan = PlanImage(view, std::move(base).value(), reuse, hook);
    if (plan.ok())
      plan =
          AddSystemLayer(in, std::move(plan).value(), reuse_system ? reuse_system(*view) : nullptr);
    // (A layer the plugins pack again gets its key when it is asked for.)
    if (plan.ok()) StartCacheKeys(*plan);
    if (plan.ok()) plan = ApplyPlugins(in, std::move(plan).value());
    if (!plan.ok()) return fail(plan.status());
    plans.push_back(std::move(plan).value());
  }
  ImagePlan first = std::move(plans.front());
  for (size_t i = 1; i < plans.size(); ++i) first.other_platforms.push_back(std::move(plans[i]));
  return first;
}

// The variants a plan holds, in order: "" (the unnamed image) when selected, then the declared
// variants selected, by name (the order of a TOML table's keys). `--variant` naming one that is
// not declared is an error that lists those that are.
Result<std::vector<std::string>> SelectedVariants(
    const ResolvedProject& project, const std::optional<std::vector<std::string>>& selected) {
  std::vector<std::string> declared;
  for (const Variant& v : project.pyproject.variants) declared.push_back(v.name);
  if (!selected) {
    declared.insert(declared.begin(), "");
    return declared;
  }
  for (const std::string& name : *selected) {
    if (name != kDefaultVariant &&
        std::find(declared.begin(), declared.end(), name) == declared.end()) {
      return NotFound(fmt::format(
          "--variant `{}`: `{}/pyproject.toml` declares no such variant (declared: {}; `{}` is "
          "the unnamed image)",
          name, project.dir,
          declared.empty() ? "none" : fmt::format("{}", fmt::join(declared, ", ")),
          kDefaultVariant));
    }
  }
  auto picked = [&](const std::string& name) {
    return std::find(selected->begin(), selected->end(), name) != selected->end();
  };
  std::vector<std::string> out;
  if (picked(kDefaultVariant)) out.push_back("");
  for (const std::string& name : declared) {
    if (picked(name)) out.push_back(name);
  }
  if (out.empty()) return InvalidArgument("--variant: no variant selected");
  return out;
}

// What a plan of variants asks of whoever plans it: a platform's base for a view (by the view's
// `base` reference), and the layers a plan served before (Replan) may give a view.
struct VariantHooks {
  std::function<Result<BaseImage>(const ResolvedProject& view, const Platform& platform)> base_of;
  std::function<const PlannedLayer*(const ResolvedProject& view)> reuse_dependencies;
  std::function<const PlannedLayer*(const ResolvedProject& view)> reuse_system;
};

// The projects the variants `names` (SelectedVariants) are: `unnamed` (the project resolved with
// no variant) for "", the others resolved from `in`.
Result<std::vector<std::shared_ptr<const ResolvedProject>>> ResolveVariants(
    const PlanInputs& in, const ResolvedProject& unnamed, const std::vector<std::string>& names) {
  std::vector<std::shared_ptr<const ResolvedProject>> out;
  for (const std::string& name : names) {
    if (name.empty()) {
      out.push_back(std::make_shared<const ResolvedProject>(unnamed));
      continue;
    }
    PlanInputs variant_inputs = in;
    variant_inputs.variant = name;
    OCIFS_ASSIGN_OR_RETURN(ResolvedProject project, Resolve(variant_inputs));
    out.push_back(std::make_shared<const ResolvedProject>(std::move(project)));
  }
  return out;
}

// The plans of `projects` (ResolveVariants): the first is the returned plan, the others its
// `variants`. A variant keeps the dependencies and system layers of an earlier variant of the
// same platform when they would be the same (the same directory, the same packages); equal layers
// are one blob anyway (BuildGeneration). `on_directory` sees every variant's walk of the project
// (the directories of them all are watched) and the first variant's of its dependencies, and of
// any variant's with the same dependencies directory.
Result<ImagePlan> PlanVariants(const PlanInputs& in,
                               const std::vector<std::shared_ptr<const ResolvedProject>>& projects,
                               const VariantHooks& hooks,
                               const PlanDirectoryHook& on_directory = {}) {
  const ResolvedProject& first_project = *projects.front();
  std::vector<ImagePlan> plans;
  for (const auto& project : projects) {
    auto earlier_of = [&](const ResolvedProject& view) {
      std::vector<const ImagePlan*> out;
      for (const ImagePlan& v : plans) {
        for (const ImagePlan* p : PlatformPlans(v)) {
          if (p->project->platform == view.platform) out.push_back(p);
        }
      }
      return out;
    };
    auto reuse_dependencies = [&](const ResolvedProject& view) -> const PlannedLayer* {
      if (const PlannedLayer* l = hooks.reuse_dependencies(view)) return l;
      for (const ImagePlan* p : earlier_of(view)) {
        if (const PlannedLayer* l = ReusableDependencies(*p, view)) return l;
      }
      return nullptr;
    };
    auto reuse_system = [&](const ResolvedProject& view) -> const PlannedLayer* {
      if (const PlannedLayer* l = hooks.reuse_system ? hooks.reuse_system(view) : nullptr) return l;
      for (const ImagePlan* p : earlier_of(view)) {
        if (SameSystemPackages(*p->project, view) && p->project->base == view.base) {
          if (const PlannedLayer* l = FindLayer(*p, kSystemLayer)) return l;
        }
      }
      return nullptr;
    };
    const bool same_deps = (project->deps ? project->deps->host_path : "") ==
                           (first_project.deps ? first_project.deps->host_path : "");
    PlanDirectoryHook hook;
    if (on_directory) {
      hook = [&](PlanRoot root, const std::string& dir) {
        if (root == PlanRoot::kProject || same_deps) on_directory(root, dir);
      };
    }
    const std::string& name = project->variant;
    auto plan = PlanPlatforms(
        in, *project, [&](const Platform& platform) { return hooks.base_of(*project, platform); },
        reuse_dependencies, hook, reuse_system);
    if (!plan.ok()) {
      return name.empty() ? plan.status() : plan.status().WithContext("variant `" + name + "`");
    }
    plans.push_back(std::move(plan).value());
  }
  ImagePlan first = std::move(plans.front());
  for (size_t i = 1; i < plans.size(); ++i) first.variants.push_back(std::move(plans[i]));
  OCIFS_RETURN_IF_ERROR(CheckRefNames(first));
  return first;
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
    const std::vector<const DepsSource*> trees = DependencyTrees(p);
    if (in(p.tree) ||
        std::any_of(trees.begin(), trees.end(), [&](const auto* d) { return in(d->tree); }))
      continue;
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

Result<ImagePlan> PlanProject(const PlanInputs& in, const ResolvedHook& on_resolved,
                              const PlanDirectoryHook& on_directory) {
  OCIFS_ASSIGN_OR_RETURN(ResolvedProject unnamed, Resolve(in));
  OCIFS_ASSIGN_OR_RETURN(std::vector<std::string> names, SelectedVariants(unnamed, in.variants));
  OCIFS_ASSIGN_OR_RETURN(auto projects, ResolveVariants(in, unnamed, names));
  if (on_resolved) OCIFS_RETURN_IF_ERROR(on_resolved(projects));
  // Bases are resolved once per reference and platform, whatever the variants.
  std::map<std::string, std::unique_ptr<BaseSource>> sources;
  std::map<std::string, BaseImage> bases;
  VariantHooks hooks;
  hooks.base_of = [&](const ResolvedProject& view, const Platform& platform) -> Result<BaseImage> {
    const std::string key = view.base + " " + platform.str();
    if (auto it = bases.find(key); it != bases.end()) return it->second;
    std::unique_ptr<BaseSource>& source = sources[view.base];
    if (!source) {
      OCIFS_ASSIGN_OR_RETURN(source, OpenBaseSource(view.base, in.registry, view.registry_mirrors));
    }
    OCIFS_ASSIGN_OR_RETURN(BaseImage base, source->Resolve(platform));
    return bases.emplace(key, std::move(base)).first->second;
  };
  hooks.reuse_dependencies = [](const ResolvedProject&) { return nullptr; };
  return PlanVariants(in, projects, hooks, on_directory);
}

Result<ImagePlan> Replan(const PlanInputs& in, const ImagePlan& served, bool deps_changed) {
  OCIFS_ASSIGN_OR_RETURN(ResolvedProject unnamed, Resolve(in));
  OCIFS_ASSIGN_OR_RETURN(std::vector<std::string> names, SelectedVariants(unnamed, in.variants));
  OCIFS_ASSIGN_OR_RETURN(auto projects, ResolveVariants(in, unnamed, names));
  std::vector<const ImagePlan*> served_plans;
  for (const ImagePlan* v : VariantPlans(served)) {
    for (const ImagePlan* p : PlatformPlans(*v)) served_plans.push_back(p);
  }
  auto before = [&](const ResolvedProject& view) -> const ImagePlan* {
    for (const ImagePlan* p : served_plans) {
      if (p->project->variant == view.variant && p->project->platform == view.platform) return p;
    }
    return nullptr;
  };
  std::map<std::string, std::unique_ptr<BaseSource>> sources;  // for bases not served before
  VariantHooks hooks;
  hooks.base_of = [&](const ResolvedProject& view, const Platform& platform) -> Result<BaseImage> {
    // Bases are resolved once per mount: a base served before for this platform is kept.
    for (const ImagePlan* p : served_plans) {
      if (p->project->base == view.base && p->project->platform == platform) return p->base;
    }
    std::unique_ptr<BaseSource>& source = sources[view.base];
    if (!source) {
      OCIFS_ASSIGN_OR_RETURN(source, OpenBaseSource(view.base, in.registry, view.registry_mirrors));
    }
    return source->Resolve(platform);
  };
  hooks.reuse_dependencies = [&](const ResolvedProject& view) -> const PlannedLayer* {
    const ImagePlan* b = before(view);
    // Only the dependencies directory of the first variant served is watched (WatchRoots): a
    // later variant's other one, or a platform's own, is packed again every time.
    const ResolvedProject& watched_project = *served.project;
    const bool watched = view.deps && watched_project.deps &&
                         view.deps->host_path == watched_project.deps->host_path;
    if (deps_changed || b == nullptr || !watched ||
        view.platform_deps.contains(view.platform.str()))
      return nullptr;
    return ReusableDependencies(*b, view);
  };
  hooks.reuse_system = [&](const ResolvedProject& view) -> const PlannedLayer* {
    const ImagePlan* b = before(view);
    if (b == nullptr || !SameSystemPackages(*b->project, view) || b->project->base != view.base)
      return nullptr;
    return FindLayer(*b, kSystemLayer);
  };
  return PlanVariants(in, projects, hooks);
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
    // Made once for detection and the layers: what ApplyContributions changes of the project
    // (command, user, env, labels, ports, health check) is not in them, what it excludes is.
    PluginFacts facts(plan);
    if (host.detects()) {
      OCIFS_ASSIGN_OR_RETURN(std::vector<Contribution> contributions, host.Detect(facts));
      ResolvedProject project = *plan.project;
      ApplyContributions(project, contributions, plan.warnings);
      const bool excluded = std::any_of(contributions.begin(), contributions.end(),
                                        [](const auto& c) { return !c.exclude.empty(); });
      if (excluded) {
        // Pack the application again under the new rules; the layers below it stay. What it
        // warns of was said when it was packed the first time, with more files.
        std::vector<std::string> again;
        OCIFS_ASSIGN_OR_RETURN(PlannedLayer app,
                               PlanApplicationLayer(project, plan.base.config, again));
        auto it = std::find_if(plan.layers.begin(), plan.layers.end(),
                               [](const PlannedLayer& l) { return l.name == "application"; });
        if (it == plan.layers.end()) return Internal("the plan has no application layer");
        *it = std::move(app);
        facts = PluginFacts(plan);
      }
      plan.project = std::make_shared<const ResolvedProject>(std::move(project));
    }
    OCIFS_ASSIGN_OR_RETURN(PluginAdditions added, host.Extend(facts));
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
