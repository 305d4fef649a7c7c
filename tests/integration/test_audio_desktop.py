"""Audio producers (issue 12): every x11-app lobby gets a PulseAudio of its
own, run as [apps] user; its app plays into it and the lobby captures its
monitor. Apps of different lobbies never hear each other; "audio": false
starts no sound server; a dead or missing sound server costs the lobby its
sound, never its video. testsrc lobbies get a test tone.

Isolation is proven at the sound servers themselves: each lobby's monitor is
recorded with parec against that lobby's server address and its RMS computed
here, so this does not depend on the Opus/RTP path."""
import array
import math
import os
import shutil
import signal
import stat
import subprocess
import tempfile
import time
import unittest

from lbtest import Daemon, EventStream, free_port, wait_until
from test_hardening_desktop import app_config, children, default_user, uid_of

HAVE_TOOLS = all(shutil.which(t) for t in ("Xvfb", "pulseaudio", "paplay", "parec", "ffmpeg"))


def comm(pid):
    try:
        with open("/proc/%d/comm" % pid) as f:
            return f.read().strip()
    except OSError:
        return None


def environ(pid):
    try:
        with open("/proc/%d/environ" % pid, "rb") as f:
            return dict(kv.split(b"=", 1) for kv in f.read().split(b"\0") if b"=" in kv)
    except OSError:
        return {}


