// The python-frameworks plugin: makes FastAPI, Flask, Django and Streamlit projects run in the
// image with the right command, port and health check, with no configuration.
//
// Detection reads the project's own Python files (the application layer; never the virtualenv)
// with a tokenizer (ocifs/python_source.hpp), so code inside functions, behind decorators and
// across lines counts, and text in strings and comments does not:
//   * FastAPI:   `NAME = FastAPI(...)` at module level (the app), or a function that builds one
//                (an app factory: run with `uvicorn --factory`, or gunicorn's `'mod:f()'`);
//   * Flask:     the same with `Flask(...)` in a module importing flask; a module-level
//                `app = create_app()` calling a factory is the app; FLASK_APP in .env or
//                .flaskenv (the facts' `dotenv`) names it outright;
//   * Django:    manage.py (at the top or in a folder) and the DJANGO_SETTINGS_MODULE it, wsgi.py
//                or asgi.py names; in a settings package, a `production`/`prod` module is
//                preferred; the server runs settings' WSGI_APPLICATION, else the wsgi.py beside
//                the settings;
//   * Streamlit: a module importing streamlit.
// Modules are named from their import root: the nearest folder above them that is not a package
// and is `src` or holds a project (pyproject.toml, setup.py, setup.cfg, requirements.txt,
// manage.py), else the top. A root other than the top becomes gunicorn's --chdir, uvicorn's
// --app-dir, or the path given to `flask --app`.
// The server follows the dependencies: FastAPI runs under gunicorn with uvicorn workers when both
// are installed, else uvicorn; Flask and Django under gunicorn when it is installed, else their
// own servers bound to 0.0.0.0. When two frameworks are found, the first in the order Django,
// FastAPI, Flask, Streamlit is used and a warning names the others (setting `framework` decides).
// What was chosen and why is logged (info) and kept in the label io.ocifs.framework.app.
//
// Settings ([tool.ocifs.plugins.frameworks], --plugin-opt frameworks.KEY=VALUE):
//   framework    fastapi | flask | django | streamlit | none (skip detection)
//   app          the application as MODULE:NAME or MODULE:FACTORY() (FastAPI, Flask), or FILE
//                (Streamlit)
//   port         the port to listen on (default 8000; Streamlit 8501)
//   health-path  the path the health check asks (default /; Streamlit /_stcore/health)
//   server       production (default) | dev: the framework's development server, which reloads
//                on change: `uvicorn --reload`, `flask --debug run`, Django's `runserver` with
//                the settings manage.py names (no production settings preferred), Streamlit
//                with `--server.runOnSave true`. For a `dev` variant
//                ([tool.ocifs.variants.dev.plugins.frameworks] server = "dev").
// What the user sets in [tool.ocifs] or flags (cmd, entrypoint, expose, healthcheck) wins anyway.
#include <algorithm>
#include <map>
#include <optional>
#include <regex>
#include <set>
#include <string>
#include <vector>

#include "ocifs/plugin.hpp"
#include "ocifs/python_source.hpp"

