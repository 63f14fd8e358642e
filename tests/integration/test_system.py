"""System packages from a real apt archive on 127.0.0.1: real .debs from Debian (apt-get download),
indexes made by dpkg-scanpackages and apt-ftparchive, an InRelease signed by a key gpg makes here,
and a base that trusts that key (a layer added by umoci). The image runs under runc: dpkg, ldd and
Python's ctypes find the library; the SBOM lists the packages; a remount with --offline gives the
same digests; tampered or unsigned archives fail, and never as wrong bytes.
"""
import errno
import functools
import glob
import http.server
import json
import os
import shutil
import subprocess
import tempfile
import threading
import unittest
import urllib.parse

from itlib import (BASE, OCIFS, Mount, assert_layout_ok, assert_sboms_ok, read_bytes, read_json, run, runc_run,
                   sha256_of, wait_until, write_text)

CACHE = os.environ.get("OCIFS_TEST_CACHE", "/var/cache/ocifs-tests")
REQUEST = "libpq5"  # PostgreSQL's client library: a chain of 9 libraries a minbase lacks


def base_status():
    """The test base's /var/lib/dpkg/status, read from its layer."""
    index = read_json(f"{BASE}/index.json")
    manifest = read_json(f"{BASE}/blobs/sha256/{index['manifests'][0]['digest'][7:]}")
    layer = f"{BASE}/blobs/sha256/{manifest['layers'][0]['digest'][7:]}"
    return run(["tar", "-xzOf", layer, "./var/lib/dpkg/status"]).stdout


def fetch_debs():
    """The .debs apt itself would install on the base for REQUEST, downloaded once."""
    pool = f"{CACHE}/apt-debs-{REQUEST}-v1"
    if os.path.exists(f"{pool}/.complete"):
        return pool
    with tempfile.TemporaryDirectory() as tmp:
        write_text(f"{tmp}/status", base_status())
        sim = run(["apt-get", "install", "-s", "--no-install-recommends", "-o", f"Dir::State::status={tmp}/status",
                   REQUEST]).stdout
        names = [line.split()[1] for line in sim.splitlines() if line.startswith("Inst ")]
        assert REQUEST in names, sim
        work = tempfile.mkdtemp(dir=CACHE, prefix="apt-debs-work-")
        run(["apt-get", "download", *names], cwd=work)
        shutil.rmtree(pool, ignore_errors=True)
        os.rename(work, pool)
        write_text(f"{pool}/.complete", "\n".join(names) + "\n")
    return pool


class Archive:
    """An apt archive served on 127.0.0.1: `URL` is its root ("http://127.0.0.1:PORT/debian")."""

    def __init__(self, debs, gnupg):
        self.dir = tempfile.mkdtemp(prefix="ocifs-it-apt-")
        self.root = f"{self.dir}/debian"
        self.gnupg = gnupg
        os.makedirs(f"{self.root}/pool/main")
        for deb in glob.glob(f"{debs}/*.deb"):
            shutil.copy(deb, f"{self.root}/pool/main/")
        self.publish()
        self.requests = []
        archive = self

        class Handler(http.server.SimpleHTTPRequestHandler):
            def log_message(self, fmt, *args):
                archive.requests.append(self.path)

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0),
                                                      functools.partial(Handler, directory=self.dir))
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/debian"

    def publish(self, signer="archive"):
        """Packages(.xz) by dpkg-scanpackages, Release by apt-ftparchive, InRelease signed by gpg."""
        binary = f"{self.root}/dists/bookworm/main/binary-amd64"
        os.makedirs(binary, exist_ok=True)
        packages = run(["dpkg-scanpackages", "--arch", "amd64", "pool"], cwd=self.root).stdout
        write_text(f"{binary}/Packages", packages)
        run(["xz", "-kf", f"{binary}/Packages"])
        release = run(["apt-ftparchive", "-o", "APT::FTPArchive::Release::Codename=bookworm",
                       "-o", "APT::FTPArchive::Release::Suite=bookworm",
                       "-o", "APT::FTPArchive::Release::Architectures=amd64",
                       "-o", "APT::FTPArchive::Release::Components=main", "release",
                       f"{self.root}/dists/bookworm"]).stdout
        write_text(f"{self.root}/dists/bookworm/Release", release)
        self.sign(signer)

    def sign(self, signer):
        path = f"{self.root}/dists/bookworm/InRelease"
        if os.path.exists(path):
            os.remove(path)
        run(["gpg", "--homedir", self.gnupg, "--batch", "--pinentry-mode", "loopback", "--passphrase", "",
             "--local-user", f"{signer}@ocifs.invalid", "--clearsign", "-o", path,
             f"{self.root}/dists/bookworm/Release"])

    def close(self):
        self.server.shutdown()
        self.server.server_close()
        shutil.rmtree(self.dir, ignore_errors=True)


