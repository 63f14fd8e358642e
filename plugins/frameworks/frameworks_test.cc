// The frameworks plugin through the real host: fixture projects in, config out.
#include <gtest/gtest.h>

#include "core/pipeline/pipeline.h"
#include "core/plugins/plugin_host.h"
#include "core/support/test_util.h"

namespace ocifs {
namespace {

using json = nlohmann::json;

struct Project {
  std::vector<std::pair<std::string, std::string>> files;
  std::vector<std::string> installed;  // distributions in the dependencies layer
};

struct Outcome {
  Result<json> config = Internal("not planned");
  std::vector<std::string> warnings, infos;  // the plugin's log
  std::vector<std::string> plan_warnings;
  std::string reason;  // the plan's entrypoint_reason
};

Outcome Detect(const Project& project, ImageOptions flags = {}) {
  TempDir d, venv;
  for (const auto& [path, text] : project.files) d.Write(path, text);
  if (!project.installed.empty()) {
    venv.Write("pyvenv.cfg", "version = 3.11.2\n");
    for (const auto& dist : project.installed) {
      venv.Write("lib/python3.11/site-packages/" + dist + "-1.0.dist-info/METADATA", "");
      venv.Write("lib/python3.11/site-packages/" + dist + "/__init__.py", "");
    }
    flags.deps = venv.path();
  }
  Outcome out;
  PluginSearch search;
  search.files = {OCIFS_FRAMEWORKS_PLUGIN};
  auto host = PluginHost::Load(search, nullptr);
  if (!host.ok()) {
    out.config = host.status();
    return out;
  }
  PlanInputs in;
  in.project_dir = d.path();
  flags.base = "scratch";
  flags.platform = "linux/amd64";
  in.flags = flags;
  in.plugins = std::move(host).value();
  std::vector<std::string> logged;
  in.plugins->set_log([&](LogLevel level, const std::string& m) {
    (level == LogLevel::kInfo ? out.infos : out.warnings).push_back(m);
  });
  auto plan = PlanProject(in);
  if (!plan.ok()) {
    out.config = plan.status();
    return out;
  }
  out.config = ImageConfig(*plan, {})["config"];
  out.plan_warnings = plan->warnings;
  out.reason = plan->project->entrypoint_reason;
  return out;
}

const char kPyproject[] = "[project]\nname = \"svc\"\nversion = \"1\"\n";
// A repository top whose pyproject.toml only configures tools: it is packed as it is.
const char kRuffOnly[] = "[tool.ruff]\nline-length = 100\n";

TEST(FrameworksTest, DetectsEachFrameworkAndItsServer) {
  struct Case {
    std::string name;
    Project project;
    std::vector<std::string> entrypoint;
    std::string port;
    std::string health_url;
  } cases[] = {
      {"fastapi",
       {{{"pyproject.toml", kPyproject},
         {"app/__init__.py", ""},
         {"app/main.py", "from fastapi import FastAPI\n\napi = FastAPI(title='x')\n"}},
        {"fastapi", "uvicorn"}},
       {"python3", "-m", "uvicorn", "app.main:api", "--host", "0.0.0.0", "--port", "8000"},
       "8000/tcp",
       "http://127.0.0.1:8000/"},
      {"fastapi+gunicorn",
       {{{"main.py", "import fastapi\napp: fastapi.FastAPI = fastapi.FastAPI()\n"}},
        {"fastapi", "uvicorn", "gunicorn"}},
       {"python3", "-m", "gunicorn", "--bind", "0.0.0.0:8000", "--worker-class",
        "uvicorn.workers.UvicornWorker", "main:app"},
       "8000/tcp",
       "http://127.0.0.1:8000/"},
      {"flask builtin",
       {{{"src/shop/__init__.py", ""},
         {"src/shop/web.py", "from flask import Flask\napp = Flask(__name__)\n"}},
        {"flask"}},
       {"python3", "-m", "flask", "--app", "src/shop/web.py:app", "run", "--host", "0.0.0.0",
        "--port", "8000"},
       "8000/tcp",
       "http://127.0.0.1:8000/"},
      {"flask+gunicorn",
       {{{"app.py", "import flask\nserver = flask.Flask('x')\n"}}, {"flask", "gunicorn"}},
       {"python3", "-m", "gunicorn", "--bind", "0.0.0.0:8000", "app:server"},
       "8000/tcp",
       "http://127.0.0.1:8000/"},
      {"django runserver",
       {{{"manage.py",
          "import os\nos.environ.setdefault('DJANGO_SETTINGS_MODULE', 'mysite.settings')\n"},
         {"mysite/__init__.py", ""},
         {"mysite/settings.py", ""},
         {"mysite/wsgi.py", "from django.core.wsgi import get_wsgi_application\n"}},
        {"django"}},
       {"python3", "manage.py", "runserver", "0.0.0.0:8000"},
       "8000/tcp",
       "http://127.0.0.1:8000/"},
      {"django+gunicorn",
       {{{"manage.py", "os.environ.setdefault(\"DJANGO_SETTINGS_MODULE\", \"mysite.settings\")\n"},
         {"mysite/wsgi.py", "application = get_wsgi_application()\n"}},
        {"django", "gunicorn"}},
       {"python3", "-m", "gunicorn", "--bind", "0.0.0.0:8000", "mysite.wsgi:application"},
       "8000/tcp",
       "http://127.0.0.1:8000/"},
      {"streamlit",
       {{{"pages/other.py", "import streamlit as st\n"},
         {"streamlit_app.py", "import streamlit as st\nst.write('hi')\n"}},
        {"streamlit"}},
       {"python3", "-m", "streamlit", "run", "streamlit_app.py", "--server.address", "0.0.0.0",
        "--server.port", "8501", "--server.headless", "true"},
       "8501/tcp",
       "http://127.0.0.1:8501/_stcore/health"},
  };
  for (const auto& c : cases) {
    auto out = Detect(c.project);
    ASSERT_TRUE(out.config.ok()) << c.name << ": " << out.config.status().message();
    const json& cfg = *out.config;
    EXPECT_EQ(cfg["Entrypoint"], json(c.entrypoint)) << c.name;
    EXPECT_FALSE(cfg.contains("Cmd")) << c.name;
    EXPECT_TRUE(cfg["ExposedPorts"].contains(c.port)) << c.name << cfg.dump();
    const json& test = cfg["Healthcheck"]["Test"];
    ASSERT_EQ(test.size(), 4u) << c.name;
    EXPECT_EQ(test[0], "CMD");
    EXPECT_NE(test[3].get<std::string>().find("'" + c.health_url + "'"), std::string::npos)
        << c.name << ": " << test[3];
    EXPECT_EQ(cfg["Healthcheck"]["Interval"], 30000000000LL);
    EXPECT_EQ(cfg["Labels"]["io.ocifs.framework"], c.name.substr(0, c.name.find_first_of(" +")))
        << c.name;
  }
}

// `server = "dev"` (a dev variant's setting): each framework's own server, reloading on change;
// Django keeps the settings manage.py names.
TEST(FrameworksTest, DevServerWhenAsked) {
  struct Case {
    std::string name;
    Project project;
    std::vector<std::string> entrypoint;
    std::string server;    // the io.ocifs.framework.server label
    std::string settings;  // DJANGO_SETTINGS_MODULE, "" for none
  } cases[] = {
      {"fastapi",
       {{{"app/__init__.py", ""},
         {"app/main.py", "from fastapi import FastAPI\napi = FastAPI()\n"}},
        {"fastapi", "uvicorn", "gunicorn"}},
       {"python3", "-m", "uvicorn", "app.main:api", "--host", "0.0.0.0", "--port", "8000",
        "--reload"},
       "uvicorn --reload",
       ""},
      {"flask factory",
       {{{"shop/__init__.py",
          "from flask import Flask\ndef create_app():\n    app = Flask(__name__)\n    return "
          "app\n"}},
        {"flask", "gunicorn"}},
       {"python3", "-m", "flask", "--app", "shop", "--debug", "run", "--host", "0.0.0.0", "--port",
        "8000"},
       "flask --debug",
       ""},
      {"django settings package",
       {{{"manage.py",
          "import os\nos.environ.setdefault('DJANGO_SETTINGS_MODULE', 'config.settings.local')\n"},
         {"config/__init__.py", ""},
         {"config/settings/__init__.py", ""},
         {"config/settings/local.py", "DEBUG = True\n"},
         {"config/settings/production.py", "DEBUG = False\n"},
         {"config/wsgi.py", "application = get_wsgi_application()\n"}},
        {"django", "gunicorn"}},
       {"python3", "manage.py", "runserver", "0.0.0.0:8000"},
       "runserver",
       "config.settings.local"},
      {"streamlit",
       {{{"streamlit_app.py", "import streamlit as st\n"}}, {"streamlit"}},
       {"python3", "-m", "streamlit", "run", "streamlit_app.py", "--server.address", "0.0.0.0",
        "--server.port", "8501", "--server.headless", "true", "--server.runOnSave", "true"},
       "streamlit",
       ""},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    ImageOptions flags;
    flags.plugins["frameworks"]["server"] = "dev";
    auto out = Detect(c.project, flags);
    ASSERT_TRUE(out.config.ok()) << out.config.status().message();
    const json& cfg = *out.config;
    EXPECT_EQ(cfg["Entrypoint"], json(c.entrypoint));
    EXPECT_EQ(cfg["Labels"]["io.ocifs.framework.server"], c.server);
    std::string settings;
    for (const auto& e : cfg["Env"]) {
      if (e.get<std::string>().starts_with("DJANGO_SETTINGS_MODULE="))
        settings = e.get<std::string>().substr(23);
    }
    EXPECT_EQ(settings, c.settings);
  }
  ImageOptions bad;
  bad.plugins["frameworks"]["server"] = "debug";
  auto out = Detect(cases[0].project, bad);
  ASSERT_FALSE(out.config.ok());
  EXPECT_NE(
      out.config.status().message().find("setting `server`: `debug` is not production or dev"),
      std::string::npos)
      << out.config.status().message();
}

// Shapes real projects have, each with the command it must get. The sources are written the way
// such projects write them: factories with config arguments and blueprints, settings packages,
// apps in a folder of a monorepo.
TEST(FrameworksTest, FindsTheShapesRealProjectsHave) {
  const std::string flaskr_init =
      "import os\n\nfrom flask import Flask\n\n\n"
      "def create_app(test_config=None):\n"
      "    \"\"\"Create and configure an instance of the Flask application.\"\"\"\n"
      "    app = Flask(__name__, instance_relative_config=True)\n"
      "    app.config.from_mapping(\n        SECRET_KEY=\"dev\",\n    )\n"
      "    from . import blog\n    app.register_blueprint(blog.bp)\n"
      "    return app\n";
  const std::string blog = "from flask import Blueprint\nbp = Blueprint('blog', __name__)\n";
  const std::string fastapi_factory =
      "from fastapi import FastAPI\n\nfrom app.api import router\n\n\n"
      "def get_application() -> FastAPI:\n"
      "    application = FastAPI(\n        title='shop',\n        debug=False,\n    )\n"
      "    application.include_router(router)\n    return application\n";
  const std::string manage =
      "#!/usr/bin/env python\nimport os\nimport sys\n\n"
      "if __name__ == \"__main__\":\n"
      "    os.environ.setdefault(\"DJANGO_SETTINGS_MODULE\", \"config.settings.local\")\n"
      "    from django.core.management import execute_from_command_line\n"
      "    execute_from_command_line(sys.argv)\n";
  struct Case {
    std::string name;
    Project project;
    std::vector<std::string> entrypoint;
    std::string settings;  // DJANGO_SETTINGS_MODULE in the image, "" for none
    std::string why;       // in the io.ocifs.framework.app label
  } cases[] = {
      {"flask factory, gunicorn",
       {{{"flaskr/__init__.py", flaskr_init}, {"flaskr/blog.py", blog}}, {"flask", "gunicorn"}},
       {"python3", "-m", "gunicorn", "--bind", "0.0.0.0:8000", "flaskr:create_app()"},
       "",
       "app factory `create_app()` in `flaskr/__init__.py` line 6"},
      {"flask factory, flask run",
       {{{"flaskr/__init__.py", flaskr_init}, {"flaskr/blog.py", blog}}, {"flask"}},
       {"python3", "-m", "flask", "--app", "flaskr", "run", "--host", "0.0.0.0", "--port", "8000"},
       "",
       "app factory"},
      {"flask make_app in a src layout",
       {{{"pyproject.toml", kPyproject},
         {"src/shop/__init__.py",
          "import flask\n\n@some_registry.register\ndef make_app():\n    return flask.Flask("
          "\n        __name__)\n"}},
        {"flask", "gunicorn"}},
       {"python3", "-m", "gunicorn", "--bind", "0.0.0.0:8000", "--chdir", "src", "shop:make_app()"},
       "",
       "app factory `make_app()` in `src/shop/__init__.py` line 4"},
      {"flask app = create_app() in a top-level module",
       {{{"app/__init__.py", flaskr_init},
         {"microblog.py", "from app import create_app, db\n\napp = create_app()\n"}},
        {"flask", "gunicorn"}},
       {"python3", "-m", "gunicorn", "--bind", "0.0.0.0:8000", "microblog:app"},
       "",
       "`app = create_app(...)` in `microblog.py` line 3"},
      {"FLASK_APP in .flaskenv",
       {{{"app/__init__.py", flaskr_init},
         {"wsgi.py", "from app import create_app\napplication = create_app()\n"},
         {".flaskenv", "FLASK_APP=app:create_app()\nFLASK_DEBUG=0\n"}},
        {"flask"}},
       {"python3", "-m", "flask", "--app", "app:create_app()", "run", "--host", "0.0.0.0", "--port",
        "8000"},
       "",
       "FLASK_APP=app:create_app()"},
      {"FLASK_APP in .env (which stays out of the image)",
       {{{"app/__init__.py", flaskr_init},
         {"serve.py", "from app import create_app\nserver = create_app()\n"},
         {".env", "SECRET_KEY=hunter2\nFLASK_APP=serve.py\n"}},
        {"flask", "gunicorn"}},
       {"python3", "-m", "gunicorn", "--bind", "0.0.0.0:8000", "serve:server"},
       "",
       "FLASK_APP=serve.py"},
      {"a Flask( in a docstring and a comment is not an app",
       {{{"pyproject.toml", kPyproject},
         {"notes.py", "\"\"\"Use it as app = Flask(__name__).\"\"\"\n# app = Flask(x)\n"},
         {"app/__init__.py", flaskr_init}},
        {"flask", "gunicorn"}},
       {"python3", "-m", "gunicorn", "--bind", "0.0.0.0:8000", "app:create_app()"},
       "",
       "app factory `create_app()` in `app/__init__.py`"},
      {"fastapi factory, uvicorn",
       {{{"app/__init__.py", ""}, {"app/api.py", ""}, {"app/main.py", fastapi_factory}},
        {"fastapi", "uvicorn"}},
       {"python3", "-m", "uvicorn", "app.main:get_application", "--host", "0.0.0.0", "--port",
        "8000", "--factory"},
       "",
       "app factory `get_application()` in `app/main.py` line 6"},
      {"fastapi factory, gunicorn",
       {{{"app/__init__.py", ""}, {"app/api.py", ""}, {"app/main.py", fastapi_factory}},
        {"fastapi", "uvicorn", "gunicorn"}},
       {"python3", "-m", "gunicorn", "--bind", "0.0.0.0:8000", "--worker-class",
        "uvicorn.workers.UvicornWorker", "app.main:get_application()"},
       "",
       "app factory"},
      {"fastapi app in backend/, the top a project of its own",
       {{{"pyproject.toml", kRuffOnly},
         {"backend/pyproject.toml", kPyproject},
         {"backend/app/__init__.py", ""},
         {"backend/app/main.py", "from fastapi import FastAPI\napp = FastAPI()\n"},
         {"frontend/package.json", "{}"}},
        {"fastapi", "uvicorn"}},
       {"python3", "-m", "uvicorn", "app.main:app", "--host", "0.0.0.0", "--port", "8000",
        "--app-dir", "backend"},
       "",
       "`app = FastAPI(...)` in `backend/app/main.py` line 2"},
      {"django settings package prefers production",
       {{{"manage.py", manage},
         {"config/__init__.py", ""},
         {"config/settings/__init__.py", ""},
         {"config/settings/base.py", "WSGI_APPLICATION = \"config.wsgi.application\"\n"},
         {"config/settings/local.py", "from .base import *  # noqa\nDEBUG = True\n"},
         {"config/settings/production.py", "from .base import *  # noqa\n"},
         {"config/wsgi.py", "application = get_wsgi_application()\n"}},
        {"django", "gunicorn"}},
       {"python3", "-m", "gunicorn", "--bind", "0.0.0.0:8000", "config.wsgi:application"},
       "config.settings.production",
       "production settings `config.settings.production` preferred over "
       "`config.settings.local` from `manage.py`; WSGI_APPLICATION from "
       "`config/settings/base.py` line 1"},
      {"django settings a folder without __init__.py, named whole",
       {{{"manage.py",
          "import os\nos.environ.setdefault('DJANGO_SETTINGS_MODULE', 'bakery.settings')\n"},
         {"bakery/__init__.py", ""},
         {"bakery/settings/base.py", "WSGI_APPLICATION = 'bakery.wsgi.application'\n"},
         {"bakery/settings/dev.py", "from .base import *\n"},
         {"bakery/settings/production.py", "from .base import *\n"},
         {"bakery/wsgi.py", "application = get_wsgi_application()\n"}},
        {"django", "gunicorn"}},
       {"python3", "-m", "gunicorn", "--bind", "0.0.0.0:8000", "bakery.wsgi:application"},
       "bakery.settings.production",
       "production settings `bakery.settings.production` preferred over `bakery.settings` from "
       "`manage.py`; WSGI_APPLICATION from `bakery/settings/base.py` line 1"},
      {"django settings named by an f-string: the wsgi.py's application",
       {{{"manage.py",
          "import os\nPROJECT = 'shop'\n"
          "os.environ.setdefault('DJANGO_SETTINGS_MODULE', f'{PROJECT}.settings')\n"},
         {"shop/__init__.py", ""},
         {"shop/settings.py", ""},
         {"shop/wsgi.py",
          "from django.core.wsgi import get_wsgi_application\n"
          "application = get_wsgi_application()\n"}},
        {"django", "gunicorn"}},
       {"python3", "-m", "gunicorn", "--bind", "0.0.0.0:8000", "shop.wsgi:application"},
       "",
       "its DJANGO_SETTINGS_MODULE is not a plain string); the WSGI application of "
       "`shop/wsgi.py`"},
      {"django wsgi.py beside the settings package",
       {{{"manage.py",
          "import os\nos.environ.setdefault('DJANGO_SETTINGS_MODULE', "
          "'proj.settings.dev')\n"},
         {"proj/__init__.py", ""},
         {"proj/settings/__init__.py", ""},
         {"proj/settings/base.py", "DEBUG = False\n"},
         {"proj/settings/dev.py", "from .base import *\n"},
         {"proj/wsgi.py", "application = get_wsgi_application()\n"}},
        {"django", "gunicorn"}},
       {"python3", "-m", "gunicorn", "--bind", "0.0.0.0:8000", "proj.wsgi:application"},
       "proj.settings.dev",
       "settings `proj.settings.dev`"},
      {"django in backend/, settings from wsgi.py",
       {{{"pyproject.toml", kRuffOnly},
         {"backend/manage.py", "import sys\n"},
         {"backend/requirements.txt", "django\n"},
         {"backend/mysite/__init__.py", ""},
         {"backend/mysite/settings.py", "WSGI_APPLICATION = 'mysite.wsgi.application'\n"},
         {"backend/mysite/wsgi.py",
          "import os\nos.environ[\"DJANGO_SETTINGS_MODULE\"] = \"mysite.settings\"\n"}},
        {"django", "gunicorn"}},
       {"python3", "-m", "gunicorn", "--bind", "0.0.0.0:8000", "--chdir", "backend",
        "mysite.wsgi:application"},
       "mysite.settings",
       "`backend/manage.py`, settings `mysite.settings`"},
      {"django in backend/, runserver",
       {{{"pyproject.toml", kRuffOnly},
         {"backend/manage.py",
          "import os\nos.environ.setdefault('DJANGO_SETTINGS_MODULE', 'mysite.settings')\n"},
         {"backend/mysite/__init__.py", ""},
         {"backend/mysite/settings.py", ""},
         {"backend/mysite/wsgi.py", ""}},
        {"django"}},
       {"python3", "backend/manage.py", "runserver", "0.0.0.0:8000"},
       "mysite.settings",
       "`backend/manage.py`"},
  };
  for (const auto& c : cases) {
    auto out = Detect(c.project);
    ASSERT_TRUE(out.config.ok()) << c.name << ": " << out.config.status().message();
    const json& cfg = *out.config;
    EXPECT_EQ(cfg["Entrypoint"], json(c.entrypoint)) << c.name;
    EXPECT_TRUE(cfg["ExposedPorts"].contains("8000/tcp")) << c.name;
    const std::string why = cfg["Labels"].value("io.ocifs.framework.app", "");
    EXPECT_NE(why.find(c.why), std::string::npos) << c.name << ": " << why;
    ASSERT_EQ(out.infos.size(), 1u) << c.name;
    EXPECT_NE(out.infos[0].find(why), std::string::npos) << c.name << ": " << out.infos[0];
    std::string settings;
    for (const auto& e : cfg["Env"]) {
      const std::string kv = e;
      if (kv.starts_with("DJANGO_SETTINGS_MODULE=")) settings = kv.substr(23);
    }
    EXPECT_EQ(settings, c.settings) << c.name;
  }
}

// A server behind a console script: the framework's server runs it, with a port and a health
// check, and the reason says what the script lost to.
TEST(FrameworksTest, AServerBehindProjectScriptsGetsItsPortAndHealthCheck) {
  Project p{
      {{"pyproject.toml", std::string(kPyproject) + "[project.scripts]\nsvc = \"svc.cli:main\"\n"},
       {"svc/__init__.py", ""},
       {"svc/cli.py",
        "import uvicorn\n\ndef main():\n    uvicorn.run('svc.api:app', host='127.0.0.1')\n"},
       {"svc/api.py", "from fastapi import FastAPI\napp = FastAPI()\n"}},
      {"fastapi", "uvicorn"}};
  auto out = Detect(p);
  ASSERT_TRUE(out.config.ok()) << out.config.status().message();
  EXPECT_EQ((*out.config)["Entrypoint"], json({"python3", "-m", "uvicorn", "svc.api:app", "--host",
                                               "0.0.0.0", "--port", "8000"}));
  EXPECT_TRUE(out.config->contains("Healthcheck"));
  EXPECT_EQ(out.reason,
            "plugin `frameworks`: `app = FastAPI(...)` in `svc/api.py` line 2 (a plugin's command "
            "replaces ocifs's own guess, [project.scripts] `svc` = `svc.cli:main`)");
}

// The server or framework the command needs and the dependencies lack is said, and is an error
// under --strict.
TEST(FrameworksTest, MissingServerOrFrameworkIsSaid) {
  const std::string manage =
      "import os\nos.environ.setdefault('DJANGO_SETTINGS_MODULE', 'mysite.settings')\n";
  Project django{{{"manage.py", manage}, {"mysite/__init__.py", ""}, {"mysite/wsgi.py", ""}},
                 {"gunicorn", "asgiref"}};
  auto out = Detect(django);
  ASSERT_TRUE(out.config.ok()) << out.config.status().message();
  ASSERT_EQ(out.plan_warnings.size(), 1u);
  EXPECT_NE(out.plan_warnings[0].find("the image runs `django`, which is not in the "
                                      "dependencies layer"),
            std::string::npos)
      << out.plan_warnings[0];
  ImageOptions strict;
  strict.strict = true;
  out = Detect(django, strict);
  ASSERT_FALSE(out.config.ok());
  EXPECT_NE(out.config.status().message().find("(an error with --strict)"), std::string::npos);
  // Everything there: nothing to say.
  django.installed.push_back("django");
  out = Detect(django, strict);
  ASSERT_TRUE(out.config.ok()) << out.config.status().message();
  EXPECT_TRUE(out.plan_warnings.empty()) << out.plan_warnings[0];
  // No dependencies layer at all: the base must have them.
  Project flask{{{"app.py", "from flask import Flask\napp = Flask(__name__)\n"}}, {}};
  out = Detect(flask);
  ASSERT_TRUE(out.config.ok()) << out.config.status().message();
  ASSERT_EQ(out.plan_warnings.size(), 1u);
  EXPECT_NE(out.plan_warnings[0].find("the image runs `flask`, and it has no dependencies layer"),
            std::string::npos)
      << out.plan_warnings[0];
}

TEST(FrameworksTest, AFactoryThatNeedsArgumentsIsNotCalledAndSaysHow) {
  Project p{{{"app.py", "print('cli')\n"},
             {"shop/__init__.py",
              "from flask import Flask\n\ndef create_app(config_name):\n"
              "    app = Flask(__name__)\n    return app\n"}},
            {"flask", "gunicorn"}};
  auto out = Detect(p);
  ASSERT_TRUE(out.config.ok()) << out.config.status().message();
  EXPECT_EQ((*out.config)["Entrypoint"], json({"python3", "/app/app.py"}));
  ASSERT_EQ(out.warnings.size(), 1u);
  EXPECT_EQ(out.warnings[0],
            "plugin `frameworks`: flask app factory `create_app()` in `shop/__init__.py` line 3 "
            "needs arguments, so it "
            "is not run; set frameworks.app to call it, e.g. `shop:create_app('production')`");
  ImageOptions app;
  app.plugins["frameworks"]["app"] = "shop:create_app('production')";
  app.plugins["frameworks"]["framework"] = "flask";
  out = Detect(p, app);
  ASSERT_TRUE(out.config.ok()) << out.config.status().message();
  EXPECT_EQ((*out.config)["Entrypoint"], json({"python3", "-m", "gunicorn", "--bind",
                                               "0.0.0.0:8000", "shop:create_app('production')"}));
}

TEST(FrameworksTest, NoFrameworkNoContribution) {
  Project plain{{{"pyproject.toml", kPyproject}, {"main.py", "print('hi')\n"}}, {"click"}};
  auto out = Detect(plain);
  ASSERT_TRUE(out.config.ok()) << out.config.status().message();
  EXPECT_EQ((*out.config)["Entrypoint"], json({"python3", "/app/main.py"}));
  EXPECT_FALSE(out.config->contains("Healthcheck"));
  EXPECT_FALSE((*out.config)["Labels"].contains("io.ocifs.framework"));
  // A dependency alone is not an application; tests and the venv are not looked at.
  Project dep_only{{{"main.py", "print('hi')\n"},
                    {"tests/test_app.py", "from fastapi import FastAPI\napp = FastAPI()\n"}},
                   {"fastapi", "uvicorn"}};
  out = Detect(dep_only);
  ASSERT_TRUE(out.config.ok());
  EXPECT_FALSE(out.config->contains("Healthcheck"));
  // No command from anywhere: the error says so, after the plugins had their turn.
  out = Detect(Project{{{"lib.py", "x = 1\n"}}, {}});
  ASSERT_FALSE(out.config.ok());
  EXPECT_NE(out.config.status().message().find("no entrypoint found"), std::string::npos);
  EXPECT_NE(out.config.status().message().find("no plugin detected one either"), std::string::npos)
      << out.config.status().message();
}

TEST(FrameworksTest, TwoFrameworksWarnAndFollowTheDocumentedOrder) {
  Project both{{{"api.py", "from fastapi import FastAPI\napp = FastAPI()\n"},
                {"dash.py", "import streamlit as st\n"}},
               {"fastapi", "uvicorn", "streamlit"}};
  auto out = Detect(both);
  ASSERT_TRUE(out.config.ok()) << out.config.status().message();
  EXPECT_EQ((*out.config)["Labels"]["io.ocifs.framework"], "fastapi");
  ASSERT_EQ(out.warnings.size(), 1u);
  EXPECT_NE(out.warnings[0].find("found fastapi (api.py) and also streamlit; using fastapi"),
            std::string::npos)
      << out.warnings[0];
  // The setting decides.
  ImageOptions choose;
  choose.plugins["frameworks"]["framework"] = "streamlit";
  out = Detect(both, choose);
  ASSERT_TRUE(out.config.ok());
  EXPECT_EQ((*out.config)["Labels"]["io.ocifs.framework"], "streamlit");
}

TEST(FrameworksTest, ExplicitSettingsWin) {
  Project flask{{{"app.py", "from flask import Flask\napp = Flask(__name__)\n"}}, {"flask"}};
  ImageOptions flags;
  flags.cmd = std::vector<std::string>{"python3", "app.py"};
  flags.expose = {"9000/tcp"};
  flags.healthcheck = Healthcheck{};
  flags.labels = {{"io.ocifs.framework", "mine"}};
  auto out = Detect(flask, flags);
  ASSERT_TRUE(out.config.ok()) << out.config.status().message();
  EXPECT_EQ((*out.config)["Cmd"], json({"python3", "app.py"}));
  EXPECT_FALSE(out.config->contains("Entrypoint"));
  EXPECT_EQ((*out.config)["Healthcheck"], json({{"Test", {"NONE"}}}));
  EXPECT_EQ((*out.config)["Labels"]["io.ocifs.framework"], "mine");
  // The plugin's own settings: port, health path, off.
  ImageOptions port;
  port.plugins["frameworks"] = {{"port", "5000"}, {"health-path", "/healthz"}};
  out = Detect(flask, port);
  ASSERT_TRUE(out.config.ok());
  EXPECT_TRUE((*out.config)["ExposedPorts"].contains("5000/tcp"));
  EXPECT_NE((*out.config)["Healthcheck"]["Test"][3].get<std::string>().find(
                "'http://127.0.0.1:5000/healthz'"),
            std::string::npos);
  ImageOptions off;
  off.plugins["frameworks"]["framework"] = "none";
  out = Detect(flask, off);
  ASSERT_TRUE(out.config.ok());
  EXPECT_FALSE(out.config->contains("Healthcheck"));
}

TEST(FrameworksTest, BadSettingsAreNamed) {
  Project flask{{{"app.py", "from flask import Flask\napp = Flask(__name__)\n"}}, {}};
  struct Case {
    std::string key, value, message;
  } cases[] = {
      {"framework", "pyramid", "setting `framework`: `pyramid` is not one of"},
      {"port", "70000", "setting `port`: `70000` is not a port"},
      {"health-path", "healthz", "setting `health-path`: want a URL path"},
      {"colour", "red", "unknown setting `colour`"},
  };
  for (const auto& c : cases) {
    ImageOptions o;
    o.plugins["frameworks"][c.key] = c.value;
    auto out = Detect(flask, o);
    ASSERT_FALSE(out.config.ok()) << c.key;
    EXPECT_NE(out.config.status().message().find("plugin `frameworks` (init) failed: " + c.message),
              std::string::npos)
        << out.config.status().message();
  }
}

}  // namespace
}  // namespace ocifs
