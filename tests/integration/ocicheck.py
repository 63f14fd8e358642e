#!/usr/bin/env python3
"""ocifs's own checks of an OCI image layout, of reads through a mount, and of SBOM documents.

Standard library only (plus the `zstd` command for zstd layers), so they run on any machine the
tests run on. ../shared/conformance's checkers, when present, are a second opinion beside these.

    ocicheck.py layout [--strict-packing] [--allow-missing] LAYOUT
    ocicheck.py reads LAYOUT          # reads every blob sequentially, by mmap, at random offsets
                                      # and from several threads; each must give the named bytes
    ocicheck.py sbom FILE...          # SPDX 2.3 / CycloneDX 1.5-1.6 structure and references

Each prints one line per problem and a last line `ocicheck <what>: N problems in M checks`; the
exit status is 1 when there is a problem.

What `layout` checks (image-spec v1.1):
  * `oci-layout` says imageLayoutVersion 1.0.0; `index.json` is an index (schemaVersion 2);
  * every descriptor reachable from index.json (indexes, manifests, configs, layers, subjects):
    well-formed media type, digest and size; its blob exists (unless --allow-missing), has that
    size and that digest; embedded `data` equals the blob;
  * manifests and indexes: schemaVersion 2, their own mediaType equals the descriptor's, an empty
    config (application/vnd.oci.empty.v1+json) is `{}` and needs an artifactType;
  * image configs: os and architecture, rootfs.type `layers`, one diff_id per layer and each
    equal to the SHA-256 of the uncompressed layer, one non-empty history entry per layer;
  * tags: `org.opencontainers.image.ref.name` follows the image-spec grammar, and no tag names
    two manifests of index.json;
  * each layer is a well-formed tar (end-of-archive marker, no absolute or `..` names, no
    duplicate entries, hard links to earlier entries, no sparse entries). --strict-packing adds
    the rules of the layers ocifs makes: UTF-8 names, no whiteouts, symlinks that stay inside,
    no device or FIFO entries, no setuid/setgid, owner 0:0 without names (but the default user's
    HOME, `home/nonroot`, 65532:65532 mode 0700), one mtime for every
    entry, no PAX atime/ctime.
"""
import base64
import gzip
import hashlib
import io
import json
import mmap
import os
import random
import re
import stat
import subprocess
import sys
import tarfile
import threading

INDEX = "application/vnd.oci.image.index.v1+json"
MANIFEST = "application/vnd.oci.image.manifest.v1+json"
CONFIG = "application/vnd.oci.image.config.v1+json"
EMPTY = "application/vnd.oci.empty.v1+json"
DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
DOCKER_CONFIG = "application/vnd.docker.container.image.v1+json"
LAYER_TYPES = {
    "application/vnd.oci.image.layer.v1.tar": "tar",
    "application/vnd.oci.image.layer.v1.tar+gzip": "gzip",
    "application/vnd.oci.image.layer.v1.tar+zstd": "zstd",
    "application/vnd.oci.image.layer.nondistributable.v1.tar": "tar",
    "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip": "gzip",
    "application/vnd.oci.image.layer.nondistributable.v1.tar+zstd": "zstd",
    "application/vnd.docker.image.rootfs.diff.tar": "tar",
    "application/vnd.docker.image.rootfs.diff.tar.gzip": "gzip",
}
REF_NAME = "org.opencontainers.image.ref.name"
# image-spec annotations.md: the grammar of org.opencontainers.image.ref.name.
_COMPONENT = r"[A-Za-z0-9]+(?:(?:[-._:@+]|--)[A-Za-z0-9]+)*"
REF_NAME_RE = re.compile(rf"^{_COMPONENT}(?:/{_COMPONENT})*$")
# RFC 6838 type/subtype, as image-spec's descriptor schema has it.
MEDIA_TYPE_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,126}/[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,126}$")
DIGEST_RE = {"sha256": re.compile(r"^[a-f0-9]{64}$"), "sha512": re.compile(r"^[a-f0-9]{128}$")}
CHUNK = 1 << 20