namespace {

namespace py = ocifs::sdk::python;

constexpr uint64_t kMaxSourceBytes = 1 << 20;
constexpr size_t kMaxSourceFiles = 5000;

std::string Dirname(std::string_view path) {
  const size_t slash = path.rfind('/');
  return slash == std::string_view::npos ? "" : std::string(path.substr(0, slash));
}

std::string Join(std::string_view dir, std::string_view name) {
  return dir.empty() ? std::string(name) : std::string(dir) + "/" + std::string(name);
}

// "app/main.py" -> "app.main"; "pkg/__init__.py" -> "pkg" (a path relative to its import root).
std::string ModuleOf(std::string path) {
  path.resize(path.size() - 3);  // ".py"
  if (path.ends_with("/__init__") || path == "__init__") path.resize(path.size() - 8);
  if (path.ends_with("/")) path.pop_back();
  std::replace(path.begin(), path.end(), '/', '.');
  return path;
}

// A dotted module name as the file that defines it under `root`, when the project has it.
std::optional<std::string> FileOfModule(const std::set<std::string>& files, const std::string& root,
                                        std::string module) {
  std::replace(module.begin(), module.end(), '.', '/');
  for (const std::string& f : {Join(root, module) + ".py", Join(root, module) + "/__init__.py"}) {
    if (files.contains(f)) return f;
  }
  return std::nullopt;
}

struct Found {
  std::string framework = {};  // "fastapi", ...
  std::string file = {};       // relative to the workdir
  std::string target =
      {};  // "app.main:app", "pkg:create_app()", "mysite.wsgi:application", "app.py"
  std::string app_dir = {};          // the import root ("" = the workdir; "src"; "backend")
  std::string factory = {};          // the factory's name when target calls one
  std::string why = {};              // what was found, for the log and the label
  std::string flask_app = {};        // FLASK_APP's value, given to `flask --app` as it is
  std::string django_settings = {};  // the settings module the server runs with
  std::string manage_py = {};        // Django's manage.py, relative to the workdir
};

const std::vector<std::string>& Order() {
  static const std::vector<std::string> kOrder = {"django", "fastapi", "flask", "streamlit"};
  return kOrder;
}

// What the scan knows of the project's files: the Python sources, and every file (for
// packages and project markers).
class Sources {
 public:
  Sources(const ocifs::sdk::Project& project, std::set<std::string> sources,
          std::set<std::string> all)
      : project_(project), sources_(std::move(sources)), all_(std::move(all)) {}

  const std::set<std::string>& sources() const { return sources_; }
  bool Has(const std::string& file) const { return all_.contains(file); }
  const py::Module* Read(const std::string& file) const {
    auto it = modules_.find(file);
    if (it != modules_.end()) return it->second.get();
    std::unique_ptr<py::Module> m;
    if (auto text = project_.ReadFile(file, OCIFS_LAYER_APPLICATION, kMaxSourceBytes))
      m = std::make_unique<py::Module>(*text);
    return modules_.emplace(file, std::move(m)).first->second.get();
  }

  // The folder a file's module path starts from: the nearest folder above it that is not a
  // package and is `src` or holds a project of its own; "" (the workdir) when none is.
  std::string ImportRoot(const std::string& file) const {
    for (std::string dir = Dirname(file); !dir.empty(); dir = Dirname(dir)) {
      if (Has(dir + "/__init__.py")) continue;
      const bool src = dir == "src" || dir.ends_with("/src");
      bool project = false;
      for (const char* marker :
           {"pyproject.toml", "setup.py", "setup.cfg", "requirements.txt", "manage.py"})
        project = project || Has(dir + "/" + marker);
      if (src || project) return dir;
    }
    return "";
  }
  std::string Module(const std::string& file) const {
    const std::string root = ImportRoot(file);
    return ModuleOf(root.empty() ? file : file.substr(root.size() + 1));
  }

 private:
  const ocifs::sdk::Project& project_;
  std::set<std::string> sources_, all_;
  mutable std::map<std::string, std::unique_ptr<py::Module>> modules_;
};

class Frameworks {
 public:
  static constexpr const char* kName = "frameworks";
  static constexpr const char* kVersion = "1.2.0";
  static constexpr const char* kDescription =
      "FastAPI, Flask, Django and Streamlit: command, port, health check";

