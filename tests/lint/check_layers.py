#!/usr/bin/env python3
"""Checks the layering of src/ (docs/architecture.md): every #include "lb-…h"
points to the same folder or to a layer below, and no two modules include
each other, directly or through others.

A module is one .h and its .c (same stem; an -impl.h belongs to its module). Prints one line per violation and
exits 1 if there are any. Usable on its own: python3 tests/lint/check_layers.py
"""
import os
import re
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SRC = os.path.join(ROOT, "src")

# Which folders a folder may include from (besides itself). producers and
# outputs are siblings: neither knows the other.
BELOW = {
    "common": set(),
    "hw": set(),
    "store": {"common"},
    "encoders": {"common", "store", "hw"},
    "media": {"common", "store", "hw", "encoders"},
    "producers": {"common", "store", "hw", "encoders", "media"},
    # The lite WebRTC protocols: bytes and sockets, below the outputs.
    "webrtc": {"common"},
    # The Moonlight host's protocols (docs/moonlight.md): text, bytes, crypto.
    "moonlight": {"common"},
    "outputs": {"common", "store", "hw", "encoders", "media", "webrtc", "moonlight"},
    "core": {"common", "store", "hw", "encoders", "media", "producers", "outputs", "webrtc",
             "moonlight"},
    "mlhost": {"common", "store", "hw", "encoders", "media", "producers", "outputs", "core", "webrtc",
               "moonlight"},
    "api": {"common", "store", "hw", "encoders", "media", "producers", "outputs", "core", "webrtc",
            "mlhost", "moonlight"},
    "main": {"common", "store", "hw", "encoders", "media", "producers", "outputs", "core", "api",
             "testing", "webrtc", "mlhost", "moonlight"},
    "testing": {"common", "store", "hw", "encoders", "media"},
    "cli": set(),
}

INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"', re.M)


def sources(src):
    for folder in sorted(os.listdir(src)):
        path = os.path.join(src, folder)
        if not os.path.isdir(path):
            continue
        for name in sorted(os.listdir(path)):
            if name.endswith((".c", ".h")):
                yield folder, name, os.path.join(path, name)


def stem(name):
    """The module a file belongs to: lb-output-impl.h (what implementations
    of LbOutput see) is part of lb-output."""
    base = name.rsplit(".", 1)[0]
    return base[: -len("-impl")] if base.endswith("-impl") else base


def check(src=SRC):
    files = list(sources(src))
    home = {}  # header name -> folder
    for folder, name, _ in files:
        if name.endswith(".h"):
            home[name] = folder
    problems = []
    edges = {}  # module -> modules it includes
    for folder, name, path in files:
        if folder not in BELOW:
            problems.append("%s/%s: folder %s has no place in the layers" % (folder, name, folder))
            continue
        module = "%s/%s" % (folder, stem(name))
        with open(path, encoding="utf-8") as f:
            text = f.read()
        for header in INCLUDE.findall(text):
            to = home.get(header)
            if to is None:
                continue  # generated (lb-build-config.h, resources) or system
            if to != folder and to not in BELOW[folder]:
                problems.append("%s/%s includes %s/%s: up or across a layer" % (folder, name, to, header))
            target = "%s/%s" % (to, stem(header))
            if target != module:
                edges.setdefault(module, set()).add(target)
    problems += ["include cycle: " + " -> ".join(c) for c in cycles(edges)]
    return problems


def cycles(edges):
    """Strongly connected components with more than one module (Tarjan)."""
    index, low, stack, on, out = {}, {}, [], set(), []
    counter = [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in sorted(edges.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp) + [sorted(comp)[0]])

    for v in sorted(edges):
        if v not in index:
            visit(v)
    return out


if __name__ == "__main__":
    found = check()
    for line in found:
        print(line)
    sys.exit(1 if found else 0)