class Report:
    """Problems found, and how many checks were made."""

    def __init__(self, what):
        self.what, self.problems, self.checks = what, [], 0

    def check(self, ok, message):
        self.checks += 1
        if not ok:
            self.problems.append(message)
        return ok

    def fail(self, message):
        return self.check(False, message)

    @property
    def ok(self):
        return not self.problems

    def summary(self):
        return f"ocicheck {self.what}: {len(self.problems)} problems in {self.checks} checks"

    def text(self):
        return "\n".join([*(f"PROBLEM: {p}" for p in self.problems), self.summary()])


# ---------------------------------------------------------------------------------------------
# Layouts


class _Layout:
    def __init__(self, root, report, strict_packing, allow_missing):
        self.root, self.r = root, report
        self.strict, self.allow_missing = strict_packing, allow_missing
        self.seen = set()  # digests whose blob was checked
        self.tags = []

    def blob_path(self, digest):
        alg, _, hexpart = digest.partition(":")
        return os.path.join(self.root, "blobs", alg, hexpart)

    def descriptor(self, d, where):
        """Checks a descriptor's fields; True when its blob may be looked at."""
        r = self.r
        if not r.check(isinstance(d, dict), f"{where}: a descriptor must be an object"):
            return False
        mt, digest, size = d.get("mediaType"), d.get("digest"), d.get("size")
        ok = r.check(isinstance(mt, str) and MEDIA_TYPE_RE.match(mt) is not None,
                     f"{where}: mediaType {mt!r} is not a media type")
        alg, _, hexpart = digest.partition(":") if isinstance(digest, str) else ("", "", "")
        ok &= r.check(alg in DIGEST_RE and DIGEST_RE[alg].match(hexpart) is not None,
                      f"{where}: digest {digest!r} is not sha256:<64 lowercase hex> or sha512:<128>")
        ok &= r.check(isinstance(size, int) and not isinstance(size, bool) and size >= 0,
                      f"{where}: size {size!r} is not a non-negative integer")
        for key in ("annotations",):
            if key in d:
                a = d[key]
                r.check(isinstance(a, dict) and all(isinstance(k, str) and isinstance(v, str)
                                                    for k, v in a.items()),
                        f"{where}: {key} must map strings to strings")
        if "platform" in d:
            p = d["platform"]
            r.check(isinstance(p, dict) and isinstance(p.get("os"), str)
                    and isinstance(p.get("architecture"), str),
                    f"{where}: platform needs os and architecture strings")
        if "artifactType" in d:
            r.check(isinstance(d["artifactType"], str) and MEDIA_TYPE_RE.match(d["artifactType"]),
                    f"{where}: artifactType {d['artifactType']!r} is not a media type")
        return bool(ok)

    def blob(self, d, where, keep=True):
        """The blob's bytes when it is there and right (None otherwise). keep=False hashes it in
        streaming and returns b"" on success, for layers."""
        path = self.blob_path(d["digest"])
        if not os.path.exists(path):
            if not self.allow_missing:
                self.r.fail(f"{where}: blob {d['digest']} is missing ({path})")
            return None
        alg = d["digest"].split(":")[0]
        h = hashlib.new(alg)
        data = io.BytesIO() if keep else None
        size = 0
        try:
            with open(path, "rb") as f:
                for chunk in iter(lambda: f.read(CHUNK), b""):
                    h.update(chunk)
                    size += len(chunk)
                    if keep:
                        data.write(chunk)
        except OSError as e:
            self.r.fail(f"{where}: blob {d['digest']} cannot be read: {e}")
            return None
        ok = self.r.check(size == d["size"], f"{where}: blob {d['digest']} has {size} bytes, the descriptor says {d['size']}")
        ok &= self.r.check(f"{alg}:{h.hexdigest()}" == d["digest"],
                           f"{where}: blob {d['digest']} hashes to {alg}:{h.hexdigest()}")
        if "data" in d and keep:
            try:
                embedded = base64.b64decode(d["data"], validate=True)
            except ValueError:
                embedded = None
            ok &= self.r.check(embedded == data.getvalue(), f"{where}: embedded data differs from blob {d['digest']}")
        if not ok:
            return None
        return data.getvalue() if keep else b""

    def json_blob(self, d, where):
        raw = self.blob(d, where)
        if raw is None:
            return None
        try:
            doc = json.loads(raw)
        except ValueError as e:
            self.r.fail(f"{where}: blob {d['digest']} is not JSON: {e}")
            return None
        if not self.r.check(isinstance(doc, dict), f"{where}: blob {d['digest']} is not a JSON object"):
            return None
        return doc

    def walk(self, d, where, depth=0):
        if not self.descriptor(d, where):
            return
        if d["digest"] in self.seen:
            return
        self.seen.add(d["digest"])
        mt = d["mediaType"]
        if mt in (INDEX, DOCKER_LIST):
            doc = self.json_blob(d, where)
            if doc is not None:
                self.index(doc, f"{where} ({d['digest'][:19]})", depth, mt)
        elif mt in (MANIFEST, DOCKER_MANIFEST):
            doc = self.json_blob(d, where)
            if doc is not None:
                self.manifest(doc, f"{where} ({d['digest'][:19]})", mt)
        else:
            self.blob(d, where, keep=False)

    def index(self, doc, where, depth, mt=INDEX):
        r = self.r
        r.check(doc.get("schemaVersion") == 2, f"{where}: schemaVersion must be 2")
        if "mediaType" in doc:  # a SHOULD of image-spec; when given, it must agree
            r.check(doc["mediaType"] == mt, f"{where}: mediaType {doc['mediaType']!r}, expected {mt}")
        manifests = doc.get("manifests")
        if not r.check(isinstance(manifests, list), f"{where}: manifests must be a list"):
            return
        if depth > 4:
            r.fail(f"{where}: indexes nested deeper than 4")
            return
        for i, m in enumerate(manifests):
            self.walk(m, f"{where}.manifests[{i}]", depth + 1)

    def manifest(self, doc, where, mt):
        r = self.r
        r.check(doc.get("schemaVersion") == 2, f"{where}: schemaVersion must be 2")
        if "mediaType" in doc:  # a SHOULD of image-spec; when given, it must agree
            r.check(doc["mediaType"] == mt, f"{where}: mediaType {doc['mediaType']!r}, expected {mt}")
        config, layers = doc.get("config"), doc.get("layers")
        if not self.descriptor(config, f"{where}.config"):
            return
        if not r.check(isinstance(layers, list), f"{where}: layers must be a list"):
            return
        for i, layer in enumerate(layers):
            self.descriptor(layer, f"{where}.layers[{i}]")
        if "subject" in doc and self.descriptor(doc["subject"], f"{where}.subject"):
            subject = doc["subject"]
            if os.path.exists(self.blob_path(subject["digest"])):
                self.walk(subject, f"{where}.subject")
        cmt = config["mediaType"]
        if cmt == EMPTY:
            raw = self.blob(config, f"{where}.config")
            r.check(raw is None or raw == b"{}", f"{where}.config: the empty descriptor's blob must be {{}}")
            r.check(isinstance(doc.get("artifactType"), str), f"{where}: an empty config needs artifactType")
            for i, layer in enumerate(layers):
                self.blob(layer, f"{where}.layers[{i}]", keep=False)
            return
        if cmt not in (CONFIG, DOCKER_CONFIG):
            # An artifact with a config of its own kind: its blobs must still be right.
            self.blob(config, f"{where}.config", keep=False)
            for i, layer in enumerate(layers):
                self.blob(layer, f"{where}.layers[{i}]", keep=False)
            return
        cfg = self.json_blob(config, f"{where}.config")
        if cfg is None:
            return
        self.image_config(cfg, layers, f"{where}.config")

    def image_config(self, cfg, layers, where):
        r = self.r
        r.check(isinstance(cfg.get("os"), str) and cfg["os"], f"{where}: os is missing")
        r.check(isinstance(cfg.get("architecture"), str) and cfg["architecture"], f"{where}: architecture is missing")
        rootfs = cfg.get("rootfs") or {}
        r.check(rootfs.get("type") == "layers", f"{where}: rootfs.type must be `layers`")
        diff_ids = rootfs.get("diff_ids")
        if not r.check(isinstance(diff_ids, list), f"{where}: rootfs.diff_ids must be a list"):
            return
        r.check(len(diff_ids) == len(layers),
                f"{where}: {len(diff_ids)} diff_ids for {len(layers)} layers")
        history = cfg.get("history")
        if history is not None:
            own = [h for h in history if not h.get("empty_layer")]
            r.check(len(own) == len(layers), f"{where}: {len(own)} non-empty history entries for {len(layers)} layers")
        c = cfg.get("config") or {}
        for e in c.get("Env") or []:
            r.check(isinstance(e, str) and "=" in e, f"{where}: Env entry {e!r} is not KEY=VALUE")
        for i, (layer, diff_id) in enumerate(zip(layers, diff_ids)):
            self.layer(layer, diff_id, f"{where} layer {i} ({layer.get('digest', '?')[:19]})")

    def layer(self, d, diff_id, where):
        if not self.descriptor(d, where):
            return
        kind = LAYER_TYPES.get(d["mediaType"])
        if not self.r.check(kind is not None, f"{where}: {d['mediaType']} is not a layer media type"):
            return
        if self.blob(d, where, keep=False) is None:
            return
        self.seen.add(d["digest"])
        stream = _uncompressed(self.blob_path(d["digest"]), kind)
        try:
            tee = _HashingReader(stream)
            end = self.lint(tee, where)
            tee.drain()
            self.r.check(f"sha256:{tee.hexdigest()}" == diff_id,
                         f"{where}: the uncompressed layer hashes to sha256:{tee.hexdigest()}, diff_id says {diff_id}")
            self.r.check(tee.size % 512 == 0, f"{where}: tar length {tee.size} is not a multiple of 512")
            self.r.check(tee.size - end >= 1024 and tee.data_end <= end,
                         f"{where}: no end-of-archive marker (two zero blocks) after the last entry, at {end}")
        except (OSError, EOFError, tarfile.TarError, zlib_error()) as e:
            self.r.fail(f"{where}: cannot be read as a {kind} tar: {e}")
        finally:
            stream.close()

    def lint(self, stream, where):
        """Lints the tar entries; returns the offset just past the last one."""
        r, strict = self.r, self.strict
        seen, mtimes = set(), set()
        with tarfile.open(fileobj=stream, mode="r|", encoding="utf-8", errors="surrogateescape") as tf:
            for m in tf:
                name = m.name
                parts = [p for p in name.split("/") if p not in ("", ".")]
                r.check(not name.startswith("/") and ".." not in parts, f"{where}: unsafe name {name!r}")
                key = "/".join(parts)
                r.check(key not in seen, f"{where}: duplicate entry {name!r}")
                seen.add(key)
                r.check(m.type != tarfile.GNUTYPE_SPARSE and not any(k.startswith("GNU.sparse") for k in m.pax_headers),
                        f"{where}: sparse entry {name!r}")
                if m.islnk():
                    target = "/".join(p for p in m.linkname.split("/") if p not in ("", "."))
                    r.check(target in seen, f"{where}: hard link {name!r} -> {m.linkname!r} is not to an earlier entry")
                if not strict:
                    continue
                try:
                    name.encode("utf-8")
                    utf8 = True
                except UnicodeEncodeError:
                    utf8 = False
                r.check(utf8, f"{where}: name {name!r} is not UTF-8")
                r.check(not (parts and parts[-1].startswith(".wh.")), f"{where}: whiteout {name!r}")
                if m.issym():
                    r.check(_stays_inside(parts[:-1], m.linkname), f"{where}: symlink {name!r} -> {m.linkname!r} leaves the layer")
                r.check(m.isreg() or m.isdir() or m.issym() or m.islnk(), f"{where}: special entry {name!r} (type {m.type!r})")
                r.check(not m.mode & (stat.S_ISUID | stat.S_ISGID), f"{where}: setuid/setgid on {name!r} ({oct(m.mode)})")
                # The one entry of the default user's: its HOME, a writable volume of a read-only root.
                default_home = m.isdir() and "/".join(parts) == "home/nonroot" and \
                    (m.uid, m.gid, m.mode & 0o7777) == (65532, 65532, 0o700)
                r.check(default_home or (m.uid, m.gid) == (0, 0),
                        f"{where}: {name!r} is owned by {m.uid}:{m.gid} ({m.uname!r}:{m.gname!r}), not 0:0 without names")
                r.check((m.uname, m.gname) == ("", ""),
                        f"{where}: {name!r} is owned by {m.uid}:{m.gid} ({m.uname!r}:{m.gname!r}), not 0:0 without names")
                r.check("atime" not in m.pax_headers and "ctime" not in m.pax_headers, f"{where}: PAX atime/ctime on {name!r}")
                mtimes.add(int(m.mtime))
            end = tf.offset
        if strict:
            r.check(len(mtimes) <= 1, f"{where}: entries have {len(mtimes)} different mtimes, not one fixed time")
        return end