  explicit Frameworks(const ocifs::sdk::Settings& settings) {
    settings.RequireKnown({"framework", "app", "port", "health-path", "server"});
    const std::string server(settings.GetOr("server", "production"));
    if (server != "production" && server != "dev") {
      throw ocifs::sdk::Error("setting `server`: `" + server + "` is not production or dev",
                              OCIFS_ERR_INVALID_ARGUMENT);
    }
    dev_ = server == "dev";
    framework_ = std::string(settings.GetOr("framework", ""));
    if (!framework_.empty() && framework_ != "none" &&
        std::find(Order().begin(), Order().end(), framework_) == Order().end()) {
      throw ocifs::sdk::Error("setting `framework`: `" + framework_ +
                                  "` is not one of fastapi, flask, django, streamlit, none",
                              OCIFS_ERR_INVALID_ARGUMENT);
    }
    app_ = std::string(settings.GetOr("app", ""));
    if (auto port = settings.Get("port")) {
      static const std::regex kPort("[1-9][0-9]{0,4}");
      if (!std::regex_match(port->begin(), port->end(), kPort) ||
          std::stoi(std::string(*port)) > 65535)
        throw ocifs::sdk::Error("setting `port`: `" + std::string(*port) + "` is not a port",
                                OCIFS_ERR_INVALID_ARGUMENT);
      port_ = std::stoi(std::string(*port));
    }
    if (auto path = settings.Get("health-path")) {
      if (path->empty() || path->front() != '/' ||
          path->find_first_of(" '\"\\\n") != std::string_view::npos)
        throw ocifs::sdk::Error("setting `health-path`: want a URL path like /healthz",
                                OCIFS_ERR_INVALID_ARGUMENT);
      health_path_ = std::string(*path);
    }
  }

  void Detect(ocifs::sdk::Context& ctx, const ocifs::sdk::Project& project,
              ocifs::sdk::Config& config) {
    if (framework_ == "none") return;
    // Of the file lists only what detection reads is kept: the application's own Python sources
    // (the first kMaxSourceFiles, tests left out), the names of every file, and how many files
    // the dependencies layer has. The lists are walked in the raw text: parsed whole, those of a
    // 100,000-file project would cost each plan tens of MB and most of its time.
    const ocifs::sdk::FactsView facts(project.facts_json());
    size_t dependency_files = 0;
    std::set<std::string> sources, all;
    if (auto files = facts.Get("dependency_files"))
      ocifs::sdk::FactsView::ForEachString(*files, [&](std::string_view) { ++dependency_files; });
    if (auto files = facts.Get("application_files")) {
      ocifs::sdk::FactsView::ForEachString(*files, [&](std::string_view f) {
        if (sources.size() < kMaxSourceFiles && IsSource(f)) sources.emplace(f);
        if (all.size() < 20 * kMaxSourceFiles) all.emplace(f);
      });
    }
    auto names = [&](const char* key) {
      auto raw = facts.Get(key);
      std::set<std::string> out;
      if (raw)
        ocifs::sdk::FactsView::ForEachString(*raw, [&](std::string_view n) { out.emplace(n); });
      return out;
    };
    // The servers to use: those installed in the dependencies layer; without one, those declared
    // in [project] (the image then needs a base that has them).
    std::set<std::string> deps = names("dependencies");
    if (dependency_files == 0) deps.merge(names("declared_dependencies"));
    std::string flask_app;
    if (auto dotenv = facts.Get("dotenv")) {  // ["FLASK_APP=app.py", ...]
      ocifs::sdk::FactsView::ForEachString(*dotenv, [&](std::string_view kv) {
        if (kv.starts_with("FLASK_APP=")) flask_app = std::string(kv.substr(10));
      });
    }

    const Sources src(project, std::move(sources), std::move(all));
    std::vector<std::string> notes;
    std::vector<Found> found = Scan(src, flask_app, notes);
    for (const std::string& note : notes) ctx.Warning(note);
    if (!framework_.empty()) {
      std::erase_if(found, [&](const Found& f) { return f.framework != framework_; });
      if (found.empty() && app_.empty()) {
        throw ocifs::sdk::Error("setting `framework` is `" + framework_ + "` but no " + framework_ +
                                " application was found; set `app`");
      }
    }
    if (found.empty() && !app_.empty() && !framework_.empty())
      found.push_back({.framework = framework_, .why = "the app setting"});
    if (found.empty()) return;
    std::stable_sort(found.begin(), found.end(), [](const Found& a, const Found& b) {
      auto rank = [](const Found& f) {
        return std::find(Order().begin(), Order().end(), f.framework) - Order().begin();
      };
      return rank(a) < rank(b);
    });
    const Found chosen = found.front();
    std::set<std::string> others;
    for (const auto& f : found) {
      if (f.framework != chosen.framework) others.insert(f.framework);
    }
    if (!others.empty()) {
      std::string list;
      for (const auto& o : others) list += (list.empty() ? "" : ", ") + o;
      ctx.Warning(
          "found " + chosen.framework + " (" + chosen.file + ") and also " + list + "; using " +
          chosen.framework +
          " (order: django, fastapi, flask, streamlit; set frameworks.framework to choose)");
    }
    ctx.Info(chosen.framework + ": " + chosen.why);
    Apply(chosen, deps, config);
  }

