"""lobbyd as a system service (issue 14): the sd_notify protocol against a
fake NOTIFY_SOCKET (no systemd here), and `meson install` into a DESTDIR
whose lobbyd finds its installed config and web assets by itself."""
import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import unittest
import uuid

from lbtest import ROOT, Daemon, free_port, wait_until


@contextlib.contextmanager
def environ(**kv):
    saved = {k: os.environ.get(k) for k in kv}
    for k, v in kv.items():
        if v is None:
            os.environ.pop(k, None)
        else:
            os.environ[k] = v
    try:
        yield
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


class FakeNotifySocket:
    """What systemd listens on: an AF_UNIX datagram socket, on a path or abstract ('@')."""

    def __init__(self, tmp, abstract=False):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        if abstract:
            name = "lobbyd-test-notify-" + uuid.uuid4().hex
            self.sock.bind("\0" + name)
            self.address = "@" + name
        else:
            self.address = os.path.join(tmp, "notify.sock")
            self.sock.bind(self.address)
        self.messages = []  # (monotonic time, {field: value})

    def drain(self, timeout=0.0):
        """Reads every datagram that arrives within timeout seconds."""
        deadline = time.monotonic() + timeout
        while True:
            self.sock.settimeout(max(0.0, deadline - time.monotonic()) or 0.0001)
            try:
                data = self.sock.recv(65536)
            except (socket.timeout, BlockingIOError):
                return
            fields = dict(line.split("=", 1) for line in data.decode().split("\n") if "=" in line)
            self.messages.append((time.monotonic(), fields))

    def wait_for(self, key, value=None, timeout=10.0):
        deadline = time.monotonic() + timeout
        while True:
            for t, m in self.messages:
                if key in m and (value is None or m[key] == value):
                    return t, m
            if time.monotonic() > deadline:
                raise AssertionError("no %s=%s in %r" % (key, value, self.messages))
            self.drain(0.1)

    def count(self, key, since=0.0):
        return sum(1 for t, m in self.messages if key in m and t >= since)

    def close(self):
        self.sock.close()