def zlib_error():
    import zlib
    return zlib.error


def _stays_inside(dir_parts, target):
    if target.startswith("/"):
        return False
    depth = len(dir_parts)
    for p in target.split("/"):
        if p == "..":
            depth -= 1
            if depth < 0:
                return False
        elif p not in ("", "."):
            depth += 1
    return True


class _HashingReader(io.RawIOBase):
    """Passes a stream through, hashing and counting what is read; drain() reads the rest.
    `data_end` is the offset just past the last non-zero byte."""

    def __init__(self, inner):
        self.inner, self.h, self.size, self.data_end = inner, hashlib.sha256(), 0, 0

    def readable(self):
        return True

    def _see(self, data):
        self.h.update(data)
        kept = len(data.rstrip(b"\0"))
        if kept:
            self.data_end = self.size + kept
        self.size += len(data)

    def readinto(self, b):
        data = self.inner.read(len(b))
        self._see(data)
        b[:len(data)] = data
        return len(data)

    def drain(self):
        for chunk in iter(lambda: self.inner.read(CHUNK), b""):
            self._see(chunk)

    def hexdigest(self):
        return self.h.hexdigest()


class _ZstdStream(io.RawIOBase):
    def __init__(self, path):
        self.proc = subprocess.Popen(["zstd", "-dcq", path], stdout=subprocess.PIPE, stderr=subprocess.PIPE)

    def readable(self):
        return True

    def readinto(self, b):
        data = self.proc.stdout.read(len(b))
        if not data:
            if self.proc.wait() != 0:
                raise OSError(f"zstd -d failed: {self.proc.stderr.read().decode(errors='replace').strip()}")
        b[:len(data)] = data
        return len(data)

    def close(self):
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()
        self.proc.stdout.close()
        self.proc.stderr.close()
        super().close()