 private:
  // A Python file of the application's own, not of its tests.
  static bool IsSource(std::string_view file) {
    return file.ends_with(".py") && !file.starts_with("tests/") && !file.starts_with("test/") &&
           file.find("/tests/") == std::string::npos;
  }

  static std::string Where(const std::string& file, int line) {
    return "`" + file + "` line " + std::to_string(line);
  }

  // Every application the project's own Python files define: at most one of each framework,
  // the best of its kind.
  std::vector<Found> Scan(const Sources& src, const std::string& flask_app,
                          std::vector<std::string>& notes) const {
    std::vector<Found> out;
    if (auto django = ScanDjango(src, dev_)) out.push_back(*std::move(django));
    for (const char* framework : {"fastapi", "flask"}) {
      if (auto app =
              ScanApp(src, framework, framework == std::string("flask") ? flask_app : "", notes))
        out.push_back(*std::move(app));
    }
    // Streamlit: a script importing streamlit; the conventional entry names first.
    std::vector<std::string> scripts;
    for (const std::string& file : src.sources()) {
      const py::Module* m = src.Read(file);
      if (m && m->Imports("streamlit")) scripts.push_back(file);
    }
    auto streamlit_rank = [](const std::string& f) {
      for (const char* name : {"streamlit_app.py", "app.py", "main.py", "Home.py"}) {
        if (f == name) return 0;
      }
      return f.find('/') == std::string::npos ? 1 : 2;
    };
    std::stable_sort(scripts.begin(), scripts.end(), [&](const auto& a, const auto& b) {
      return streamlit_rank(a) < streamlit_rank(b);
    });
    if (!scripts.empty()) {
      out.push_back({.framework = "streamlit",
                     .file = scripts.front(),
                     .target = scripts.front(),
                     .why = "`" + scripts.front() + "` imports streamlit"});
    }
    return out;
  }

