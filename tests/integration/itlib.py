"""Shared by the integration tests (test_*.py): the environment run_integration.sh sets, and helpers
for mounts, commands, layouts and containers.

run_integration.sh sets OCIFS_BIN, OCIFS_BASE (a Debian Python base as an OCI layout), OCIFS_DEPS
(a site-packages tree from Debian packages), OCIFS_PYTHON, OCIFS_ROOT, OCIFS_BUILD_DIR, and
OCIFS_CONFORMANCE with OCIFS_CONFORMANCE_PYTHON (empty when ../shared/conformance is absent).

Layouts, reads and SBOMs are checked by assert_layout_ok, assert_reads_ok and assert_sboms_ok:
the repository's own checks (ocicheck.py) always, ../shared/conformance's too when it is here.
"""
import atexit
import filecmp
import hashlib
import json
import os
import re
import shutil
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.request

import ocicheck

OCIFS = os.environ["OCIFS_BIN"]
BASE = os.environ["OCIFS_BASE"]
DEPS = os.environ["OCIFS_DEPS"]
# ../shared/conformance and a Python for it, or "" when they are absent (conformance.sh).
CONFORMANCE = os.environ.get("OCIFS_CONFORMANCE", "")
CONFORMANCE_PYTHON = os.environ.get("OCIFS_CONFORMANCE_PYTHON", "")
PYTHON = os.environ["OCIFS_PYTHON"]
ROOT = os.environ["OCIFS_ROOT"]
BUILD_DIR = os.environ["OCIFS_BUILD_DIR"]
EXAMPLE = os.path.join(ROOT, "examples", "hello")
BASE_REF = f"oci:{BASE}:3.11-slim"
EPOCH = "1700000000"
# A digest cache of this run's own, so that runs do not see each other's (or the user's) entries.
CACHE_HOME = tempfile.mkdtemp(prefix="ocifs-it-cache-")
atexit.register(shutil.rmtree, CACHE_HOME, ignore_errors=True)


def run(args, check=True, env=None, timeout=600, **kw):
    full_env = dict(os.environ, SOURCE_DATE_EPOCH=EPOCH, XDG_CACHE_HOME=CACHE_HOME)
    if env:
        full_env.update(env)
    if "stdout" not in kw and "stderr" not in kw:
        kw["capture_output"] = True
    p = subprocess.run(args, text=True, env=full_env, timeout=timeout, **kw)
    if check and p.returncode != 0:
        raise AssertionError(f"{args} exited {p.returncode}\nstdout:\n{p.stdout}\nstderr:\n{p.stderr}")
    return p


def conformance(tool, *args):
    """Runs ../shared/conformance/TOOL on args; None when the checkers are absent."""
    if not CONFORMANCE:
        return None
    return run([CONFORMANCE_PYTHON, os.path.join(CONFORMANCE, tool), *args], check=False)


def assert_layout_ok(test, layout, strict_packing=False, tags=None):
    """The layout passes ocicheck (and oci_layout_check.py when present); `tags`, when given, are
    index.json's ref names in order. Returns ocicheck's report."""
    report = ocicheck.check_layout(layout, strict_packing=strict_packing)
    test.assertTrue(report.ok, f"{layout}:\n{report.text()}")
    if tags is not None:
        test.assertEqual(report.tags, tags)
    p = conformance("oci_layout_check.py", *(["--strict-packing"] if strict_packing else []), layout)
    if p is not None:
        test.assertIn("0 failed", p.stdout.splitlines()[-1], p.stdout)
        test.assertEqual(p.returncode, 0, p.stdout)
    return report


def assert_reads_ok(test, layout):
    """Every blob reads right in order, by mmap, at random offsets and from several threads."""
    report = ocicheck.check_reads(layout)
    test.assertTrue(report.ok, report.text())
    p = conformance("blob_read_integrity.py", layout)
    if p is not None:
        test.assertRegex(p.stdout.splitlines()[-1], r"^\d+ passed, 0 failed$", p.stdout)
        test.assertEqual(p.returncode, 0, p.stdout)


