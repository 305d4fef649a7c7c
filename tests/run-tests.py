#!/usr/bin/env python3
"""Runs every lobbyd test and prints one summary line: "N passed, N failed[, N skipped]".

For each --build DIR[:LABEL]: the GTest unit binaries (TAP, one result per
test case) and the integration tests (unittest, one result per test method,
each starting the real daemon from DIR). A sanitizer build gets its
ASAN/UBSAN options here, so a sanitizer report fails the test that caused it.
"""
import argparse
import glob
import io
import os
import re
import subprocess
import sys
import unittest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
counts = {"passed": 0, "failed": 0, "skipped": 0}
failures = []


def record(name, outcome, detail=""):
    counts[outcome] += 1
    tag = {"passed": "PASS", "failed": "FAIL", "skipped": "SKIP"}[outcome]
    print("%s %s%s" % (tag, name, (" (" + detail + ")") if outcome == "skipped" and detail else ""), flush=True)
    if outcome == "failed":
        failures.append((name, detail))


def sanitizer_env(label):
    env = dict(os.environ)
    if label == "asan":
        env["ASAN_OPTIONS"] = "detect_leaks=0:halt_on_error=1:abort_on_error=0:exitcode=66"
        env["UBSAN_OPTIONS"] = "print_stacktrace=1:halt_on_error=1:exitcode=67"
    return env


# Unit tests of the modules without GStreamer: small enough to run under
# valgrind on every CI run (GStreamer's own allocations would drown the report).
VALGRIND_UNITS = ["test-config", "test-json", "test-spec", "test-store", "test-allow-list", "test-hw", "test-rtcp"]
VALGRIND = ["valgrind", "-q", "--error-exitcode=99", "--leak-check=full",
            "--errors-for-leak-kinds=definite", "--show-leak-kinds=definite"]


def run_unit(build, label, env, wrapper=None, only=None):
    for exe in sorted(glob.glob(os.path.join(ROOT, build, "tests", "test-*"))):
        if not os.access(exe, os.X_OK) or exe.endswith(".p"):
            continue
        base = os.path.basename(exe)
        if only is not None and base not in only:
            continue
        p = subprocess.run((wrapper or []) + [exe, "--tap"], capture_output=True, text=True, env=env,
                           timeout=600)
        seen = 0
        for line in p.stdout.splitlines():
            m = re.match(r"(not ok|ok) \d+ (\S+)(.*)", line)
            if not m:
                continue
            seen += 1
            name = "%s:unit%s" % (label, m.group(2))
            if "# SKIP" in m.group(3):
                record(name, "skipped", m.group(3).split("# SKIP", 1)[1].strip())
            elif m.group(1) == "ok":
                record(name, "passed")
            else:
                record(name, "failed", p.stdout[-2000:] + p.stderr[-3000:])
        if p.returncode != 0 or seen == 0:
            record("%s:unit/%s (exit %d)" % (label, base, p.returncode), "failed",
                   p.stdout[-2000:] + p.stderr[-4000:])


class Collect(unittest.TextTestResult):
    label = ""

    def _name(self, test):
        return "%s:integration/%s" % (self.label, test.id().replace("test_", "", 1))

    def addSuccess(self, test):
        record(self._name(test), "passed")

    def addFailure(self, test, err):
        record(self._name(test), "failed", self._exc_info_to_string(err, test))

    def addError(self, test, err):
        record(self._name(test), "failed", self._exc_info_to_string(err, test))

    def addSkip(self, test, reason):
        record(self._name(test), "skipped", reason)

    # A test with a failing subTest gets no addSuccess and no addFailure: its
    # failures come only here, and were once lost from the count.
    def addSubTest(self, test, subtest, err):
        if err is not None:
            record("%s %s" % (self._name(test), subtest._subDescription()), "failed",
                   self._exc_info_to_string(err, test))

    def addExpectedFailure(self, test, err):
        record(self._name(test), "failed", "expected failure is not allowed")

    def addUnexpectedSuccess(self, test):
        record(self._name(test), "failed", "unexpected success")


def run_integration(build, label, env, pattern):
    os.environ.update(env)
    os.environ["LOBBYD_BUILD"] = build
    here = os.path.join(ROOT, "tests", "integration")
    # Fresh imports per build: the test modules must not keep the last build's state.
    for name, mod in list(sys.modules.items()):
        if getattr(mod, "__file__", None) and os.path.dirname(os.path.abspath(mod.__file__)) == here:
            del sys.modules[name]
    sys.path.insert(0, here)
    suite = unittest.defaultTestLoader.discover(os.path.join(ROOT, "tests", "integration"),
                                                pattern=pattern, top_level_dir=os.path.join(ROOT, "tests", "integration"))
    Collect.label = label
    runner = unittest.TextTestRunner(stream=io.StringIO(), resultclass=Collect, verbosity=0)
    runner.run(suite)
    sys.path.pop(0)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", action="append", default=[], help="DIR[:LABEL]")
    ap.add_argument("--only", choices=["unit", "integration"], default=None)
    ap.add_argument("--pattern", default="test_*.py")
    ap.add_argument("--valgrind", action="store_true", help="also run the pure unit tests under valgrind")
    args = ap.parse_args()
    builds = args.build or ["build"]
    saved = dict(os.environ)
    for spec in builds:
        build, _, label = spec.partition(":")
        label = label or "plain"
        env = sanitizer_env(label)
        if args.only != "integration":
            run_unit(build, label, env)
        if args.only != "unit":
            run_integration(build, label, env, args.pattern)
        os.environ.clear()
        os.environ.update(saved)
    if args.valgrind and args.only != "integration":
        build = builds[0].partition(":")[0]
        run_unit(build, "valgrind", dict(os.environ), wrapper=VALGRIND, only=VALGRIND_UNITS)
    for name, detail in failures:
        print("\n===== FAIL %s\n%s" % (name, detail.rstrip()))
    line = "%d passed, %d failed" % (counts["passed"], counts["failed"])
    if counts["skipped"]:
        line += ", %d skipped" % counts["skipped"]
    print(line)
    return 1 if counts["failed"] else 0


if __name__ == "__main__":
    sys.exit(main())
