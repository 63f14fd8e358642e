#!/usr/bin/env python3
"""The sbom plugin end to end: the SPDX and CycloneDX documents a mount attaches, checked with
../shared/conformance/sbom_validate.py, against the dependencies tree they describe, against
dpkg-query run inside the base's rootfs, across two mounts, and copied to a docker-registry
started on 127.0.0.1 for the test.
"""
import copy
import email.parser
import json
import os
import re
import shutil
import subprocess
import tempfile
import unittest
import urllib.parse
import urllib.request

import ocicheck
from itlib import (BASE, BASE_REF, EXAMPLE, OCIFS, PYTHON, Mount, Registry, assert_layout_ok,
                   assert_sboms_ok, conformance, deps_set, read_bytes,
                   read_json, run)

SPDX = "application/spdx+json"
CYCLONEDX = "application/vnd.cyclonedx+json"


def normalize(name):
    return re.sub(r"[-_.]+", "-", name).lower()


def artifact(layout, ref):
    """(the artifact manifest, its document bytes) of index.json's entry `ref`."""
    index = read_json(f"{layout}/index.json")
    desc = next(m for m in index["manifests"]
                if m.get("annotations", {}).get("org.opencontainers.image.ref.name") == ref)
    manifest = read_json(f"{layout}/blobs/sha256/{desc['digest'][7:]}")
    doc = read_bytes(f"{layout}/blobs/sha256/{manifest['layers'][0]['digest'][7:]}")
    return desc, manifest, doc


def installed_distributions(site_packages):
    """{normalized name: version} of the dist-info and egg-info metadata in a site-packages."""
    out = {}
    for entry in os.listdir(site_packages):
        path = os.path.join(site_packages, entry)
        if entry.endswith(".dist-info"):
            path = os.path.join(path, "METADATA")
        elif entry.endswith(".egg-info") and os.path.isdir(path):
            path = os.path.join(path, "PKG-INFO")
        elif not entry.endswith(".egg-info"):
            continue
        with open(path, encoding="utf-8") as f:
            meta = email.parser.Parser().parse(f, headersonly=True)
        out[normalize(meta["Name"])] = meta["Version"]
    return out


def spdx_pypi(doc):
    """{name from the purl: version} of an SPDX document's pypi packages, checking that each
    purl's version is the package's."""
    out = {}
    for p in doc["packages"]:
        for ref in p.get("externalRefs", []):
            m = re.fullmatch(r"pkg:pypi/([^@]+)@(.+)", ref["referenceLocator"])
            if m:
                assert urllib.parse.unquote(m.group(2)) == p["versionInfo"], ref
                assert m.group(1) == normalize(p["name"]), ref
                out[m.group(1)] = p["versionInfo"]
    return out


class SbomTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.deps = deps_set("fastapi")
        cls.args = ["--base", BASE_REF, "--deps", cls.deps, "--python", "3.11"]

    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="ocifs-sbom-")
        self.addCleanup(shutil.rmtree, self.tmp, ignore_errors=True)

    def test_documents_validate_and_the_validators_catch_broken_ones(self):
        with Mount(EXAMPLE, *self.args) as m:
            refs = [d["annotations"]["org.opencontainers.image.ref.name"]
                    for d in read_json(f"{m.path}/index.json")["manifests"]]
            self.assertEqual(refs, ["latest", "latest.sbom.spdx", "latest.sbom.cyclonedx"])
            docs = {}
            for suffix, media in (("spdx", SPDX), ("cyclonedx", CYCLONEDX)):
                desc, manifest, doc = artifact(m.path, f"latest.sbom.{suffix}")
                self.assertEqual(desc["artifactType"], media)
                self.assertEqual(manifest["layers"][0]["mediaType"], media)
                docs[suffix] = doc
                with open(f"{self.tmp}/{suffix}.json", "wb") as f:
                    f.write(doc)
        assert_sboms_ok(self, f"{self.tmp}/spdx.json", f"{self.tmp}/cyclonedx.json")
        # `ocifs sbom` prints the same bytes without mounting.
        for suffix, doc in docs.items():
            out = run([OCIFS, "sbom", EXAMPLE, *self.args, "--format", suffix],
                      stdout=subprocess.PIPE, stderr=subprocess.PIPE).stdout
            self.assertEqual(out.encode(), doc, suffix)

        spdx, cdx = json.loads(docs["spdx"]), json.loads(docs["cyclonedx"])

        def dangling(d):
            d["relationships"].append({"spdxElementId": "SPDXRef-Image", "relationshipType": "CONTAINS",
                                       "relatedSpdxElement": "SPDXRef-Nowhere"})

        def duplicate_id(d):
            d["packages"].append(copy.deepcopy(d["packages"][-1]))

        def uppercase_purl(d):
            d["components"][-1]["purl"] = d["components"][-1]["purl"].replace("pkg:pypi/", "pkg:pypi/Upper_")

        def random_serial(d):
            d["serialNumber"] = "urn:uuid:not-a-uuid"

        def no_namespace(d):
            del d["documentNamespace"]

        def bad_dependency(d):
            d["dependencies"].append({"ref": "pkg:pypi/ghost@1", "dependsOn": []})

        # Each broken copy: what ocicheck says, and what ../shared's sbom_validate.py says.
        broken = [("spdx-dangling", spdx, dangling, "names no element", "refers to no element"),
                  ("spdx-duplicate", spdx, duplicate_id, "duplicate SPDXID", "duplicate SPDXID"),
                  ("spdx-namespace", spdx, no_namespace, "documentNamespace missing", "documentNamespace missing"),
                  ("cdx-purl", cdx, uppercase_purl, "is not normalised", "pypi purl name must be lowercase"),
                  ("cdx-serial", cdx, random_serial, "serialNumber", "serialNumber"),
                  ("cdx-dependency", cdx, bad_dependency, "is not a bom-ref", "is not a bom-ref")]
        for name, doc, breaker, ours, shared in broken:
            with self.subTest(broken=name):
                d = copy.deepcopy(doc)
                breaker(d)
                path = f"{self.tmp}/{name}.json"
                with open(path, "w") as f:
                    json.dump(d, f)
                report = ocicheck.check_sbom(path)
                self.assertTrue(any(ours in p for p in report.problems), report.text())
                p = conformance("sbom_validate.py", path)
                if p is not None:
                    self.assertEqual(p.returncode, 1, p.stdout)
                    self.assertIn(shared, p.stdout)

    def test_sbom_command_errors_name_the_cause(self):
        cases = [(["--disable-plugin", "sbom"], 1, "the sbom plugin is not loaded"),
                 (["--plugin-opt", "sbom.in-image=maybe"], 1, "setting `in-image`: want true or false"),
                 (["--format", "swid"], 2, "swid not in {spdx,cyclonedx}")]
        for extra, code, want in cases:
            with self.subTest(extra=extra):
                p = run([OCIFS, "sbom", EXAMPLE, *self.args, *extra], check=False)
                self.assertEqual(p.returncode, code, p.stderr)
                self.assertIn(want, p.stderr)
                self.assertEqual(p.stdout, "")

    def test_lists_exactly_the_installed_distributions_and_nothing_of_the_host(self):
        want = installed_distributions(self.deps)
        self.assertGreaterEqual(len(want), 10)  # the fastapi set: fastapi, starlette, pydantic...
        out = run([OCIFS, "sbom", EXAMPLE, *self.args, "--plugin-opt",
                   "sbom.include-base-packages=false"]).stdout
        spdx = json.loads(out)
        self.assertEqual(spdx_pypi(spdx), want)
        # The test runner's own Python has distributions the image does not (jsonschema, ...).
        host = run([PYTHON, "-c", "import importlib.metadata as m, json; "
                    "print(json.dumps([d.metadata['Name'] for d in m.distributions()]))"]).stdout
        host_only = {normalize(n) for n in json.loads(host) if n} - set(want)
        self.assertIn("jsonschema", host_only)
        self.assertFalse(host_only & set(spdx_pypi(spdx)))
        names = {p["name"] for p in spdx["packages"]}
        self.assertFalse({"jsonschema", "referencing"} & names)

    def test_base_packages_match_dpkg_query_inside_the_rootfs(self):
        bundle = f"{self.tmp}/bundle"
        run(["umoci", "unpack", "--image", f"{BASE}:3.11-slim", bundle])
        rootfs = f"{bundle}/rootfs"
        query = run(["chroot", rootfs, "dpkg-query", "-W", "-f",
                     "${db:Status-Abbrev}|${Package}|${Version}|${Architecture}\n"]).stdout
        want = {tuple(line.split("|")[1:]) for line in query.splitlines() if line.startswith("ii")}
        self.assertGreater(len(want), 50)
        with open(f"{rootfs}/usr/lib/os-release") as f:
            os_release = dict(line.rstrip("\n").split("=", 1) for line in f if "=" in line)

        cdx = json.loads(run([OCIFS, "sbom", EXAMPLE, *self.args, "--format", "cyclonedx"]).stdout)
        got = set()
        for c in cdx["components"]:
            m = re.fullmatch(r"pkg:deb/debian/([^@]+)@([^?]+)\?arch=([^&]+)&distro=debian-12", c.get("purl", ""))
            if m:
                name, version = urllib.parse.unquote(m.group(1)), urllib.parse.unquote(m.group(2))
                self.assertEqual((c["name"], c["version"]), (name, version))
                got.add((name, version, m.group(3)))
        self.assertEqual(got, want)
        system = [c for c in cdx["components"] if c["type"] == "operating-system"]
        self.assertEqual([(c["name"], c["version"]) for c in system],
                         [(os_release["ID"], os_release["VERSION_ID"].strip('"'))])
        base = next(c for c in cdx["components"] if c["type"] == "container")
        index = read_json(f"{BASE}/index.json")
        self.assertEqual(base["hashes"][0]["content"], index["manifests"][0]["digest"][7:])

    def test_two_mounts_of_one_project_attach_identical_documents(self):
        # The first mount scans the base layer into an empty cache; the second reads the scan.
        cache = f"{self.tmp}/cache"
        docs = []
        for _ in range(2):
            with Mount(EXAMPLE, *self.args, "--cache-dir", cache) as m:
                docs.append({ref: artifact(m.path, ref)
                             for ref in ("latest.sbom.spdx", "latest.sbom.cyclonedx")})
        for ref in docs[0]:
            self.assertEqual(docs[0][ref][0]["digest"], docs[1][ref][0]["digest"], ref)
            self.assertEqual(docs[0][ref][2], docs[1][ref][2], ref)
        base_manifest = read_json(f"{BASE}/blobs/sha256/{read_json(f'{BASE}/index.json')['manifests'][0]['digest'][7:]}")
        scans = os.listdir(f"{cache}/plugins/sbom/layers")
        self.assertEqual(scans, [l["digest"][7:] for l in base_manifest["layers"]])
        run([OCIFS, "cache", "prune", "--all", "--cache-dir", cache])
        self.assertFalse(os.path.exists(f"{cache}/plugins"))

    def test_layout_check_in_image_documents_and_skopeo_copy_to_a_registry(self):
        with Mount(EXAMPLE, *self.args, "--plugin-opt", "sbom.in-image=true") as m, Registry() as reg:
            assert_layout_ok(self, m.path)
            image = read_json(f"{m.path}/index.json")["manifests"][0]["digest"]
            # In the image: the same documents, in usr/share/doc/sbom of the top layer.
            run(["umoci", "unpack", "--image", f"{m.path}:latest", f"{self.tmp}/bundle"])
            for suffix in ("spdx", "cyclonedx"):
                inside = read_bytes(f"{self.tmp}/bundle/rootfs/usr/share/doc/sbom/sbom.{suffix}.json")
                self.assertEqual(inside, artifact(m.path, f"latest.sbom.{suffix}")[2])
            tls = ["--dest-tls-verify=false"]
            run(["skopeo", "copy", *tls, f"oci:{m.path}:latest", f"docker://{reg.host}/app:latest"])
            for suffix, media in (("spdx", SPDX), ("cyclonedx", CYCLONEDX)):
                dest = f"docker://{reg.host}/app:sbom-{suffix}"
                run(["skopeo", "copy", *tls, f"oci:{m.path}:latest.sbom.{suffix}", dest])
                raw = json.loads(run(["skopeo", "inspect", "--raw", "--tls-verify=false", dest]).stdout)
                self.assertEqual(raw["artifactType"], media)
                self.assertEqual(raw["subject"]["digest"], image)
                # And back out of the registry: the document's bytes are intact.
                out = f"{self.tmp}/pulled-{suffix}"
                run(["skopeo", "copy", "--src-tls-verify=false", dest, f"oci:{out}:x"])
                pulled = read_json(f"{out}/blobs/sha256/{raw['layers'][0]['digest'][7:]}")
                self.assertEqual(pulled, json.loads(artifact(m.path, f"latest.sbom.{suffix}")[2]))


if __name__ == "__main__":
    unittest.main()
