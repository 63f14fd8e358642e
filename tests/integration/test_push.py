"""`ocifs push`: the image of a project (or of a mount) into docker-registry on 127.0.0.1, without
authentication, with htpasswd (Basic) and with Bearer tokens (netlib's token server); through the
fault-injecting proxy; and the SBOM artifacts with their fallback referrers tag.

Every push is checked from the outside: `skopeo copy docker://... oci:BACK`, the conformance
checker on BACK, and the image run under runc. What was uploaded is counted from the registry's
access log.
"""

import hashlib
import json
import re
import shutil
import subprocess
import sys
import tarfile
import time
import tempfile
import unittest
import urllib.parse
import urllib.request

from itlib import (BASE_REF, DEPS, EXAMPLE, OCIFS, Mount, Registry, assert_layout_ok, assert_sboms_ok, read_bytes,
                   read_json, run, runc_run, wait_until, write_text)
from netlib import Fault, FaultProxy
from test_registry import REPO, WithRegistryBase, push_base, write_auth_file

EDIT = ("src/hello/cli.py", "Hello, {name}!", "Hi there, {name}!")


def completed_uploads(lines):
    """The digests whose upload a PUT completed, in access-log lines "METHOD PATH"."""
    out = []
    for line in lines:
        m = re.match(r"PUT /v2/[^ ]+/blobs/uploads/[^ ]*[?&]digest=([^& ]+)", line)
        if m:
            out.append(urllib.parse.unquote(m.group(1)))
    return out


class PushCase(unittest.TestCase):
    """A copy of the example project to edit, a cache, and the helpers every push test uses."""

    def setUp(self):
        self.tmp_dir = tempfile.TemporaryDirectory()
        self.tmp = self.tmp_dir.name
        self.project = f"{self.tmp}/project"
        shutil.copytree(EXAMPLE, self.project)
        self.cache = f"{self.tmp}/cache"

    def tearDown(self):
        self.tmp_dir.cleanup()

    def push(self, ref, *args, env=None, check=True, project=None):
        p = run([OCIFS, "push", project or self.project, ref, "--cache-dir", self.cache, "--json",
                 *args], env=env, check=check)
        return (json.loads(p.stdout) if p.returncode == 0 else None), p

    def edit(self):
        path, old, new = EDIT
        with open(f"{self.project}/{path}") as f:
            text = f.read()
        self.assertIn(old, text)
        write_text(f"{self.project}/{path}", text.replace(old, new))

    def pull_and_run(self, ref, creds=None):
        """skopeo copies `ref` into a layout, which must pass the checker and run; its output."""
        back = tempfile.mkdtemp(prefix="back-", dir=self.tmp)
        tag = ref.rsplit(":", 1)[1]
        auth = ["--src-creds", creds] if creds else []
        run(["skopeo", "copy", "--src-tls-verify=false", *auth, f"docker://{ref}", f"oci:{back}:{tag}"])
        assert_layout_ok(self, back)
        out, _ = runc_run(back, tag)
        return out, back

    def blob(self, report, role):
        for b in report["blobs"]:
            if b["role"] == role:
                return b
        self.fail(f"no blob {role} in {report['blobs']}")


class RegistryPushCase(WithRegistryBase, PushCase):
    """A PushCase with docker-registry (no authentication) holding the base at `base`."""