def record_rms_db(address, seconds=2.0, timeout=15):
    """dBFS RMS of @seconds of the "lobby" sink's monitor on the sound server at
    @address (-inf for digital silence), recorded with parec. The recording
    is counted in samples, not wall time: parec may take a while to connect
    on a loaded box."""
    import threading
    env = dict(os.environ, HOME=tempfile.gettempdir())
    p = subprocess.Popen(["parec", "--server=" + address, "--device=lobby.monitor",
                          "--format=s16le", "--rate=48000", "--channels=2", "--raw",
                          "--latency-msec=20"],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    killer = threading.Timer(timeout, p.kill)
    killer.start()
    try:
        want = int(seconds * 48000) * 4
        # Skip the first 100 ms (the stream's start), then take @seconds.
        skip = p.stdout.read(19200)
        out = p.stdout.read(want) if len(skip) == 19200 else b""
    finally:
        killer.cancel()
        p.kill()
        err = p.communicate()[1]
    if len(out) < want:
        raise AssertionError("parec recorded %d of %d bytes from %s: %s"
                             % (len(out), want, address, err[-500:]))
    samples = array.array("h")
    samples.frombytes(out)
    mean_square = sum(s * s for s in samples) / len(samples)
    return 10 * math.log10(mean_square / 32768.0 ** 2) if mean_square > 0 else float("-inf")


@unittest.skipUnless(HAVE_TOOLS, "needs Xvfb, pulseaudio, pulseaudio-utils (paplay, parec) and ffmpeg")
class AudioDesktopTest(unittest.TestCase):
    def setUp(self):
        self.user = default_user()
        if self.user is None:
            self.skipTest("cannot create an unprivileged user")
        self.dir = tempfile.mkdtemp(prefix="lobbyd-audio-")
        os.chmod(self.dir, 0o1777)
        self.wav = os.path.join(self.dir, "tone.wav")
        # 440 Hz at -18 dBFS peak, stereo, 48 kHz; the app plays it in a loop.
        subprocess.run(["ffmpeg", "-nostdin", "-loglevel", "error", "-f", "lavfi", "-i",
                        "sine=frequency=440:duration=10", "-ac", "2", "-ar", "48000", self.wav],
                       check=True, timeout=60)
        os.chmod(self.wav, 0o644)
        self.d = None
        self.events = None

    def tearDown(self):
        if self.events is not None:
            self.events.close()
        if self.d is not None:
            self.d.cleanup()
        shutil.rmtree(self.dir, ignore_errors=True)

    def start(self, extra=""):
        apps = ('tone=sh -c "while :; do paplay --volume=65536 %s; done"\n' % self.wav
                + "silent=sleep 1000\n")
        self.d = Daemon(config_extra=app_config(self.user, extra_apps=apps) + extra).start()
        self.events = EventStream(self.d)

    def create(self, app, audio=None, name=None):
        body = {"name": name or app, "source": {"type": "x11-app", "app": app},
                "video": {"width": 320, "height": 240, "fps": 10}}
        if audio is not None:
            body["audio"] = audio
        r = self.d.request("POST", "/api/v1/lobbies", body)
        self.assertEqual(r.status, 201, r.body)
        return r.json

    def lobby(self, lobby_id):
        return self.d.request("GET", "/api/v1/lobbies/" + lobby_id).json

    def test_each_app_is_heard_on_its_own_sound_server_only(self):
        self.start()
        a = self.create("tone")
        b = self.create("silent")
        for lobby in (a, b):
            self.assertEqual(lobby["state"], "running", lobby)
            self.assertIs(lobby["audio"], True)
            self.assertEqual(lobby["audio_source"], "pulse")
            self.assertIn(lobby["audio_state"], ("running", "failed"))
            server = lobby["audio_server"]
            self.assertTrue(server["address"].startswith("unix:/tmp/lobbyd-pulse-"), server)
            # Its own directory, private to the apps user.
            st = os.stat(os.path.dirname(server["address"][len("unix:"):]))
            self.assertEqual(stat.S_IMODE(st.st_mode), 0o700)
            self.assertEqual(st.st_uid, uid_of(server["pid"]))
        self.assertNotEqual(a["audio_server"]["address"], b["audio_server"]["address"])
        self.assertNotEqual(a["audio_server"]["pid"], b["audio_server"]["pid"])

        # The app is pointed at its lobby's server and sink.
        apps = [p for p in children(self.d.proc.pid) if comm(p) == "sh"]
        self.assertEqual(len(apps), 1, apps)
        env = environ(apps[0])
        self.assertEqual(env.get(b"PULSE_SERVER"), a["audio_server"]["address"].encode())
        self.assertEqual(env.get(b"PULSE_SINK"), b"lobby")

        # A hears its tone (about -21 dBFS RMS); B, next to it, hears nothing.
        loud = wait_until(lambda: record_rms_db(a["audio_server"]["address"], 1.5) > -40, timeout=15,
                          interval=0.1)
        self.assertTrue(loud, "lobby A's monitor stayed silent")
        rms_a = record_rms_db(a["audio_server"]["address"])
        rms_b = record_rms_db(b["audio_server"]["address"])
        print("\n  monitor RMS: A (paplay) %.1f dBFS, B (silent) %s dBFS" % (rms_a, rms_b))
        self.assertGreater(rms_a, -40)
        self.assertLess(rms_b, -80)

    def test_sound_server_runs_as_the_apps_user(self):
        self.start()
        lobby = self.create("silent")
        pid = lobby["audio_server"]["pid"]
        self.assertEqual(comm(pid), "pulseaudio")
        self.assertIn(pid, children(self.d.proc.pid))
        import pwd
        self.assertEqual(uid_of(pid), pwd.getpwnam(self.user).pw_uid)
        if os.geteuid() == 0:
            self.assertNotEqual(uid_of(pid), 0)
        # Deleting the lobby stops it and removes its directory.
        sock_dir = os.path.dirname(lobby["audio_server"]["address"][len("unix:"):])
        self.assertEqual(self.d.request("DELETE", "/api/v1/lobbies/" + lobby["id"]).status, 204)
        self.assertTrue(wait_until(lambda: comm(pid) in (None, ) or not os.path.exists(sock_dir),
                                   timeout=5))
        self.assertTrue(wait_until(lambda: not os.path.exists(sock_dir), timeout=5), sock_dir)

    def test_audio_false_starts_no_sound_server(self):
        self.start()
        lobby = self.create("silent", audio=False)
        self.assertIs(lobby["audio"], False)
        self.assertEqual(lobby["audio_state"], "off")
        self.assertNotIn("audio_server", lobby)
        self.assertNotIn("audio_error", lobby)
        kids = children(self.d.proc.pid)
        self.assertEqual(sorted(comm(p) for p in kids), ["Xvfb", "sleep"], kids)
        apps = [p for p in kids if comm(p) == "sleep"]
        self.assertNotIn(b"PULSE_SERVER", environ(apps[0]))
        self.assertEqual(self.lobby(lobby["id"])["audio_state"], "off")

    def test_killed_sound_server_costs_only_the_sound(self):
        self.start()
        a = self.create("silent", name="a")
        b = self.create("silent", name="b")
        before = self.lobby(a["id"])
        session = self.d.join(a["id"], free_port()).json

        def sent():
            return self.d.request("GET", "/api/v1/sessions/" + session["id"]).json["stats"]["packets_sent"]

        self.assertTrue(wait_until(lambda: sent() > 0, timeout=10))
        os.kill(a["audio_server"]["pid"], signal.SIGKILL)
        self.assertEqual(before["audio_state"], "running", before)
        ev = self.events.wait_for("lobby.audio_failed", timeout=5)[0]["data"]
        self.assertEqual(ev["lobby_id"], a["id"])
        self.assertIn("sound server", ev["error"])
        self.assertTrue(wait_until(lambda: "audio_server" not in self.lobby(a["id"]), timeout=5))
        after = self.lobby(a["id"])
        self.assertEqual(after["state"], "running", after)
        self.assertEqual(after["audio_state"], "failed")
        # The video goes on.
        n0 = sent()
        time.sleep(2)
        self.assertGreater(sent(), n0 + 5)
        self.assertEqual(self.d.request("GET", "/api/v1/sessions/" + session["id"]).json["state"],
                         "running")
        # The other lobby keeps its sound server; only one event in all.
        other = self.lobby(b["id"])
        self.assertEqual(other["state"], "running")
        self.assertEqual(other["audio_server"]["pid"], b["audio_server"]["pid"])
        self.assertEqual(comm(b["audio_server"]["pid"]), "pulseaudio")
        self.assertLessEqual(len(self.events.of_type("lobby.audio_failed")), 1)
        self.assertEqual(self.events.of_type("lobby.failed"), [])

    def test_hung_sound_server_is_restarted_then_reported(self):
        # A sound server that stops answering (SIGSTOP: no error, no data)
        # must not leave viewers with silence and no word of why: the source
        # is restarted after 3 s without sound, and after 3 restarts the
        # lobby's audio fails with an event; the video goes on.
        self.start()
        a = self.create("silent", name="a")
        session = self.d.join(a["id"], free_port()).json

        def sent():
            return self.d.request("GET", "/api/v1/sessions/" + session["id"]).json["stats"]["packets_sent"]

        self.assertTrue(wait_until(lambda: sent() > 0, timeout=10))
        pid = a["audio_server"]["pid"]
        os.kill(pid, signal.SIGSTOP)
        try:
            ev = self.events.wait_for("lobby.audio_failed", timeout=40)[0]["data"]
            self.assertEqual(ev["lobby_id"], a["id"])
            self.assertIn("no sound for 3 s after 3 restarts", ev["error"])
            after = self.lobby(a["id"])
            self.assertEqual((after["state"], after["audio_state"]), ("running", "failed"), after)
            n0 = sent()
            time.sleep(2)
            self.assertGreater(sent(), n0 + 5)
            self.assertEqual(self.d.request("GET", "/api/v1/status").status, 200)
        finally:
            os.kill(pid, signal.SIGCONT)

    def test_missing_sound_server_binary_leaves_the_lobby_running(self):
        self.start("[audio]\nserver_binary=/nonexistent/pulseaudio\n")
        lobby = self.create("silent")
        self.assertEqual(lobby["state"], "running", lobby)
        self.assertEqual(lobby["audio_state"], "failed")
        self.assertIn("sound server", lobby["audio_error"])
        self.assertNotIn("audio_server", lobby)
        self.assertEqual(sorted(comm(p) for p in children(self.d.proc.pid)), ["Xvfb", "sleep"])


class ToneTest(unittest.TestCase):
    def setUp(self):
        self.d = Daemon().start()

    def tearDown(self):
        self.d.cleanup()

    def test_testsrc_lobby_has_a_tone(self):
        r = self.d.create_lobby()
        self.assertEqual(r.status, 201, r.body)
        self.assertIs(r.json["audio"], True)
        self.assertEqual(r.json["audio_source"], "tone")
        self.assertNotIn("audio_server", r.json)
        self.assertEqual(r.json["audio_state"], "running", r.json)
        self.assertNotIn("audio_error", r.json)
        off = self.d.request("POST", "/api/v1/lobbies", {"name": "q", "audio": False}).json
        self.assertEqual((off["audio_state"], off.get("audio_source")), ("off", None))
        bad = self.d.request("POST", "/api/v1/lobbies", {"name": "q", "audio": "yes"})
        self.assertEqual((bad.status, bad.error_code()), (400, "invalid_field"))


if __name__ == "__main__":
    unittest.main()