def _uncompressed(path, kind):
    if kind == "gzip":
        return gzip.open(path, "rb")
    if kind == "zstd":
        return io.BufferedReader(_ZstdStream(path), CHUNK)
    return open(path, "rb")


def check_layout(root, strict_packing=False, allow_missing=False):
    """Checks the layout at `root`; the report's `tags` lists index.json's ref names in order."""
    r = Report("layout")
    lay = _Layout(root, r, strict_packing, allow_missing)
    r.tags = lay.tags
    try:
        with open(os.path.join(root, "oci-layout"), "rb") as f:
            marker = json.loads(f.read())
        r.check(isinstance(marker, dict) and marker.get("imageLayoutVersion") == "1.0.0",
                f"oci-layout: imageLayoutVersion must be \"1.0.0\", got {marker!r}")
    except (OSError, ValueError) as e:
        r.fail(f"oci-layout: {e}")
    r.check(os.path.isdir(os.path.join(root, "blobs")), f"{root}: there is no blobs/ directory")
    try:
        with open(os.path.join(root, "index.json"), "rb") as f:
            index = json.loads(f.read())
    except (OSError, ValueError) as e:
        r.fail(f"index.json: {e}")
        return r
    if not r.check(isinstance(index, dict), "index.json: not a JSON object"):
        return r
    owner = {}
    for i, m in enumerate(index.get("manifests") or []):
        name = (m.get("annotations") or {}).get(REF_NAME) if isinstance(m, dict) else None
        if name is None:
            continue
        lay.tags.append(name)
        r.check(isinstance(name, str) and REF_NAME_RE.match(name) is not None,
                f"index.json.manifests[{i}]: ref name {name!r} does not follow the image-spec grammar")
        if name in owner:
            r.fail(f"index.json.manifests[{i}]: tag {name!r} names manifests[{owner[name]}] too")
        owner.setdefault(name, i)
    lay.index(index, "index.json", 0)
    return r


