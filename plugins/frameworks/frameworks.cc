// The python-frameworks plugin: makes FastAPI, Flask, Django and Streamlit projects run in the
// image with the right command, port and health check, with no configuration.
//
// Detection looks at the project's own files (the application layer; never the virtualenv) and
// at the distributions installed in the dependencies layer and declared in [project]:
//   * FastAPI:   a module assigning `NAME = FastAPI(...)`;
//   * Flask:     a module importing flask and assigning `NAME = Flask(...)`;
//   * Django:    `manage.py` naming DJANGO_SETTINGS_MODULE, and the `wsgi.py` beside the settings;
//   * Streamlit: a module importing streamlit.
// The server follows the dependencies: FastAPI runs under gunicorn with uvicorn workers when both
// are installed, else uvicorn; Flask and Django under gunicorn when it is installed, else their
// own servers bound to 0.0.0.0. When two frameworks are found, the first in the order Django,
// FastAPI, Flask, Streamlit is used and a warning names the others (setting `framework` decides).
//
// Settings ([tool.ocifs.plugins.frameworks], --plugin-opt frameworks.KEY=VALUE):
//   framework    fastapi | flask | django | streamlit | none (skip detection)
//   app          the application as MODULE:NAME (FastAPI, Flask) or FILE (Streamlit)
//   port         the port to listen on (default 8000; Streamlit 8501)
//   health-path  the path the health check asks (default /; Streamlit /_stcore/health)
// What the user sets in [tool.ocifs] or flags (cmd, entrypoint, expose, healthcheck) wins anyway.
#include <algorithm>
#include <map>
#include <optional>
#include <regex>
#include <set>
#include <string>
#include <vector>

#include "ocifs/plugin.hpp"

namespace {

constexpr uint64_t kMaxSourceBytes = 1 << 20;
constexpr size_t kMaxSourceFiles = 5000;

// "app/main.py" -> "app.main"; "pkg/__init__.py" -> "pkg".
std::string ModuleOf(std::string path) {
  path.resize(path.size() - 3);  // ".py"
  if (path.ends_with("/__init__")) path.resize(path.size() - 9);
  std::replace(path.begin(), path.end(), '/', '.');
  return path;
}

struct Found {
  std::string framework;  // "fastapi", ...
  std::string file;       // relative to the workdir
  std::string target;     // "app.main:app", "mysite.wsgi:application", "app.py"
  std::string app_dir;    // where the module path starts ("" = the workdir; "src" for src layouts)
};

const std::vector<std::string>& Order() {
  static const std::vector<std::string> kOrder = {"django", "fastapi", "flask", "streamlit"};
  return kOrder;
}

class Frameworks {
 public:
  static constexpr const char* kName = "frameworks";
  static constexpr const char* kVersion = "1.0.0";
  static constexpr const char* kDescription =
      "FastAPI, Flask, Django and Streamlit: command, port, health check";

