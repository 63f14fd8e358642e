#!/usr/bin/env python3
"""`ocifs export`: the image as one archive, from a project and from a mount. Each format is read
by skopeo (`oci-archive:`, `docker-archive:`), the layout it copies out (and the archive itself,
extracted) is checked and unpacked by umoci, and the image runs under runc; podman loads the
docker-archive and runs it with a read-only root. The bytes are the same
for the same input, and an export that fails leaves no file behind.
"""
import json
import os
import shutil
import subprocess
import tarfile
import tempfile
import unittest

from itlib import (EXAMPLE, EXAMPLE_ARGS, EPOCH, OCIFS, Mount, assert_layout_ok, read_json, run,
                   runc_run, sha256_of)

HELLO = r"^Hello, world! \(hello-ocifs 0\.1\.0, click 8\.1\.3, Python 3\.11\.\d+\)\n$"


def members(path):
    with tarfile.open(path) as t:
        return [(m.name, m.type, m.mode, m.uid, m.gid, m.mtime, m.uname, m.gname) for m in t]


class ExportTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="ocifs-it-export-")

    def tearDown(self):
        shutil.rmtree(self.tmp, ignore_errors=True)

    def export(self, *args, source=(EXAMPLE,), check=True):
        return run([OCIFS, "export", *source, *args, *([] if "--mount" in source else EXAMPLE_ARGS)],
                   check=check)

    def test_oci_archive_is_read_by_skopeo_and_umoci_and_runs(self):
        archive = f"{self.tmp}/image.tar"
        p = self.export("--format", "oci-archive", "--output", archive)
        self.assertIn("oci-archive", p.stderr)
        # A tar of the layout, entries owned by root with one mtime and no names.
        for name, kind, mode, uid, gid, mtime, uname, gname in members(archive):
            self.assertEqual((uid, gid, uname, gname, mtime), (0, 0, "", "", int(EPOCH)), name)
            self.assertEqual(mode, 0o755 if kind == tarfile.DIRTYPE else 0o644, name)
        names = [m[0] for m in members(archive)]
        self.assertEqual(names[-2:], ["index.json", "oci-layout"])
        # Extracted, it is the layout `ocifs build` writes, byte for byte.
        extracted, built = f"{self.tmp}/extracted", f"{self.tmp}/built"
        os.mkdir(extracted)
        run(["tar", "-xf", archive, "-C", extracted])
        run([OCIFS, "build", EXAMPLE, "--output", built, *EXAMPLE_ARGS])
        self.assertEqual(sorted(os.listdir(f"{extracted}/blobs/sha256")),
                         sorted(os.listdir(f"{built}/blobs/sha256")))
        self.assertEqual(read_json(f"{extracted}/index.json"), read_json(f"{built}/index.json"))
        assert_layout_ok(self, extracted, tags=["latest", "latest.sbom.spdx", "latest.sbom.cyclonedx"])
        out, _ = runc_run(extracted, "latest")
        self.assertRegex(out, HELLO)
        # skopeo reads the archive itself.
        copied = f"{self.tmp}/copied"
        run(["skopeo", "copy", f"oci-archive:{archive}:latest", f"oci:{copied}:latest"])
        assert_layout_ok(self, copied)
        out, _ = runc_run(copied, "latest")
        self.assertRegex(out, HELLO)

    def test_docker_archive_is_read_by_skopeo_and_runs(self):
        archive = f"{self.tmp}/image.tar"
        p = self.export("--format", "docker-archive", "--tag", "latest", "--tag",
                        "registry.example/team/hello:1.0", "--output", archive)
        self.assertIn("hello-ocifs:latest, registry.example/team/hello:1.0", p.stderr)
        with tarfile.open(archive) as t:
            manifest = json.load(t.extractfile("manifest.json"))
            repositories = json.load(t.extractfile("repositories"))
            names = set(t.getnames())
        self.assertEqual(len(manifest), 1, manifest)
        self.assertEqual(manifest[0]["RepoTags"],
                         ["hello-ocifs:latest", "registry.example/team/hello:1.0"])
        for path in [manifest[0]["Config"], *manifest[0]["Layers"]]:
            self.assertIn(path, names)
        self.assertEqual(set(repositories), {"hello-ocifs", "registry.example/team/hello"})
        # What `docker load` reads, skopeo reads the same way: by the RepoTag, or the first image.
        inspect = json.loads(run(["skopeo", "inspect", f"docker-archive:{archive}"]).stdout)
        self.assertEqual(inspect["Labels"]["org.opencontainers.image.title"], "hello-ocifs")
        for source in (f"docker-archive:{archive}", f"docker-archive:{archive}:registry.example/team/hello:1.0"):
            copied = f"{self.tmp}/copied-{len(os.listdir(self.tmp))}"
            run(["skopeo", "copy", source, f"oci:{copied}:latest"])
            assert_layout_ok(self, copied)
            out, _ = runc_run(copied, "latest")
            self.assertRegex(out, HELLO)
        # Extracted, the archive is also a layout umoci unpacks, each entry named in full.
        extracted = f"{self.tmp}/extracted"
        os.mkdir(extracted)
        run(["tar", "-xf", archive, "-C", extracted])
        assert_layout_ok(self, extracted, tags=["latest", "1.0"])
        self.assertEqual([m["annotations"]["io.containerd.image.name"]
                          for m in read_json(f"{extracted}/index.json")["manifests"]],
                         ["docker.io/library/hello-ocifs:latest", "registry.example/team/hello:1.0"])
        out, _ = runc_run(extracted, "latest")
        self.assertRegex(out, HELLO)
        # Standard output gives the same bytes as a file.
        with open(f"{self.tmp}/stdout.tar", "wb") as f:
            subprocess.run([OCIFS, "export", EXAMPLE, "--format", "docker-archive", "--tag", "latest",
                            "--tag", "registry.example/team/hello:1.0", "--output", "-", *EXAMPLE_ARGS],
                           stdout=f, check=True, env=dict(os.environ, SOURCE_DATE_EPOCH=EPOCH))
        self.assertEqual(sha256_of(f"{self.tmp}/stdout.tar"), sha256_of(archive))

    def test_docker_archive_loads_into_podman_and_runs_read_only(self):
        # No Docker engine here: podman load reads the same archive `docker load` does, and
        # podman run mounts the image's Volumes writable over a read-only root.
        archive = f"{self.tmp}/image.tar"
        with Mount(EXAMPLE, *EXAMPLE_ARGS) as m:
            self.export("--format", "docker-archive", "--output", archive, source=("--mount", m.path))
        podman = ["podman", "--root", f"{self.tmp}/podman/root", "--runroot", f"{self.tmp}/podman/run",
                  "--storage-driver", "vfs", "--cgroup-manager", "cgroupfs", "--events-backend", "none"]
        # What this sandbox allows runc to set (podman's default limits are above it).
        limits = ["--ulimit", "nofile=1024:1024", "--ulimit", "nproc=1024:1024"]
        p = run([*podman, "load", "--input", archive])
        self.assertIn("Loaded image: docker.io/library/hello-ocifs:latest", p.stdout + p.stderr)
        image = "docker.io/library/hello-ocifs:latest"
        p = run([*podman, "run", "--rm", "--network", "none", "--read-only", *limits, image])
        self.assertRegex(p.stdout, HELLO)
        p = run([*podman, "run", "--rm", "--network", "none", "--read-only", *limits,
                 "--entrypoint", "sh", image, "-c",
                 'id -u; touch /app/x 2>/dev/null || echo app read-only; '
                 'touch /tmp/x "$HOME/x" && echo "tmp and $HOME writable"'])
        self.assertEqual(p.stdout, "65532\napp read-only\ntmp and /home/nonroot writable\n")
        inspect = json.loads(run([*podman, "image", "inspect", image]).stdout)[0]
        self.assertEqual(sorted(inspect["Config"]["Volumes"]), ["/home/nonroot", "/tmp"])

    def test_same_input_same_bytes_from_project_and_from_mount(self):
        digests = {}
        for fmt in ("oci-archive", "docker-archive"):
            for i in range(2):
                path = f"{self.tmp}/{fmt}-{i}.tar"
                self.export("--format", fmt, "--output", path)
                digests.setdefault(fmt, set()).add(sha256_of(path))
        with Mount(EXAMPLE, *EXAMPLE_ARGS) as m:
            for fmt in ("oci-archive", "docker-archive"):
                path = f"{self.tmp}/{fmt}-mount.tar"
                self.export("--format", fmt, "--output", path, source=("--mount", m.path))
                digests[fmt].add(sha256_of(path))
        for fmt, seen in digests.items():
            self.assertEqual(len(seen), 1, f"{fmt}: {seen}")
        self.assertNotEqual(digests["oci-archive"], digests["docker-archive"])

    def test_failures_name_the_fault_and_leave_no_file(self):
        out = f"{self.tmp}/out"
        os.mkdir(out)
        archive = f"{out}/image.tar"
        cases = [
            (["--tag", "prod"], "tag `prod` is not in the layout; its tags are: latest"),
            (["--format", "zip"], "--format `zip`: oci-archive or docker-archive"),
            (["--format", "oci-archive", "--tag", "app:latest"], "an oci-archive names images by tag alone"),
            (["--tag", "App:1"], "a repository is lower case"),
        ]
        project = f"{self.tmp}/project"
        shutil.copytree(EXAMPLE, project)
        with Mount(project, *EXAMPLE_ARGS, "--no-watch") as m:
            for args, message in cases:
                p = self.export(*args, "--output", archive, source=("--mount", m.path), check=False)
                self.assertNotEqual(p.returncode, 0, args)
                self.assertIn(message, p.stderr, args)
                self.assertEqual(os.listdir(out), [], args)
            # A source file that changes under the served generation: its layer reads fail with
            # EIO, and the export fails whole; an earlier archive of that name is left as it was.
            self.export("--output", archive, source=("--mount", m.path))
            before = sha256_of(archive)
            with open(f"{project}/src/hello/__init__.py", "a") as f:
                f.write("# changed under the mount\n")
            # The layer's pages the kernel keeps are the right bytes; dropped, reads reach ocifs.
            with open("/proc/sys/vm/drop_caches", "w") as f:
                f.write("3\n")
            p = self.export("--output", archive, source=("--mount", m.path), check=False)
            self.assertNotEqual(p.returncode, 0, p.stderr)
            self.assertRegex(p.stderr, r"export to `.*image.tar`: blob sha256:[0-9a-f]{64}: .*Input/output error")
            self.assertEqual(os.listdir(out), ["image.tar"])
            self.assertEqual(sha256_of(archive), before)


if __name__ == "__main__":
    unittest.main()
