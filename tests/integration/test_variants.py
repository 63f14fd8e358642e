#!/usr/bin/env python3
"""Variants: the example project with a `dev` and a `ci` variant, mounted once. The layout passes
the checks with every variant's tags, equal layers are one blob, each variant's image is copied
out by skopeo and runs under runc with its own command, and an edit makes a new generation of
every variant.
"""
import json
import os
import shutil
import tempfile
import unittest

from itlib import (EXAMPLE, EXAMPLE_ARGS, OCIFS, Mount, Registry, assert_layout_ok, image_config,
                   read_json, run, runc_run, wait_until)

VARIANTS = """
[tool.ocifs.variants.dev]
include = ["tests"]
extra-deps = ["../devtools"]
env = { HELLO_ENV = "development" }
cmd = ["python3", "-c", "import os, hello.cli, devtool; print('dev', os.environ['HELLO_ENV'], sorted(os.listdir('/app/tests')), devtool.VERSION)"]

[tool.ocifs.variants.ci]
tag = ["ci"]
include = ["tests"]
cmd = ["python3", "-c", "import runpy; runpy.run_path('/app/tests/test_hello.py', run_name='__main__')"]
dependency-group = "test"

[dependency-groups]
test = ["click>=8", "pygments"]
"""

TEST_FILE = """import hello.cli

if __name__ == "__main__":
    print("ci ran", hello.cli.__name__)
"""


def write_devtools(root, version):
    """A site-packages tree with one distribution, `devtool`, and its console script."""
    os.makedirs(f"{root}/devtool", exist_ok=True)
    with open(f"{root}/devtool/__init__.py", "w") as f:
        f.write(f'VERSION = "{version}"\n\ndef main():\n    print("devtool", VERSION)\n')
    info = f"{root}/devtool-{version}.dist-info"
    os.makedirs(info, exist_ok=True)
    with open(f"{info}/METADATA", "w") as f:
        f.write(f"Metadata-Version: 2.1\nName: devtool\nVersion: {version}\n")
    with open(f"{info}/entry_points.txt", "w") as f:
        f.write("[console_scripts]\ndevtool = devtool:main\n")


def sbom(layout, ref):
    """The document of index.json's artifact entry `ref`."""
    doc_manifest = manifest(layout, ref)
    with open(f"{layout}/blobs/sha256/{doc_manifest['layers'][0]['digest'][7:]}") as f:
        return f.read()


def manifest(layout, tag):
    index = read_json(f"{layout}/index.json")
    desc = next(m for m in index["manifests"]
                if m["annotations"]["org.opencontainers.image.ref.name"] == tag)
    return read_json(f"{layout}/blobs/sha256/{desc['digest'][7:]}")


class VariantsTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="ocifs-it-variants-")
        self.project = os.path.join(self.tmp, "hello")
        shutil.copytree(EXAMPLE, self.project)
        with open(f"{self.project}/pyproject.toml", "a") as f:
            f.write(VARIANTS)
        with open(f"{self.project}/.dockerignore", "a") as f:
            f.write("tests\n")
        os.mkdir(f"{self.project}/tests")
        with open(f"{self.project}/tests/test_hello.py", "w") as f:
            f.write(TEST_FILE)
        write_devtools(f"{self.tmp}/devtools", "1.0")

    def tearDown(self):
        shutil.rmtree(self.tmp, ignore_errors=True)

    def test_one_mount_serves_every_variant(self):
        with Mount(self.project, *EXAMPLE_ARGS) as m:
            assert_layout_ok(self, m.path, tags=[
                "latest", "ci", "latest-dev", "latest.sbom.spdx", "latest.sbom.cyclonedx",
                "ci.sbom.spdx", "ci.sbom.cyclonedx", "latest-dev.sbom.spdx",
                "latest-dev.sbom.cyclonedx"])
            latest, dev, ci = (manifest(m.path, t)["layers"] for t in ("latest", "latest-dev", "ci"))
            # Base and dependencies shared by all; dev has its extra-deps layer above them; dev
            # and ci ship the same files (tests/), so one application layer serves both.
            self.assertEqual(latest[:-1], dev[:-2])
            self.assertEqual(latest[:-1], ci[:-1])
            self.assertNotIn(dev[-2], latest + ci)
            self.assertNotEqual(latest[-1], dev[-1])
            self.assertEqual(dev[-1], ci[-1])
            # Each variant's SBOM lists what its image holds: dev's has the extra tree's tool.
            for tag, has_devtool in (("latest-dev", True), ("latest", False), ("ci", False)):
                names = {p["name"] for p in json.loads(sbom(m.path, f"{tag}.sbom.spdx"))["packages"]}
                self.assertIn("click", names, tag)
                self.assertEqual("devtool" in names, has_devtool, tag)
            dev_config = image_config(m.path, "latest-dev")
            self.assertEqual(dev_config["config"]["Cmd"][0], "python3")
            self.assertEqual(dev_config["history"][-2]["created_by"],
                             "ocifs: extra dependencies for Python 3.11 (site-packages, 1 console scripts)")

            out = f"{self.tmp}/copied"
            for tag in ("latest", "latest-dev", "ci"):
                run(["skopeo", "copy", f"oci:{m.path}:{tag}", f"oci:{out}:{tag}"])
            assert_layout_ok(self, out)
            self.assertRegex(runc_run(out, "latest")[0], r"^Hello, world! ")
            self.assertEqual(runc_run(out, "latest-dev")[0], "dev development ['test_hello.py'] 1.0\n")
            # The extra tree's console script is on PATH in dev, and nowhere else.
            self.assertEqual(runc_run(out, "latest-dev", args=["devtool"])[0], "devtool 1.0\n")
            p = runc_run(out, "latest", args=["python3", "-c", "import importlib.util as u; print(u.find_spec('devtool'))"])
            self.assertEqual(p[0], "None\n")
            self.assertEqual(runc_run(out, "ci")[0], "ci ran hello.cli\n")
            # The unnamed image leaves tests/ out.
            p = runc_run(out, "latest", args=["python3", "-c", "import os; print(os.path.exists('/app/tests'))"])
            self.assertEqual(p[0], "False\n")

            # An edit of the application: every variant's image is new.
            before = {t: manifest(m.path, t)["layers"][-1]["digest"] for t in ("latest", "latest-dev", "ci")}
            with open(f"{self.project}/src/hello/__init__.py", "a") as f:
                f.write("# edited\n")
            wait_until(lambda: manifest(m.path, "latest")["layers"][-1]["digest"] != before["latest"],
                       20, "a new generation")
            for tag in ("latest-dev", "ci"):
                self.assertNotEqual(manifest(m.path, tag)["layers"][-1]["digest"], before[tag], tag)
            assert_layout_ok(self, m.path)

            # An edit of the extra tree (watched too): dev's extra layer is new, the others stay.
            extra = manifest(m.path, "latest-dev")["layers"][-2]["digest"]
            latest_now = manifest(m.path, "latest")["layers"]
            with open(f"{self.tmp}/devtools/devtool/__init__.py", "a") as f:
                f.write("# edited\n")
            wait_until(lambda: manifest(m.path, "latest-dev")["layers"][-2]["digest"] != extra,
                       20, "a new generation with the edited extra tree")
            self.assertEqual(manifest(m.path, "latest")["layers"], latest_now)
            assert_layout_ok(self, m.path)

    def test_selection_and_a_group_the_dependencies_miss(self):
        out = f"{self.tmp}/dev-only"
        run([OCIFS, "build", self.project, "--output", out, "--variant", "dev", *EXAMPLE_ARGS])
        index = read_json(f"{out}/index.json")
        self.assertEqual([m["annotations"]["org.opencontainers.image.ref.name"] for m in index["manifests"]],
                         ["latest-dev", "latest-dev.sbom.spdx", "latest-dev.sbom.cyclonedx"])
        with open(f"{self.project}/pyproject.toml", "a") as f:
            f.write('lint = ["ruff>=0.4"]\n[tool.ocifs.variants.lint]\ndependency-group = "lint"\n')
        p = run([OCIFS, "build", self.project, "--output", f"{self.tmp}/x", *EXAMPLE_ARGS], check=False)
        self.assertNotEqual(p.returncode, 0)
        self.assertIn("variant `lint`: dependency-group `lint`", p.stderr)
        self.assertIn("`ruff>=0.4` is not installed", p.stderr)
        self.assertFalse(os.path.exists(f"{self.tmp}/x"))


    def test_push_sends_every_variant_under_its_tags(self):
        with Registry() as reg, Mount(self.project, *EXAMPLE_ARGS) as m:
            p = run([OCIFS, "push", "--mount", m.path, f"{reg.host}/hello:1.0", "--also-tag", "stable",
                     "--json"])
            report = json.loads(p.stdout)
            self.assertEqual(report["tags"], ["1.0", "stable"])
            self.assertEqual([(v["variant"], v["tags"]) for v in report["variants"]],
                             [("ci", ["ci"]), ("dev", ["1.0-dev", "stable-dev"])])
            tags = json.loads(run(["skopeo", "list-tags", "--tls-verify=false",
                                   f"docker://{reg.host}/hello"]).stdout)["Tags"]
            for tag in ("1.0", "stable", "ci", "1.0-dev", "stable-dev"):
                self.assertIn(tag, tags)
            for tag, layout_tag in (("1.0-dev", "latest-dev"), ("ci", "ci"), ("1.0", "latest")):
                raw = run(["skopeo", "inspect", "--tls-verify=false", "--config",
                           f"docker://{reg.host}/hello:{tag}"]).stdout
                self.assertEqual(json.loads(raw)["config"].get("Cmd"),
                                 image_config(m.path, layout_tag)["config"].get("Cmd"), tag)
            # --source-tag pushes that one image only.
            p = run([OCIFS, "push", "--mount", m.path, f"{reg.host}/only:dev", "--source-tag",
                     "latest-dev", "--json"])
            self.assertNotIn("variants", json.loads(p.stdout))


if __name__ == "__main__":
    unittest.main()
