#!/usr/bin/env python3
"""Integration tests of ocifs on real FUSE mounts.

Run through run_integration.sh (which sets the environment itlib.py reads). Every mount is
unmounted again, also when a test fails.
"""
import errno
import hashlib
import io
import json
import mmap
import os
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import tarfile
import tempfile
import time
import unittest

import ocicheck
from itlib import (BASE, BASE_REF, BUILD_DIR, DEPS, EXAMPLE, EXAMPLE_ARGS, OCIFS, ROOT, Mount,
                   assert_layout_ok, assert_reads_ok, assert_trees_identical, cached_pages, image_config, is_mounted,
                   read_bytes, read_json, run, runc_run, sha256_of, wait_until, write_text)


class ExampleImageTest(unittest.TestCase):
    """The bundled example project, mounted once for every test of the class."""

    @classmethod
    def setUpClass(cls):
        cls.mount = Mount(EXAMPLE, *EXAMPLE_ARGS, "--tag", "latest", "--tag", "0.1.0")
        cls.mount.__enter__()
        cls.mnt = cls.mount.path

    @classmethod
    def tearDownClass(cls):
        cls.mount.__exit__(None, None, None)

    def test_oci_layout_check(self):
        assert_layout_ok(self, self.mnt, tags=["latest", "0.1.0", "latest.sbom.spdx", "latest.sbom.cyclonedx",
                                               "0.1.0.sbom.spdx", "0.1.0.sbom.cyclonedx"])

    def test_oci_layout_check_strict_packing_on_own_layers(self):
        # The base layer is Debian's (setuid binaries, absolute links); the layers ocifs makes
        # must pass the strict packing lint. Check a layout of just the own layers (scratch).
        with Mount(EXAMPLE, "--base", "scratch", "--deps", DEPS) as m:
            assert_layout_ok(self, m.path, strict_packing=True)

    def test_blob_read_integrity(self):
        assert_reads_ok(self, self.mnt)

    def test_skopeo_copies(self):
        with tempfile.TemporaryDirectory() as out:
            run(["skopeo", "copy", f"oci:{self.mnt}:latest", f"dir:{out}/dir"])
            self.assertTrue(os.path.isfile(f"{out}/dir/manifest.json"))
            run(["skopeo", "copy", f"oci:{self.mnt}:0.1.0", f"oci:{out}/oci:copied"])
            assert_layout_ok(self, f"{out}/oci")

    def test_console_script_runs(self):
        out, cfg = runc_run(self.mnt, "latest")
        self.assertRegex(out, r"^Hello, world! \(hello-ocifs 0\.1\.0, click 8\.1\.3, Python 3\.11\.\d+\)\n$")
        self.assertEqual(cfg["process"]["cwd"], "/app")
        self.assertEqual(cfg["process"]["user"]["uid"], 65532, "runs as the non-root default user")

    def test_console_script_takes_arguments(self):
        _, cfg = runc_run(self.mnt, "latest", args=None)
        out, _ = runc_run(self.mnt, "latest", args=cfg["process"]["args"] + ["--name", "ocifs"])
        self.assertTrue(out.startswith("Hello, ocifs! "), out)

    def test_dependency_console_script_on_path(self):
        out, _ = runc_run(self.mnt, "latest", args=["pygmentize", "-V"])
        self.assertIn("Pygments version 2.14.0", out)

    def test_cp_is_byte_identical_to_build(self):
        with tempfile.TemporaryDirectory() as out:
            shutil.copytree(self.mnt, f"{out}/copied")
            run(["cp", "-r", self.mnt, f"{out}/cp"])
            run([OCIFS, "build", EXAMPLE, "--output", f"{out}/built", *EXAMPLE_ARGS, "--tag", "latest", "--tag", "0.1.0"])
            assert_trees_identical(self, f"{out}/cp", f"{out}/built")
            assert_trees_identical(self, f"{out}/copied", f"{out}/built")

    def test_index_lists_every_tag(self):
        with open(f"{self.mnt}/index.json") as f:
            index = json.load(f)
        refs = [m["annotations"]["org.opencontainers.image.ref.name"] for m in index["manifests"]]
        # The tags, then the sbom plugin's documents attached to each.
        self.assertEqual(refs, ["latest", "0.1.0", "latest.sbom.spdx", "latest.sbom.cyclonedx",
                                "0.1.0.sbom.spdx", "0.1.0.sbom.cyclonedx"])
        self.assertEqual(index["manifests"][0]["platform"]["os"], "linux")

    def test_mount_is_read_only_nosuid_nodev(self):
        with open("/proc/self/mounts") as f:
            opts = next(line.split()[3] for line in f if line.split()[1] == os.path.realpath(self.mnt))
        for o in ("ro", "nosuid", "nodev"):
            self.assertIn(o, opts.split(","))
        with self.assertRaises(OSError) as e:
            open(f"{self.mnt}/new-file", "w")
        self.assertIn(e.exception.errno, (errno.EROFS, errno.EACCES))