  // A FastAPI or Flask application: FLASK_APP when the project names it; else a module-level
  // app object; else an app factory.
  static std::optional<Found> ScanApp(const Sources& src, const std::string& framework,
                                      const std::string& flask_app,
                                      std::vector<std::string>& notes) {
    const bool flask = framework == "flask";
    auto is_framework_call = [&](const py::Module& m, const std::string& callee) {
      const std::string cls = flask ? "Flask" : "FastAPI";
      if (callee == framework + "." + cls) return true;
      return callee == cls && m.Imports(framework);
    };
    struct Candidate {
      Found found;
      int rank;         // lower is better
      std::string via;  // for `app = f()`: f, which must turn out to be a factory
    };
    std::vector<Candidate> objects, factories;
    std::set<std::string> factory_names;  // of every module: `app = create_app()` elsewhere
    for (const std::string& file : src.sources()) {
      const py::Module* m = src.Read(file);
      if (m == nullptr) continue;
      const std::string module = src.Module(file);
      const std::string root = src.ImportRoot(file);
      // How deep the module is and how conventional its names are rank the candidates.
      const int depth = static_cast<int>(std::count(module.begin(), module.end(), '.'));
      std::set<std::string> module_factories;
      for (const auto& c : m->calls()) {
        if (!is_framework_call(*m, c.callee) || c.module_level) continue;
        const py::Module::Function* f = m->FindFunction(c.function);
        if (f == nullptr || !module_factories.insert(f->name).second) continue;
        factory_names.insert(f->name);
        const bool conventional = f->name == "create_app" || f->name == "make_app";
        Found found{.framework = framework,
                    .file = file,
                    .target = module + ":" + f->name + "()",
                    .app_dir = root,
                    .factory = f->name,
                    .why = "app factory `" + f->name + "()` in " + Where(file, f->line)};
        factories.push_back(
            {found, depth * 4 + (conventional ? 0 : 1) + (f->required_params ? 100 : 0), ""});
      }
      for (const auto& a : m->assignments()) {
        if (!a.module_level || a.callee.empty()) continue;
        const bool direct = is_framework_call(*m, a.callee);
        const std::string last = a.callee.substr(a.callee.rfind('.') + 1);
        Found found{.framework = framework,
                    .file = file,
                    .target = module + ":" + a.target,
                    .app_dir = root,
                    .why = "`" + a.target + " = " + a.callee + "(...)` in " + Where(file, a.line)};
        const bool usual = a.target == "app" || a.target == "application";
        objects.push_back(
            {found, depth * 4 + (usual ? 0 : 1) + (direct ? 0 : 2), direct ? "" : last});
      }
    }
    // `x = f()` counts only when f is a factory of this framework (found in any module).
    std::erase_if(objects, [&](const Candidate& c) {
      return !c.via.empty() && !factory_names.contains(c.via);
    });
    if (flask && !flask_app.empty()) {
      Found found{.framework = framework,
                  .why = "FLASK_APP=" + flask_app + " in the project's .env or .flaskenv",
                  .flask_app = flask_app};
      std::vector<Found> all;
      for (const auto* v : {&objects, &factories}) {
        for (const auto& c : *v) all.push_back(c.found);
      }
      found.target = GunicornTarget(src, flask_app, all);
      return found;
    }
    auto best = [](const std::vector<Candidate>& v) {
      return std::min_element(v.begin(), v.end(),
                              [](const auto& a, const auto& b) { return a.rank < b.rank; });
    };
    if (!objects.empty()) return best(objects)->found;
    if (!factories.empty()) {
      const Candidate& c = *best(factories);
      if (c.rank >= 100) {  // every factory needs arguments: nothing to call it with
        notes.push_back(framework + " " + c.found.why +
                        " needs arguments, so it is not run; set "
                        "frameworks.app to call it, e.g. `" +
                        c.found.target.substr(0, c.found.target.size() - 1) + "'production')`");
        return std::nullopt;
      }
      return c.found;
    }
    return std::nullopt;
  }

  // FLASK_APP's value as gunicorn's MODULE:OBJECT (Flask's forms: "app.py", "pkg",
  // "pkg.mod:app", "pkg:create_app('dev')"); "" when it cannot be told.
  static std::string GunicornTarget(const Sources& src, std::string value,
                                    const std::vector<Found>& found) {
    std::string object;
    if (size_t colon = value.find(':'); colon != std::string::npos) {
      object = value.substr(colon + 1);
      value.resize(colon);
    }
    std::string module = value;
    if (module.ends_with(".py")) module = src.Module(module);
    if (!object.empty()) return module + ":" + object;
    for (const Found& f : found) {  // what the scan found in that module
      if (f.target.starts_with(module + ":")) return f.target;
    }
    return module + ":app";
  }

