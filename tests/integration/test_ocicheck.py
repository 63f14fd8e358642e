"""The repository's own layout, read and SBOM checks (ocicheck.py) pass a good layout and find each
kind of broken one. No mount and no root: layouts made here in Python."""
import copy
import gzip
import hashlib
import io
import json
import os
import shutil
import tarfile
import tempfile
import unittest

import ocicheck

EPOCH = 1700000000


def tar_bytes(entries):
    """entries: (name, data or None for a directory, extra TarInfo fields)."""
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w", format=tarfile.PAX_FORMAT) as tf:
        for name, data, extra in entries:
            info = tarfile.TarInfo(name)
            info.mtime, info.uid, info.gid, info.uname, info.gname = EPOCH, 0, 0, "", ""
            if data is None:
                info.type, info.mode = tarfile.DIRTYPE, 0o755
            else:
                info.size, info.mode = len(data), 0o644
            for k, v in extra.items():
                setattr(info, k, v)
            tf.addfile(info, io.BytesIO(data) if data is not None else None)
    return out.getvalue()


def without_end_marker(raw):
    """The tar cut just after its last entry (whose data must not end in a zero byte)."""
    end = len(raw.rstrip(b"\0"))
    return raw[:end + (-end) % 512]


GOOD_ENTRIES = [("app", None, {}), ("app/main.py", b"print('hi')\n", {}), ("app/README", b"x" * 700, {})]


class Layout:
    """A small image layout in a temporary directory: one image, tagged `latest`, and an SBOM-like
    artifact whose subject is the image. Each part can be broken before write()."""

    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="ocicheck-test-")
        self.layers = [tar_bytes(GOOD_ENTRIES)]
        self.gzip_layer = False
        self.config = {"architecture": "amd64", "os": "linux", "config": {"Env": ["PATH=/usr/bin"]},
                       "rootfs": {"type": "layers", "diff_ids": None},
                       "history": [{"created_by": "ocifs"}]}
        self.tags = ["latest", "latest.sbom.spdx"]
        self.oci_layout = {"imageLayoutVersion": "1.0.0"}
        self.mutate_manifest = None
        self.mutate_index = None

    def blob(self, data, media_type):
        digest = "sha256:" + hashlib.sha256(data).hexdigest()
        os.makedirs(f"{self.dir}/blobs/sha256", exist_ok=True)
        with open(f"{self.dir}/blobs/sha256/{digest[7:]}", "wb") as f:
            f.write(data)
        return {"mediaType": media_type, "digest": digest, "size": len(data)}

    def write(self):
        layer_descs, diff_ids = [], []
        for raw in self.layers:
            diff_ids.append("sha256:" + hashlib.sha256(raw).hexdigest())
            if self.gzip_layer:
                layer_descs.append(self.blob(gzip.compress(raw, mtime=0),
                                             "application/vnd.oci.image.layer.v1.tar+gzip"))
            else:
                layer_descs.append(self.blob(raw, "application/vnd.oci.image.layer.v1.tar"))
        config = copy.deepcopy(self.config)
        if config["rootfs"]["diff_ids"] is None:
            config["rootfs"]["diff_ids"] = diff_ids
        manifest = {"schemaVersion": 2, "mediaType": ocicheck.MANIFEST,
                    "config": self.blob(json.dumps(config).encode(), ocicheck.CONFIG), "layers": layer_descs}
        if self.mutate_manifest:
            self.mutate_manifest(self, manifest)
        image = self.blob(json.dumps(manifest).encode(), ocicheck.MANIFEST)
        doc = self.blob(b'{"spdxVersion": "SPDX-2.3"}', "application/spdx+json")
        artifact = {"schemaVersion": 2, "mediaType": ocicheck.MANIFEST, "artifactType": "application/spdx+json",
                    "config": self.blob(b"{}", ocicheck.EMPTY), "layers": [doc], "subject": dict(image)}
        art = self.blob(json.dumps(artifact).encode(), ocicheck.MANIFEST)
        art["artifactType"] = "application/spdx+json"
        index = {"schemaVersion": 2, "mediaType": ocicheck.INDEX, "manifests": []}
        for desc, tag in zip((image, art), self.tags):
            index["manifests"].append(dict(desc, annotations={ocicheck.REF_NAME: tag}))
        if self.mutate_index:
            self.mutate_index(self, index)
        with open(f"{self.dir}/index.json", "w") as f:
            json.dump(index, f)
        with open(f"{self.dir}/oci-layout", "w") as f:
            json.dump(self.oci_layout, f)
        self.image = image
        return self.dir


def overwrite_blob(layout, desc, data):
    with open(f"{layout.dir}/blobs/sha256/{desc['digest'][7:]}", "wb") as f:
        f.write(data)