def assert_sboms_ok(test, *paths):
    """The SBOM documents pass ocicheck's structure checks (and sbom_validate.py when present)."""
    report = ocicheck.check_sboms(paths)
    test.assertTrue(report.ok, report.text())
    p = conformance("sbom_validate.py", *paths)
    if p is not None:
        test.assertIn(f"{len(paths)} passed, 0 failed", p.stdout)
        test.assertEqual(p.returncode, 0, p.stdout)


def is_mounted(path):
    path = os.path.realpath(path)
    with open("/proc/self/mounts") as f:
        return any(line.split()[1] == path for line in f)


def wait_until(predicate, seconds, what):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out after {seconds} s waiting for {what}")


class Mount:
    """`ocifs mount PROJECT MNT ARGS...` for the duration of a with-block."""

    def __init__(self, project, *args, cwd=None, env=None):
        self.project, self.args, self.cwd, self.env = project, list(args), cwd, env
        self.dir = tempfile.mkdtemp(prefix="ocifs-it-")
        self.path = os.path.join(self.dir, "mnt")
        os.mkdir(self.path)

    def __enter__(self):
        run([OCIFS, "mount", self.project, self.path, *self.args], cwd=self.cwd, env=self.env)
        if not is_mounted(self.path):
            raise AssertionError("ocifs mount returned but nothing is mounted")
        return self

    def daemon_pid(self):
        out = run(["pgrep", "-f", f"ocifs mount .* {re.escape(self.path)}( |$)"], check=False).stdout.split()
        return int(out[0]) if out else None

    def __exit__(self, *exc):
        if is_mounted(self.path):
            run([OCIFS, "umount", self.path], check=False)
            wait_until(lambda: not is_mounted(self.path), 20, f"{self.path} to unmount")
        shutil.rmtree(self.dir, ignore_errors=True)


def read_json(path):
    with open(path) as f:
        return json.load(f)


def read_bytes(path):
    with open(path, "rb") as f:
        return f.read()


def write_text(path, text):
    with open(path, "w") as f:
        f.write(text)


def sha256_of(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def cached_pages(path):
    """(pages of `path` in the page cache, pages of `path`), by mincore on a read-only mapping: a
    mapping of a FUSE file sends the daemon no READ, and mincore reads no page."""
    import ctypes
    import mmap
    libc = ctypes.CDLL(None, use_errno=True)
    libc.mmap.restype = ctypes.c_void_p
    libc.mmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int, ctypes.c_int, ctypes.c_int,
                          ctypes.c_long]
    libc.munmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t]
    libc.mincore.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_char_p]
    fd = os.open(path, os.O_RDONLY)
    try:
        size = os.fstat(fd).st_size
        pages = (size + mmap.PAGESIZE - 1) // mmap.PAGESIZE
        if size == 0:
            return 0, 0
        addr = libc.mmap(None, size, mmap.PROT_READ, mmap.MAP_SHARED, fd, 0)
        if addr in (None, ctypes.c_void_p(-1).value):
            raise OSError(ctypes.get_errno(), f"mmap {path}")
        try:
            vec = ctypes.create_string_buffer(pages)
            if libc.mincore(addr, size, vec) != 0:
                raise OSError(ctypes.get_errno(), f"mincore {path}")
            return sum(b & 1 for b in vec.raw), pages
        finally:
            libc.munmap(addr, size)
    finally:
        os.close(fd)


def runc_run(layout, tag, args=None, work=None):
    """umoci unpack + runc run; returns the container's stdout. `args` replaces the process args."""
    work = work or tempfile.mkdtemp(prefix="ocifs-runc-")
    bundle = os.path.join(work, "bundle")
    try:
        run(["umoci", "unpack", "--image", f"{layout}:{tag}", bundle])
        cfg_path = os.path.join(bundle, "config.json")
        with open(cfg_path) as f:
            cfg = json.load(f)
        cfg["process"]["terminal"] = False
        if args is not None:
            cfg["process"]["args"] = args
        with open(cfg_path, "w") as f:
            json.dump(cfg, f)
        cid = f"ocifs-it-{os.getpid()}-{time.monotonic_ns()}"
        p = run(["runc", "run", "--bundle", bundle, cid], check=False, stdin=subprocess.DEVNULL, timeout=120)
        run(["runc", "delete", "--force", cid], check=False)
        if p.returncode != 0:
            raise AssertionError(f"runc run exited {p.returncode}\nstdout:\n{p.stdout}\nstderr:\n{p.stderr}")
        return p.stdout, cfg
    finally:
        shutil.rmtree(work, ignore_errors=True)


