"""Bases pulled from a registry: docker-registry on 127.0.0.1, without and with authentication.

The test base (a debootstrap'ed bookworm with python3, see make_base.sh) is pushed there with
skopeo; ocifs pulls it as `127.0.0.1:PORT/library/python:3.11-slim`.
"""

import base64
import json
import os
import tempfile
import unittest

from itlib import (BASE_REF, CONFORMANCE, DEPS, EXAMPLE, OCIFS, PYTHON, Mount, Registry, read_bytes,
                   read_json, run, runc_run)

REPO = "library/python:3.11-slim"


def push_base(reg, creds=None):
    auth = ["--dest-creds", creds] if creds else []
    run(["skopeo", "copy", "--dest-tls-verify=false", *auth, BASE_REF, f"docker://{reg.host}/{REPO}"])


def manifest_of(layout):
    top = read_json(f"{layout}/index.json")["manifests"][0]["digest"]
    return read_json(f"{layout}/blobs/sha256/{top[7:]}")


class RegistryBaseTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.reg = Registry().__enter__()
        push_base(cls.reg)
        cls.ref = f"{cls.reg.host}/{REPO}"

    @classmethod
    def tearDownClass(cls):
        cls.reg.__exit__(None, None, None)

    def setUp(self):
        self.tmp_dir = tempfile.TemporaryDirectory()
        self.tmp = self.tmp_dir.name
        self.cache = f"{self.tmp}/cache"

    def tearDown(self):
        self.tmp_dir.cleanup()

    def args(self, *extra):
        return ["--base", self.ref, "--deps", DEPS, "--cache-dir", self.cache, *extra]

    def test_mount_pulls_lazily_and_the_image_runs(self):
        before = len(self.reg.requests())
        # --no-plugins: the sbom plugin reads the base's layers to list its OS packages.
        with Mount(EXAMPLE, *self.args("--no-plugins")) as m:
            manifest = manifest_of(m.path)
            base_layer = manifest["layers"][0]
            # Mounting fetched manifests and the config only: no layer blob.
            asked = self.reg.requests()[before:]
            self.assertFalse([r for r in asked if base_layer["digest"] in r], asked)
            self.assertFalse(os.path.exists(f"{self.cache}/blobs/sha256/{base_layer['digest'][7:]}"))
            self.assertEqual(base_layer["mediaType"], "application/vnd.oci.image.layer.v1.tar+gzip")
            annotations = manifest["annotations"]
            self.assertEqual(annotations["org.opencontainers.image.base.name"], f"{self.reg.host}/{REPO}")
            # The same image as from the local layout the registry was filled from.
            with Mount(EXAMPLE, "--base", BASE_REF, "--deps", DEPS, "--cache-dir", self.cache,
                       "--no-plugins") as local:
                self.assertEqual([l["digest"] for l in manifest["layers"]],
                                 [l["digest"] for l in manifest_of(local.path)["layers"]])
                self.assertEqual(annotations["org.opencontainers.image.base.digest"],
                                 manifest_of(local.path)["annotations"]["org.opencontainers.image.base.digest"])
            p = run([PYTHON, f"{CONFORMANCE}/oci_layout_check.py", m.path], check=False)
            self.assertIn("0 failed", p.stdout.splitlines()[-1], p.stdout)
            # The checker read every blob: the base layer was fetched once, and is in the cache.
            fetched = [r for r in self.reg.requests()[before:] if r == f"GET /v2/library/python/blobs/{base_layer['digest']}"]
            self.assertEqual(len(fetched), 1, fetched)
            self.assertTrue(os.path.exists(f"{self.cache}/blobs/sha256/{base_layer['digest'][7:]}"))
            out, _ = runc_run(m.path, "latest")
            self.assertRegex(out, r"^Hello, world! \(hello-ocifs 0\.1\.0, click 8\.1\.3, Python 3\.11\.\d+\)\n$")

    def test_offline_mount_after_one_online_mount(self):
        with Mount(EXAMPLE, *self.args()) as m:
            online = read_json(f"{m.path}/index.json")
            for layer in manifest_of(m.path)["layers"]:
                read_bytes(f"{m.path}/blobs/sha256/{layer['digest'][7:]}")
        before = len(self.reg.requests())
        with Mount(EXAMPLE, *self.args("--offline")) as m:
            self.assertEqual(read_json(f"{m.path}/index.json"), online)
            p = run([PYTHON, f"{CONFORMANCE}/oci_layout_check.py", m.path], check=False)
            self.assertIn("0 failed", p.stdout.splitlines()[-1], p.stdout)
        self.assertEqual(self.reg.requests()[before:], [], "--offline used the network")
        # With an empty cache, --offline is a clear error, and nothing is asked of the registry.
        p = run([OCIFS, "build", EXAMPLE, "--output", f"{self.tmp}/out", "--base", self.ref, "--deps", DEPS,
                 "--cache-dir", f"{self.tmp}/empty", "--offline"], check=False)
        self.assertNotEqual(p.returncode, 0)
        self.assertIn(f"base `{self.ref}`: the tag `3.11-slim` was never resolved here, and --offline is set",
                      p.stderr)
        self.assertEqual(self.reg.requests()[before:], [])

    def test_unknown_repository_and_tag_are_clear_errors(self):
        cases = [
            (f"{self.reg.host}/library/nosuch:3.11-slim", "manifest `3.11-slim` of "
             f"`{self.reg.host}/library/nosuch`: not found at {self.reg.host}"),
            (f"{self.reg.host}/library/python:9.9", f"manifest `9.9` of `{self.reg.host}/library/python`: "
             f"not found at {self.reg.host}"),
            (f"{self.reg.host}/Library/python", "repository names must be lowercase"),
            ("127.0.0.1:1/library/python:3.11-slim", "gave up after"),
        ]
        for ref, want in cases:
            with self.subTest(ref=ref):
                p = run([OCIFS, "inspect", EXAMPLE, "--base", ref, "--deps", DEPS, "--cache-dir", self.cache],
                        check=False, timeout=120)
                self.assertNotEqual(p.returncode, 0)
                self.assertIn(want, p.stderr)
                self.assertNotIn("Traceback", p.stderr)


