"""Bases pulled from a registry: docker-registry on 127.0.0.1 without authentication, with
htpasswd (Basic) and with Bearer tokens from a token server of the tests' own (netlib); through a
fault-injecting proxy; through a mirror; and for several platforms.

The test base (a debootstrap'ed bookworm with python3, see make_base.sh) is pushed there with
skopeo; ocifs pulls it as `127.0.0.1:PORT/library/python:3.11-slim`.
"""

import base64
import hashlib
import io
import json
import os
import shutil
import tarfile
import tempfile
import time
import unittest

from itlib import (BASE, BASE_REF, DEPS, EXAMPLE, OCIFS, Mount, Registry, assert_layout_ok, read_bytes,
                   read_json, run, runc_run)
from netlib import Fault, FaultProxy, TokenServer

REPO = "library/python:3.11-slim"


def push_base(reg, creds=None):
    auth = ["--dest-creds", creds] if creds else []
    run(["skopeo", "copy", "--dest-tls-verify=false", *auth, BASE_REF, f"docker://{reg.host}/{REPO}"])


def manifest_of(layout):
    top = read_json(f"{layout}/index.json")["manifests"][0]["digest"]
    return read_json(f"{layout}/blobs/sha256/{top[7:]}")


class WithRegistryBase:
    """A TestCase mixin: docker-registry on 127.0.0.1 for the whole class, holding the base image
    at `cls.base`. AUTH says how it authenticates: None, "basic" (htpasswd with USER and PASSWORD)
    or "bearer" (tokens from `cls.tokens`, a TokenServer that knows USER)."""
    AUTH = USER = PASSWORD = None

    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.mkdtemp(prefix="ocifs-registry-class-")
        cls.tokens = None
        users = {cls.USER: cls.PASSWORD} if cls.AUTH else None
        if cls.AUTH == "bearer":
            cls.tokens = TokenServer(cls.dir, users=users).__enter__()
        cls.reg = Registry(users=users if cls.AUTH == "basic" else None, token=cls.tokens).__enter__()
        push_base(cls.reg, f"{cls.USER}:{cls.PASSWORD}" if cls.AUTH else None)
        cls.base = f"{cls.reg.host}/{REPO}"

    @classmethod
    def tearDownClass(cls):
        cls.reg.__exit__(None, None, None)
        if cls.tokens:
            cls.tokens.__exit__(None, None, None)
        shutil.rmtree(cls.dir, ignore_errors=True)