def assert_trees_identical(test, a, b):
    cmp = filecmp.dircmp(a, b)
    stack = [cmp]
    while stack:
        c = stack.pop()
        test.assertEqual(c.left_only + c.right_only, [], f"{c.left} vs {c.right}")
        _, mismatch, errors = filecmp.cmpfiles(c.left, c.right, c.common_files, shallow=False)
        test.assertEqual(mismatch + errors, [], f"{c.left}: files differ")
        stack.extend(c.subdirs.values())


EXAMPLE_ARGS = ["--base", BASE_REF, "--deps", DEPS]


def image_config(layout, tag="latest"):
    index = read_json(f"{layout}/index.json")
    desc = next(m for m in index["manifests"]
                if m.get("annotations", {}).get("org.opencontainers.image.ref.name") == tag)
    manifest = read_json(f"{layout}/blobs/sha256/{desc['digest'][7:]}")
    return read_json(f"{layout}/blobs/sha256/{manifest['config']['digest'][7:]}")


def deps_set(name):
    """The site-packages tree of make_deps.sh's set NAME (made once, cached like OCIFS_DEPS)."""
    return run(["bash", os.path.join(ROOT, "tests", "integration", "make_deps.sh"), name],
               timeout=900).stdout.strip()


class Container:
    """An image from an OCI layout run detached under runc, in a network namespace of its own.

    The test reaches the container's ports with `http_get`, a client started inside the same
    namespace (so nothing is published on the host and parallel runs cannot collide), and runs
    commands inside it with `exec` (runc exec: the image's user, environment and working dir).

    As a hardened runtime runs it (`docker run --read-only --tmpfs ...`): the root file system
    read-only, a tmpfs on each of the image's Volumes (/tmp for everyone, as docker's --tmpfs
    makes it; others the process user's own, mode 0700); `readonly=False` runs it writable.
    """

    def __init__(self, layout, tag="latest", readonly=True):
        self.layout, self.tag, self.readonly = layout, tag, readonly
        self.work = tempfile.mkdtemp(prefix="ocifs-it-ctr-")
        self.id = f"ocifs-it-{os.getpid()}-{time.monotonic_ns()}"
        self.netns = self.id
        self.log_path = os.path.join(self.work, "container.log")

    def __enter__(self):
        try:
            self._start()
        except BaseException:
            self.__exit__(None, None, None)
            raise
        return self

    def _start(self):
        bundle = os.path.join(self.work, "bundle")
        run(["umoci", "unpack", "--image", f"{self.layout}:{self.tag}", bundle])
        run(["ip", "netns", "add", self.netns])
        run(["ip", "netns", "exec", self.netns, "ip", "link", "set", "lo", "up"])
        cfg_path = os.path.join(bundle, "config.json")
        cfg = read_json(cfg_path)
        self.config = cfg
        cfg["process"]["terminal"] = False
        namespaces = [ns for ns in cfg["linux"]["namespaces"] if ns["type"] != "network"]
        namespaces.append({"type": "network", "path": f"/var/run/netns/{self.netns}"})
        cfg["linux"]["namespaces"] = namespaces
        if self.readonly:
            cfg["root"]["readonly"] = True
            user = cfg["process"]["user"]
            volumes = image_config(self.layout, self.tag)["config"].get("Volumes") or {}
            for path in sorted(volumes):
                options = ["nosuid", "nodev", "mode=1777"] if path == "/tmp" else \
                    ["nosuid", "nodev", "mode=0700", f"uid={user['uid']}", f"gid={user['gid']}"]
                cfg["mounts"].append({"destination": path, "type": "tmpfs", "source": "tmpfs",
                                      "options": options})
        with open(cfg_path, "w") as f:
            json.dump(cfg, f)
        with open(self.log_path, "wb") as log:
            run(["runc", "run", "--detach", "--bundle", bundle, self.id], stdin=subprocess.DEVNULL,
                stdout=log, stderr=subprocess.STDOUT, timeout=60)

    def log(self):
        with open(self.log_path, errors="replace") as f:
            return f.read()

    def state(self):
        p = run(["runc", "state", self.id], check=False)
        return json.loads(p.stdout)["status"] if p.returncode == 0 else "gone"

    def http_get(self, port, path="/", timeout=60):
        """GET http://127.0.0.1:PORT/PATH from inside the container's network namespace, retried
        until the server answers (bounded); returns (status, body)."""
        client = ("import sys, urllib.request, urllib.error\n"
                  "try:\n"
                  "    r = urllib.request.urlopen(sys.argv[1], timeout=5)\n"
                  "except urllib.error.HTTPError as e:\n"
                  "    r = e\n"
                  "sys.stdout.write(str(r.status) + '\\n' + r.read().decode())\n")
        url = f"http://127.0.0.1:{port}{path}"
        deadline = time.monotonic() + timeout
        while True:
            p = run(["ip", "netns", "exec", self.netns, PYTHON, "-c", client, url], check=False)
            if p.returncode == 0:
                status, _, body = p.stdout.partition("\n")
                return int(status), body
            if time.monotonic() > deadline or self.state() != "running":
                raise AssertionError(f"no answer from {url} (container {self.state()})\n"
                                     f"client: {p.stderr.strip().splitlines()[-1:]}\n"
                                     f"container log:\n{self.log()}")
            time.sleep(0.2)

    def exec(self, args):
        return run(["runc", "exec", self.id, *args], check=False, stdin=subprocess.DEVNULL, timeout=60)

    def __exit__(self, *exc):
        run(["runc", "delete", "--force", self.id], check=False)
        run(["ip", "netns", "delete", self.netns], check=False)
        shutil.rmtree(self.work, ignore_errors=True)