class PushTest(RegistryPushCase):

    def test_push_runs_and_a_repush_uploads_only_what_changed(self):
        ref = f"{self.reg.host}/hello:v1"
        flags = ["--base", self.base, "--deps", DEPS, "--no-plugins", "--also-tag", "stable"]
        before = len(self.reg.requests())
        report, p = self.push(ref, *flags)
        self.assertIn("pushed", p.stderr)
        log = self.reg.requests()[before:]
        # The base layer came from library/python by a mount; nothing of it was uploaded.
        base_layer = self.blob(report, "layer 1/3")
        self.assertEqual(base_layer["outcome"], "mounted")
        self.assertEqual(report["mounted_from"], "library/python")
        self.assertIn(f"POST /v2/hello/blobs/uploads/?mount={base_layer['digest']}&from=library%2Fpython", log)
        self.assertNotIn(base_layer["digest"], completed_uploads(log))
        # The own layers were compressed on the way: gzip, and the config keeps their diff_ids.
        for role in ("layer 2/3", "layer 3/3"):
            b = self.blob(report, role)
            self.assertEqual(b["outcome"], "uploaded")
            self.assertIn("uncompressed_digest", b)
        out, back = self.pull_and_run(ref)
        self.assertTrue(out.startswith("Hello, world! "), out)
        manifest = read_json(f"{back}/blobs/sha256/{read_json(f'{back}/index.json')['manifests'][0]['digest'][7:]}")
        self.assertEqual([l["mediaType"] for l in manifest["layers"]],
                         ["application/vnd.oci.image.layer.v1.tar+gzip"] * 3)
        config = read_json(f"{back}/blobs/sha256/{manifest['config']['digest'][7:]}")
        self.assertEqual(config["rootfs"]["diff_ids"][1:],
                         [self.blob(report, r)["uncompressed_digest"] for r in ("layer 2/3", "layer 3/3")])
        self.assertEqual(run(["skopeo", "inspect", "--tls-verify=false", "--raw",
                              f"docker://{self.reg.host}/hello:stable"]).stdout.encode(),
                         read_bytes(f"{back}/blobs/sha256/{report['manifest']['digest'][7:]}"))

        # One application file edited: that layer, the config and the manifest go; nothing else.
        self.edit()
        before = len(self.reg.requests())
        again, _ = self.push(ref, *flags)
        log = self.reg.requests()[before:]
        self.assertEqual(sorted(completed_uploads(log)),
                         sorted([self.blob(again, "layer 3/3")["digest"], self.blob(again, "config")["digest"]]))
        self.assertEqual([b["outcome"] for b in again["blobs"]], ["uploaded", "present", "present", "uploaded"])
        self.assertFalse([l for l in log if l.startswith("PATCH ")])
        self.assertFalse([l for l in log if "mount=" in l])
        self.assertLess(again["total_bytes_sent"], 64 << 10)
        self.assertEqual(len([l for l in log if l.startswith("PUT /v2/hello/manifests/")]), 3)  # digest, v1, stable
        out, _ = self.pull_and_run(ref)
        self.assertTrue(out.startswith("Hi there, world! "), out)

        # Same inputs, same digest: pushing again changes nothing and sends no blob.
        third, _ = self.push(ref, *flags)
        self.assertEqual(third["manifest"]["digest"], again["manifest"]["digest"])
        self.assertEqual(third["total_bytes_sent"], 0)

    def test_push_from_a_mount_with_zstd_and_chunks(self):
        ref = f"{self.reg.host}/from-mount:latest"
        with Mount(self.project, "--base", BASE_REF, "--deps", DEPS, "--no-plugins",
                   "--cache-dir", self.cache) as m:
            before = len(self.reg.requests())
            p = run([OCIFS, "push", "--mount", m.path, ref, "--compression", "zstd", "--chunk-size", "256K",
                     "--cache-dir", self.cache, "--json"])
            report = json.loads(p.stdout)
        log = self.reg.requests()[before:]
        # A base from a local layout is not in the registry: uploaded, as the layout holds it
        # (gzip), in 256 KiB chunks; the own layers as zstd.
        base_layer = self.blob(report, "layer 1/3")
        self.assertEqual(base_layer["outcome"], "uploaded")
        self.assertNotIn("uncompressed_digest", base_layer)
        patches = [l for l in log if l.startswith("PATCH /v2/from-mount/blobs/uploads/")]
        self.assertGreaterEqual(len(patches), base_layer["size"] // (256 << 10))
        self.assertIn("layer 2/3", p.stderr)
        back = f"{self.tmp}/back"
        run(["skopeo", "copy", "--src-tls-verify=false", f"docker://{ref}", f"oci:{back}:latest"])
        assert_layout_ok(self, back)
        manifest = read_json(f"{back}/blobs/sha256/{read_json(f'{back}/index.json')['manifests'][0]['digest'][7:]}")
        self.assertEqual([l["mediaType"].rsplit("+", 1)[1] for l in manifest["layers"]], ["gzip", "zstd", "zstd"])
        # umoci cannot unpack zstd layers, so no runc here: the layers decompress to the diff_ids
        # (and the gzip tests run their images).
        config = read_json(f"{back}/blobs/sha256/{manifest['config']['digest'][7:]}")
        for layer, diff_id in list(zip(manifest["layers"], config["rootfs"]["diff_ids"]))[1:]:
            raw = subprocess.run(["zstd", "-dc", f"{back}/blobs/sha256/{layer['digest'][7:]}"], check=True,
                                 capture_output=True).stdout
            self.assertEqual("sha256:" + hashlib.sha256(raw).hexdigest(), diff_id)

    def test_bad_references_and_flags_are_clear_errors(self):
        cases = [
            ([f"{self.reg.host}/hello@sha256:{'0' * 64}"], "push to a tag, not a digest"),
            ([f"{self.reg.host}/Hello:v1"], "Hello"),
            ([f"{self.reg.host}/hello:v1", "--compression", "brotli"], "--compression: unknown compression `brotli`"),
            ([f"{self.reg.host}/hello:v1", "--compression", "gzip:12"], "from 1 to 9"),
            ([f"{self.reg.host}/hello:v1", "--chunk-size", "1K"], "--chunk-size `1K`"),
            ([f"{self.reg.host}/hello:v1", "--also-tag", "-bad"], "--also-tag"),
        ]
        for args, message in cases:
            with self.subTest(args=args):
                _, p = self.push(*args, "--no-plugins", "--base", self.base, "--deps", DEPS, check=False)
                self.assertEqual(p.returncode, 1, p.stderr)
                self.assertIn(message, p.stderr)
        p = run([OCIFS, "push", "--mount", f"{self.tmp}/nothing", f"{self.reg.host}/hello:v1"], check=False)
        self.assertEqual(p.returncode, 1)
        self.assertIn("not an ocifs mount or OCI layout", p.stderr)

    def test_sbom_artifacts_are_pushed_with_their_subject_and_the_fallback_tag(self):
        ref = f"{self.reg.host}/with-sbom:v1"
        report, _ = self.push(ref, "--base", self.base, "--deps", DEPS)
        kinds = sorted(r["artifactType"] for r in report["referrers"])
        self.assertEqual(kinds, ["application/spdx+json", "application/vnd.cyclonedx+json"])
        digest = report["manifest"]["digest"]
        fallback = f"sha256-{digest[7:]}"
        index = json.loads(run(["skopeo", "inspect", "--tls-verify=false", "--raw",
                                f"docker://{self.reg.host}/with-sbom:{fallback}"]).stdout)
        self.assertEqual(index["mediaType"], "application/vnd.oci.image.index.v1+json")
        self.assertEqual(sorted(m["artifactType"] for m in index["manifests"]), kinds)
        for r, m in zip(sorted(report["referrers"], key=lambda r: r["manifest"]), sorted(index["manifests"], key=lambda m: m["digest"])):
            self.assertEqual(r["fallback_tag"], fallback)
            self.assertEqual(m["digest"], r["manifest"])
            artifact = json.loads(run(["skopeo", "inspect", "--tls-verify=false", "--raw",
                                       f"docker://{self.reg.host}/with-sbom@{m['digest']}"]).stdout)
            self.assertEqual(artifact["subject"]["digest"], digest)
            doc = artifact["layers"][0]
            with urllib.request.urlopen(f"http://{self.reg.host}/v2/with-sbom/blobs/{doc['digest']}") as r:
                body = r.read()
            self.assertEqual(hashlib.sha256(body).hexdigest(), doc["digest"][7:])
            write_text(f"{self.tmp}/doc.json", body.decode())
            assert_sboms_ok(self, f"{self.tmp}/doc.json")
        # Pushed again: each artifact is listed once.
        self.push(ref, "--base", self.base, "--deps", DEPS)
        index = json.loads(run(["skopeo", "inspect", "--tls-verify=false", "--raw",
                                f"docker://{self.reg.host}/with-sbom:{fallback}"]).stdout)
        self.assertEqual(len(index["manifests"]), 2)


class PushBasicAuthTest(PushCase):
    USER, PASSWORD = "ocifs-pusher", "basic-secret-not-for-logs"

    def test_push_with_basic_credentials(self):
        with Registry(users={self.USER: self.PASSWORD}) as reg:
            push_base(reg, f"{self.USER}:{self.PASSWORD}")
            env = {"REGISTRY_AUTH_FILE": f"{self.tmp}/auth.json", "DOCKER_CONFIG": self.tmp}
            ref = f"{reg.host}/hello:v1"
            flags = ["--base", f"{reg.host}/{REPO}", "--deps", DEPS, "--no-plugins"]
            # No credentials: a clear error, fast.
            _, p = self.push(ref, *flags, env=env, check=False)
            self.assertEqual(p.returncode, 1)
            self.assertIn("wants a user name and password", p.stderr)
            write_auth_file(f"{self.tmp}/auth.json", reg.host, self.USER, self.PASSWORD)
            report, p = self.push(ref, *flags, env=env)
            self.assertNotIn(self.PASSWORD, p.stdout + p.stderr)
            self.assertEqual(self.blob(report, "layer 1/3")["outcome"], "mounted")
            out, _ = self.pull_and_run(ref, f"{self.USER}:{self.PASSWORD}")
            self.assertTrue(out.startswith("Hello, world! "), out)


class PushBearerAndFaultsTest(WithRegistryBase, PushCase):
    """docker-registry in token mode behind the fault-injecting proxy."""
    AUTH, USER, PASSWORD = "bearer", "ocifs-pusher", "bearer-secret-not-for-logs"

    def env_for(self, host):
        write_auth_file(f"{self.tmp}/auth.json", host, self.USER, self.PASSWORD)
        return {"REGISTRY_AUTH_FILE": f"{self.tmp}/auth.json", "DOCKER_CONFIG": self.tmp}

    def test_push_with_tokens_asks_for_push_and_the_mount_source(self):
        ref = f"{self.reg.host}/hello:v1"
        issued = len(self.tokens.issued)
        report, p = self.push(ref, "--base", self.base, "--deps", DEPS, "--no-plugins",
                              env=self.env_for(self.reg.host))
        self.assertNotIn(self.PASSWORD, p.stdout + p.stderr)
        self.assertEqual(self.blob(report, "layer 1/3")["outcome"], "mounted")
        scopes = [s for _, asked, _ in self.tokens.issued[issued:] for s in asked]
        self.assertIn("repository:hello:pull,push", scopes)
        self.assertIn("repository:library/python:pull", scopes)
        out, _ = self.pull_and_run(ref, f"{self.USER}:{self.PASSWORD}")
        self.assertTrue(out.startswith("Hello, world! "), out)

    def test_faults_mid_push_end_in_a_correct_image(self):
        uploads = r"^/v2/faulty/blobs/uploads/"
        faults = [
            Fault("HEAD", r"^/v2/faulty/blobs/sha256:", "status", status=429, headers=[("Retry-After", "1")]),
            Fault("PATCH", uploads, "status", status=503),
            Fault("PATCH", uploads, "cut"),    # half a chunk reaches the registry, then the link drops
            Fault("PATCH", uploads, "expire"),  # the token expires mid-push
        ]
        with FaultProxy(self.reg.port, faults) as proxy:
            ref = f"{proxy.host}/faulty:v1"
            issued = len(self.tokens.issued)
            report, p = self.push(ref, "--base", f"{proxy.host}/{REPO}", "--deps", DEPS, "--no-plugins",
                                  "--chunk-size", "128K", "--jobs", "1", env=self.env_for(proxy.host))
            for f in faults:
                self.assertEqual(f.fired, 1, f"{f.method} {f.kind} fired {f.fired} times")
            log = proxy.requests()
        self.assertGreater(len(self.tokens.issued) - issued, 1, "no new token after the expiry")
        deps = self.blob(report, "layer 2/3")
        self.assertEqual(deps["outcome"], "uploaded")
        self.assertGreaterEqual(deps.get("restarts", 0) + deps.get("resumes", 0), 2)
        # Chunks after the faults went on from where the registry's bytes ended: every PATCH
        # the registry answered 202 extends the upload it belongs to, none twice.
        self.assertTrue([r for r in log if r[0] == "PATCH" and r[2] == "cut"])
        out, _ = self.pull_and_run(f"{self.reg.host}/faulty:v1", f"{self.USER}:{self.PASSWORD}")
        self.assertTrue(out.startswith("Hello, world! "), out)

    def test_a_permanent_refusal_fails_fast(self):
        faults = [Fault("POST", r"^/v2/refused/blobs/uploads/", "status", count=100, status=403)]
        with FaultProxy(self.reg.port, faults) as proxy:
            _, p = self.push(f"{proxy.host}/refused:v1", "--base", f"{proxy.host}/{REPO}", "--deps", DEPS,
                             "--no-plugins", "--jobs", "1", env=self.env_for(proxy.host), check=False)
            posts = [r for r in proxy.requests() if r[0] == "POST"]
        self.assertEqual(p.returncode, 1)
        self.assertIn("HTTP 403", p.stderr)
        self.assertIn(f"`{proxy.host}/refused`", p.stderr)
        self.assertEqual(len(posts), 1, posts)
        self.assertNotIn(self.PASSWORD, p.stderr)


class RegistrySyncTest(RegistryPushCase):
    """The registry-sync plugin on a live mount: every generation reaches the registry."""


    def configure(self, repository, extra=""):
        with open(f"{self.project}/pyproject.toml", "a") as f:
            f.write(f'\n[tool.ocifs.plugins.registry-sync]\nrepository = "{repository}"\n'
                    f'debounce = "200ms"\n{extra}')

    def registry_config_digest(self, repo, tag="latest"):
        p = run(["skopeo", "inspect", "--tls-verify=false", "--raw", f"docker://{self.reg.host}/{repo}:{tag}"],
                check=False)
        return json.loads(p.stdout)["config"]["digest"] if p.returncode == 0 else None

    def mount_config_digest(self, mnt):
        top = read_json(f"{mnt}/index.json")["manifests"][0]["digest"]
        return read_json(f"{mnt}/blobs/sha256/{top[7:]}")["config"]["digest"]

    def wait_pushed(self, m, repo, seconds, old=None):
        """Seconds until the registry's `latest` has the mount's current config (a push keeps
        it), and that is not `old` (the config before an edit)."""
        start = time.monotonic()
        while time.monotonic() - start < seconds:
            want = self.mount_config_digest(m.path)
            if want != old and self.registry_config_digest(repo) == want:
                return time.monotonic() - start
            time.sleep(0.1)
        status = run([OCIFS, "status", m.path], check=False).stdout
        self.fail(f"the registry did not get the mount's image within {seconds} s\n{status}")

    def wait_status_pushed(self, m):
        """The plugin says `pushed` (the registry has the tags a moment before the push exits)."""
        deadline = time.monotonic() + 10
        while True:
            status = json.loads(run([OCIFS, "status", "--json", m.path]).stdout)["plugins"]["registry-sync"]
            if status["state"] == "pushed" or time.monotonic() > deadline:
                break
            time.sleep(0.05)
        self.assertEqual(status["state"], "pushed", status)

    def test_each_edit_reaches_the_registry_and_the_last_of_a_burst_wins(self):
        self.configure(f"{self.reg.host}/synced")
        git = ["git", "-C", self.project, "-c", "user.name=t", "-c", "user.email=t@example.invalid"]
        run(git + ["init", "-q"])
        write_text(f"{self.project}/.gitignore", ".venv/\n")
        run(git + ["add", "-A"])
        run(git + ["commit", "-qm", "init"])
        commit = run(git + ["rev-parse", "--short", "HEAD"]).stdout.strip()
        with Mount(self.project, "--base", self.base, "--deps", DEPS, "--disable-plugin", "sbom",
                   "--cache-dir", self.cache) as m:
            self.wait_pushed(m, "synced", 30)
            # The default tags: latest, the version, and the commit of the clean checkout.
            for tag in ("0.1.0", f"sha-{commit}"):
                self.assertEqual(self.registry_config_digest("synced", tag), self.mount_config_digest(m.path))
            self.wait_status_pushed(m)
            self.assertIn("pushed", run([OCIFS, "status", m.path]).stdout)

            # One edit: in the registry within 5 s (the mount's own debounce and build included).
            before = self.mount_config_digest(m.path)
            self.edit()
            took = self.wait_pushed(m, "synced", 5, old=before)
            print(f"\n  edit to registry: {took:.2f} s", file=sys.stderr)

            # Three edits in quick succession: the last one ends in the registry.
            path = f"{self.project}/src/hello/cli.py"
            before = self.mount_config_digest(m.path)
            for n in range(3):
                with open(path) as f:
                    text = f.read()
                write_text(path, re.sub(r"Hi there( \d)?, ", f"Hi there {n}, ", text))
                time.sleep(0.15)
            def serves_last_edit():
                top = read_json(f"{m.path}/index.json")["manifests"][0]["digest"]
                app = read_json(f"{m.path}/blobs/sha256/{top[7:]}")["layers"][-1]["digest"]
                with tarfile.open(f"{m.path}/blobs/sha256/{app[7:]}") as tar:
                    cli = [t for t in tar.getmembers() if t.name.endswith("hello/cli.py")][0]
                    return b"Hi there 2, " in tar.extractfile(cli).read()
            wait_until(serves_last_edit, 15, "the mount to serve the last edit")
            self.wait_pushed(m, "synced", 15, old=before)
            out, _ = self.pull_and_run(f"{self.reg.host}/synced:latest")
            self.assertTrue(out.startswith("Hi there 2, world! "), out)

    def test_a_superseded_push_gives_up_its_upload_and_the_newest_is_pushed(self):
        # The first chunk of the first push is held 3 s at the proxy; an edit meanwhile makes a
        # newer generation, so that push is stopped (it DELETEs its upload session once the
        # chunk returns) and the newest one is pushed.
        uploads = r"^/v2/superseded/blobs/uploads/."
        slow = Fault("PATCH", uploads, "delay", seconds=3)
        with FaultProxy(self.reg.port, [slow]) as proxy:
            self.configure(f"{proxy.host}/superseded")
            with Mount(self.project, "--base", self.base, "--deps", DEPS, "--disable-plugin", "sbom",
                       "--cache-dir", self.cache) as m:
                wait_until(lambda: slow.fired == 1, 30, "the first push's first chunk")
                first = self.mount_config_digest(m.path)
                self.edit()
                self.wait_pushed(m, "superseded", 30, old=first)
                log = proxy.requests()
                deleted = [i for i, (method, _, _, _) in enumerate(log) if method == "DELETE"]
                self.assertEqual(len(deleted), 1, log)
                self.assertRegex(log[deleted[0]][1], uploads)
                self.assertEqual(log[deleted[0]][2], 204)
                # The abandoned push put no manifest: every manifest PUT came after it gave up.
                puts = [i for i, (method, path, _, _) in enumerate(log)
                        if method == "PUT" and "/manifests/" in path]
                self.assertTrue(puts)
                self.assertGreater(min(puts), deleted[0], log)
                self.wait_status_pushed(m)
                self.assertEqual(self.registry_config_digest("superseded"), self.mount_config_digest(m.path))
                out, _ = self.pull_and_run(f"{self.reg.host}/superseded:latest")
                self.assertIn(EDIT[2].split(",")[0], out)

    def test_a_push_that_fails_is_retried_and_shown(self):
        self.configure("127.0.0.1:9/unreachable")  # the discard port: nothing listens
        with Mount(self.project, "--base", self.base, "--deps", DEPS, "--disable-plugin", "sbom",
                   "--cache-dir", self.cache) as m:
            def retrying():
                s = json.loads(run([OCIFS, "status", "--json", m.path]).stdout).get("plugins", {})
                s = s.get("registry-sync", {})
                return s.get("state") == "retrying" and s.get("failures", 0) >= 2
            wait_until(retrying, 30, "two failed attempts in the status")
            text = run([OCIFS, "status", m.path]).stdout
            self.assertIn("failed to push (attempt", text)
            self.assertIn("127.0.0.1:9", text)

    def test_bad_settings_fail_the_mount_clearly(self):
        cases = [
            ('repository = "127.0.0.1:5000/App"\n', "`127.0.0.1:5000/App` is not HOST[:PORT]/NAME"),
            ('repository = "127.0.0.1:5000/app:v1"\n', "tags go in `tags`"),
            ('repository = "127.0.0.1:5000/app"\ncompression = "lz4"\n', "setting `compression`"),
            ('repository = "127.0.0.1:5000/app"\ndebounce = "soon"\n', "setting `debounce`"),
            ('repository = "127.0.0.1:5000/app"\ncolour = "blue"\n', "unknown setting `colour`"),
        ]
        with open(f"{self.project}/pyproject.toml") as f:
            original = f.read()
        for settings, message in cases:
            with self.subTest(settings=settings):
                write_text(f"{self.project}/pyproject.toml",
                           original + "\n[tool.ocifs.plugins.registry-sync]\n" + settings)
                p = run([OCIFS, "inspect", self.project, "--base", self.base, "--deps", DEPS], check=False)
                self.assertEqual(p.returncode, 1, p.stderr)
                self.assertIn("registry-sync", p.stderr)
                self.assertIn(message, p.stderr)


if __name__ == "__main__":
    unittest.main()
