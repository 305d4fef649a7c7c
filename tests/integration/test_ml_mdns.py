"""Moonlight mDNS announcement (issue 13, item 1): lb-ml-mdns publishes
`_nvstream._tcp` on the HTTP port through Avahi's D-Bus API, withdraws it
when its process ends, publishes again when avahi-daemon restarts, renames
on a collision, and without Avahi logs one line and does nothing else.

Driven through tests/ml-mdns-driver (lb-ml-mdns on a main loop). Nothing
here touches the machine's own buses or network: each test runs a private
system-like dbus-daemon on a socket in a temp dir, and avahi-daemon runs in
a network namespace of its own (`unshare -nm`: only its loopback, brought
up there, and a private /run for its pid file), restricted to `lo`. That
needs root (CAP_SYS_ADMIN for the namespaces, and avahi-daemon chowns its
runtime dir to the avahi user); without it the Avahi tests are skipped and
the no-Avahi tests still run."""
import os
import re
import shutil
import signal
import subprocess
import tempfile
import time
import unittest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DRIVER = os.path.join(ROOT, os.environ.get("LOBBYD_BUILD", "build"), "tests", "ml-mdns-driver")
NOT_RUNNING = "mDNS: Avahi not running; Moonlight clients must add this host by address"

BUS_CONF = """<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>system</type>
  <listen>unix:path=%s</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow user="*"/>
    <allow own="*"/>
    <allow send_type="method_call"/>
    <allow send_type="signal"/>
    <allow send_type="method_return"/>
    <allow send_type="error"/>
    <allow receive_type="method_call"/>
    <allow receive_type="signal"/>
    <allow receive_type="method_return"/>
    <allow receive_type="error"/>
  </policy>
</busconfig>
"""

AVAHI_CONF = """[server]
host-name=lbtest
use-ipv4=yes
use-ipv6=no
allow-interfaces=lo
enable-dbus=yes
[wide-area]
enable-wide-area=no
[publish]
publish-hinfo=no
publish-workstation=no
[reflector]
enable-reflector=no
"""


def wait_until(pred, timeout, interval=0.1):
    deadline = time.monotonic() + timeout
    while True:
        v = pred()
        if v or time.monotonic() > deadline:
            return v
        time.sleep(interval)


def read(path):
    with open(path) as f:
        return f.read()


def can_run_avahi():
    if os.geteuid() != 0:
        return False
    for tool in ("avahi-daemon", "avahi-browse", "avahi-publish", "dbus-daemon", "unshare", "ip"):
        if not shutil.which(tool):
            return False
    p = subprocess.run(["unshare", "-nm", "true"], capture_output=True, timeout=10)
    return p.returncode == 0


def unescape(name):
    """avahi-browse -p writes bytes outside [A-Za-z0-9_-] as \\DDD (decimal)."""
    return re.sub(r"\\(\d{3})", lambda m: chr(int(m.group(1))), name)