class IntegrityTest(unittest.TestCase):
    def test_changed_source_file_gives_eio_never_other_bytes(self):
        with tempfile.TemporaryDirectory() as tmp:
            project = shutil.copytree(EXAMPLE, f"{tmp}/project")
            with Mount(project, "--base", "scratch", "--python", "3.11") as m:
                index = read_json(f"{m.path}/index.json")
                manifest = read_json(f"{m.path}/blobs/sha256/{index['manifests'][0]['digest'][7:]}")
                app_layer = f"{m.path}/blobs/sha256/{manifest['layers'][-1]['digest'][7:]}"
                self.assertEqual(sha256_of(app_layer), manifest["layers"][-1]["digest"][7:])
                # Same size, new content: only the metadata check can tell.
                cli = f"{project}/src/hello/cli.py"
                data = read_bytes(cli)
                time.sleep(0.01)
                with open(cli, "wb") as f:
                    f.write(data.replace(b"Hello", b"HELLO"))
                # Drop the kernel's cached pages of the blob so the read reaches ocifs.
                subprocess.run(["sh", "-c", "echo 1 > /proc/sys/vm/drop_caches"], check=False)
                with self.assertRaises(OSError) as e:
                    sha256_of(app_layer)
                self.assertEqual(e.exception.errno, errno.EIO)

    def test_corrupt_base_blob_gives_eio(self):
        with tempfile.TemporaryDirectory() as tmp:
            base = shutil.copytree(BASE, f"{tmp}/base")
            index = read_json(f"{base}/index.json")
            manifest = read_json(f"{base}/blobs/sha256/{index['manifests'][0]['digest'][7:]}")
            layer = f"{base}/blobs/sha256/{manifest['layers'][0]['digest'][7:]}"
            with open(layer, "r+b") as f:  # flip one byte in the middle, size unchanged
                f.seek(os.path.getsize(layer) // 2)
                b = f.read(1)
                f.seek(-1, os.SEEK_CUR)
                f.write(bytes([b[0] ^ 0xFF]))
            with Mount(EXAMPLE, "--base", f"oci:{base}:3.11-slim", "--deps", DEPS) as m:
                served = f"{m.path}/blobs/sha256/{manifest['layers'][0]['digest'][7:]}"
                with self.assertRaises(OSError) as e:
                    with open(served, "rb") as f:
                        f.read(4096)
                self.assertEqual(e.exception.errno, errno.EIO)
                # Everything else still reads.
                self.assertTrue(read_json(f"{m.path}/index.json")["manifests"])

    def test_sigterm_unmounts_cleanly(self):
        m = Mount(EXAMPLE, "--base", "scratch", "--python", "3.11")
        with m:
            pid = m.daemon_pid()
            self.assertIsNotNone(pid, "the daemon is running")
            os.kill(pid, signal.SIGTERM)
            wait_until(lambda: not is_mounted(m.path), 20, "the mount to go away after SIGTERM")
            wait_until(lambda: not os.path.exists(f"/proc/{pid}"), 20, "the daemon to exit")

    def test_sigterm_while_hashing_stops_promptly(self):
        with tempfile.TemporaryDirectory() as tmp:
            project = shutil.copytree(EXAMPLE, f"{tmp}/project")
            with open(f"{project}/big.bin", "wb") as f:  # 4 GiB of holes: seconds of hashing
                f.truncate(4 << 30)
            # The kernel gives a process-directed signal to any thread that does not block it;
            # repeat so that a thread that fails to block SIGTERM is all but certain to show.
            # Nothing here sends a FUSE request that could wake a stuck loop by accident.
            for _ in range(5):
                m = Mount(project, "--base", "scratch", "--python", "3.11")
                with m:
                    pid = m.daemon_pid()
                    os.kill(pid, signal.SIGTERM)
                    wait_until(lambda: not is_mounted(m.path), 20, "the mount to go away")
                    wait_until(lambda: not os.path.exists(f"/proc/{pid}"), 20, "the daemon to stop hashing and exit")

    def test_fusermount_unmounts(self):
        m = Mount(EXAMPLE, "--base", "scratch", "--python", "3.11")
        with m:
            run(["fusermount3", "-u", m.path])
            self.assertFalse(is_mounted(m.path))


class StoredPagesTest(unittest.TestCase):
    """The layers' bytes stored in the page cache while they are hashed (or, on a warm remount,
    read and hashed once behind it) are read without a READ reaching the daemon; once evicted,
    READs serve the same bytes.

    The kernel may drop stored pages at any time (on the test machines a pageout thread, DAMON,
    takes idle pages with memory free), so each layer's read may send READs for the pages mincore
    found missing just before it, and for 1% of its pages more: pages dropped between mincore and
    the read. DAMON took about 5 pages a second of an idle 1,407-page layer, and in two CI runs of
    five, 3 of its pages came through READs after mincore had found all 1,407 cached (dropped
    meanwhile, as far as can be told). A layer whose pages were not stored comes through READs
    whole."""

    def serving(self, m):
        # The daemon rewrites its status file every 200 ms: wait for one written after now.
        time.sleep(0.5)
        return json.loads(run([OCIFS, "status", m.path, "--json"]).stdout)["serving"]

    def layers(self, m):
        index = read_json(f"{m.path}/index.json")
        manifest = read_json(f"{m.path}/blobs/sha256/{index['manifests'][0]['digest'][7:]}")
        return [(l["digest"][7:], l["size"]) for l in manifest["layers"]]

    def assert_read_from_stored_pages(self, m, digest, what):
        """Reads the layer `digest` whole: right bytes, some pages cached, and READs for no page
        that was cached when the read began."""
        path = f"{m.path}/blobs/sha256/{digest}"
        before = self.serving(m)
        cached, pages = cached_pages(path)
        self.assertEqual(sha256_of(path), digest)
        after = self.serving(m)
        self.assertGreater(cached, 0, f"{what}: no page of layer {digest[:12]} was cached")
        missing = (pages - cached) * mmap.PAGESIZE
        dropped_meanwhile = pages // 100 * mmap.PAGESIZE
        self.assertLessEqual(after["read_bytes"] - before["read_bytes"], missing + dropped_meanwhile,
                             f"{what}: layer {digest[:12]} ({cached} of {pages} pages cached) "
                             f"was read through READs")

    def test_a_cold_mount_stores_what_it_hashed_and_eviction_falls_back_to_reads(self):
        with tempfile.TemporaryDirectory() as tmp:
            project = shutil.copytree(EXAMPLE, f"{tmp}/project")
            args = ["--base", "scratch", "--deps", DEPS, "--cache-dir", f"{tmp}/cache"]
            with Mount(project, *args) as m:
                layers = self.layers(m)
                self.assertEqual(len(layers), 2)  # dependencies and application
                self.assertEqual(self.serving(m)["stored_bytes"], sum(size for _, size in layers))
                for digest, _ in layers:
                    self.assert_read_from_stored_pages(m, digest, "cold mount")
                # Evicted: the same bytes come back through READs.
                after = self.serving(m)
                run(["sh", "-c", "sync; echo 1 > /proc/sys/vm/drop_caches"])
                for digest, _ in layers:
                    self.assertEqual(sha256_of(f"{m.path}/blobs/sha256/{digest}"), digest)
                evicted = self.serving(m)
                self.assertGreater(evicted["read_requests"], after["read_requests"])
                self.assertGreaterEqual(evicted["read_bytes"] - after["read_bytes"],
                                        sum(size for _, size in layers))
                # An edit: the new application layer is hashed and stored, and read without READs.
                write_text(f"{project}/src/hello/extra.py", "EXTRA = 1\n")
                wait_until(lambda: self.layers(m)[1] != layers[1], 20, "the edit's generation")
                app, size = self.layers(m)[1]
                self.assertEqual(self.serving(m)["stored_bytes"] - evicted["stored_bytes"], size)
                self.assert_read_from_stored_pages(m, app, "edit")
                # Nothing of the pending names shows.
                self.assertEqual(sorted(os.listdir(f"{m.path}/blobs")), ["sha256"])
            with Mount(project, *args) as m:  # warm: nothing hashed; the layers stored behind
                layers = self.layers(m)
                # Counted once the names have the pages.
                wait_until(lambda: self.serving(m)["stored_bytes"] == sum(size for _, size in layers),
                           20, "the warm remount's layers stored behind")
                for digest, _ in layers:
                    self.assert_read_from_stored_pages(m, digest, "warm remount")
                run(["sh", "-c", "sync; echo 1 > /proc/sys/vm/drop_caches"])
                assert_reads_ok(self, m.path)
                self.assertEqual(sorted(os.listdir(f"{m.path}/blobs")), ["sha256"])


class DigestCacheTest(unittest.TestCase):
    def manifest_digest(self, layout):
        return read_json(f"{layout}/index.json")["manifests"][0]["digest"]

    def test_warm_remount_serves_the_same_digests(self):
        with tempfile.TemporaryDirectory() as tmp:
            args = ["--base", "scratch", "--deps", DEPS, "--cache-dir", f"{tmp}/cache"]
            with Mount(EXAMPLE, *args) as m:
                cold = read_bytes(f"{m.path}/index.json")
            entries = run([OCIFS, "cache", "info", "--cache-dir", f"{tmp}/cache"]).stdout
            self.assertIn("entries: 2", entries)  # the dependencies and application layers
            with Mount(EXAMPLE, *args) as m:
                warm = read_bytes(f"{m.path}/index.json")
                assert_layout_ok(self, m.path)
            self.assertEqual(warm, cold)
            run([OCIFS, "build", EXAMPLE, "--output", f"{tmp}/nocache", "--base", "scratch", "--deps", DEPS,
                 "--no-cache"])
            self.assertEqual(read_bytes(f"{tmp}/nocache/index.json"), cold)

    def test_relative_cache_dir_is_taken_from_the_working_directory(self):
        # The daemon works from `/` once it has forked: a relative --cache-dir must name the
        # directory below the caller's working directory, for the daemon as for the command.
        with tempfile.TemporaryDirectory() as tmp:
            with Mount(EXAMPLE, "--base", "scratch", "--deps", DEPS, "--cache-dir", "rel-cache", cwd=tmp) as m:
                read_bytes(f"{m.path}/index.json")
            self.assertFalse(os.path.exists("/rel-cache"), "the daemon wrote its cache below /")
            entries = run([OCIFS, "cache", "info", "--cache-dir", "rel-cache"], cwd=tmp).stdout
            self.assertIn("entries: 2", entries)

    def test_kill_9_during_first_hashing_leaves_a_good_cache(self):
        # 10 trials, each with an empty cache: kill -9 the daemon at a random moment of its first
        # hashing, clean up the dead mount, then build with that cache: the digests must be the
        # right ones and the cache must raise no warning. (A kill between a cache file's create and
        # rename can leave a temporary file; it is never read as an entry and prune evicts it.)
        import random
        rng = random.Random(7)
        with tempfile.TemporaryDirectory() as tmp:
            project = shutil.copytree(EXAMPLE, f"{tmp}/project")
            with open(f"{project}/big.bin", "wb") as f:  # 512 MiB of holes: about half a second of hashing
                f.truncate(512 << 20)
            common = ["--base", "scratch", "--python", "3.11"]
            run([OCIFS, "build", project, "--output", f"{tmp}/fresh", *common, "--no-cache"])
            want = self.manifest_digest(f"{tmp}/fresh")
            left = []  # the status files the killed daemons left
            for trial in range(10):
                cache = f"{tmp}/cache{trial}"
                m = Mount(project, *common, "--cache-dir", cache)
                with m:
                    pid = m.daemon_pid()
                    time.sleep(rng.uniform(0.0, 0.4))
                    os.kill(pid, signal.SIGKILL)
                    wait_until(lambda: not os.path.exists(f"/proc/{pid}"), 20, "the killed daemon to go")
                    run(["fusermount3", "-u", m.path], check=False)  # the connection is dead
                    if os.path.exists(status_file_of(m.path, os.environ)):
                        left.append(status_file_of(m.path, os.environ))
                built = run([OCIFS, "build", project, "--output", f"{tmp}/out{trial}", *common, "--cache-dir", cache])
                self.assertNotIn("warning", built.stderr, f"trial {trial}")
                self.assertEqual(self.manifest_digest(f"{tmp}/out{trial}"), want, f"trial {trial}")
                shutil.rmtree(f"{tmp}/out{trial}")
            # fusermount3 -u took those mounts down, not `ocifs umount`: the next mount sweeps
            # the status files their daemons left.
            self.assertTrue(left, "no killed daemon left a status file: nothing was tested")
            with Mount(EXAMPLE, *common):
                self.assertEqual([f for f in left if os.path.exists(f)], [])


class LiveGenerationTest(unittest.TestCase):
    def blobs_of(self, layout, tag="latest"):
        index = read_json(f"{layout}/index.json")
        desc = next(m for m in index["manifests"]
                    if m.get("annotations", {}).get("org.opencontainers.image.ref.name") == tag)
        manifest = read_json(f"{layout}/blobs/sha256/{desc['digest'][7:]}")
        return {"manifest": desc["digest"], "config": manifest["config"]["digest"],
                "layers": [l["digest"] for l in manifest["layers"]]}

    def test_edit_flow(self):
        with tempfile.TemporaryDirectory() as tmp:
            project = shutil.copytree(EXAMPLE, f"{tmp}/project")
            with Mount(project, *EXAMPLE_ARGS, "--cache-dir", f"{tmp}/cache") as m:
                run(["skopeo", "copy", f"oci:{m.path}:latest", f"oci:{tmp}/before:latest"])
                before = self.blobs_of(m.path)
                old_index = read_bytes(f"{m.path}/index.json")
                old_manifest_fd = os.open(f"{m.path}/blobs/sha256/{before['manifest'][7:]}", os.O_RDONLY)
                try:
                    cli = f"{project}/src/hello/cli.py"
                    write_text(cli, read_bytes(cli).decode().replace("Hello,", "Howdy,"))
                    wait_until(lambda: read_bytes(f"{m.path}/index.json") != old_index, 10,
                               "a new generation after the edit")
                    run(["skopeo", "copy", f"oci:{m.path}:latest", f"oci:{tmp}/after:latest"])
                    after = self.blobs_of(m.path)
                    # The handle opened on the old generation still reads it.
                    old = b""
                    while chunk := os.read(old_manifest_fd, 1 << 20):
                        old += chunk
                    self.assertEqual("sha256:" + hashlib.sha256(old).hexdigest(), before["manifest"])
                finally:
                    os.close(old_manifest_fd)
            # Only the application layer, the config and the manifest changed.
            self.assertNotEqual(after["manifest"], before["manifest"])
            self.assertNotEqual(after["config"], before["config"])
            self.assertEqual(after["layers"][:-1], before["layers"][:-1], "base and dependencies layers")
            self.assertNotEqual(after["layers"][-1], before["layers"][-1], "application layer")
            for layout in (f"{tmp}/before", f"{tmp}/after"):
                assert_layout_ok(self, layout)
            out, _ = runc_run(f"{tmp}/after", "latest")
            self.assertTrue(out.startswith("Howdy, world! "), out)

    def test_status_and_log_file(self):
        with tempfile.TemporaryDirectory() as tmp:
            project = shutil.copytree(EXAMPLE, f"{tmp}/project")
            log = f"{tmp}/ocifs.log"
            with Mount(project, "--base", "scratch", "--python", "3.11", "--log-file", log) as m:
                read_bytes(f"{m.path}/index.json")
                wait_until(lambda: json.loads(run([OCIFS, "status", m.path, "--json"]).stdout)["state"] == "ready",
                           10, "status to say ready")
                status = json.loads(run([OCIFS, "status", m.path, "--json"]).stdout)
                self.assertEqual(status["generation"], 1)
                self.assertEqual(status["manifest"], read_json(f"{m.path}/index.json")["manifests"][0]["digest"])
                self.assertEqual([l["name"] for l in status["layers"]], ["application"])
                self.assertEqual(status["layers"][0]["done"], status["layers"][0]["total"])
                text = run([OCIFS, "status", m.path]).stdout
                self.assertIn("generation:  1 (sha256:", text)
                write_text(f"{project}/src/hello/extra.py", "x = 2\n")
                wait_until(lambda: json.loads(run([OCIFS, "status", m.path, "--json"]).stdout)["generation"] == 2,
                           10, "status to show the second generation")
            self.assertIn(" info generation 2: manifest sha256:", read_bytes(log).decode())
            os.makedirs(m.path)  # unmounted (the helper removed the directory): no daemon answers
            p = run([OCIFS, "status", m.path], check=False)
            self.assertEqual(p.returncode, 1)
            self.assertIn("is not an ocifs mount", p.stderr)
            os.rmdir(m.path)

    def test_no_watch_serves_a_frozen_generation(self):
        with tempfile.TemporaryDirectory() as tmp:
            project = shutil.copytree(EXAMPLE, f"{tmp}/project")
            with Mount(project, "--base", "scratch", "--python", "3.11", "--no-watch") as m:
                first = read_bytes(f"{m.path}/index.json")
                write_text(f"{project}/added.py", "x = 1\n")
                time.sleep(1.0)
                self.assertEqual(read_bytes(f"{m.path}/index.json"), first)


def app_layer_of(layout, tag="latest"):
    """The application layer (the last one) of the image tagged `tag`: its bytes, read whole."""
    index = read_json(f"{layout}/index.json")
    desc = next(m for m in index["manifests"] if m["annotations"]["org.opencontainers.image.ref.name"] == tag)
    manifest = read_json(f"{layout}/blobs/sha256/{desc['digest'][7:]}")
    layer = manifest["layers"][-1]
    data = read_bytes(f"{layout}/blobs/sha256/{layer['digest'][7:]}")
    return layer, data


def status_file_of(mountpoint, env=None):
    """Where `ocifs status` looks for a mount's status file, as root: $XDG_RUNTIME_DIR/ocifs when
    `env` sets it, else /run/ocifs."""
    real = os.path.realpath(mountpoint)
    xdg = (env or {}).get("XDG_RUNTIME_DIR", "")
    run_dir = f"{xdg}/ocifs" if xdg.startswith("/") else "/run/ocifs"
    return f"{run_dir}/{hashlib.sha256(real.encode()).hexdigest()[:24]}.json"


class ProbingTest(unittest.TestCase):
    """What probing as a demanding user found: each case failed before its fix."""

    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="ocifs-it-probe-")
        self.addCleanup(shutil.rmtree, self.tmp, ignore_errors=True)
        self.env = {k: v for k, v in os.environ.items() if k != "XDG_RUNTIME_DIR"}

    def mount(self, project, mnt, *args, cwd=None, check=True, env=None):
        p = run([OCIFS, "mount", project, mnt, *args], cwd=cwd, check=check, env=env)
        if p.returncode == 0:
            real = os.path.join(cwd or "", mnt)
            self.addCleanup(lambda: is_mounted(real) and run([OCIFS, "umount", real], check=False))
        return p

    def test_the_readme_form_with_a_relative_project_follows_edits(self):
        shutil.copytree(EXAMPLE, f"{self.tmp}/project")
        os.mkdir(f"{self.tmp}/mnt")
        # `ocifs mount ./project /mnt/image`, from the directory that holds the project.
        self.mount("./project", "mnt", *EXAMPLE_ARGS, cwd=self.tmp)
        mnt = f"{self.tmp}/mnt"
        old = read_bytes(f"{mnt}/index.json")
        cli = f"{self.tmp}/project/src/hello/cli.py"
        write_text(cli, read_bytes(cli).decode().replace("Hello,", "Howdy,"))
        wait_until(lambda: read_bytes(f"{mnt}/index.json") != old, 10, "a new generation after the edit")
        layer, data = app_layer_of(mnt)  # readable: no EIO
        self.assertEqual("sha256:" + hashlib.sha256(data).hexdigest(), layer["digest"])
        self.assertIn(b"Howdy,", data)
        wait_until(lambda: json.loads(run([OCIFS, "status", mnt, "--json"]).stdout)["generation"] == 2, 10,
                   "the status file to show the second generation")
        status = json.loads(run([OCIFS, "status", mnt, "--json"]).stdout)
        self.assertEqual(status["last_error"], "")
        self.assertEqual(status["project"], f"{self.tmp}/project")

    def test_a_mountpoint_inside_the_project_stays_out_and_overlaps_are_refused(self):
        project = shutil.copytree(EXAMPLE, f"{self.tmp}/project")
        os.mkdir(f"{project}/mnt")
        self.mount(".", "mnt", *EXAMPLE_ARGS, cwd=project)
        mnt = f"{project}/mnt"
        write_text(f"{project}/src/hello/extra.py", "x = 1\n")
        wait_until(lambda: json.loads(run([OCIFS, "status", mnt, "--json"]).stdout)["generation"] == 2, 10,
                   "the second generation")
        layer, data = app_layer_of(mnt)
        names = tarfile.open(fileobj=io.BytesIO(data)).getnames()
        self.assertIn("app/src/hello/extra.py", names)
        self.assertFalse([n for n in names if n.startswith("app/mnt")], names)
        self.assertLess(layer["size"], 100_000)
        run([OCIFS, "umount", mnt])
        # The dependencies at the mountpoint, or a project inside it: refused, nothing mounted.
        for args, want in ((["--base", BASE_REF, "--deps", "mnt"], "overlap: mount on an empty directory"),):
            p = self.mount(".", "mnt", *args, cwd=project, check=False)
            self.assertEqual(p.returncode, 1, p.stderr)
            self.assertIn(want, p.stderr)
            self.assertFalse(is_mounted(mnt))

    def test_tags_are_checked_before_the_mount_returns(self):
        os.mkdir(f"{self.tmp}/mnt")
        mnt = f"{self.tmp}/mnt"
        p = self.mount(EXAMPLE, mnt, *EXAMPLE_ARGS, "--tag", "latest", "--tag", "latest.sbom.spdx", check=False)
        self.assertEqual(p.returncode, 1)
        self.assertIn("tag `latest.sbom.spdx` is also the ref name of plugin `sbom`'s artifact", p.stderr)
        self.assertFalse(is_mounted(mnt))
        p = self.mount(EXAMPLE, mnt, *EXAMPLE_ARGS, "--tag", "tägé", check=False)
        self.assertIn("`ä` is not allowed", p.stderr)
        p = self.mount(EXAMPLE, mnt, *EXAMPLE_ARGS, "--tag", "latest", "--tag", "v1", "--tag", "latest")
        self.assertIn("tag `latest` is given twice", p.stderr)
        assert_layout_ok(self, mnt, tags=["latest", "v1", "latest.sbom.spdx", "latest.sbom.cyclonedx",
                                          "v1.sbom.spdx", "v1.sbom.cyclonedx"])

    def test_status_reads_a_status_file_of_the_wrong_shape_without_aborting(self):
        mnt = f"{self.tmp}/mnt"
        os.mkdir(mnt)
        os.makedirs("/run/ocifs", mode=0o700, exist_ok=True)
        path = status_file_of(mnt)
        self.addCleanup(lambda: os.path.exists(path) and os.unlink(path))
        for body, want in (('{"pid": "12"}', "`pid` is string, not an integer"),
                           ('{"pid": 1, "layers": [{"done": -1}]}', "`layers[0].done` is number, not a non-negative"),
                           ('[1]', "is not a JSON object")):
            with self.subTest(body):
                write_text(path, body)
                os.chmod(path, 0o600)
                p = run([OCIFS, "status", mnt], check=False, env=self.env)
                self.assertEqual(p.returncode, 1, p.stderr)
                self.assertIn(path, p.stderr)
                self.assertIn(want, p.stderr)

    def test_a_squatted_status_directory_is_refused(self):
        run_dir = f"{self.tmp}/run"
        os.makedirs(f"{run_dir}/ocifs", mode=0o700)
        os.chown(f"{run_dir}/ocifs", 65534, 65534)  # someone else made it first
        mnt = f"{self.tmp}/mnt"
        os.mkdir(mnt)
        env = dict(self.env, XDG_RUNTIME_DIR=run_dir)
        p = self.mount(EXAMPLE, mnt, *EXAMPLE_ARGS, check=False, env=env)
        self.assertEqual(p.returncode, 1)
        self.assertIn(f"`{run_dir}/ocifs` belongs to uid 65534, not to uid 0", p.stderr)
        self.assertFalse(is_mounted(mnt))
        p = run([OCIFS, "status", mnt], check=False, env=env)
        self.assertIn("belongs to uid 65534", p.stderr)
        os.chown(f"{run_dir}/ocifs", 0, 0)
        os.chmod(f"{run_dir}/ocifs", 0o777)  # made by us, but writable by all
        p = self.mount(EXAMPLE, mnt, *EXAMPLE_ARGS, check=False, env=env)
        self.assertIn("has mode 0777, not 0700", p.stderr)

    def test_allow_other_names_the_private_files_it_would_expose(self):
        project = shutil.copytree(EXAMPLE, f"{self.tmp}/project")
        write_text(f"{project}/src/hello/settings_local.py", "TOKEN = 's3cr3t'\n")
        os.chmod(f"{project}/src/hello/settings_local.py", 0o600)
        mnt = f"{self.tmp}/mnt"
        os.mkdir(mnt)
        # The image runs as root here, so the file is readable inside it: only --allow-other exposes
        # it, to the host's other users.
        p = self.mount(project, mnt, *EXAMPLE_ARGS, "--user", "0", "--allow-other", "--strict", check=False)
        self.assertEqual(p.returncode, 1)
        self.assertIn(f"`{project}/src/hello/settings_local.py`", p.stderr)
        self.assertIn("an error with --strict", p.stderr)
        self.assertFalse(is_mounted(mnt))
        p = self.mount(project, mnt, *EXAMPLE_ARGS, "--user", "0", "--allow-other")
        self.assertIn(f"`{project}/src/hello/settings_local.py`", p.stderr)
        self.assertIn("--allow-other lets every local user read the image, and with it 1 file(s)", p.stderr)

    def test_dead_mounts_and_umount_say_what_to_do(self):
        mnt = f"{self.tmp}/mnt"
        os.mkdir(mnt)
        p = run([OCIFS, "umount", mnt], check=False)
        self.assertEqual((p.returncode, p.stderr.strip()), (1, f"ocifs: error: `{mnt}` is not mounted"))
        self.mount(EXAMPLE, mnt, *EXAMPLE_ARGS, env=self.env)
        read_bytes(f"{mnt}/index.json")
        pid = json.loads(run([OCIFS, "status", mnt, "--json"], env=self.env).stdout)["pid"]
        os.kill(pid, signal.SIGKILL)
        wait_until(lambda: not os.path.exists(f"/proc/{pid}"), 10, "the daemon to die")
        p = run([OCIFS, "status", mnt], check=False, env=self.env)
        self.assertEqual(p.returncode, 1)
        self.assertIn(f"is gone; `ocifs umount {mnt}` cleans up", p.stderr)
        p = run([OCIFS, "mount", EXAMPLE, mnt, *EXAMPLE_ARGS], check=False, env=self.env)
        self.assertEqual(p.returncode, 1)
        self.assertIn(f"run `ocifs umount {mnt}` first", p.stderr)
        # A mount elsewhere sweeps the status files of gone daemons, but not this one: its dead
        # mount is still there, and `ocifs status` still says how to clean it up.
        other = f"{self.tmp}/other"
        os.mkdir(other)
        self.mount(EXAMPLE, other, *EXAMPLE_ARGS, env=self.env)
        self.assertTrue(os.path.exists(status_file_of(mnt)))
        p = run([OCIFS, "status", mnt], check=False, env=self.env)
        self.assertIn(f"is gone; `ocifs umount {mnt}` cleans up", p.stderr)
        run([OCIFS, "umount", other], env=self.env)
        run([OCIFS, "umount", mnt], env=self.env)
        self.assertFalse(is_mounted(mnt))
        self.assertFalse(os.path.exists(status_file_of(mnt)), "the dead daemon's status file is removed")