class RegistryBasicAuthTest(unittest.TestCase):
    USER, PASSWORD = "ocifs-user", "pa55-w0rd-not-for-logs"

    @classmethod
    def setUpClass(cls):
        cls.reg = Registry(users={cls.USER: cls.PASSWORD}).__enter__()
        push_base(cls.reg, f"{cls.USER}:{cls.PASSWORD}")
        cls.ref = f"{cls.reg.host}/{REPO}"

    @classmethod
    def tearDownClass(cls):
        cls.reg.__exit__(None, None, None)

    def inspect(self, docker_config):
        with tempfile.TemporaryDirectory() as tmp:
            env = {"DOCKER_CONFIG": tmp, "REGISTRY_AUTH_FILE": f"{tmp}/none.json", "HOME": tmp}
            if docker_config is not None:
                with open(f"{tmp}/config.json", "w") as f:
                    json.dump(docker_config, f)
            return run([OCIFS, "inspect", EXAMPLE, "--base", self.ref, "--deps", DEPS, "--no-cache"],
                       check=False, env=env)

    def test_credentials_from_docker_config(self):
        token = base64.b64encode(f"{self.USER}:{self.PASSWORD}".encode()).decode()
        p = self.inspect({"auths": {self.reg.host: {"auth": token}}})
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn(f'"{self.ref}"', p.stdout)
        for config, want in [
            (None, f"wants a user name and password, and none is stored for `{self.reg.host}`"),
            ({"auths": {self.reg.host: {"username": self.USER, "password": "wrong"}}},
             "refused the credentials (HTTP 401"),
        ]:
            with self.subTest(config=config):
                p = self.inspect(config)
                self.assertNotEqual(p.returncode, 0)
                self.assertIn(want, p.stderr)
                self.assertIn(self.ref.split(":3.11")[0].split("/", 1)[1], p.stderr)
                self.assertNotIn(self.PASSWORD, p.stderr + p.stdout)

    def test_mount_with_basic_auth_runs(self):
        with tempfile.TemporaryDirectory() as tmp:
            with open(f"{tmp}/auth.json", "w") as f:
                token = base64.b64encode(f"{self.USER}:{self.PASSWORD}".encode()).decode()
                json.dump({"auths": {self.reg.host: {"auth": token}}}, f)
            os.environ["REGISTRY_AUTH_FILE"] = f"{tmp}/auth.json"
            try:
                with Mount(EXAMPLE, "--base", self.ref, "--deps", DEPS, "--cache-dir", f"{tmp}/cache") as m:
                    out, _ = runc_run(m.path, "latest")
                    self.assertTrue(out.startswith("Hello, world! "), out)
                    status = run([OCIFS, "status", m.path]).stdout
                    self.assertNotIn(self.PASSWORD, status)
                # Nothing of the password in the cache: not in a file's name, not in its bytes.
                for root, _, files in os.walk(f"{tmp}/cache"):
                    for name in files:
                        self.assertNotIn(self.PASSWORD, name)
                        with open(os.path.join(root, name), "rb") as f:
                            self.assertNotIn(self.PASSWORD.encode(), f.read())
            finally:
                del os.environ["REGISTRY_AUTH_FILE"]


if __name__ == "__main__":
    unittest.main()