class LayoutCheckTest(unittest.TestCase):
    def setUp(self):
        self.layouts = []

    def tearDown(self):
        for lay in self.layouts:
            shutil.rmtree(lay.dir, ignore_errors=True)

    def layout(self):
        lay = Layout()
        self.layouts.append(lay)
        return lay

    def test_a_good_layout_passes_plain_and_strict_and_lists_its_tags(self):
        for gz in (False, True):
            with self.subTest(gzip=gz):
                lay = self.layout()
                lay.gzip_layer = gz
                r = ocicheck.check_layout(lay.write(), strict_packing=True)
                self.assertTrue(r.ok, r.text())
                self.assertEqual(r.tags, ["latest", "latest.sbom.spdx"])
                self.assertGreater(r.checks, 40)

    def test_each_broken_layout_is_found_and_named(self):
        def set_(attr, value):
            return lambda lay: setattr(lay, attr, value)

        def manifest(fn):
            return lambda lay: setattr(lay, "mutate_manifest", fn)

        def index(fn):
            return lambda lay: setattr(lay, "mutate_index", fn)

        def drop_first_layer_blob(lay, m):
            os.unlink(f"{lay.dir}/blobs/sha256/{m['layers'][0]['digest'][7:]}")

        def corrupt_layer(lay, m):
            overwrite_blob(lay, m["layers"][0], b"\0" * m["layers"][0]["size"])

        cases = [
            ("layout version", set_("oci_layout", {"imageLayoutVersion": "2.0.0"}), False, "imageLayoutVersion"),
            ("diff_id", lambda lay: lay.config["rootfs"].update(diff_ids=["sha256:" + "0" * 64]), False,
             "diff_id says sha256:0000"),
            ("diff_id count", lambda lay: lay.config["rootfs"].update(diff_ids=[]), False, "0 diff_ids for 1 layers"),
            ("history", lambda lay: lay.config.update(history=[]), False, "0 non-empty history entries"),
            ("no os", lambda lay: lay.config.pop("os"), False, "os is missing"),
            ("env", lambda lay: lay.config["config"].update(Env=["PATH"]), False, "is not KEY=VALUE"),
            ("missing blob", manifest(drop_first_layer_blob), False, "is missing"),
            ("wrong bytes", manifest(corrupt_layer), False, "hashes to sha256:"),
            ("wrong size", manifest(lambda lay, m: m["layers"][0].update(size=m["layers"][0]["size"] + 1)), False,
             "the descriptor says"),
            ("uppercase digest", manifest(lambda lay, m: m["config"].update(digest=m["config"]["digest"].upper())),
             False, "is not sha256:<64 lowercase hex>"),
            ("media type", manifest(lambda lay, m: m["layers"][0].update(mediaType="application/x-tar")), False,
             "is not a layer media type"),
            ("manifest schema", manifest(lambda lay, m: m.update(schemaVersion=1)), False, "schemaVersion must be 2"),
            ("duplicate tag", set_("tags", ["latest", "latest"]), False, "tag 'latest' names manifests[0] too"),
            ("tag grammar", set_("tags", ["latest", "bad tag!"]), False, "does not follow the image-spec grammar"),
            ("index size", index(lambda lay, i: i["manifests"][0].update(size=1)), False, "the descriptor says 1"),
            ("no end marker", set_("layers", [without_end_marker(tar_bytes(GOOD_ENTRIES))]), False,
             "no end-of-archive marker"),
            ("unsafe name", set_("layers", [tar_bytes([("../etc/passwd", b"x", {})])]), False, "unsafe name"),
            ("duplicate entry", set_("layers", [tar_bytes([("a", b"1", {}), ("./a", b"2", {})])]), False,
             "duplicate entry"),
            ("dangling hard link", set_("layers", [tar_bytes([("b", b"", {"type": tarfile.LNKTYPE, "linkname": "a"})])]),
             False, "is not to an earlier entry"),
            ("setuid (strict)", set_("layers", [tar_bytes([("a", b"1", {"mode": 0o4755})])]), True, "setuid/setgid"),
            ("owner (strict)", set_("layers", [tar_bytes([("a", b"1", {"uid": 1000, "uname": "me"})])]), True,
             "is owned by 1000:0"),
            ("mtimes (strict)", set_("layers", [tar_bytes([("a", b"1", {}), ("b", b"2", {"mtime": EPOCH + 1})])]),
             True, "2 different mtimes"),
            ("escaping symlink (strict)",
             set_("layers", [tar_bytes([("d", None, {}), ("d/l", b"", {"type": tarfile.SYMTYPE, "linkname": "../../x"})])]),
             True, "leaves the layer"),
            ("whiteout (strict)", set_("layers", [tar_bytes([(".wh.gone", b"", {})])]), True, "whiteout"),
            ("fifo (strict)", set_("layers", [tar_bytes([("p", b"", {"type": tarfile.FIFOTYPE})])]), True,
             "special entry"),
        ]
        for name, breaker, strict, want in cases:
            with self.subTest(name):
                lay = self.layout()
                breaker(lay)
                r = ocicheck.check_layout(lay.write(), strict_packing=strict)
                self.assertFalse(r.ok, f"{name}: no problem found")
                self.assertTrue(any(want in p for p in r.problems), f"{name}: wanted {want!r} in\n{r.text()}")
                if strict:  # the strict rules are not applied to a plain check
                    self.assertTrue(ocicheck.check_layout(lay.dir).ok, name)

    def test_missing_blobs_may_be_allowed(self):
        lay = self.layout()
        lay.mutate_manifest = lambda lay, m: os.unlink(f"{lay.dir}/blobs/sha256/{m['layers'][0]['digest'][7:]}")
        lay.write()
        self.assertFalse(ocicheck.check_layout(lay.dir).ok)
        self.assertTrue(ocicheck.check_layout(lay.dir, allow_missing=True).ok)


