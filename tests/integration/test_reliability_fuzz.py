"""The CI-sized run of the generative fuzzer (tests/fuzz/lbfuzz.py; bench/fuzz
is the long run): 2,000 requests generated from docs/openapi.json with a
fixed seed plus the raw mutation cases, against the build under test (the
ASan pass runs it against the sanitizer build). Pass: no crash, no sanitizer
report, no GLib CRITICAL, no response outside the document, every body
valid, every raw case answered as expected. Each failure names its request."""
import os
import subprocess
import tempfile
import unittest
import json

from lbtest import ROOT

PYTHON = "/usr/bin/python3"  # Debian's: python3-hypothesis and python3-jsonschema live there
FUZZER = os.path.join(ROOT, "tests", "fuzz", "lbfuzz.py")


def have_modules():
    if not os.path.exists(PYTHON):
        return False
    return subprocess.run([PYTHON, "-c", "import hypothesis, jsonschema"], capture_output=True).returncode == 0


@unittest.skipUnless(have_modules(), "/usr/bin/python3 with python3-hypothesis and python3-jsonschema is needed "
                                     "(scripts/deps.sh --test installs them)")
class FuzzTest(unittest.TestCase):
    def test_generated_and_raw_requests(self):
        with tempfile.NamedTemporaryFile(suffix=".json") as report:
            p = subprocess.run([PYTHON, FUZZER, "--build", os.environ.get("LOBBYD_BUILD", "build"),
                                "--requests", "2000", "--seed", "1", "--json", report.name],
                               capture_output=True, text=True, timeout=600, env=dict(os.environ))
            summary = p.stdout[-12000:] + p.stderr[-3000:]
            self.assertEqual(p.returncode, 0, summary)
            result = json.load(open(report.name))
        self.assertGreaterEqual(result["requests"], 2000, summary)
        self.assertEqual(sum(result["failures"].values()), 0, summary)
