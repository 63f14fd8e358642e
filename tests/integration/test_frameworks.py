#!/usr/bin/env python3
"""The frameworks plugin end to end: fixture projects (tests/integration/projects) with their
dependencies from Debian's python3-* packages are mounted with no configuration, copied out with
skopeo and run under runc; the test asks the server over HTTP and runs the image's health check
inside the container.

Streamlit is not packaged in Debian: its project runs against a STAND-IN `streamlit` module of the
tests' own (projects/streamlit-standin), which serves the script's output and `/_stcore/health`.
What the stand-in shows is that the command, file, address and port in the image are right; it
says nothing about real Streamlit.
"""
import os
import shutil
import tempfile
import unittest
from dataclasses import dataclass

from itlib import BASE, ROOT, Container, Mount, assert_layout_ok, deps_set, image_config, run

PROJECTS = os.path.join(ROOT, "tests", "integration", "projects")
STANDIN_STREAMLIT = os.path.join(PROJECTS, "streamlit-standin")


@dataclass
class Case:
    project: str  # under PROJECTS
    deps: str  # a make_deps.sh set, or a directory
    entrypoint: list
    server: str  # the io.ocifs.framework.server label
    port: int
    health_path: str
    answer: str  # in the body of GET /
    framework: str = ""  # the io.ocifs.framework label, when not the project's name


CASES = {
    "fastapi": Case("fastapi", "fastapi",
                    ["python3", "-m", "gunicorn", "--bind", "0.0.0.0:8000", "--worker-class",
                     "uvicorn.workers.UvicornWorker", "greeter.main:app"],
                    "gunicorn", 8000, "/", '{"framework":"fastapi","message":"hello from greeter"}'),
    "fastapi-uvicorn": Case("fastapi", "uvicorn",
                            ["python3", "-m", "uvicorn", "greeter.main:app", "--host", "0.0.0.0",
                             "--port", "8000"],
                            "uvicorn", 8000, "/", '{"framework":"fastapi","message":"hello from greeter"}'),
    # A src layout under Flask's own server (no gunicorn in this set).
    "flask": Case("flask", "flask",
                  ["python3", "-m", "flask", "--app", "src/notes/web.py:app", "run", "--host",
                   "0.0.0.0", "--port", "8000"],
                  "flask", 8000, "/", '"message":"hello from notes"'),
    "django": Case("django", "django",
                   ["python3", "-m", "gunicorn", "--bind", "0.0.0.0:8000", "mysite.wsgi:application"],
                   "gunicorn", 8000, "/", '{"framework": "django", "message": "hello from mysite"}'),
    "streamlit": Case("streamlit", STANDIN_STREAMLIT,
                      ["python3", "-m", "streamlit", "run", "streamlit_app.py", "--server.address",
                       "0.0.0.0", "--server.port", "8501", "--server.headless", "true"],
                      "streamlit", 8501, "/_stcore/health", "Dashboard\nhello from dashboard\n"),
    # Shapes real projects have (projects/shapes, see test_shapes.py for every shape's command).
    "flask-factory": Case("shapes/flask-factory", "flask-gunicorn",
                          ["python3", "-m", "gunicorn", "--bind", "0.0.0.0:8000", "flaskr:create_app()"],
                          "gunicorn", 8000, "/", '"message":"hello from flaskr"', "flask"),
    "flask-microblog": Case("shapes/flask-microblog", "flask",
                            ["python3", "-m", "flask", "--app", "microblog.py", "run", "--host",
                             "0.0.0.0", "--port", "8000"],
                            "flask", 8000, "/", '"message":"hello from microblog"', "flask"),
    "fastapi-factory": Case("shapes/fastapi-factory", "uvicorn",
                            ["python3", "-m", "uvicorn", "app.main:get_application", "--host",
                             "0.0.0.0", "--port", "8000", "--factory"],
                            "uvicorn", 8000, "/", '"message":"hello from inventory"', "fastapi"),
    "django-settings": Case("shapes/django-settings", "django",
                            ["python3", "-m", "gunicorn", "--bind", "0.0.0.0:8000",
                             "config.wsgi:application"],
                            "gunicorn", 8000, "/", '"settings": "production"', "django"),
    "monorepo": Case("shapes/monorepo", "fastapi",
                     ["python3", "-m", "gunicorn", "--bind", "0.0.0.0:8000", "--worker-class",
                      "uvicorn.workers.UvicornWorker", "app.main:app"],
                     "gunicorn", 8000, "/", '"message":"hello from shop backend"', "fastapi"),
    "procfile": Case("shapes/procfile", "flask-gunicorn",
                     ["gunicorn", "--workers", "2", "--access-logfile", "-", "wsgi:app"],
                     "gunicorn", 8000, "/", '"message":"hello from the guestbook"', "flask"),
}


