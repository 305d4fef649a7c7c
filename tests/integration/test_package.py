"""The Debian package end to end (scripts/ci-package.sh): dpkg-buildpackage
in a copy of the tree, lintian without errors, `apt-get install ./lobbyd_*.deb`,
the INSTALLED /usr/bin/lobbyd run as the lobbyd user against
/etc/lobbyd/lobbyd.conf streams a lobby that ffmpeg decodes (30 frames of its
SDP, loopback only: the daemon runs in a network namespace with only lo),
and `apt-get purge` removes the package and its user.

It installs and purges a system package, so it runs only where asked:
LOBBYD_PACKAGE_TEST=1 (CI's .ci/run), as root, once per run (with the
plain build: the package is built from the source tree, not from the build
under test)."""
import os
import subprocess
import time
import unittest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def skip_reason():
    if os.environ.get("LOBBYD_PACKAGE_TEST") != "1":
        return ("installs and purges the lobbyd Debian package on this machine: "
                "set LOBBYD_PACKAGE_TEST=1 to run it")
    if os.environ.get("ASAN_OPTIONS"):
        return "the package is built from the source tree: it runs once, with the plain build"
    if os.geteuid() != 0 and subprocess.run(["sudo", "-n", "true"], capture_output=True).returncode != 0:
        return "needs root or password-less sudo (apt-get install, runuser, a network namespace)"
    return None


class PackageTest(unittest.TestCase):
    @unittest.skipIf(skip_reason() is not None, skip_reason() or "")
    def test_build_lint_install_stream_purge(self):
        t0 = time.monotonic()
        p = subprocess.run(["bash", os.path.join(ROOT, "scripts", "ci-package.sh")], cwd=ROOT,
                           capture_output=True, text=True, timeout=1800)
        out = p.stdout + p.stderr
        self.assertEqual(p.returncode, 0, out[-6000:])
        self.assertIn("PASS package", p.stdout, out[-6000:])
        print("package test: %.0f s" % (time.monotonic() - t0))


if __name__ == "__main__":
    unittest.main()