  // A Django project: manage.py (the shallowest), its settings, the WSGI application.
  // `dev`: the settings manage.py names stand (a development server wants them).
  static std::optional<Found> ScanDjango(const Sources& src, bool dev) {
    std::vector<std::string> manage;
    for (const std::string& file : src.sources()) {
      if (file == "manage.py" || file.ends_with("/manage.py")) manage.push_back(file);
    }
    std::stable_sort(manage.begin(), manage.end(), [](const auto& a, const auto& b) {
      return std::count(a.begin(), a.end(), '/') < std::count(b.begin(), b.end(), '/');
    });
    if (manage.empty()) return std::nullopt;
    const std::string manage_py = manage.front();
    const std::string root = Dirname(manage_py);  // Django's import root: manage.py's folder
    std::string settings, settings_from;
    if (const py::Module* m = src.Read(manage_py)) {
      settings = SettingsModule(*m);
      settings_from = manage_py;
    }
    if (settings.empty()) {  // wsgi.py or asgi.py name it
      for (const std::string& file : src.sources()) {
        if (!file.starts_with(root.empty() ? "" : root + "/") ||
            !(file.ends_with("wsgi.py") || file.ends_with("asgi.py")))
          continue;
        if (const py::Module* m = src.Read(file); m && !(settings = SettingsModule(*m)).empty()) {
          settings_from = file;
          break;
        }
      }
    }
    Found found{.framework = "django", .file = manage_py, .app_dir = root, .manage_py = manage_py};
    if (settings.empty()) {
      // Settings named in a way that is not a literal (an f-string, a variable): the server runs
      // the shallowest wsgi.py's `application`, which sets its settings itself.
      found.why = "`" + manage_py + "` (its DJANGO_SETTINGS_MODULE is not a plain string)";
      std::string best;
      for (const std::string& file : src.sources()) {
        if ((file != "wsgi.py" && !file.ends_with("/wsgi.py")) ||
            !file.starts_with(root.empty() ? "" : root + "/"))
          continue;
        const py::Module* m = src.Read(file);
        const bool app =
            m && std::any_of(m->assignments().begin(), m->assignments().end(), [](const auto& a) {
              return a.module_level && a.target == "application";
            });
        if (app && (best.empty() || std::count(file.begin(), file.end(), '/') <
                                        std::count(best.begin(), best.end(), '/')))
          best = file;
      }
      if (!best.empty()) {
        found.target = src.Module(best) + ":application";
        found.why += "; the WSGI application of `" + best + "`";
      }
      return found;
    }
    // A settings package with production settings: those. The package is the settings module
    // itself when it is a folder (`bakerydemo.settings`, with or without __init__.py), or the
    // one it is in when that is named like settings (`config.settings.local`).
    std::string chosen = settings, note;
    std::vector<std::string> packages;
    const std::string parent = settings.substr(0, settings.rfind('.'));
    if (!FileOfModule(src.sources(), root, settings) || settings.ends_with(".__init__") ||
        FileOfModule(src.sources(), root, settings + ".__init__")) {
      packages.push_back(settings);
    } else if (parent != settings && (parent.ends_with("settings") || parent.ends_with("config"))) {
      packages.push_back(parent);
    }
    if (dev) packages.clear();
    for (const std::string& package : packages) {
      for (const char* name : {"production", "prod"}) {
        if (chosen == settings && FileOfModule(src.sources(), root, package + "." + name))
          chosen = package + "." + name;
      }
    }
    if (chosen != settings) {
      note = "; production settings `" + chosen + "` preferred over `" + settings + "` from `" +
             settings_from + "`";
    }
    found.django_settings = chosen;
    // The WSGI application: WSGI_APPLICATION in the settings (or the package's other modules,
    // which a `from .base import *` brings in), else the wsgi.py nearest the settings.
    std::string wsgi;
    std::vector<std::string> settings_files;
    if (auto f = FileOfModule(src.sources(), root, chosen)) {
      settings_files.push_back(*f);
      const std::string dir = Dirname(*f);
      if (!dir.empty() && !packages.empty() && !f->ends_with("/__init__.py")) {
        for (const std::string& file : src.sources()) {
          if (Dirname(file) == dir && file != *f) settings_files.push_back(file);
        }
      }
    }
    for (const std::string& file : settings_files) {
      const py::Module* m = src.Read(file);
      if (m == nullptr) continue;
      for (const auto& a : m->assignments()) {
        if (a.target != "WSGI_APPLICATION" || !a.module_level) continue;
        size_t i = a.value;
        const py::Literal v = py::ParseLiteral(m->tokens(), i);
        if (v.type != py::Literal::Type::kString) continue;
        const size_t dot = v.text.rfind('.');
        if (dot == std::string::npos) continue;
        if (FileOfModule(src.sources(), root, v.text.substr(0, dot))) {
          wsgi = v.text.substr(0, dot) + ":" + v.text.substr(dot + 1);
          note += "; WSGI_APPLICATION from " + Where(file, a.line);
        }
        break;
      }
      if (!wsgi.empty()) break;
    }
    for (std::string package = chosen.substr(0, chosen.rfind('.'));
         wsgi.empty() && !package.empty();) {
      if (FileOfModule(src.sources(), root, package + ".wsgi")) {
        wsgi = package + ".wsgi:application";
        break;
      }
      const size_t dot = package.rfind('.');
      package = dot == std::string::npos ? "" : package.substr(0, dot);
    }
    found.target = wsgi;
    found.why = "`" + manage_py + "`, settings `" + chosen + "`" + note;
    return found;
  }