class Registry:
    """docker-registry (Debian's distribution 2.8) on a free port of 127.0.0.1, for a with-block.

    `users` ({name: password}) turns on htpasswd (Basic) authentication; `token` (a
    netlib.TokenServer) Bearer tokens from that server. The access log (one line per request, with
    its method and path) is in `requests()`.
    """

    def __init__(self, users=None, token=None):
        self.users = users or {}
        self.token = token

    def __enter__(self):
        self.dir = tempfile.mkdtemp(prefix="ocifs-registry-")
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        auth = ""
        if self.users:
            with open(f"{self.dir}/htpasswd", "w") as f:
                for name, password in self.users.items():
                    f.write(run(["htpasswd", "-Bbn", name, password]).stdout.strip() + "\n")
            auth = f"auth:\n  htpasswd:\n    realm: ocifs-tests\n    path: {self.dir}/htpasswd\n"
        if self.token:
            auth = self.token.registry_config()
        config = f"{self.dir}/config.yml"
        with open(config, "w") as f:
            f.write(f"version: 0.1\nlog:\n  level: info\n  accesslog:\n    disabled: false\n"
                    f"storage:\n  filesystem:\n    rootdirectory: {self.dir}/data\n"
                    f"http:\n  addr: 127.0.0.1:{self.port}\n{auth}")
        self.log = open(f"{self.dir}/log", "w")
        self.proc = subprocess.Popen(["docker-registry", "serve", config], stdout=self.log,
                                     stderr=subprocess.STDOUT)

        def up():
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/v2/", timeout=1) as r:
                    return r.status == 200
            except urllib.error.HTTPError as e:
                return e.code == 401  # up, and wants credentials
            except OSError:
                if self.proc.poll() is not None:
                    raise AssertionError(f"docker-registry exited: {open(self.log.name).read()}")
                return False
        wait_until(up, 20, "docker-registry to answer")
        self.host = f"127.0.0.1:{self.port}"
        return self

    def requests(self):
        """The access log's request lines so far, as "METHOD PATH"."""
        self.log.flush()
        with open(self.log.name) as f:
            return re.findall(r'"((?:GET|HEAD|PUT|POST|PATCH|DELETE) [^ "]+) HTTP/', f.read())

    def __exit__(self, *exc):
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        self.log.close()
        shutil.rmtree(self.dir, ignore_errors=True)