# A copier as simple as `cp -r`, in the order the directory lists its entries, throttled to a
# rate: it exits 1 on the first error (EIO, ENOENT), as cp does.
COPIER = r"""
import os, sys, time
src, dst, rate = sys.argv[1], sys.argv[2], float(sys.argv[3])
def copy(s, d):
    os.mkdir(d)
    for name in os.listdir(s):
        sp, dp = os.path.join(s, name), os.path.join(d, name)
        if os.path.isdir(sp):
            copy(sp, dp)
            continue
        with open(sp, "rb") as f, open(dp, "wb") as o:
            while chunk := f.read(1 << 18):
                o.write(chunk)
                time.sleep(len(chunk) / rate)
try:
    copy(src, dst)
except OSError as e:
    print(e, file=sys.stderr)
    sys.exit(1)
"""


class DeveloperCheckoutTest(unittest.TestCase):
    """A working copy as developers have them: secrets, editor and coverage clutter, a local
    database named only in .gitignore. None of it reaches the image unless asked for."""

    LEFT_OUT = [".env", ".env.production", "id_rsa", "deploy/server.pem", "certs/tls.key", ".netrc",
                ".idea/workspace.xml", ".vscode/settings.json", "htmlcov/index.html", ".coverage",
                ".gitignore", "instance/hello.db", "src/hello/cache.sqlite3"]
    SECRETS = [".env", ".env.production", ".netrc", "certs/tls.key", "deploy/server.pem", "id_rsa"]

    def test_a_checkout_full_of_secrets_ships_none_of_them(self):
        with tempfile.TemporaryDirectory() as tmp:
            project = shutil.copytree(EXAMPLE, f"{tmp}/project")
            os.unlink(f"{project}/.dockerignore")  # a project as git sees it
            for path in self.LEFT_OUT:
                os.makedirs(os.path.dirname(f"{project}/{path}"), exist_ok=True)
                write_text(f"{project}/{path}", "SECRET_TOKEN=do-not-ship\n")
            write_text(f"{project}/.gitignore", "instance/\n*.sqlite3\n")
            mnt = f"{tmp}/mnt"
            os.mkdir(mnt)
            try:
                p = run([OCIFS, "mount", project, mnt, *EXAMPLE_ARGS])
                self.assertIn(f"left out {len(self.SECRETS)} secret-like file(s): `"
                              + "`, `".join(self.SECRETS) + "`", p.stderr)
                layer, data = app_layer_of(mnt)
                names = tarfile.open(fileobj=io.BytesIO(data)).getnames()
                self.assertIn("app/src/hello/cli.py", names)
                for path in self.LEFT_OUT:
                    self.assertNotIn(f"app/{path}", names)
                self.assertNotIn(b"SECRET_TOKEN", data)
                assert_layout_ok(self, mnt)
            finally:
                run([OCIFS, "umount", mnt], check=False)
            # Shipped on purpose: named in `include`.
            out = run([OCIFS, "inspect", project, *EXAMPLE_ARGS, "--include", ".env.production"]).stdout
            self.assertIn("app/.env.production", out)
            self.assertNotIn('"app/.env"', out)