class NotifyTest(unittest.TestCase):
    def setUp(self):
        self.daemon = Daemon()
        self.notify = None

    def tearDown(self):
        if self.daemon.proc is not None and self.daemon.proc.poll() is None:
            os.kill(self.daemon.proc.pid, signal.SIGCONT)
        self.daemon.cleanup()
        if self.notify:
            self.notify.close()

    def start(self, abstract=False, **env):
        self.notify = FakeNotifySocket(self.daemon.tmp, abstract)
        with environ(NOTIFY_SOCKET=self.notify.address, **env):
            self.daemon.start()

    def test_ready_after_api_answers_then_status(self):
        # READY=1 may only come once the API answers and the lobbies are back:
        # ask the API the moment READY=1 arrives.
        self.notify = FakeNotifySocket(self.daemon.tmp)
        with environ(NOTIFY_SOCKET=self.notify.address):
            self.daemon.log = open(os.path.join(self.daemon.tmp, "lobbyd.log"), "ab")
            self.daemon.proc = subprocess.Popen(
                [os.path.join(ROOT, os.environ.get("LOBBYD_BUILD", "build"), "src", "lobbyd"),
                 "--config", self.daemon.config, "--state-dir", self.daemon.state_dir,
                 "--socket", self.daemon.socket], stdout=self.daemon.log, stderr=self.daemon.log)
        self.notify.wait_for("READY", "1", timeout=30)
        self.assertEqual(self.daemon.request("GET", "/api/v1/status").status, 200)
        _, m = self.notify.wait_for("STATUS")
        self.assertIn("0 lobbies", m["STATUS"])
        self.assertIn("session", m["STATUS"])
        self.assertIn("slot", m["STATUS"])
        self.assertEqual(self.notify.count("READY"), 1)
        # A new lobby shows in STATUS within a few seconds.
        self.assertEqual(self.daemon.create_lobby().status, 201)
        self.notify.wait_for("STATUS", value=None, timeout=0)
        deadline = time.monotonic() + 10
        while not any("1 lobb" in m.get("STATUS", "") for _, m in self.notify.messages):
            self.assertLess(time.monotonic(), deadline, self.notify.messages)
            self.notify.drain(0.2)
        # No watchdog without WATCHDOG_USEC.
        self.assertEqual(self.notify.count("WATCHDOG"), 0)

    def test_restored_lobbies_counted_when_ready(self):
        self.daemon.start()
        self.assertEqual(self.daemon.create_lobby(key="keep").status, 201)
        self.daemon.stop()
        self.start()
        _, m = self.notify.wait_for("READY", "1")
        status = [m["STATUS"] for _, m in self.notify.messages if "STATUS" in m]
        self.assertTrue(status and "1 lobb" in status[0], status)

    def test_abstract_socket_watchdog_cadence_stop_and_stopping(self):
        self.start(abstract=True, WATCHDOG_USEC="1000000")
        self.notify.wait_for("READY", "1")
        t0 = time.monotonic()
        self.notify.drain(3.0)
        n = self.notify.count("WATCHDOG", since=t0)
        # Every WATCHDOG_USEC/2 = 0.5 s: about 6 in 3 s (generous for CI).
        self.assertGreaterEqual(n, 3, self.notify.messages)
        self.assertLessEqual(n, 12, self.notify.messages)
        self.assertTrue(all(m["WATCHDOG"] == "1" for _, m in self.notify.messages if "WATCHDOG" in m))

        # A stopped main loop sends nothing: systemd would kill and restart it.
        os.kill(self.daemon.proc.pid, signal.SIGSTOP)
        self.notify.drain(0.3)  # what was already in flight
        t_stop = time.monotonic()
        self.notify.drain(2.0)
        self.assertEqual(self.notify.count("WATCHDOG", since=t_stop), 0)
        os.kill(self.daemon.proc.pid, signal.SIGCONT)
        t_cont = time.monotonic()
        deadline = t_cont + 5
        while self.notify.count("WATCHDOG", since=t_cont) == 0:
            self.assertLess(time.monotonic(), deadline, "no WATCHDOG=1 after SIGCONT")
            self.notify.drain(0.1)

        self.assertEqual(self.daemon.stop(), 0)
        self.notify.drain(0.5)
        self.assertGreater(self.notify.count("STOPPING"), 0, self.notify.messages)

    def test_watchdog_pid_of_another_process_is_not_ours(self):
        self.start(WATCHDOG_USEC="200000", WATCHDOG_PID="1")
        self.notify.wait_for("READY", "1")
        self.notify.drain(1.5)
        self.assertEqual(self.notify.count("WATCHDOG"), 0)

    def test_no_or_dead_notify_socket_changes_nothing(self):
        with environ(NOTIFY_SOCKET=os.path.join(self.daemon.tmp, "nobody-listens.sock"), WATCHDOG_USEC="200000"):
            self.daemon.start()
        self.assertEqual(self.daemon.create_lobby().status, 201)
        time.sleep(0.5)
        self.assertIsNone(self.daemon.proc.poll())
        self.assertEqual(self.daemon.stop(), 0)


def meson_json(build, what):
    out = subprocess.run(["meson", "introspect", what], cwd=build, check=True, capture_output=True, text=True)
    return json.loads(out.stdout)