class ReadCheckTest(unittest.TestCase):
    def test_good_blobs_pass_and_a_wrong_one_is_found(self):
        lay = Layout()
        self.addCleanup(shutil.rmtree, lay.dir, ignore_errors=True)
        lay.layers = [tar_bytes([("big", os.urandom(3 << 20), {})])]
        lay.write()
        r = ocicheck.check_reads(lay.dir)
        self.assertTrue(r.ok, r.text())
        overwrite_blob(lay, lay.image, b"{}")
        r = ocicheck.check_reads(lay.dir)
        self.assertEqual(len(r.problems), 1, r.text())
        self.assertIn(f"blob sha256:{lay.image['digest'][7:19]}: a sequential read hashes to", r.problems[0])


SPDX = {"spdxVersion": "SPDX-2.3", "dataLicense": "CC0-1.0", "SPDXID": "SPDXRef-DOCUMENT", "name": "app",
        "documentNamespace": "https://example.invalid/app-1", "creationInfo": {"created": "2023-11-14T22:13:20Z",
                                                                               "creators": ["Tool: ocifs"]},
        "packages": [{"SPDXID": "SPDXRef-Image", "name": "app", "downloadLocation": "NOASSERTION"},
                     {"SPDXID": "SPDXRef-pypi-click", "name": "click", "downloadLocation": "NOASSERTION",
                      "externalRefs": [{"referenceType": "purl", "referenceLocator": "pkg:pypi/click@8.1.3"}]}],
        "relationships": [{"spdxElementId": "SPDXRef-DOCUMENT", "relationshipType": "DESCRIBES",
                           "relatedSpdxElement": "SPDXRef-Image"},
                          {"spdxElementId": "SPDXRef-Image", "relationshipType": "CONTAINS",
                           "relatedSpdxElement": "SPDXRef-pypi-click"}]}
CDX = {"bomFormat": "CycloneDX", "specVersion": "1.5", "version": 1,
       "serialNumber": "urn:uuid:3e671687-395b-41f5-a30f-a58921a69b79",
       "metadata": {"component": {"type": "container", "name": "app", "bom-ref": "image"}},
       "components": [{"type": "library", "name": "click", "bom-ref": "pkg:pypi/click@8.1.3",
                       "purl": "pkg:pypi/click@8.1.3"}],
       "dependencies": [{"ref": "image", "dependsOn": ["pkg:pypi/click@8.1.3"]}]}


class SbomCheckTest(unittest.TestCase):
    def check(self, doc):
        with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
            json.dump(doc, f)
        self.addCleanup(os.unlink, f.name)
        return ocicheck.check_sbom(f.name)

    def test_good_documents_pass_and_each_broken_one_is_found(self):
        self.assertTrue(self.check(SPDX).ok, self.check(SPDX).text())
        self.assertTrue(self.check(CDX).ok, self.check(CDX).text())
        cases = [
            ("spdx version", SPDX, lambda d: d.update(spdxVersion="SPDX-2.2"), "expected SPDX-2.3"),
            ("spdx namespace", SPDX, lambda d: d.pop("documentNamespace"), "documentNamespace missing"),
            ("spdx duplicate", SPDX, lambda d: d["packages"].append(copy.deepcopy(d["packages"][-1])),
             "duplicate SPDXID"),
            ("spdx dangling", SPDX, lambda d: d["relationships"].append(
                {"spdxElementId": "SPDXRef-Image", "relationshipType": "CONTAINS",
                 "relatedSpdxElement": "SPDXRef-Nowhere"}), "names no element"),
            ("cdx serial", CDX, lambda d: d.update(serialNumber="urn:uuid:not-a-uuid"), "serialNumber"),
            ("cdx purl", CDX, lambda d: d["components"][0].update(purl="pkg:pypi/Click@8.1.3"), "is not normalised"),
            ("cdx dependency", CDX, lambda d: d["dependencies"].append({"ref": "pkg:pypi/ghost@1"}), "is not a bom-ref"),
            ("cdx duplicate", CDX, lambda d: d["components"].append(copy.deepcopy(d["components"][0])),
             "duplicate bom-ref"),
        ]
        for name, good, breaker, want in cases:
            with self.subTest(name):
                doc = copy.deepcopy(good)
                breaker(doc)
                r = self.check(doc)
                self.assertTrue(any(want in p for p in r.problems), f"{name}: wanted {want!r} in\n{r.text()}")


if __name__ == "__main__":
    unittest.main()