  // The value a module gives DJANGO_SETTINGS_MODULE: os.environ.setdefault("...", "X") or
  // os.environ["..."] = "X".
  static std::string SettingsModule(const py::Module& m) {
    const auto& t = m.tokens();
    for (size_t i = 0; i + 2 < t.size(); ++i) {
      if (t[i].kind != py::Kind::kString || py::StringValue(t[i]) != "DJANGO_SETTINGS_MODULE")
        continue;
      size_t v = i + 2;
      if (t[i + 1].text == "]" && t[i + 2].text == "=")
        v = i + 3;
      else if (t[i + 1].text != ",")
        continue;
      if (v < t.size()) {
        if (auto value = py::StringValue(t[v]); value && !value->empty()) return *value;
      }
    }
    return "";
  }

  // The health check: an HTTP GET from inside the container, with the image's own Python (slim
  // images have no curl). Any answer below 500 means the server is up.
  static std::vector<std::string> HealthTest(int port, const std::string& path) {
    const std::string url = "http://127.0.0.1:" + std::to_string(port) + path;
    return {"python3", "-c",
            "import sys, urllib.request, urllib.error\n"
            "try:\n"
            "    urllib.request.urlopen('" +
                url +
                "', timeout=4)\n"
                "except urllib.error.HTTPError as e:\n"
                "    sys.exit(1 if e.code >= 500 else 0)\n"
                "except Exception:\n"
                "    sys.exit(1)\n"};
  }