class InstallTest(unittest.TestCase):
    """`meson install --destdir` of the build under test (no rebuild, no second build dir)."""

    def setUp(self):
        self.build = os.path.join(ROOT, os.environ.get("LOBBYD_BUILD", "build"))
        self.tmp = tempfile.mkdtemp(prefix="lobbyd-install-")
        self.destdir = os.path.join(self.tmp, "dest")
        subprocess.run(["meson", "install", "--no-rebuild", "--quiet", "--destdir", self.destdir], cwd=self.build,
                       check=True, capture_output=True)
        opts = {o["name"]: o["value"] for o in meson_json(self.build, "--buildoptions")}
        prefix = opts["prefix"]
        self.opts = opts

        def at(d, *names):
            return os.path.join(prefix, opts[d], *names) if not os.path.isabs(opts[d]) \
                else os.path.join(opts[d], *names)

        self.bindir = at("bindir")
        self.layout = [at("bindir", "lobbyd"), at("bindir", "lobbyctl"), at("bindir", "lobbyd-probe"),
                       at("sysconfdir", "lobbyd", "lobbyd.conf"),
                       os.path.join(prefix, "lib", "systemd", "system", "lobbyd.service"),
                       os.path.join(prefix, "lib", "sysusers.d", "lobbyd.conf")]
        self.layout += [at("datadir", "lobbyd", "web", f) for f in os.listdir(os.path.join(ROOT, "web"))]
        self.conf = self.dest(at("sysconfdir", "lobbyd", "lobbyd.conf"))
        self.web = self.dest(at("datadir", "lobbyd", "web"))
        self.proc = None

    def tearDown(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(15)
        shutil.rmtree(self.tmp, ignore_errors=True)

    def dest(self, path):
        return self.destdir + path

    def test_layout(self):
        missing = [p for p in self.layout if not os.path.isfile(self.dest(p))]
        self.assertEqual(missing, [])
        for b in ("lobbyd", "lobbyctl", "lobbyd-probe"):
            self.assertTrue(os.access(self.dest(os.path.join(self.bindir, b)), os.X_OK))
        unit = open(self.dest(self.layout[4])).read()
        self.assertIn("ExecStart=%s -c " % os.path.join(self.bindir, "lobbyd"), unit)
        self.assertNotIn("@", unit.split("[Service]")[1].split("SupplementaryGroups")[0])
        self.assertIn("Type=notify", unit)
        self.assertIn("WatchdogSec=", unit)

    @unittest.skipUnless(shutil.which("systemd-analyze"), "no systemd-analyze")
    def test_unit_verifies_and_security_exposure(self):
        unit = self.dest(self.layout[4])
        # verify wants ExecStart's binary to exist: check the unit with the
        # DESTDIR as its root, given the system's own units (sysinit.target…).
        shutil.copytree("/lib/systemd/system", os.path.join(self.destdir, "lib", "systemd", "system"),
                        symlinks=True, dirs_exist_ok=True)
        r = subprocess.run(["systemd-analyze", "verify", "--root=" + self.destdir, unit],
                           capture_output=True, text=True)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertNotIn("Unknown", r.stderr)
        r = subprocess.run(["systemd-analyze", "security", "--offline=true", "--root=" + self.destdir, unit],
                           capture_output=True, text=True)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        score = float(r.stdout.split("Overall exposure level for lobbyd.service:")[1].split()[0])
        print("systemd-analyze security exposure: %.1f" % score)
        self.assertLess(score, 5.0, r.stdout)

    def test_installed_daemon_finds_its_config_and_web_assets(self):
        # The installed config as an operator would edit it: a free port, no
        # demo, no Moonlight ports (tests run side by side).
        port = free_port(socket.SOCK_STREAM)
        text = open(self.conf).read()
        text = text.replace("#listen=127.0.0.1:8480", "listen=127.0.0.1:%d" % port)
        text = text.replace("#token=\n", "token=install-test-token-0123456789\n")
        text = text.replace("[demo]\n#enabled=true", "[demo]\nenabled=false")
        text = text.replace("[moonlight]\n#enabled=true", "[moonlight]\nenabled=false")
        self.assertEqual(text.count("listen=127.0.0.1:%d" % port) + text.count("token=install-test")
                         + text.count("\nenabled=false"), 4)
        with open(self.conf, "w") as f:
            f.write(text)
        # The installed dashboard, not the source tree's.
        with open(os.path.join(self.web, "dashboard.html"), "a") as f:
            f.write("<!-- installed-copy-marker -->\n")
        sock = os.path.join(self.tmp, "api.sock")
        log = open(os.path.join(self.tmp, "lobbyd.log"), "wb")
        # No -c: lobbyd finds <DESTDIR><sysconfdir>/lobbyd/lobbyd.conf by itself.
        self.proc = subprocess.Popen([self.dest(os.path.join(self.bindir, "lobbyd")), "--state-dir",
                                      os.path.join(self.tmp, "state"), "--socket", sock],
                                     stdout=log, stderr=log, cwd=self.tmp)

        def get(path):
            import http.client
            c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
            try:
                c.request("GET", path)
                r = c.getresponse()
                return r.status, r.read().decode(errors="replace")
            finally:
                c.close()

        def up():
            if self.proc.poll() is not None:
                raise AssertionError(open(os.path.join(self.tmp, "lobbyd.log")).read())
            try:
                return get("/api/v1/status")[0] in (200, 401)
            except OSError:
                return False

        self.assertTrue(wait_until(up, timeout=30), open(os.path.join(self.tmp, "lobbyd.log")).read())
        status, body = get("/")
        self.assertEqual(status, 200, body)
        self.assertIn("installed-copy-marker", body)
        self.assertTrue(os.path.exists(sock))
        self.proc.terminate()
        self.assertEqual(self.proc.wait(15), 0)


if __name__ == "__main__":
    unittest.main()