def flip_byte(path, where=0.5):
    with open(path, "r+b") as f:
        f.seek(int(os.path.getsize(path) * where))
        b = f.read(1)
        f.seek(-1, os.SEEK_CUR)
        f.write(bytes([b[0] ^ 0xFF]))


class SystemPackagesTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="ocifs-it-system-")
        cls.gnupg = f"{cls.tmp}/gnupg"
        os.mkdir(cls.gnupg, 0o700)
        for uid in ("archive", "stranger"):
            run(["gpg", "--homedir", cls.gnupg, "--batch", "--pinentry-mode", "loopback", "--passphrase", "",
                 "--quick-gen-key", f"{uid} <{uid}@ocifs.invalid>", "ed25519", "sign", "never"])
        cls.debs = fetch_debs()
        cls.names = read_bytes(f"{cls.debs}/.complete").decode().split()
        # The base, trusting the archive's key the way Debian images trust theirs: a keyring in
        # /etc/apt/trusted.gpg.d/, in a layer of its own.
        key = subprocess.run(["gpg", "--homedir", cls.gnupg, "--export", "archive@ocifs.invalid"],
                             check=True, capture_output=True).stdout
        os.makedirs(f"{cls.tmp}/keylayer/etc/apt/trusted.gpg.d")
        with open(f"{cls.tmp}/keylayer/etc/apt/trusted.gpg.d/ocifs-test.gpg", "wb") as f:
            f.write(key)
        run(["tar", "--numeric-owner", "--owner=0", "--group=0", "-C", f"{cls.tmp}/keylayer", "-cf",
             f"{cls.tmp}/keylayer.tar", "etc"])
        cls.base = shutil.copytree(BASE, f"{cls.tmp}/base")
        run(["umoci", "raw", "add-layer", "--image", f"{cls.base}:3.11-slim", "--tag", "trusted",
             f"{cls.tmp}/keylayer.tar"])
        cls.base_ref = f"oci:{cls.base}:trusted"

    @classmethod
    def tearDownClass(cls):
        run(["gpgconf", "--homedir", cls.gnupg, "--kill", "gpg-agent"], check=False)
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def setUp(self):
        self.archive = Archive(self.debs, self.gnupg)
        self.cache = tempfile.mkdtemp(prefix="ocifs-it-system-cache-")
        self.project = f"{self.cache}/project"
        os.makedirs(self.project)
        self.write_project([REQUEST])

    def write_project(self, packages):
        """A client of PostgreSQL, as such a project's pyproject.toml declares its system package."""
        listed = ", ".join(f'"{p}"' for p in packages)
        write_text(f"{self.project}/pyproject.toml", f"""[project]
name = "pgclient"
version = "0.1.0"
requires-python = ">=3.11"

[tool.ocifs]
system-packages = [{listed}]
apt-mirror = "{self.archive.url}"
cmd = ["python3", "-c", "import ctypes; print(ctypes.CDLL('libpq.so.5'))"]
""")

    def tearDown(self):
        self.archive.close()
        shutil.rmtree(self.cache, ignore_errors=True)

    def args(self, *more):
        return ["--base", self.base_ref, "--cache-dir", f"{self.cache}/ocifs", "--python", "3.11", *more]

    def system_layer(self, layout):
        """The path of the system-packages layer in `layout` (the first layer above the base's)."""
        index = read_json(f"{layout}/index.json")
        manifest = read_json(f"{layout}/blobs/sha256/{index['manifests'][0]['digest'][7:]}")
        config = read_json(f"{layout}/blobs/sha256/{manifest['config']['digest'][7:]}")
        history = [h for h in config["history"] if not h.get("empty_layer")]
        at = next(i for i, h in enumerate(history) if h["created_by"].startswith("ocifs: system packages"))
        return f"{layout}/blobs/sha256/{manifest['layers'][at]['digest'][7:]}", manifest

    def test_the_image_runs_with_the_packages(self):
        with Mount(self.project, *self.args()) as m:
            assert_layout_ok(self, m.path)
            # Inside the image: dpkg knows them, ldd finds every library, Python loads it.
            out, _ = runc_run(m.path, "latest", ["sh", "-c",
                                                 f"dpkg -s {REQUEST} | grep -x 'Status: install ok installed' && "
                                                 "ldd /usr/lib/x86_64-linux-gnu/libpq.so.5 && "
                                                 "python3 -c \"import ctypes; print(ctypes.CDLL('libpq.so.5'))\" && "
                                                 "dpkg -l | grep -c '^ii'"])
            self.assertIn("Status: install ok installed", out)
            self.assertNotIn("not found", out)
            self.assertIn("<CDLL 'libpq.so.5'", out)
            # The image's own entry: its default command runs too.
            out, _ = runc_run(m.path, "latest")
            self.assertIn("<CDLL 'libpq.so.5'", out)
            # The SBOM lists every added package.
            sboms = [p for p in glob.glob(f"{m.path}/blobs/sha256/*")
                     if read_bytes(p)[:200].find(b'"spdxVersion"') >= 0 or read_bytes(p)[:300].find(b'"bomFormat"') >= 0]
            self.assertEqual(len(sboms), 2, sboms)
            assert_sboms_ok(self, *sboms)
            for sbom in sboms:
                text = read_bytes(sbom).decode()
                for name in self.names:
                    self.assertIn(f'"{name}"', text, f"{name} in {sbom}")
            layer, manifest = self.system_layer(m.path)
            self.assertEqual(sha256_of(layer), os.path.basename(layer))
            first = read_json(f"{m.path}/index.json")
        fetched = [urllib.parse.unquote(r) for r in self.archive.requests if r.endswith(".deb")]
        self.assertEqual(sorted(os.path.basename(r) for r in fetched),
                         sorted(os.path.basename(p) for p in glob.glob(f"{self.debs}/*.deb")))

        # A remount with --offline and the archive gone: nothing resolved or fetched, same digests.
        self.archive.requests.clear()
        self.archive.close()
        with Mount(self.project, *self.args("--offline")) as m:
            self.assertEqual(read_json(f"{m.path}/index.json"), first)
            layer, _ = self.system_layer(m.path)
            self.assertEqual(sha256_of(layer), os.path.basename(layer))
        self.assertEqual(self.archive.requests, [])
        self.archive = Archive(self.debs, self.gnupg)  # for tearDown

    def test_from_the_bases_own_sources(self):
        """No mirror: the base's sources.list (deb.debian.org, as debootstrap wrote it) and its own
        Debian archive keyring, as a user of a Debian base gets them."""
        write_text(f"{self.project}/pyproject.toml",
                   read_bytes(f"{self.project}/pyproject.toml").decode().replace(
                       f'apt-mirror = "{self.archive.url}"\n', ""))
        out = f"{self.cache}/out"
        run([OCIFS, "build", self.project, "-o", out, *self.args()])
        assert_layout_ok(self, out)
        self.assertEqual(self.archive.requests, [])
        text, _ = runc_run(out, "latest", ["sh", "-c", "ldd /usr/lib/x86_64-linux-gnu/libpq.so.5; "
                                                       f"dpkg-query -W -f '${{Status}}' {REQUEST}"])
        self.assertNotIn("not found", text)
        self.assertIn("install ok installed", text)

    def test_live_generations_keep_or_replan_the_layer(self):
        def generation(mnt):
            return json.loads(run([OCIFS, "status", mnt, "--json"]).stdout)["generation"]

        with Mount(self.project, *self.args()) as m:
            first, _ = self.system_layer(m.path)
            requests = len(self.archive.requests)
            # An application edit: the served system layer is kept, nothing asked of the archive.
            write_text(f"{self.project}/app.py", "print('edited')\n")
            wait_until(lambda: generation(m.path) == 2, 30, "generation 2")
            second, _ = self.system_layer(m.path)
            self.assertEqual(os.path.basename(second), os.path.basename(first))
            self.assertEqual(len(self.archive.requests), requests)
            # Another request in pyproject.toml: planned again, a smaller layer (libldap's chain only).
            self.write_project(["libldap-2.5-0"])
            wait_until(lambda: generation(m.path) == 3, 60, "generation 3")
            third, manifest = self.system_layer(m.path)
            self.assertNotEqual(os.path.basename(third), os.path.basename(first))
            self.assertLess(os.path.getsize(third), os.path.getsize(first))
            self.assertEqual(sha256_of(third), os.path.basename(third))

    def test_a_deb_tampered_after_planning_is_eio_never_other_bytes(self):
        with Mount(self.project, *self.args()) as m:
            first = read_json(f"{m.path}/index.json")
        # The .debs leave the cache; the archive's libpq5 changes under the same name.
        shutil.rmtree(f"{self.cache}/ocifs/apt/debs")
        os.mkdir(f"{self.cache}/ocifs/apt/debs", 0o700)
        flip_byte(glob.glob(f"{self.archive.root}/pool/main/{REQUEST}_*.deb")[0])
        log = f"{self.cache}/ocifs.log"
        with Mount(self.project, *self.args("--log-file", log)) as m:
            self.assertEqual(read_json(f"{m.path}/index.json"), first, "planned from the cache")
            layer, _ = self.system_layer(m.path)
            subprocess.run(["sh", "-c", "echo 1 > /proc/sys/vm/drop_caches"], check=False)
            with self.assertRaises(OSError) as e:
                sha256_of(layer)
            self.assertEqual(e.exception.errno, errno.EIO)
        self.assertIn("the bytes hash to", read_bytes(log).decode())

    def test_faults_are_errors_that_name_them(self):
        binary = "dists/bookworm/main/binary-amd64"
        cases = [
            ("a tampered .deb", lambda a: flip_byte(glob.glob(f"{a.root}/pool/main/{REQUEST}_*.deb")[0]),
             [], "the bytes hash to"),
            ("a tampered Packages", lambda a: flip_byte(f"{a.root}/{binary}/Packages.xz", 0.3), [],
             "but its InRelease says"),
            ("an unsigned InRelease",
             lambda a: shutil.copy(f"{a.root}/dists/bookworm/Release", f"{a.root}/dists/bookworm/InRelease"), [],
             "its signature does not check"),
            ("an InRelease signed by another key", lambda a: a.sign("stranger"), [],
             "which no trusted keyring holds"),
            ("an unknown package", lambda a: None, ["libnosuchthing1"],
             "package `libnosuchthing1` (requested as `libnosuchthing1`) is not in the index"),
            ("an unsatisfiable version", lambda a: None, [f"{REQUEST}=99.*"],
             f"package `{REQUEST}` (requested as `{REQUEST}=99.*`): no version matches `99.*`"),
        ]
        for name, spoil, request, says in cases:
            with self.subTest(name):
                self.archive.close()
                self.archive = Archive(self.debs, self.gnupg)
                self.write_project(request or [REQUEST])
                spoil(self.archive)
                shutil.rmtree(f"{self.cache}/ocifs", ignore_errors=True)
                out = f"{self.cache}/out"
                shutil.rmtree(out, ignore_errors=True)
                p = run([OCIFS, "build", self.project, "-o", out, *self.args()], check=False)
                self.assertNotEqual(p.returncode, 0, p.stdout)
                self.assertIn(says, p.stderr)
                self.assertFalse(glob.glob(f"{out}/blobs/sha256/*"), "nothing written")


if __name__ == "__main__":
    unittest.main()