class ConsistentCopyTest(unittest.TestCase):
    """A copy that succeeds is one generation's image, whatever edits land while it runs."""

    ROUNDS = 50

    def test_copies_in_directory_order_under_random_edits_are_whole_or_fail(self):
        rng = random.Random(20261202)
        with tempfile.TemporaryDirectory() as tmp:
            project = shutil.copytree(EXAMPLE, f"{tmp}/project")
            extra = f"{project}/src/hello/extra.py"
            write_text(extra, "n = 0\n")
            results = []
            with Mount(project, "--base", "scratch", "--deps", DEPS, "--python", "3.11",
                       "--disable-plugin", "sbom") as m:
                size = sum(os.path.getsize(f"{m.path}/blobs/sha256/{h}") for h in os.listdir(f"{m.path}/blobs/sha256"))
                rate = size / 0.4  # a copy takes about 0.4 s
                for i in range(self.ROUNDS):
                    dst = f"{tmp}/copy{i}"
                    copier = subprocess.Popen([sys.executable, "-c", COPIER, m.path, dst, str(rate)],
                                              stderr=subprocess.PIPE, text=True)
                    time.sleep(rng.uniform(0, 0.8))
                    write_text(extra, f"n = {i + 1}\n")  # a new generation, mid-copy or not
                    _, err = copier.communicate(timeout=120)
                    results.append((copier.returncode, err.strip()))
                    if copier.returncode != 0:
                        continue
                    report = ocicheck.check_layout(dst)
                    self.assertTrue(report.ok, f"round {i}: the copy exited 0 but is not whole:\n{report.text()}")
                    # A second reader takes it as an image.
                    run(["skopeo", "copy", f"oci:{dst}:latest", f"oci:{tmp}/again{i}:latest"])
                    shutil.rmtree(f"{tmp}/again{i}")
                    shutil.rmtree(dst)
        whole = sum(1 for rc, _ in results if rc == 0)
        failed = [err for rc, err in results if rc != 0]
        print(f"\n{whole} of {self.ROUNDS} copies whole, {len(failed)} failed as cp would: {failed[:3]}",
              file=sys.stderr)
        self.assertGreaterEqual(whole, 10, failed)  # about 20 of 50 here: the rest met a changed source
        for err in failed:  # only what a copy of a changed source may meet
            self.assertRegex(err, r"Input/output error|No such file", err)