  explicit Frameworks(const ocifs::sdk::Settings& settings) {
    settings.RequireKnown({"framework", "app", "port", "health-path"});
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
    // (the first kMaxSourceFiles, tests left out) and how many files the dependencies layer has.
    // The lists are walked in the raw text: parsed whole, those of a 100,000-file project would
    // cost each plan tens of MB and most of its time.
    const ocifs::sdk::FactsView facts(project.facts_json());
    size_t dependency_files = 0;
    std::set<std::string> sources;
    if (auto files = facts.Get("dependency_files"))
      ocifs::sdk::FactsView::ForEachString(*files, [&](std::string_view) { ++dependency_files; });
    if (auto files = facts.Get("application_files")) {
      ocifs::sdk::FactsView::ForEachString(*files, [&](std::string_view f) {
        if (sources.size() < kMaxSourceFiles && IsSource(f)) sources.emplace(f);
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

    std::vector<Found> found = Scan(project, sources);
    if (!framework_.empty()) {
      std::erase_if(found, [&](const Found& f) { return f.framework != framework_; });
      if (found.empty() && app_.empty()) {
        throw ocifs::sdk::Error("setting `framework` is `" + framework_ + "` but no " + framework_ +
                                " application was found; set `app`");
      }
    }
    if (found.empty() && !app_.empty() && !framework_.empty())
      found.push_back({framework_, "", "", ""});
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
    Apply(chosen, deps, config);
  }

 private:
  // A Python file of the application's own, not of its tests.
  static bool IsSource(std::string_view file) {
    return file.ends_with(".py") && !file.starts_with("tests/") && !file.starts_with("test/") &&
           file.find("/tests/") == std::string::npos;
  }

  // Every application the project's own Python files define, in file order.
  std::vector<Found> Scan(const ocifs::sdk::Project& project,
                          const std::set<std::string>& files) const {
    static const std::regex kFastApiApp(
        R"((^|\n)([A-Za-z_]\w*)\s*(:\s*[\w.\[\], ]+)?=\s*(fastapi\.)?FastAPI\s*\()");
    static const std::regex kFlaskImport(R"((^|\n)\s*(from\s+flask\s+import|import\s+flask\b))");
    static const std::regex kFlaskApp(R"((^|\n)([A-Za-z_]\w*)\s*=\s*(flask\.)?Flask\s*\()");
    static const std::regex kStreamlit(R"((^|\n)\s*(import\s+streamlit\b|from\s+streamlit\b))");
    static const std::regex kDjangoSettings(
        R"(DJANGO_SETTINGS_MODULE["']\s*,\s*["']([A-Za-z_][\w.]*)["'])");
    std::vector<Found> out;
    for (const std::string& file : files) {
      auto text = project.ReadFile(file, OCIFS_LAYER_APPLICATION, kMaxSourceBytes);
      if (!text) continue;
      const std::string app_dir = file.starts_with("src/") ? "src" : "";
      const std::string module = ModuleOf(app_dir.empty() ? file : file.substr(4));
      std::smatch m;
      if (file == "manage.py" && std::regex_search(*text, m, kDjangoSettings)) {
        // mysite.settings -> mysite/wsgi.py, the WSGI module beside the settings.
        std::string settings = m[1].str();
        std::string package = settings.substr(0, settings.rfind('.'));
        std::string wsgi = package;
        std::replace(wsgi.begin(), wsgi.end(), '.', '/');
        wsgi += "/wsgi.py";
        std::string target = files.contains(wsgi) ? package + ".wsgi:application" : "";
        out.push_back({"django", file, target, ""});
      }
      if (std::regex_search(*text, m, kFastApiApp)) {
        out.push_back({"fastapi", file, module + ":" + m[2].str(), app_dir});
      }
      if (std::regex_search(*text, kFlaskImport) && std::regex_search(*text, m, kFlaskApp)) {
        out.push_back({"flask", file, module + ":" + m[2].str(), app_dir});
      }
      if (std::regex_search(*text, kStreamlit)) {
        out.push_back({"streamlit", file, file, ""});
      }
    }
    // Several Streamlit scripts: prefer the conventional entry names.
    auto streamlit_rank = [](const Found& f) {
      for (const char* name : {"streamlit_app.py", "app.py", "main.py", "Home.py"}) {
        if (f.file == name) return 0;
      }
      return f.file.find('/') == std::string::npos ? 1 : 2;
    };
    std::stable_sort(out.begin(), out.end(), [&](const Found& a, const Found& b) {
      if (a.framework == "streamlit" && b.framework == "streamlit")
        return streamlit_rank(a) < streamlit_rank(b);
      return false;
    });
    return out;
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
    std::string target = app_.empty() ? f.target : app_;
    if (target.empty()) {
      throw ocifs::sdk::Error(f.framework + " project (" + f.file +
                              "): no application object found; set frameworks.app");
    }
    const bool gunicorn = deps.contains("gunicorn");
    std::vector<std::string> cmd;
    std::string server;
    if (f.framework == "fastapi") {
      if (gunicorn && deps.contains("uvicorn")) {
        server = "gunicorn";
        cmd = {"python3",
               "-m",
               "gunicorn",
               "--bind",
               bind,
               "--worker-class",
               "uvicorn.workers.UvicornWorker"};
        if (!f.app_dir.empty()) cmd.insert(cmd.end(), {"--chdir", f.app_dir});
        cmd.push_back(target);
      } else {
        server = "uvicorn";
        cmd = {"python3", "-m", "uvicorn", target, "--host", "0.0.0.0", "--port", ps};
        if (!f.app_dir.empty()) cmd.insert(cmd.end(), {"--app-dir", f.app_dir});
      }
    } else if (f.framework == "flask") {
      if (gunicorn) {
        server = "gunicorn";
        cmd = {"python3", "-m", "gunicorn", "--bind", bind};
        if (!f.app_dir.empty()) cmd.insert(cmd.end(), {"--chdir", f.app_dir});
        cmd.push_back(target);
      } else {
        server = "flask";
        // Under src/, name the file: Flask puts the first directory above its packages on
        // sys.path (the image's PYTHONPATH is ocifs's and stays as it is).
        if (app_.empty() && !f.app_dir.empty()) target = f.file + target.substr(target.find(':'));
        cmd = {"python3", "-m", "flask", "--app", target, "run", "--host", "0.0.0.0", "--port", ps};
      }
    } else if (f.framework == "django") {
      if (gunicorn) {
        server = "gunicorn";
        cmd = {"python3", "-m", "gunicorn", "--bind", bind, target};
      } else {
        server = "runserver";
        cmd = {"python3", "manage.py", "runserver", bind};
      }
    } else {
      server = "streamlit";
      cmd = {
          "python3",       "-m", "streamlit",         "run", target, "--server.address", "0.0.0.0",
          "--server.port", ps,   "--server.headless", "true"};
    }
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
  }

  std::string framework_, app_, health_path_;
  int port_ = 0;
};

}  // namespace

OCIFS_PLUGIN(Frameworks)