class Env:
    """A private system-like bus and, on request, an avahi-daemon on it."""

    def __init__(self, tc):
        self.tc = tc
        self.tmp = tempfile.mkdtemp(prefix="lb-mdns-")
        tc.addCleanup(shutil.rmtree, self.tmp, True)
        self.sock = os.path.join(self.tmp, "bus.sock")
        self.address = "unix:path=" + self.sock
        self.avahi = None
        self.avahi_runs = 0

    def env(self):
        e = dict(os.environ)
        e["DBUS_SYSTEM_BUS_ADDRESS"] = self.address
        return e

    def start_bus(self):
        conf = os.path.join(self.tmp, "bus.conf")
        with open(conf, "w") as f:
            f.write(BUS_CONF % self.sock)
        bus = subprocess.Popen(["dbus-daemon", "--config-file=" + conf, "--nofork", "--nopidfile"],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.tc.addCleanup(self._stop, bus)
        self.tc.assertTrue(wait_until(lambda: os.path.exists(self.sock), 10), "dbus-daemon did not start")

    def start_avahi(self):
        conf = os.path.join(self.tmp, "avahi.conf")
        with open(conf, "w") as f:
            f.write(AVAHI_CONF)
        self.avahi_runs += 1
        log = os.path.join(self.tmp, "avahi-%d.log" % self.avahi_runs)
        # Its own network namespace (loopback only) and mount namespace
        # (a private /run for /run/avahi-daemon/pid).
        script = ("ip link set lo up && mount -t tmpfs lb-mdns-run /run && "
                  "exec avahi-daemon -f %s --no-drop-root --no-chroot --no-rlimits" % conf)
        with open(log, "w") as f:
            self.avahi = subprocess.Popen(["unshare", "-nm", "sh", "-c", script], stdout=f,
                                          stderr=subprocess.STDOUT, env=self.env())
        self.tc.addCleanup(self._stop, self.avahi)
        ok = wait_until(lambda: "Server startup complete" in read(log), 15)
        self.tc.assertTrue(ok, "avahi-daemon did not start: " + read(log))

    def stop_avahi(self):
        self._stop(self.avahi)

    @staticmethod
    def _stop(p):
        if p.poll() is None:
            p.terminate()
            try:
                p.wait(10)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()

    def browse(self):
        """{name: port} of the _nvstream._tcp services Avahi resolves."""
        p = subprocess.run(["avahi-browse", "-rpt", "_nvstream._tcp"], capture_output=True, text=True,
                           timeout=30, env=self.env())
        found = {}
        for line in p.stdout.splitlines():
            f = line.split(";")
            if f[0] == "=" and len(f) >= 9:
                found[unescape(f[3])] = int(f[8])
        return found

    def driver(self, name, port):
        return Driver(self.tc, self.tmp, name, port, self.env())


class Driver:
    def __init__(self, tc, tmp, name, port, env):
        self.errpath = os.path.join(tmp, "driver-%s.err" % time.monotonic_ns())
        self.err = open(self.errpath, "w")
        tc.addCleanup(self.err.close)
        self.p = subprocess.Popen([DRIVER, name, str(port)], stdout=subprocess.PIPE, stderr=self.err,
                                  text=True, env=env)
        tc.addCleanup(self.kill)
        tc.assertEqual(self.p.stdout.readline().strip(), "ready")

    def log(self):
        return read(self.errpath)

    def stop(self, tc, timeout=5):
        t0 = time.monotonic()
        self.p.send_signal(signal.SIGTERM)
        out, _ = self.p.communicate(timeout=timeout + 5)
        tc.assertLess(time.monotonic() - t0, timeout, "driver took too long to exit")
        tc.assertEqual(self.p.returncode, 0, self.log())
        tc.assertIn("bye", out)

    def kill(self):
        if self.p.poll() is None:
            self.p.kill()
            self.p.wait()


class MdnsWithoutAvahi(unittest.TestCase):
    def check_one_line_then_quiet(self, env_tc):
        d = env_tc.driver("lobbyd test", 47989)
        self.assertTrue(wait_until(lambda: NOT_RUNNING in d.log(), 5), d.log())
        time.sleep(1.0)  # nothing else follows: no retry loop, no second line
        log = d.log()
        self.assertEqual(log.count("mDNS"), 1, log)
        self.assertNotIn("CRITICAL", log)
        self.assertNotIn("WARNING", log)
        d.stop(self)
        self.assertEqual(d.log().count("mDNS"), 1, d.log())

    def test_no_system_bus(self):
        e = Env(self)  # its socket is never created
        self.check_one_line_then_quiet(e)

    def test_bus_without_avahi(self):
        e = Env(self)
        e.start_bus()
        self.check_one_line_then_quiet(e)


@unittest.skipUnless(can_run_avahi(), "needs root, avahi-daemon, avahi-utils, dbus-daemon, unshare and ip")
class MdnsWithAvahi(unittest.TestCase):
    def setUp(self):
        self.e = Env(self)
        self.e.start_bus()

    def wait_browse(self, want, timeout=15):
        got = wait_until(lambda: (lambda b: b if b == want else None)(self.e.browse()), timeout, 0.3)
        self.assertEqual(got, want, "browse: %r" % self.e.browse())

    def test_publish_and_withdraw(self):
        self.e.start_avahi()
        d = self.e.driver("lobbyd test", 47123)
        self.wait_browse({"lobbyd test": 47123})
        self.assertNotIn(NOT_RUNNING, d.log())
        d.stop(self)
        self.wait_browse({})

    def test_avahi_started_later_and_restarted(self):
        d = self.e.driver("lobby host", 47200)
        self.assertTrue(wait_until(lambda: NOT_RUNNING in d.log(), 5), d.log())
        self.e.start_avahi()
        self.wait_browse({"lobby host": 47200})
        self.e.stop_avahi()
        self.e.start_avahi()
        self.wait_browse({"lobby host": 47200})
        self.assertEqual(d.log().count(NOT_RUNNING), 1, d.log())
        self.assertNotIn("CRITICAL", d.log())
        d.stop(self)
        self.wait_browse({})

    def test_collision_renames(self):
        self.e.start_avahi()
        other = subprocess.Popen(["avahi-publish", "-s", "lobbyd test", "_nvstream._tcp", "4000"],
                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=self.e.env())
        self.addCleanup(Env._stop, other)
        self.wait_browse({"lobbyd test": 4000})
        d = self.e.driver("lobbyd test", 47123)
        self.wait_browse({"lobbyd test": 4000, "lobbyd test #2": 47123})
        self.assertIn('announcing as "lobbyd test #2"', d.log())
        d.stop(self)
        self.wait_browse({"lobbyd test": 4000})


if __name__ == "__main__":
    unittest.main()