  void Apply(const Found& f, const std::set<std::string>& deps, ocifs::sdk::Config& config) const {
    const bool streamlit = f.framework == "streamlit";
    const int port = port_ ? port_ : (streamlit ? 8501 : 8000);
    const std::string ps = std::to_string(port);
    const std::string bind = "0.0.0.0:" + ps;
    // The app setting replaces what was found; `MODULE:f()` calls a factory.
    const std::string target = app_.empty() ? f.target : app_;
    std::string factory = app_.empty() ? f.factory : "";
    if (!app_.empty() && app_.ends_with("()")) {
      factory = app_.substr(app_.find(':') + 1);
      factory.resize(factory.size() - 2);
    }
    if (target.empty() && !(f.framework == "flask" && !f.flask_app.empty())) {
      if (f.framework != "django" || deps.contains("gunicorn")) {
        throw ocifs::sdk::Error(f.framework + " project (" + f.why +
                                "): no application object found; set frameworks.app");
      }
    }
    const bool gunicorn = deps.contains("gunicorn");
    const std::vector<std::string> chdir = f.app_dir.empty()
                                               ? std::vector<std::string>{}
                                               : std::vector<std::string>{"--chdir", f.app_dir};
    std::vector<std::string> cmd;
    std::string server;
    auto gunicorn_cmd = [&](std::vector<std::string> extra) {
      server = "gunicorn";
      cmd = {"python3", "-m", "gunicorn", "--bind", bind};
      cmd.insert(cmd.end(), extra.begin(), extra.end());
      cmd.insert(cmd.end(), chdir.begin(), chdir.end());
      cmd.push_back(target);
    };
    // A development server (setting `server = "dev"`) is the framework's own, reloading.
    if (f.framework == "fastapi") {
      if (gunicorn && deps.contains("uvicorn") && !dev_) {
        gunicorn_cmd({"--worker-class", "uvicorn.workers.UvicornWorker"});
      } else {
        server = dev_ ? "uvicorn --reload" : "uvicorn";
        // uvicorn calls a factory itself with --factory, given MODULE:NAME.
        const std::string app =
            factory.empty() ? target : target.substr(0, target.find(':') + 1) + factory;
        cmd = {"python3", "-m", "uvicorn", app, "--host", "0.0.0.0", "--port", ps};
        if (!factory.empty()) cmd.push_back("--factory");
        if (!f.app_dir.empty()) cmd.insert(cmd.end(), {"--app-dir", f.app_dir});
        if (dev_) cmd.push_back("--reload");
      }
    } else if (f.framework == "flask") {
      if (gunicorn && !target.empty() && !dev_) {
        gunicorn_cmd({});
      } else {
        server = dev_ ? "flask --debug" : "flask";
        // Flask's --app takes FLASK_APP's own forms. Under an import root other than the
        // workdir, the path: Flask puts the folder above its packages on sys.path.
        std::string app = !f.flask_app.empty() && app_.empty() ? f.flask_app : target;
        if (app_.empty() && f.flask_app.empty() && !f.app_dir.empty()) {
          std::string file = f.file;
          if (file.ends_with("/__init__.py")) file.resize(file.size() - 12);
          app = file + app.substr(app.find(':'));
        }
        // `--app pkg` finds create_app or make_app by itself.
        if (app_.empty() && (factory == "create_app" || factory == "make_app")) {
          app.resize(app.find(':'));
        }
        cmd = {"python3", "-m", "flask", "--app", app};
        if (dev_) cmd.push_back("--debug");
        cmd.insert(cmd.end(), {"run", "--host", "0.0.0.0", "--port", ps});
      }
    } else if (f.framework == "django") {
      if (gunicorn && !dev_) {
        gunicorn_cmd({});
      } else {
        server = "runserver";
        cmd = {"python3", f.manage_py, "runserver", bind};
      }
    } else {
      server = "streamlit";
      cmd = {
          "python3",       "-m", "streamlit",         "run", target, "--server.address", "0.0.0.0",
          "--server.port", ps,   "--server.headless", "true"};
      if (dev_) cmd.insert(cmd.end(), {"--server.runOnSave", "true"});
    }
    if (f.framework == "django" && !f.django_settings.empty())
      config.SetEnv("DJANGO_SETTINGS_MODULE", f.django_settings);
    config.SetEntrypoint(cmd);
    config.Expose(ps + "/tcp");
    const std::string path =
        !health_path_.empty() ? health_path_ : (streamlit ? "/_stcore/health" : "/");
    ocifs::sdk::Healthcheck check;
    check.test = HealthTest(port, path);
    check.interval_ns = 30'000'000'000;
    check.timeout_ns = 5'000'000'000;
    check.start_period_ns = 10'000'000'000;
    check.retries = 3;
    config.SetHealthcheck(check);
    config.SetLabel("io.ocifs.framework", f.framework);
    config.SetLabel("io.ocifs.framework.server", server);
    config.SetLabel("io.ocifs.framework.app",
                    app_.empty() ? f.why : "the app setting `" + app_ + "`");
  }

  std::string framework_, app_, health_path_;
  int port_ = 0;
  bool dev_ = false;
};

}  // namespace

OCIFS_PLUGIN(Frameworks)
