#!/usr/bin/env python3
"""Projects shaped the way real ones are (tests/integration/projects/shapes), each with the command
ocifs must give it with no configuration: entry points where projects declare them, Flask and
FastAPI app factories, a Django settings package, a monorepo, a Procfile.

ShapesTest plans each fixture (`ocifs inspect`) against a stand-in dependencies tree that holds the
modules the case names, and checks the command, why it was chosen, the environment, the warnings,
and the application layer's digest against a golden one: a change for one shape that moves another
shape's digest fails here. The command-line shapes then run under runc on the Debian Python base
and must print their line. The web shapes run under runc with Debian's packages in
test_frameworks.py (FrameworksTest, the `shapes/` cases).
"""
import json
import os
import shutil
import tempfile
import unittest
from dataclasses import dataclass, field

from itlib import BASE_REF, OCIFS, ROOT, run, runc_run

SHAPES = os.path.join(ROOT, "tests", "integration", "projects", "shapes")
GUNICORN = ["python3", "-m", "gunicorn", "--bind", "0.0.0.0:8000"]


@dataclass
class Shape:
    fixture: str  # under SHAPES
    modules: list  # what the stand-in dependencies tree holds
    entrypoint: list
    reason: str  # in entrypoint_reason
    golden: str  # the application layer's digest
    env: dict = field(default_factory=dict)  # in the image's Env
    warnings: list = field(default_factory=list)  # each in some warning
    output: str = ""  # a command-line shape: what running it prints


def cli(module, func, argv0):
    return ["python3", "-c",
            f"import sys; from {module} import {func}; sys.argv[0] = '{argv0}'; sys.exit({func}())"]


SHAPE_CASES = {
    "[tool.poetry.scripts]": Shape(
        "poetry-cli", [], cli("weather.cli", "run", "weather-cli"),
        "[tool.poetry.scripts] `weather-cli` = `weather.cli:run`",
        "sha256:62e79bd46f2857386ebf839d35a884927fc8c2f30c24aa14f9480961e90b3ae9", output="weather-cli: sunny (argv0=weather-cli)"),
    "setup.cfg console_scripts": Shape(
        "setupcfg-cli", [], cli("tally.main", "cli", "tally"),
        "setup.cfg [options.entry_points] console_scripts `tally` = `tally.main:cli`",
        "sha256:feee025d4f26a59dd5d7570468efe6d480d5f40f2babe50c30969f5d4d1dc763", env={"PYTHONPATH": "/app/src:/app:/opt/venv/lib/python3.11/site-packages"}, output="tally: 0 lines"),
    "setup.py entry_points": Shape(
        "setuppy-cli", [], cli("greet.__main__", "main", "greet"),
        "setup.py entry_points console_scripts `greet` = `greet.__main__:main`",
        "sha256:1f8d31b829c356206448669648ab390ccb83b9315d09a6ce6cfd683281ddeb73", output="greet: hello"),
    "requirements.txt and python -m": Shape(
        "requirements-module", [], ["python3", "-m", "backup"],
        "`backup/__main__.py`, the only package that runs with python -m",
        "sha256:f4adfde99229d8ce3307cc2ebbdfc978ce7044d762eead8e74e0e9273c945863", output="backup: nothing to do"),
    "Procfile web:": Shape(
        "procfile", ["flask", "gunicorn"],
        ["gunicorn", "--workers", "2", "--access-logfile", "-", "wsgi:app"],
        "the Procfile's `web:` line", "sha256:e56b335e9ecf9c9a035e7ba47d859e6c6bb4a05c80d8d626061f98ef6feb051f", env={"PORT": "8000"}),
    "Flask factory": Shape(
        "flask-factory", ["flask", "gunicorn"], GUNICORN + ["flaskr:create_app()"],
        "plugin `frameworks`: app factory `create_app()` in `flaskr/__init__.py` line 7",
        "sha256:84f7294b396395251658f7dc9dfcf7a6da28fda4fcce7c717ad67fbf74fee488"),
    "Flask factory, Flask's own server": Shape(
        "flask-factory", ["flask"],
        ["python3", "-m", "flask", "--app", "flaskr", "run", "--host", "0.0.0.0", "--port", "8000"],
        "app factory `create_app()`", "sha256:84f7294b396395251658f7dc9dfcf7a6da28fda4fcce7c717ad67fbf74fee488"),
    "FLASK_APP in .flaskenv": Shape(
        "flask-microblog", ["flask"],
        ["python3", "-m", "flask", "--app", "microblog.py", "run", "--host", "0.0.0.0", "--port",
         "8000"],
        "FLASK_APP=microblog.py", "sha256:c0a0b2a8b2bdc13ded31bbfa44a6eb8b05e4dacd1447989d9e98312a4ebb1d01"),
    "FastAPI factory": Shape(
        "fastapi-factory", ["fastapi", "uvicorn"],
        ["python3", "-m", "uvicorn", "app.main:get_application", "--host", "0.0.0.0", "--port",
         "8000", "--factory"],
        "app factory `get_application()` in `app/main.py` line 7", "sha256:14670b2dd6ed010e9bb700385019ea658c52d3a2b3b32035b5298279e546ee02"),
    "Django settings package": Shape(
        "django-settings", ["django", "gunicorn"], GUNICORN + ["config.wsgi:application"],
        "production settings `config.settings.production` preferred over `config.settings.local` "
        "from `manage.py`; WSGI_APPLICATION from `config/settings/base.py` line 10",
        "sha256:ff6c27b9f4aca131906e274ca4a6d707d7c94ea01cca9b5cfcb340902bf8827b", env={"DJANGO_SETTINGS_MODULE": "config.settings.production"}),
    "monorepo backend/": Shape(
        "monorepo", ["fastapi", "uvicorn"],
        ["python3", "-m", "uvicorn", "app.main:app", "--host", "0.0.0.0", "--port", "8000"],
        "`app = FastAPI(...)` in `app/main.py` line 5", "sha256:44f63721a8e9ceb4022c79a663c680b8b5484fe3f349f9d47f5e8a3e76683799",
        warnings=["holds no Python application at its top; packing its `backend/`"]),
    "a server missing from the dependencies": Shape(
        "django-settings", ["gunicorn"], GUNICORN + ["config.wsgi:application"],
        "settings `config.settings.production`", "sha256:ff6c27b9f4aca131906e274ca4a6d707d7c94ea01cca9b5cfcb340902bf8827b",
        warnings=["the image runs `django`, which is not in the dependencies layer"]),
}


