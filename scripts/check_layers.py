#!/usr/bin/env python3
"""Fails on an #include that points from a library to one it may not use.

The libraries and what each may use are declared once, in the CMakeLists.txt files: every
`add_library`, `add_executable`, `ocifs_add_unit_tests` and `ocifs_add_plugin` target, and the
`ocifs_*`/`sdk` targets it links (`target_link_libraries`, LIBS). A target may include its own
files and those of the targets it links, directly or through them; nothing else of the tree.
core/'s libraries are layered bottom to top (see core/CMakeLists.txt), so an include that points
up, or sideways to a sibling, is refused; plugins may include only the SDK.

Which files a target owns: the sources it lists, and the headers in its directory (a library's;
the SDK's are under sdk/include). `#include "X"` is looked up beside the including file, at the
root and under sdk/include; a quoted include that is no file of the tree is not checked.

  scripts/check_layers.py [ROOT]     exit 0: every include allowed; 1: each bad one on stderr
"""

import os
import re
import subprocess
import sys

INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"', re.M)
COMMAND = re.compile(r"\b(add_library|add_executable|ocifs_add_unit_tests|ocifs_add_plugin|"
                     r"target_link_libraries)\s*\(([^)]*)\)", re.S)
KEYWORDS = {"STATIC", "SHARED", "MODULE", "INTERFACE", "OBJECT", "PUBLIC", "PRIVATE", "ALIAS",
            "SOURCES", "LIBS", "EXCLUDE_FROM_ALL"}
SOURCE_EXT = (".cc", ".c", ".h", ".hpp", ".inc")


class Target:
    def __init__(self, name, directory, kind):
        self.name = name
        self.dir = directory
        self.kind = kind  # "library", "program", "test", "plugin"
        self.sources = []
        self.links = set()


def tracked_files(root):
    try:
        out = subprocess.run(["git", "ls-files"], cwd=root, check=True, capture_output=True,
                             text=True).stdout.split()
    except (OSError, subprocess.CalledProcessError):
        out = []
        for d, dirs, files in os.walk(root):
            # Not build trees or hidden directories (.git).
            dirs[:] = [x for x in dirs if not x.startswith((".", "build"))]
            out += [os.path.relpath(os.path.join(d, f), root) for f in files]
    return sorted(p for p in out if os.path.isfile(os.path.join(root, p)))


def read_targets(root, files):
    targets = {}
    aliases = {"ocifs::sdk": "ocifs_sdk"}
    for path in files:
        if os.path.basename(path) != "CMakeLists.txt":
            continue
        directory = os.path.dirname(path)
        text = re.sub(r"#[^\n]*", "", open(os.path.join(root, path), encoding="utf-8").read())
        for command, body in COMMAND.findall(text):
            words = body.split()
            if not words or words[0].startswith("${"):
                continue
            name = words[0]
            if command == "target_link_libraries":
                if name in targets:
                    targets[name].links.update(w for w in words[1:] if w not in KEYWORDS)
                continue
            if command == "add_library" and "ALIAS" in words:
                aliases[name] = words[-1]
                continue
            kind = {"add_library": "library", "add_executable": "program",
                    "ocifs_add_unit_tests": "test", "ocifs_add_plugin": "plugin"}[command]
            t = targets.setdefault(name, Target(name, directory, kind))
            in_libs = False
            for w in words[1:]:
                if w == "LIBS":
                    in_libs = True
                elif w in KEYWORDS:
                    in_libs = False
                elif in_libs:
                    t.links.add(w)
                elif w.endswith(SOURCE_EXT):
                    t.sources.append(os.path.normpath(os.path.join(directory, w)))
            if kind == "plugin":
                t.links.add("ocifs_sdk")
    for t in targets.values():
        t.links = {aliases.get(l, l) for l in t.links if aliases.get(l, l) in targets}
    return targets


def closure(targets, name):
    seen, todo = set(), [name]
    while todo:
        n = todo.pop()
        if n in seen:
            continue
        seen.add(n)
        todo += targets[n].links
    return seen


def owners(targets, files):
    """file -> the targets it belongs to."""
    own = {}
    for t in targets.values():
        for s in t.sources:
            own.setdefault(s, set()).add(t.name)
    libraries = {t.dir: t.name for t in targets.values() if t.kind == "library" and t.sources}
    for path in files:
        if not path.endswith((".h", ".hpp", ".inc")):
            continue
        if path.startswith("sdk/include/"):
            own.setdefault(path, set()).add("ocifs_sdk")
        elif os.path.dirname(path) in libraries and path not in own:
            own.setdefault(path, set()).add(libraries[os.path.dirname(path)])
    return own


def resolve(root, includer, name, files):
    for candidate in (os.path.join(os.path.dirname(includer), name), name,
                      os.path.join("sdk/include", name)):
        c = os.path.normpath(candidate)
        if c in files:
            return c
    return None


def check(root):
    files = tracked_files(root)
    file_set = set(files)
    targets = read_targets(root, files)
    own = owners(targets, files)
    bad = []
    for path in files:
        if path not in own or not path.endswith(SOURCE_EXT):
            continue
        text = open(os.path.join(root, path), encoding="utf-8", errors="replace").read()
        for m in INCLUDE.finditer(text):
            included = resolve(root, path, m.group(1), file_set)
            # A header of another target; a source included as text (a test compiling the SDK's
            # C test as C++) is that test's own business.
            if included is None or included not in own or not included.endswith((".h", ".hpp", ".inc")):
                continue
            line = text.count("\n", 0, m.start()) + 1
            for user in sorted(own[path]):
                allowed = closure(targets, user)
                if own[included] & allowed:
                    continue
                bad.append(f"{path}:{line}: includes {included} (of {', '.join(sorted(own[included]))}),"
                           f" which {user} does not link; it may use: "
                           f"{', '.join(sorted(allowed - {user})) or 'nothing'}")
    return bad, targets


def main():
    root = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else
                           os.path.join(os.path.dirname(__file__), ".."))
    bad, targets = check(root)
    for b in bad:
        print(b, file=sys.stderr)
    if bad:
        print(f"check_layers: {len(bad)} include(s) point where the target may not go "
              "(see the layers in core/CMakeLists.txt)", file=sys.stderr)
        return 1
    libraries = sum(1 for t in targets.values() if t.kind == "library")
    print(f"check_layers: every include of {len(targets)} targets ({libraries} libraries) "
          "points down")
    return 0


if __name__ == "__main__":
    sys.exit(main())