class FrameworksTest(unittest.TestCase):
    """Each case: the config the plugin made, then the copied image serving under runc."""

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="ocifs-it-frameworks-")

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def mount_and_copy(self, name, case):
        deps = case.deps if os.path.isabs(case.deps) else deps_set(case.deps)
        layout = os.path.join(self.tmp, name)
        # The test base is Debian bookworm's Python 3.11 (the fixtures say only >=3.11).
        with Mount(os.path.join(PROJECTS, case.project), "--base", f"oci:{BASE}:3.11-slim",
                   "--python", "3.11", "--deps", deps) as m:
            assert_layout_ok(self, m.path)
            run(["skopeo", "copy", f"oci:{m.path}:latest", f"oci:{layout}:latest"])
        return layout

    def check(self, name):
        case = CASES[name]
        layout = self.mount_and_copy(name, case)
        config = image_config(layout)["config"]
        self.assertEqual(config["Entrypoint"], case.entrypoint)
        self.assertEqual(config["ExposedPorts"], {f"{case.port}/tcp": {}})
        self.assertEqual(config["Labels"]["io.ocifs.framework"], case.framework or case.project)
        self.assertEqual(config["Labels"]["io.ocifs.framework.server"], case.server)
        health = config["Healthcheck"]
        self.assertEqual(health["Test"][0], "CMD")
        self.assertIn(f"'http://127.0.0.1:{case.port}{case.health_path}'", health["Test"][-1])
        self.assertEqual((health["Interval"], health["Timeout"], health["Retries"]),
                         (30_000_000_000, 5_000_000_000, 3))

        with Container(layout) as c:
            status, body = c.http_get(case.port, "/")
            self.assertEqual(status, 200, body)
            self.assertIn(case.answer, body)
            if case.health_path != "/":
                status, body = c.http_get(case.port, case.health_path)
                self.assertEqual((status, body), (200, "ok"))
            # The image's own health check, as a runtime would run it: inside the container.
            p = c.exec(health["Test"][1:])
            self.assertEqual(p.returncode, 0, f"health check failed:\n{p.stderr}\n{c.log()}")
            # The same check pointed at a port where nothing listens fails: it can tell.
            dead = [a.replace(f":{case.port}/", ":9/") for a in health["Test"][1:]]
            self.assertEqual(c.exec(dead).returncode, 1)
            # The server runs as the image's non-root user, on a read-only root file system:
            # only the image's volumes (/tmp, HOME) take writes.
            uid = c.exec(["id", "-u"])
            self.assertEqual(uid.returncode, 0, uid.stderr)
            self.assertNotEqual(uid.stdout.strip(), "0")
            self.assertEqual(set(config["Volumes"]), {"/tmp", "/home/nonroot"})
            for path in ("/app/probe", "/probe", "/opt/venv/probe", "/usr/local/probe"):
                p = c.exec(["python3", "-c", f"open({path!r}, 'w')"])
                self.assertNotEqual(p.returncode, 0, path)
                self.assertIn("Read-only file system", p.stderr, path)
            p = c.exec(["python3", "-c", "import os, tempfile\n"
                        "with tempfile.NamedTemporaryFile() as t: t.write(b'x')\n"
                        "open(os.path.expanduser('~/probe'), 'w').write('x')\n"
                        "print(tempfile.gettempdir(), os.path.expanduser('~'))"])
            self.assertEqual((p.returncode, p.stdout), (0, "/tmp /home/nonroot\n"), p.stderr)

    def test_fastapi_under_gunicorn_with_uvicorn_workers(self):
        self.check("fastapi")

    def test_fastapi_under_uvicorn(self):
        self.check("fastapi-uvicorn")

    def test_flask_src_layout_under_flask_run(self):
        self.check("flask")

    def test_django_under_gunicorn(self):
        self.check("django")

    def test_streamlit_with_a_stand_in_streamlit_module(self):
        self.check("streamlit")

    def test_flask_factory_under_gunicorn(self):
        self.check("flask-factory")

    def test_flask_app_named_by_flaskenv_under_flask_run(self):
        self.check("flask-microblog")

    def test_fastapi_factory_under_uvicorn_factory(self):
        self.check("fastapi-factory")

    def test_django_settings_package_runs_production_settings(self):
        self.check("django-settings")

    def test_monorepo_backend_folder(self):
        self.check("monorepo")

    def test_procfile_web_line(self):
        self.check("procfile")


    def test_dev_variants_run_the_reloading_servers(self):
        """A `dev` variant asks the plugin for the development server: it runs (read-only root)
        and answers; the unnamed image of the same mount keeps the production server."""
        for name, server, settings in (("fastapi", "uvicorn --reload", None),
                                       ("django-settings", "runserver", "config.settings.local")):
            with self.subTest(name):
                case = CASES[name]
                project = os.path.join(self.tmp, f"{name}-dev-project")
                shutil.copytree(os.path.join(PROJECTS, case.project), project)
                with open(os.path.join(project, "pyproject.toml"), "a") as f:
                    f.write('\n[tool.ocifs.variants.dev.plugins.frameworks]\nserver = "dev"\n')
                layout = os.path.join(self.tmp, f"{name}-dev")
                with Mount(project, "--base", f"oci:{BASE}:3.11-slim", "--python", "3.11",
                           "--deps", deps_set(case.deps)) as m:
                    assert_layout_ok(self, m.path)
                    for tag in ("latest", "latest-dev"):
                        run(["skopeo", "copy", f"oci:{m.path}:{tag}", f"oci:{layout}:{tag}"])
                self.assertEqual(image_config(layout)["config"]["Entrypoint"], case.entrypoint)
                config = image_config(layout, "latest-dev")["config"]
                self.assertEqual(config["Labels"]["io.ocifs.framework.server"], server)
                env = dict(e.split("=", 1) for e in config["Env"])
                self.assertEqual(env.get("DJANGO_SETTINGS_MODULE"), settings)
                with Container(layout, "latest-dev") as c:
                    status, body = c.http_get(case.port, "/")
                    self.assertEqual(status, 200, body)
                    if name == "fastapi":
                        self.assertIn(case.answer, body)

if __name__ == "__main__":
    unittest.main(verbosity=2)