class RegistryBaseTest(WithRegistryBase, unittest.TestCase):

    def setUp(self):
        self.tmp_dir = tempfile.TemporaryDirectory()
        self.tmp = self.tmp_dir.name
        self.cache = f"{self.tmp}/cache"

    def tearDown(self):
        self.tmp_dir.cleanup()

    def args(self, *extra):
        return ["--base", self.base, "--deps", DEPS, "--cache-dir", self.cache, *extra]

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
            assert_layout_ok(self, m.path)
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
            assert_layout_ok(self, m.path)
        self.assertEqual(self.reg.requests()[before:], [], "--offline used the network")
        # With an empty cache, --offline is a clear error, and nothing is asked of the registry.
        p = run([OCIFS, "build", EXAMPLE, "--output", f"{self.tmp}/out", "--base", self.base, "--deps", DEPS,
                 "--cache-dir", f"{self.tmp}/empty", "--offline"], check=False)
        self.assertNotEqual(p.returncode, 0)
        self.assertIn(f"base `{self.base}`: the tag `3.11-slim` was never resolved here, and --offline is set",
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


class RegistryBasicAuthTest(WithRegistryBase, unittest.TestCase):
    AUTH, USER, PASSWORD = "basic", "ocifs-user", "pa55-w0rd-not-for-logs"

    def inspect(self, docker_config):
        with tempfile.TemporaryDirectory() as tmp:
            env = {"DOCKER_CONFIG": tmp, "REGISTRY_AUTH_FILE": f"{tmp}/none.json", "HOME": tmp}
            if docker_config is not None:
                with open(f"{tmp}/config.json", "w") as f:
                    json.dump(docker_config, f)
            return run([OCIFS, "inspect", EXAMPLE, "--base", self.base, "--deps", DEPS, "--no-cache"],
                       check=False, env=env)

    def test_credentials_from_docker_config(self):
        token = base64.b64encode(f"{self.USER}:{self.PASSWORD}".encode()).decode()
        p = self.inspect({"auths": {self.reg.host: {"auth": token}}})
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn(f'"{self.base}"', p.stdout)
        for config, want in [
            (None, f"wants a user name and password, and none is stored for `{self.reg.host}`"),
            ({"auths": {self.reg.host: {"username": self.USER, "password": "wrong"}}},
             "refused the credentials (HTTP 401"),
        ]:
            with self.subTest(config=config):
                p = self.inspect(config)
                self.assertNotEqual(p.returncode, 0)
                self.assertIn(want, p.stderr)
                self.assertIn(self.base.split(":3.11")[0].split("/", 1)[1], p.stderr)
                self.assertNotIn(self.PASSWORD, p.stderr + p.stdout)

    def test_mount_with_basic_auth_runs(self):
        with tempfile.TemporaryDirectory() as tmp:
            with open(f"{tmp}/auth.json", "w") as f:
                token = base64.b64encode(f"{self.USER}:{self.PASSWORD}".encode()).decode()
                json.dump({"auths": {self.reg.host: {"auth": token}}}, f)
            os.environ["REGISTRY_AUTH_FILE"] = f"{tmp}/auth.json"
            try:
                with Mount(EXAMPLE, "--base", self.base, "--deps", DEPS, "--cache-dir", f"{tmp}/cache") as m:
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


def write_auth_file(path, host, user, password):
    token = base64.b64encode(f"{user}:{password}".encode()).decode()
    with open(path, "w") as f:
        json.dump({"auths": {host: {"auth": token}}}, f)


class RegistryBearerTest(WithRegistryBase, unittest.TestCase):
    """docker-registry in token mode: the token server grants anonymous pulls (as Docker Hub does
    for public images) and everything to its user."""
    AUTH, USER, PASSWORD = "bearer", "ocifs-bearer", "b3arer-secret-not-for-logs"

    def test_anonymous_and_authenticated_pulls_run(self):
        for user in (None, self.USER):
            with self.subTest(user=user), tempfile.TemporaryDirectory() as tmp:
                env = {"REGISTRY_AUTH_FILE": f"{tmp}/auth.json", "DOCKER_CONFIG": tmp}
                if user:
                    write_auth_file(f"{tmp}/auth.json", self.reg.host, user, self.PASSWORD)
                issued = len(self.tokens.issued)
                with Mount(EXAMPLE, "--base", self.base, "--deps", DEPS, "--cache-dir", f"{tmp}/cache",
                           env=env) as m:
                    out, _ = runc_run(m.path, "latest")
                    self.assertTrue(out.startswith("Hello, world! "), out)
                    self.assertNotIn(self.PASSWORD, run([OCIFS, "status", m.path]).stdout)
                granted = self.tokens.issued[issued:]
                self.assertTrue(granted, "no token was asked for")
                self.assertEqual({g[0] for g in granted}, {user or None})
                self.assertEqual(granted[0][2], [{"type": "repository", "name": "library/python",
                                                  "actions": ["pull"]}])

    def test_wrong_credentials_and_no_access_are_clear_errors(self):
        with tempfile.TemporaryDirectory() as tmp:
            env = {"REGISTRY_AUTH_FILE": f"{tmp}/auth.json", "DOCKER_CONFIG": tmp}
            write_auth_file(f"{tmp}/auth.json", self.reg.host, self.USER, "wrong-password")
            p = run([OCIFS, "inspect", EXAMPLE, "--base", self.base, "--deps", DEPS, "--no-cache"],
                    check=False, env=env)
            self.assertNotEqual(p.returncode, 0)
            self.assertIn(f"base `{self.base}`", p.stderr)
            self.assertIn("refused the credentials", p.stderr)
            self.assertNotIn("wrong-password", p.stderr + p.stdout)
        # A token server that grants anonymous users nothing (a private repository).
        with tempfile.TemporaryDirectory() as tmp:
            with TokenServer(tmp, users={}, anonymous_pull=False) as tokens, Registry(token=tokens) as reg:
                ref = f"{reg.host}/{REPO}"
                p = run([OCIFS, "inspect", EXAMPLE, "--base", ref, "--deps", DEPS, "--no-cache"],
                        check=False, env={"REGISTRY_AUTH_FILE": f"{tmp}/none.json", "DOCKER_CONFIG": tmp})
                self.assertNotEqual(p.returncode, 0)
                self.assertIn(f"base `{ref}`", p.stderr)
                self.assertIn("library/python", p.stderr)
                self.assertNotIn("Traceback", p.stderr)


class RegistryFaultTest(WithRegistryBase, unittest.TestCase):
    """ocifs -> FaultProxy -> docker-registry (Bearer tokens): transient faults are ridden out,
    permanent ones fail fast, and the mount transfers only manifests and config."""

    # Anonymous users may pull, not push: the base is pushed by a user of the token server's own.
    AUTH, USER, PASSWORD = "bearer", "pusher", "push-pass"

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.base_manifest = manifest_of(BASE)

    def test_transient_faults_still_give_a_correct_image(self):
        layer = self.base_manifest["layers"][0]
        config = self.base_manifest["config"]["digest"]
        faults = [
            Fault("GET", r"/manifests/3\.11-slim$", "status", status=503),
            # The token the manifest was fetched with expires before the config is asked for.
            Fault("GET", f"/blobs/{config}$", "expire"),
            Fault("GET", f"/blobs/{config}$", "status", status=429, headers=[("Retry-After", "1")]),
            Fault("GET", f"/blobs/{layer['digest']}$", "reset"),
            Fault("GET", f"/blobs/{layer['digest']}$", "status", status=502),
        ]
        with tempfile.TemporaryDirectory() as tmp, FaultProxy(self.reg.port, faults) as proxy:
            ref = f"{proxy.host}/{REPO}"
            started = time.monotonic()
            with Mount(EXAMPLE, "--base", ref, "--deps", DEPS, "--cache-dir", f"{tmp}/cache", "--no-plugins") as m:
                # Lazy: the mount moved manifests and the config, no layer byte.
                at_mount = proxy.requests()
                self.assertFalse([r for r in at_mount if "/blobs/" in r[1] and r[1].endswith(layer["digest"])])
                moved = sum(r[3] for r in at_mount)
                self.assertLess(moved, 64 * 1024, at_mount)
                manifest = manifest_of(m.path)
                self.assertEqual(manifest["layers"][0]["digest"], layer["digest"])
                # Every blob read through the mount is checked: the base layer arrives whole.
                assert_layout_ok(self, m.path)
                out, _ = runc_run(m.path, "latest")
                self.assertTrue(out.startswith("Hello, world! "), out)
            for f in faults:
                self.assertEqual(f.fired, 1, f"fault {f.kind} {f.path.pattern} did not fire")
            # The reset cut the layer half-way; the next request resumed with Range (206) or
            # restarted (200) after the 502, and the layer moved no more than about twice.
            layer_bytes = sum(r[3] for r in proxy.requests() if r[1].endswith(layer["digest"]))
            self.assertLessEqual(layer_bytes, 2 * layer["size"])
            self.assertGreaterEqual(layer_bytes, layer["size"])
            self.assertLess(time.monotonic() - started, 120)

    def test_permanent_client_errors_fail_fast(self):
        for status, want in [(403, "denied"), (404, "not found")]:
            with self.subTest(status=status), tempfile.TemporaryDirectory() as tmp:
                faults = [Fault("GET", r"/manifests/", "status", count=100, status=status)]
                with FaultProxy(self.reg.port, faults) as proxy:
                    ref = f"{proxy.host}/{REPO}"
                    p = run([OCIFS, "inspect", EXAMPLE, "--base", ref, "--deps", DEPS, "--no-cache"],
                            check=False)
                    self.assertNotEqual(p.returncode, 0)
                    self.assertIn(f"base `{ref}`", p.stderr)
                    self.assertIn(want, p.stderr)
                    self.assertEqual(faults[0].fired, 1, proxy.requests())


def make_two_platform_base(dest):
    """An OCI layout whose `3.11-slim` is an image index: the test base for linux/amd64 and a tiny
    synthetic linux/arm64 image (one uncompressed layer with /etc/os-release)."""
    shutil.copytree(BASE, dest)
    top = read_json(f"{BASE}/index.json")["manifests"][0]

    def put(data):
        digest = hashlib.sha256(data).hexdigest()
        with open(f"{dest}/blobs/sha256/{digest}", "wb") as f:
            f.write(data)
        return {"digest": f"sha256:{digest}", "size": len(data)}

    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as t:
        data = b'PRETTY_NAME="synthetic arm64 base for the ocifs tests"\n'
        info = tarfile.TarInfo("etc/os-release")
        info.size, info.mtime, info.mode = len(data), 1700000000, 0o644
        t.addfile(info, io.BytesIO(data))
    layer = put(buf.getvalue())
    config = put(json.dumps({"architecture": "arm64", "os": "linux",
                             "config": {"Env": ["PATH=/usr/local/bin:/usr/bin:/bin"]},
                             "rootfs": {"type": "layers", "diff_ids": [layer["digest"]]}}).encode())
    arm = put(json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
                          "config": {"mediaType": "application/vnd.oci.image.config.v1+json", **config},
                          "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar", **layer}]}).encode())
    index = put(json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json",
                            "manifests": [
                                {"mediaType": top["mediaType"], "digest": top["digest"], "size": top["size"],
                                 "platform": {"os": "linux", "architecture": "amd64"}},
                                {"mediaType": "application/vnd.oci.image.manifest.v1+json", **arm,
                                 "platform": {"os": "linux", "architecture": "arm64"}}]}).encode())
    with open(f"{dest}/index.json", "w") as f:
        json.dump({"schemaVersion": 2, "manifests": [
            {"mediaType": "application/vnd.oci.image.index.v1+json", **index,
             "annotations": {"org.opencontainers.image.ref.name": "3.11-slim"}}]}, f)


class MirrorAndMultiPlatformTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.reg = Registry().__enter__()
        cls.dir = tempfile.mkdtemp(prefix="ocifs-multi-")
        make_two_platform_base(f"{cls.dir}/base")
        run(["skopeo", "copy", "--all", "--dest-tls-verify=false", f"oci:{cls.dir}/base:3.11-slim",
             f"docker://{cls.reg.host}/{REPO}"])

    @classmethod
    def tearDownClass(cls):
        cls.reg.__exit__(None, None, None)
        shutil.rmtree(cls.dir, ignore_errors=True)

    def test_mirror_serves_the_base_and_a_dead_mirror_falls_back(self):
        with Registry() as mirror, tempfile.TemporaryDirectory() as tmp:
            run(["skopeo", "copy", "--all", "--dest-tls-verify=false", f"oci:{self.dir}/base:3.11-slim",
                 f"docker://{mirror.host}/cache/{REPO}"])
            origin = "registry.invalid"  # never reached: the mirror has the image
            before = len(mirror.requests())
            p = run([OCIFS, "build", EXAMPLE, "--output", f"{tmp}/out", "--base", f"{origin}/{REPO}",
                     "--registry-mirror", f"{origin}={mirror.host}/cache", "--deps", DEPS,
                     "--cache-dir", f"{tmp}/cache", "--no-plugins"])
            self.assertTrue([r for r in mirror.requests()[before:] if "/v2/cache/library/python/" in r])
            self.assertEqual(manifest_of(f"{tmp}/out")["annotations"]["org.opencontainers.image.base.name"],
                             f"{origin}/{REPO}")
            # The mirror from [tool.ocifs]; a dead mirror first: a warning, then the registry.
            project = f"{tmp}/project"
            shutil.copytree(EXAMPLE, project)
            with open(f"{project}/pyproject.toml") as f:
                text = f.read()
            self.assertIn("[tool.ocifs]\n", text)
            with open(f"{project}/pyproject.toml", "w") as f:
                f.write(text.replace("[tool.ocifs]\n",
                                     f'[tool.ocifs]\nregistry-mirror = ["{self.reg.host}=127.0.0.1:1"]\n', 1))
            before = len(self.reg.requests())
            p = run([OCIFS, "build", project, "--output", f"{tmp}/out2", "--base", f"{self.reg.host}/{REPO}",
                     "--deps", DEPS, "--cache-dir", f"{tmp}/cache2", "--no-plugins"])
            self.assertIn(f"registry mirror `{self.reg.host}=127.0.0.1:1`", p.stderr)
            self.assertTrue(self.reg.requests()[before:])
            # The same base and dependencies (the application layer has the edited pyproject.toml).
            self.assertEqual(manifest_of(f"{tmp}/out2")["layers"][:2], manifest_of(f"{tmp}/out")["layers"][:2])

    def test_two_platforms_make_an_index_that_skopeo_copies_whole(self):
        ref = f"{self.reg.host}/{REPO}"
        with tempfile.TemporaryDirectory() as tmp:
            with Mount(EXAMPLE, "--base", ref, "--platform", "linux/amd64,linux/arm64", "--deps", DEPS,
                       "--cache-dir", f"{tmp}/cache") as m:
                entries = read_json(f"{m.path}/index.json")["manifests"]
                top = entries[0]
                self.assertEqual(top["mediaType"], "application/vnd.oci.image.index.v1+json")
                # Plugin artifacts per platform: TAG.PLATFORM.SUFFIX.
                refs = {e["annotations"]["org.opencontainers.image.ref.name"] for e in entries}
                self.assertIn("latest.linux-amd64.sbom.spdx", refs)
                self.assertIn("latest.linux-arm64.sbom.spdx", refs)
                index = read_json(f"{m.path}/blobs/sha256/{top['digest'][7:]}")
                self.assertEqual([d["platform"]["architecture"] for d in index["manifests"]], ["amd64", "arm64"])
                manifests = [read_json(f"{m.path}/blobs/sha256/{d['digest'][7:]}") for d in index["manifests"]]
                self.assertEqual(manifests[0]["layers"][-1], manifests[1]["layers"][-1], "one application layer")
                self.assertNotEqual(manifests[0]["layers"][0], manifests[1]["layers"][0])
                assert_layout_ok(self, m.path)
                # skopeo copies the index whole, and the registry lists both platforms.
                run(["skopeo", "copy", "--all", "--dest-tls-verify=false", f"oci:{m.path}:latest",
                     f"docker://{self.reg.host}/app:multi"])
                raw = json.loads(run(["skopeo", "inspect", "--raw", "--tls-verify=false",
                                      f"docker://{self.reg.host}/app:multi"]).stdout)
                self.assertEqual(raw["mediaType"], "application/vnd.oci.image.index.v1+json")
                self.assertEqual(sorted((d["platform"]["os"], d["platform"]["architecture"])
                                        for d in raw["manifests"]),
                                 [("linux", "amd64"), ("linux", "arm64")])
                # The host's platform out of the index runs.
                run(["skopeo", "copy", f"oci:{m.path}:latest", f"oci:{tmp}/amd64:latest"])
                out, _ = runc_run(f"{tmp}/amd64", "latest")
                self.assertTrue(out.startswith("Hello, world! "), out)


if __name__ == "__main__":
    unittest.main()
