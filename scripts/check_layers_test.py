#!/usr/bin/env python3
"""check_layers.py passes on the tree, and fails on a copy of it with a planted wrong include.

Each case plants one include in a copy of the tracked sources and CMakeLists.txt files and says
whether the check must refuse it; a refusal must name the file and line.
"""

import os
import shutil
import subprocess
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
CHECK = os.path.join(HERE, "check_layers.py")

CASES = [
    # (file, include planted at its end, refused?)
    ("core/oci/tar.h", "core/pipeline/pipeline.h", True),            # up: oci -> pipeline
    ("core/support/digest.cc", "core/oci/blob.h", True),              # up: support -> oci
    ("core/python/project.cc", "core/registry/registry.h", True),     # sideways: siblings
    ("core/registry/push.cc", "core/image/image.h", True),            # sideways: push -> image
    ("core/image/image.cc", "core/plugins/plugin_host.h", True),      # up: the old cycle
    ("plugins/frameworks/frameworks.cc", "core/python/project.h", True),  # plugins: SDK only
    ("core/live/live.cc", "core/oci/tar.h", False),                   # down, two layers
    ("core/pipeline/pipeline.cc", "core/registry/registry.h", False),  # down
    ("plugins/frameworks/frameworks.cc", "ocifs/python_source.hpp", False),  # the SDK
]


def run(root):
    return subprocess.run([sys.executable, CHECK, root], capture_output=True, text=True)


class CheckLayersTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="check-layers-")
        self.addCleanup(shutil.rmtree, self.tmp)
        files = subprocess.run(["git", "ls-files"], cwd=ROOT, check=True, capture_output=True,
                               text=True).stdout.split()
        for f in files:
            if not (f.endswith((".h", ".hpp", ".cc", ".c", ".inc")) or
                    os.path.basename(f) == "CMakeLists.txt"):
                continue
            if not os.path.isfile(os.path.join(ROOT, f)):
                continue
            os.makedirs(os.path.join(self.tmp, os.path.dirname(f)), exist_ok=True)
            shutil.copy(os.path.join(ROOT, f), os.path.join(self.tmp, f))

    def test_the_tree_passes(self):
        p = run(self.tmp)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn("points down", p.stdout)

    def test_planted_includes(self):
        for path, include, refused in CASES:
            with self.subTest(path=path, include=include):
                target = os.path.join(self.tmp, path)
                original = open(target).read()
                self.addCleanup(lambda t=target, o=original: open(t, "w").write(o))
                open(target, "w").write(original + f'#include "{include}"\n')
                line = original.count("\n") + 1
                p = run(self.tmp)
                open(target, "w").write(original)
                if refused:
                    self.assertEqual(p.returncode, 1, p.stdout)
                    self.assertIn(f"{path}:{line}: includes {include}", p.stderr)
                else:
                    self.assertEqual(p.returncode, 0, p.stderr)


if __name__ == "__main__":
    unittest.main()