def copy_fixture(name, into):
    """The fixture with the modes a checkout under umask 022 gives (the golden digests hold them)."""
    dest = os.path.join(into, name)
    shutil.copytree(os.path.join(SHAPES, name), dest)
    for top, dirs, files in os.walk(dest):
        os.chmod(top, 0o755)
        for f in files:
            os.chmod(os.path.join(top, f), 0o644)
    return dest


def stand_in_deps(into, modules):
    """A site-packages tree holding `modules` (empty packages with dist-info)."""
    site = os.path.join(into, "site-packages")
    os.makedirs(site)
    for m in modules:
        os.makedirs(os.path.join(site, m))
        open(os.path.join(site, m, "__init__.py"), "w").close()
        info = os.path.join(site, f"{m}-1.0.dist-info")
        os.makedirs(info)
        with open(os.path.join(info, "METADATA"), "w") as f:
            f.write(f"Metadata-Version: 2.1\nName: {m}\nVersion: 1.0\n")
    return site


class ShapesTest(unittest.TestCase):
    maxDiff = None

    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="ocifs-it-shapes-")

    def tearDown(self):
        shutil.rmtree(self.tmp, ignore_errors=True)

    def inspect(self, name, case, work):
        project = copy_fixture(case.fixture, work)
        deps = stand_in_deps(work, case.modules)
        p = run([OCIFS, "inspect", project, "--digests", "--base", "scratch", "--platform",
                 "linux/amd64", "--python", "3.11", "--deps", deps])
        return json.loads(p.stdout)

    def test_each_shape_gets_its_command(self):
        for name, case in SHAPE_CASES.items():
            with self.subTest(name):
                work = tempfile.mkdtemp(dir=self.tmp)
                plan = self.inspect(name, case, work)
                config = plan["config"]["config"]
                self.assertEqual(config["Entrypoint"], case.entrypoint)
                self.assertIn(case.reason, plan["entrypoint_reason"])
                env = dict(e.split("=", 1) for e in config["Env"])
                for k, v in case.env.items():
                    self.assertEqual(env.get(k), v, k)
                for w in case.warnings:
                    self.assertTrue(any(w in x for x in plan["warnings"]), (w, plan["warnings"]))
                if not case.warnings:
                    self.assertEqual(plan["warnings"], [])
                app = plan["layers"][-1]
                self.assertEqual(app["digest"], case.golden, f"{name}: the application layer")

    def test_command_line_shapes_run(self):
        """Each command-line shape, built on the Debian Python base, runs and prints its line."""
        for name, case in SHAPE_CASES.items():
            if not case.output:
                continue
            with self.subTest(name):
                work = tempfile.mkdtemp(dir=self.tmp)
                project = copy_fixture(case.fixture, work)
                layout = os.path.join(work, "layout")
                run([OCIFS, "build", project, "--output", layout, "--base", BASE_REF, "--python",
                     "3.11", "--no-plugins"])
                out, _ = runc_run(layout, "latest")
                self.assertEqual(out.strip(), case.output)


if __name__ == "__main__":
    unittest.main(verbosity=2)