# ---------------------------------------------------------------------------------------------
# Reads through a mount


def check_reads(root, seed=20261202, random_reads=64, threads=4):
    """Reads every blob under blobs/sha256 as tools do: in order, by mmap, at random offsets and
    lengths (checked against the verified mmap), from several threads at once, and past its end."""
    r = Report("reads")
    rng = random.Random(seed)
    blob_dir = os.path.join(root, "blobs", "sha256")
    names = sorted(os.listdir(blob_dir))
    r.check(bool(names), f"{blob_dir}: no blobs")
    for name in names:
        path = os.path.join(blob_dir, name)
        where = f"blob sha256:{name[:12]}"
        try:
            size = os.stat(path).st_size
            h = hashlib.sha256()
            with open(path, "rb") as f:
                for chunk in iter(lambda: f.read(rng.choice((4096, 65536, CHUNK, 3 * CHUNK + 17))), b""):
                    h.update(chunk)
            if not r.check(h.hexdigest() == name, f"{where}: a sequential read hashes to {h.hexdigest()}"):
                continue
            fd = os.open(path, os.O_RDONLY)
            try:
                r.check(os.pread(fd, 4096, size) == b"", f"{where}: a read at its end gave bytes")
                if size == 0:
                    continue
                with mmap.mmap(fd, size, prot=mmap.PROT_READ) as mm:
                    if not r.check(hashlib.sha256(mm).hexdigest() == name, f"{where}: its mmap hashes differently"):
                        continue
                    for _ in range(random_reads):
                        off = rng.randrange(size)
                        length = rng.choice((1, 511, 4096, 70000, CHUNK + 1))
                        r.check(os.pread(fd, length, off) == mm[off:off + length],
                                f"{where}: pread({length}, {off}) differs from the verified bytes")
                    _concurrent(r, path, mm, size, threads, rng.randrange(1 << 30), where)
            finally:
                os.close(fd)
        except OSError as e:
            r.fail(f"{where}: {e}")
    return r


