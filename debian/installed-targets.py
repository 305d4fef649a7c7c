#!/usr/bin/env python3
"""Prints the build-dir paths of the targets `meson install` installs
(debian/rules builds only these)."""
import json
import os
import subprocess
import sys

builddir = sys.argv[1]
targets = json.loads(subprocess.run(["meson", "introspect", "--targets", builddir],
                                    check=True, capture_output=True, text=True).stdout)
root = os.path.abspath(builddir)
for t in targets:
    if t.get("installed"):
        for f in t["filename"]:
            print(os.path.relpath(f, root))