class TortureTest(unittest.TestCase):
    SECONDS = 12

    def test_readers_never_see_wrong_bytes_while_writers_edit(self):
        import random
        import threading
        with tempfile.TemporaryDirectory() as tmp:
            project = shutil.copytree(EXAMPLE, f"{tmp}/project")
            names = [f"{project}/src/hello/data{i}.py" for i in range(24)]
            for i, n in enumerate(names):
                write_text(n, f"# {i}\n" + "x" * (512 * (i % 5) + 7 * i) + "\n")
            stop = time.monotonic() + self.SECONDS
            counts = {"reads": 0, "eio": 0, "gone": 0, "wrong": 0, "edits": 0, "generations": set()}
            lock = threading.Lock()
            wrong = []

            def writer(seed):
                rng = random.Random(seed)
                while time.monotonic() < stop:
                    n = rng.choice(names)
                    data = read_bytes(n) or b"# refilled\n"  # the other writer may have just truncated it
                    kind = rng.randrange(3)
                    if kind == 0:  # in place, same size
                        with open(n, "r+b") as f:
                            f.seek(rng.randrange(len(data)))
                            f.write(bytes([rng.randrange(65, 90)]))
                    elif kind == 1:  # truncate and append
                        with open(n, "wb") as f:
                            f.write(data[: len(data) // 2] + b"# grown\n" * rng.randrange(1, 50))
                    else:  # replace by rename, as editors and git do
                        write_text(n + ".new", data.decode() + "# renamed\n")
                        os.replace(n + ".new", n)
                    with lock:
                        counts["edits"] += 1
                    # Edits come in bursts (a save, a checkout), then a pause in which a new
                    # generation can be hashed.
                    time.sleep(rng.uniform(0.0, 0.01) if rng.random() < 0.7 else rng.uniform(0.15, 0.4))

            def reader(m, seed):
                rng = random.Random(seed)
                seen = []  # manifests of this and earlier generations
                while time.monotonic() < stop:
                    try:
                        index = read_json(f"{m.path}/index.json")
                        seen.append(index["manifests"][0]["digest"][7:])
                        manifest_hex = rng.choice(seen[-5:])
                        manifest = read_json(f"{m.path}/blobs/sha256/{manifest_hex}")
                    except (OSError, ValueError):
                        continue
                    with lock:
                        counts["generations"].add(manifest_hex)
                    for d in [manifest["config"]["digest"]] + [l["digest"] for l in manifest["layers"]]:
                        hexd = d[7:]
                        try:
                            got = sha256_of(f"{m.path}/blobs/sha256/{hexd}")
                        except OSError as e:
                            with lock:
                                if e.errno == errno.EIO:
                                    counts["eio"] += 1
                                elif e.errno == errno.ENOENT:
                                    counts["gone"] += 1  # a generation no longer kept
                                else:
                                    wrong.append(f"{hexd[:12]}: unexpected {e}")
                            continue
                        with lock:
                            counts["reads"] += 1
                            if got != hexd:
                                counts["wrong"] += 1
                                wrong.append(f"{hexd[:12]}: read bytes hash to {got[:12]}")

            with Mount(project, "--base", "scratch", "--python", "3.11", "--cache-dir", f"{tmp}/cache") as m:
                threads = [threading.Thread(target=writer, args=(i,)) for i in range(2)]
                threads += [threading.Thread(target=reader, args=(m, 100 + i)) for i in range(8)]
                for t in threads:
                    t.start()
                for t in threads:
                    t.join()
            print(f"\ntorture: {counts['edits']} edits, {len(counts['generations'])} generations read, "
                  f"{counts['reads']} complete blob reads, {counts['eio']} EIO, {counts['gone']} gone, "
                  f"{counts['wrong']} wrong bytes", flush=True)
            self.assertEqual(wrong, [])
            self.assertGreater(counts["reads"], 0)
            self.assertGreater(len(counts["generations"]), 1, "the edits made new generations")


class BadInputTest(unittest.TestCase):
    """Each bad input: exit code 1, a message that names the file, line or reference, nothing mounted."""

    def project(self, tmp, pyproject='[project]\nname = "p"\n[project.scripts]\np = "p.cli:main"\n'):
        d = f"{tmp}/project"
        os.makedirs(f"{d}/p")
        if pyproject is not None:
            write_text(f"{d}/pyproject.toml", pyproject)
        write_text(f"{d}/p/__init__.py", "")
        write_text(f"{d}/p/cli.py", "def main():\n    print('p')\n")
        return d

    def expect_error(self, args, want, user=None):
        cmd = [OCIFS, *args]
        if user:
            cmd = ["setpriv", f"--reuid={user}", f"--regid={user}", "--clear-groups", *cmd]
        p = run(cmd, check=False)
        self.assertEqual(p.returncode, 1, f"{args}: {p.stderr}")
        self.assertIn("ocifs: error: ", p.stderr)
        self.assertIn(want, p.stderr, f"{args}")
        return p

    def test_cases(self):
        cases = []

        def case(name, setup, want, command="inspect", strict_only=False, user=None):
            cases.append((name, setup, want, command, strict_only, user))

        case("malformed pyproject.toml", lambda t: (self.project(t, '[project]\nname = "p"\nversion = 1.2.3\n'), []),
             "pyproject.toml:3:")
        case("missing project directory", lambda t: (f"{t}/nope", []), "does not exist")
        case("invalid tag", lambda t: (self.project(t), ["--tag", "Bad Tag"]), "tag `Bad Tag`")
        case("missing base layout", lambda t: (self.project(t), ["--base", f"oci:{t}/no-base"]), "/no-base` does not exist")
        case("bad registry reference", lambda t: (self.project(t), ["--base", "Python:3.11-slim"]),
             "base: image reference `Python:3.11-slim`: repository names must be lowercase")

        def corrupt_base(t):
            base = shutil.copytree(BASE, f"{t}/base")
            index = read_json(f"{base}/index.json")
            digest = index["manifests"][0]["digest"][7:]
            data = read_bytes(f"{base}/blobs/sha256/{digest}").decode()
            write_text(f"{base}/blobs/sha256/{digest}", data.replace('"layers"', '"layerz"'))
            return self.project(t), ["--base", f"oci:{base}:3.11-slim"]

        case("corrupt base layout", corrupt_base, "blob sha256:")

        def unreadable_base_index(t):
            base = f"{t}/base"
            os.makedirs(base, mode=0o755)
            write_text(f"{base}/oci-layout", '{"imageLayoutVersion": "1.0.0"}')
            write_text(f"{base}/index.json", '{"schemaVersion": 2, "manifests": []}')
            os.chmod(f"{base}/index.json", 0o600)  # root's; the command runs as nobody
            return self.project(t), ["--base", f"oci:{base}"]

        case("unreadable base index.json", unreadable_base_index,
             "(layout `{t}/base`): `index.json`: open: Permission denied", user="65534")

        def with_special(kind):
            def setup(t):
                d = self.project(t)
                if kind == "fifo":
                    os.mkfifo(f"{d}/pipe")
                else:
                    s = socket.socket(socket.AF_UNIX)
                    s.bind(f"{d}/sock")
                    self.addCleanup(s.close)
                return d, []
            return setup

        case("FIFO in the tree", with_special("fifo"), "FIFO `pipe`", strict_only=True)
        case("socket in the tree", with_special("socket"), "socket `sock`", strict_only=True)

        def escaping_link(t):
            d = self.project(t)
            os.symlink("../../etc/passwd", f"{d}/p/escape")
            return d, []

        case("symlink escaping the root", escaping_link, "symlink `p/escape` -> `../../etc/passwd`", strict_only=True)

        def absolute_link(t):
            d = self.project(t)
            os.symlink("/etc/passwd", f"{d}/abs")
            return d, []

        case("absolute symlink", absolute_link, "symlink `abs` -> `/etc/passwd`: it is absolute", strict_only=True)

        def non_utf8(t):
            d = self.project(t)
            with open(os.path.join(d.encode(), b"bad\xff.py"), "w"):
                pass
            return d, []

        case("non-UTF-8 name", non_utf8, "`bad\\xff.py`")

        def whiteout(t):
            d = self.project(t)
            write_text(f"{d}/p/.wh.secret", "")
            return d, []

        case("whiteout name", whiteout, "`p/.wh.secret`")

        def unreadable(t):
            d = self.project(t)
            os.chmod(t, 0o755)
            for root, dirs, files in os.walk(d):
                for n in dirs:
                    os.chmod(os.path.join(root, n), 0o755)
                for n in files:
                    os.chmod(os.path.join(root, n), 0o644)
            os.chmod(d, 0o755)
            write_text(f"{d}/private.cfg", "k")
            os.chmod(f"{d}/private.cfg", 0o600)  # root's; the command runs as nobody
            return d, []

        case("unreadable file", unreadable, "`private.cfg`: not readable: Permission denied", user="65534")

        def mountpoint_missing(t):
            return self.project(t), None

        case("mountpoint missing", mountpoint_missing, "does not exist", command="mount-missing")
        case("mountpoint not empty", mountpoint_missing, "is not empty", command="mount-nonempty")

        for name, setup, want, command, strict_only, user in cases:
            with self.subTest(name), tempfile.TemporaryDirectory() as tmp:
                os.chmod(tmp, 0o755)
                project, extra = setup(tmp)
                want = want.replace("{t}", tmp)
                if command == "mount-missing":
                    self.expect_error(["mount", project, f"{tmp}/no-such-dir", "--base", "scratch"], f"{tmp}/no-such-dir")
                    continue
                if command == "mount-nonempty":
                    os.makedirs(f"{tmp}/full")
                    write_text(f"{tmp}/full/x", "")
                    self.expect_error(["mount", project, f"{tmp}/full", "--base", "scratch"], want)
                    continue
                args = ["inspect", project, "--base", "scratch", *extra]
                if strict_only:
                    # A warning without --strict (the entry is left out), an error with it.
                    p = run([OCIFS, *args], check=False, env={})
                    self.assertEqual(p.returncode, 0, p.stderr)
                    self.assertIn("ocifs: warning: ", p.stderr)
                    self.assertIn(want, p.stderr)
                    self.expect_error([*args, "--strict"], want)
                else:
                    self.expect_error(args, want, user=user)
                # The same error stops a mount before anything is mounted.
                if name in ("malformed pyproject.toml", "corrupt base layout", "unreadable file"):
                    mnt = f"{tmp}/mnt"
                    os.makedirs(mnt)
                    os.chmod(mnt, 0o777)
                    self.expect_error(["mount", project, mnt, "--base", "scratch", *extra], want, user=user)
                    self.assertFalse(is_mounted(mnt))


class PluginSdkTest(unittest.TestCase):
    """The SDK as a plugin author outside this repository uses it: install, build, load."""

    FIXTURES = os.path.join(BUILD_DIR, "tests", "plugin_fixtures")

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="ocifs-it-sdk-")
        cls.prefix = f"{cls.tmp}/prefix"
        run(["cmake", "--install", BUILD_DIR, "--prefix", cls.prefix])
        cls.installed_ocifs = f"{cls.prefix}/bin/ocifs"

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def check_layout(self, layout):
        assert_layout_ok(self, layout)

    def test_example_built_with_cmake_is_found_in_the_install_and_labels_the_image(self):
        src, build = f"{ROOT}/sdk/examples/label", f"{self.tmp}/example-cmake"
        run(["cmake", "-S", src, "-B", build, f"-DCMAKE_PREFIX_PATH={self.prefix}"])
        run(["cmake", "--build", build])
        run(["cmake", "--install", build])  # into the prefix's plugin directory
        listed = run([self.installed_ocifs, "plugins"]).stdout
        self.assertIn("loaded   example-label 1.0.0 (ABI 0.3) [detect]", listed)
        # The build tree's ocifs searches its own plugin directory, not the prefix's.
        p = run([OCIFS, "inspect", EXAMPLE, *EXAMPLE_ARGS])
        self.assertNotIn("com.example.built-by", json.loads(p.stdout)["config"]["config"].get("Labels", {}))
        with tempfile.TemporaryDirectory() as tmp:
            mnt = os.path.join(tmp, "mnt")
            os.mkdir(mnt)
            try:
                run([self.installed_ocifs, "mount", EXAMPLE, mnt, *EXAMPLE_ARGS,
                     "--plugin-opt", "example-label.label=com.example.team=payments"])
                labels = image_config(mnt)["config"]["Labels"]
                self.assertEqual(labels.get("com.example.team"), "payments")
                self.check_layout(mnt)
            finally:
                run([self.installed_ocifs, "umount", mnt], check=False)
                wait_until(lambda: not is_mounted(mnt), 20, "the mount to go")
        # A bad setting fails the mount with the plugin's name and message.
        p = run([self.installed_ocifs, "inspect", EXAMPLE, *EXAMPLE_ARGS,
                 "--plugin-opt", "example-label.label=novalue"], check=False)
        self.assertEqual(p.returncode, 1)
        self.assertIn("plugin `example-label` (init) failed: setting `label`: want KEY=VALUE, got `novalue`",
                      p.stderr)

    def test_each_ocifs_finds_the_plugins_beside_it_and_says_when_there_are_none(self):
        # The build tree's and the install's ocifs each list the in-tree plugins from their own
        # plugin directory.
        for ocifs, plugin_dir in ((OCIFS, f"{BUILD_DIR}/lib/ocifs/plugins"),
                                  (self.installed_ocifs, f"{self.prefix}/lib/ocifs/plugins")):
            listed = run([ocifs, "plugins"])
            self.assertEqual(listed.stderr, "", ocifs)
            self.assertIn(f"searched, in order:\n  {os.path.realpath(plugin_dir)}\n", listed.stdout)
            for name in ("frameworks", "sbom"):
                self.assertRegex(listed.stdout, rf"loaded   {name} .*\n.*\n +{re.escape(os.path.realpath(plugin_dir))}/{name}\.so\n")
        # A copy of the binary alone: no plugin directory beside it. The mount still works, and
        # says what is missing and where it looked.
        lonely = f"{self.tmp}/lonely/bin/ocifs"
        os.makedirs(os.path.dirname(lonely))
        shutil.copy(OCIFS, lonely)
        missing = f"{self.tmp}/lonely/lib/ocifs/plugins"
        want = f"ocifs: warning: no plugin directory found (looked in `{missing}`): the image gets no SBOM"
        listed = run([lonely, "plugins"])
        self.assertIn(f"  {missing}  (no such directory)\nno plugins found\n", listed.stdout)
        self.assertIn(want, listed.stderr)
        with tempfile.TemporaryDirectory() as tmp:
            mnt = os.path.join(tmp, "mnt")
            os.mkdir(mnt)
            try:
                p = run([lonely, "mount", EXAMPLE, mnt, *EXAMPLE_ARGS])
                self.assertIn(want, p.stderr)
                assert_layout_ok(self, mnt, tags=["latest"])  # and no SBOM
            finally:
                run([lonely, "umount", mnt], check=False)
                wait_until(lambda: not is_mounted(mnt), 20, "the mount to go")
        # OCIFS_PLUGIN_PATH naming a directory that exists, even an empty one, is the user's
        # choice: no warning.
        p = run([lonely, "plugins"], env={"OCIFS_PLUGIN_PATH": os.path.dirname(lonely)})
        self.assertEqual(p.stderr, "")

    def test_example_built_with_pkg_config_loads_into_a_mount(self):
        env = dict(os.environ, PKG_CONFIG_PATH=f"{self.prefix}/lib/pkgconfig")
        cflags = subprocess.run(["pkg-config", "--cflags", "ocifs-plugin"], env=env, check=True,
                                capture_output=True, text=True).stdout.split()
        so = f"{self.tmp}/pkg-config/example-label.so"
        os.makedirs(os.path.dirname(so), exist_ok=True)
        run(["c++", "-std=c++20", "-shared", "-fPIC", "-fvisibility=hidden", *cflags,
             f"{ROOT}/sdk/examples/label/label.cc", "-o", so])
        with Mount(EXAMPLE, *EXAMPLE_ARGS, "--plugin", so) as m:
            labels = image_config(m.path)["config"]["Labels"]
            self.assertEqual(labels.get("com.example.built-by"), "ocifs-example-label")
            run(["skopeo", "copy", f"oci:{m.path}:latest", f"oci:{self.tmp}/copied:latest"])
        self.check_layout(f"{self.tmp}/copied")
        # The same plugin through OCIFS_PLUGIN_PATH, and turned off again.
        plugin_dir = os.path.dirname(so)
        p = run([OCIFS, "inspect", EXAMPLE, *EXAMPLE_ARGS], env={"OCIFS_PLUGIN_PATH": plugin_dir})
        self.assertIn("com.example.built-by", json.loads(p.stdout)["config"]["config"]["Labels"])
        for off in (["--no-plugins"], ["--disable-plugin", "example-label"]):
            p = run([OCIFS, "inspect", EXAMPLE, *EXAMPLE_ARGS, *off], env={"OCIFS_PLUGIN_PATH": plugin_dir})
            self.assertNotIn("com.example.built-by",
                             json.loads(p.stdout)["config"]["config"].get("Labels", {}), off)

    def test_broken_plugins_fail_the_mount_clearly_and_mount_nothing(self):
        cases = [
            ("broken_wrong_major", "refused: it was built for plugin ABI 1.3; this ocifs has ABI 0.3"),
            ("broken_no_entry", "refused: it does not export `ocifs_plugin_entry`"),
            ("throws", "plugin `throws` (detect) failed: cannot parse app.py"),
            ("throws_raw", "plugin `throws-raw` (detect): an exception crossed the C ABI"),
        ]
        for fixture, want in cases:
            with self.subTest(fixture=fixture), tempfile.TemporaryDirectory() as tmp:
                mnt = os.path.join(tmp, "mnt")
                os.mkdir(mnt)
                p = run([OCIFS, "mount", EXAMPLE, mnt, *EXAMPLE_ARGS,
                         "--plugin", f"{self.FIXTURES}/{fixture}.so"], check=False)
                self.assertEqual(p.returncode, 1, p.stderr)
                self.assertIn(want, p.stderr)
                self.assertFalse(is_mounted(mnt))

    def test_artifacts_pass_the_layout_check_and_copy_with_skopeo(self):
        with Mount(EXAMPLE, *EXAMPLE_ARGS, "--plugin", f"{self.FIXTURES}/cpp_probe.so") as m, \
                tempfile.TemporaryDirectory() as tmp:
            index = read_json(f"{m.path}/index.json")
            refs = [d["annotations"]["org.opencontainers.image.ref.name"] for d in index["manifests"]]
            # --plugin files load before the install's plugins (sbom).
            self.assertEqual(refs, ["latest", "latest.probe.facts", "latest.probe.base",
                                    "latest.sbom.spdx", "latest.sbom.cyclonedx"])
            self.check_layout(m.path)
            image = index["manifests"][0]["digest"]
            for ref, want in (("latest.probe.base", b"1f8b\n"), ("latest.probe.facts", None)):
                run(["skopeo", "copy", f"oci:{m.path}:{ref}", f"oci:{tmp}/copy:{ref}"])
                copied = read_json(f"{tmp}/copy/index.json")["manifests"][-1]
                manifest = read_json(f"{tmp}/copy/blobs/sha256/{copied['digest'][7:]}")
                self.assertEqual(manifest["subject"]["digest"], image)
                doc = read_bytes(f"{tmp}/copy/blobs/sha256/{manifest['layers'][0]['digest'][7:]}")
                if want is not None:
                    self.assertEqual(doc, want)  # the base layer is gzip, read through read_base_blob
                else:
                    facts = json.loads(doc)
                    self.assertEqual(facts["base"]["reference"], f"oci:{BASE}:3.11-slim")
                    self.assertEqual(len(facts["base"]["layers"]), 1)

    def test_a_failing_generation_hook_keeps_the_served_generation(self):
        with tempfile.TemporaryDirectory() as tmp:
            project = shutil.copytree(EXAMPLE, f"{tmp}/project")
            with Mount(project, *EXAMPLE_ARGS, "--plugin", f"{self.FIXTURES}/cpp_probe.so",
                       "--plugin-opt", "cpp-probe.fail-generation=2") as m:
                config = image_config(m.path)
                self.assertEqual(config["config"]["Labels"]["cpp-probe.label"], "on")
                self.assertIn("cpp-probe", [h.get("created_by", "").split()[2]
                                            for h in config["history"] if "ocifs plugin" in h.get("created_by", "")])
                self.check_layout(m.path)  # the plugin's layer included
                index = read_bytes(f"{m.path}/index.json")
                cli = f"{project}/src/hello/cli.py"
                write_text(cli, read_bytes(cli).decode().replace("Hello,", "Howdy,"))
                status = lambda: json.loads(run([OCIFS, "status", m.path, "--json"]).stdout)
                wait_until(lambda: "told to fail generation 2" in status().get("last_error", ""), 20,
                           "the hook's error in the status")
                # Still the first generation (its application layer now fails its reads with
                # EIO, as the source changed: the user guide's guarantee).
                self.assertEqual(read_bytes(f"{m.path}/index.json"), index)