def _concurrent(r, path, mm, size, threads, seed, where):
    """`threads` readers, each with its own fd, read the blob's chunks in their own order."""
    step = 256 * 1024
    offsets = list(range(0, size, step))
    errors = []

    def reader(k):
        order = offsets[:]
        random.Random(seed + k).shuffle(order)
        fd = os.open(path, os.O_RDONLY)
        try:
            for off in order:
                if os.pread(fd, step, off) != mm[off:off + step]:
                    errors.append(f"{where}: thread {k} read different bytes at {off}")
                    return
        except OSError as e:
            errors.append(f"{where}: thread {k}: {e}")
        finally:
            os.close(fd)

    workers = [threading.Thread(target=reader, args=(k,)) for k in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    r.check(not errors, "; ".join(errors))


# ---------------------------------------------------------------------------------------------
# SBOM documents

SPDX_REF_RE = re.compile(r"^SPDXRef-[A-Za-z0-9.-]+$")
UUID_URN_RE = re.compile(r"^urn:uuid:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


def check_sbom(path, r=None):
    r = r or Report("sbom")
    try:
        with open(path, "rb") as f:
            doc = json.loads(f.read())
    except (OSError, ValueError) as e:
        r.fail(f"{path}: {e}")
        return r
    if not r.check(isinstance(doc, dict), f"{path}: not a JSON object"):
        return r
    if "spdxVersion" in doc:
        _check_spdx(doc, path, r)
    elif doc.get("bomFormat") == "CycloneDX":
        _check_cyclonedx(doc, path, r)
    else:
        r.fail(f"{path}: neither SPDX (spdxVersion) nor CycloneDX (bomFormat)")
    return r


def _check_spdx(doc, where, r):
    r.check(doc.get("spdxVersion") == "SPDX-2.3", f"{where}: spdxVersion {doc.get('spdxVersion')!r}, expected SPDX-2.3")
    r.check(doc.get("dataLicense") == "CC0-1.0", f"{where}: dataLicense must be CC0-1.0")
    r.check(doc.get("SPDXID") == "SPDXRef-DOCUMENT", f"{where}: the document's SPDXID must be SPDXRef-DOCUMENT")
    for key in ("name", "documentNamespace"):
        r.check(isinstance(doc.get(key), str) and doc[key], f"{where}: {key} missing")
    info = doc.get("creationInfo") or {}
    r.check(isinstance(info.get("created"), str) and isinstance(info.get("creators"), list) and info["creators"],
            f"{where}: creationInfo needs created and creators")
    ids = {"SPDXRef-DOCUMENT"}
    for i, p in enumerate(doc.get("packages") or []):
        pid = p.get("SPDXID")
        r.check(isinstance(pid, str) and SPDX_REF_RE.match(pid) is not None, f"{where}: packages[{i}] SPDXID {pid!r}")
        r.check(pid not in ids, f"{where}: duplicate SPDXID {pid!r}")
        ids.add(pid)
        r.check(isinstance(p.get("name"), str) and p["name"], f"{where}: packages[{i}] has no name")
        r.check("downloadLocation" in p, f"{where}: packages[{i}] ({p.get('name')}) has no downloadLocation")
        for ref in p.get("externalRefs") or []:
            if ref.get("referenceType") == "purl":
                r.check(str(ref.get("referenceLocator", "")).startswith("pkg:"), f"{where}: packages[{i}] purl {ref.get('referenceLocator')!r}")
    for i, rel in enumerate(doc.get("relationships") or []):
        for key in ("spdxElementId", "relatedSpdxElement"):
            v = rel.get(key)
            r.check(v in ids or v in ("NONE", "NOASSERTION"), f"{where}: relationships[{i}].{key} {v!r} names no element")
    describes = [rel for rel in doc.get("relationships") or []
                 if rel.get("spdxElementId") == "SPDXRef-DOCUMENT" and rel.get("relationshipType") == "DESCRIBES"]
    r.check(bool(describes) or bool(doc.get("documentDescribes")), f"{where}: the document DESCRIBES nothing")


def _check_cyclonedx(doc, where, r):
    r.check(doc.get("specVersion") in ("1.5", "1.6"), f"{where}: specVersion {doc.get('specVersion')!r}, expected 1.5 or 1.6")
    r.check(isinstance(doc.get("version"), int) and doc["version"] >= 1, f"{where}: version must be an integer >= 1")
    serial = doc.get("serialNumber")
    r.check(serial is None or UUID_URN_RE.match(serial) is not None, f"{where}: serialNumber {serial!r} is not urn:uuid:<uuid>")
    refs = set()

    def component(c, at):
        ref = c.get("bom-ref")
        r.check(isinstance(c.get("name"), str) and c["name"], f"{where}: {at} has no name")
        r.check(c.get("type") is not None, f"{where}: {at} has no type")
        if ref is not None:
            r.check(ref not in refs, f"{where}: duplicate bom-ref {ref!r}")
            refs.add(ref)
        purl = c.get("purl")
        if isinstance(purl, str) and purl.startswith("pkg:pypi/"):
            name = purl[len("pkg:pypi/"):].split("@")[0]
            r.check(name == name.lower() and "_" not in name, f"{where}: {at} pypi purl {purl!r} is not normalised")
        for j, sub in enumerate(c.get("components") or []):
            component(sub, f"{at}.components[{j}]")

    meta = (doc.get("metadata") or {}).get("component")
    if meta:
        component(meta, "metadata.component")
    for i, c in enumerate(doc.get("components") or []):
        component(c, f"components[{i}]")
    for i, dep in enumerate(doc.get("dependencies") or []):
        r.check(dep.get("ref") in refs, f"{where}: dependencies[{i}].ref {dep.get('ref')!r} is not a bom-ref")
        for d in dep.get("dependsOn") or []:
            r.check(d in refs, f"{where}: dependencies[{i}] depends on {d!r}, which is not a bom-ref")


def check_sboms(paths):
    r = Report("sbom")
    for p in paths:
        check_sbom(p, r)
    return r


def main(argv):
    if len(argv) < 3 or argv[1] not in ("layout", "reads", "sbom"):
        print(__doc__.split("\n\n")[1], file=sys.stderr)
        return 2
    what, args = argv[1], argv[2:]
    if what == "layout":
        flags = {a for a in args if a.startswith("--")}
        unknown = flags - {"--strict-packing", "--allow-missing"}
        paths = [a for a in args if not a.startswith("--")]
        if unknown or len(paths) != 1:
            print(f"ocicheck layout: unknown flags {sorted(unknown)} or not one LAYOUT", file=sys.stderr)
            return 2
        report = check_layout(paths[0], "--strict-packing" in flags, "--allow-missing" in flags)
    elif what == "reads":
        report = check_reads(args[0])
    else:
        report = check_sboms(args)
    print(report.text())
    return 0 if report.ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
