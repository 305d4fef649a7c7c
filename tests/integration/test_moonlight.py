"""lobbyd as a Moonlight host, end to end, against a REAL daemon with
[moonlight] on ephemeral loopback ports and the project's own client
(issue 13): pair with a PIN, list apps, launch, the RTSP handshake, the
ENet control stream with AES-GCM (tests/unit/ml-control-client), video
datagrams reassembled with FEC after dropping some on purpose and decoded
by ffprobe (>= 60 frames of the announced size), encrypted video decrypted
with the launch's key, input reaching the lobby's X server (xev), cancel
and a vanished client freeing the session, the lobby's deletion reaching
the client as a termination, two clients sharing one encode, and a launch
refused with the capacity in words when the encoder budget is spent.

The clients (tests/integration/moonlight_client.py, moonlight_session.py,
moonlight_video.py, ml_rs.py) are written from the protocol, not from
lobbyd's C."""
import os
import shutil
import socket
import struct
import tempfile
import time
import unittest
import urllib.parse

import lbtest
from lbtest import Daemon, wait_until, xev_recorder

try:
    import moonlight_client as mc
    import moonlight_session as ms
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM
    HAVE_CRYPTO = True
except ImportError:  # python3-cryptography missing
    HAVE_CRYPTO = False

ML_CONFIG = ("[moonlight]\nenabled=true\naddress=127.0.0.1\nhttp_port=0\nhttps_port=0\n"
             "rtsp_port=0\nvideo_port=0\ncontrol_port=0\naudio_port=0\nhostname=lobbyd-e2e\n"
             "ping_timeout_s=%d\n")
TERMINATION = "termination 0x80030023"


@unittest.skipUnless(HAVE_CRYPTO and shutil.which("ffprobe"),
                     "python3-cryptography and ffprobe are needed (scripts/deps.sh --test)")
class MoonlightBase(unittest.TestCase):
    ping_timeout_s = 10
    extra_config = ""

    @classmethod
    def identities(cls):
        # RSA key generation is slow next to ASan builds: one set per class.
        if not hasattr(MoonlightBase, "_ids"):
            MoonlightBase._ids = [mc.ClientIdentity("e2e client %d" % i) for i in range(3)]
        return MoonlightBase._ids

    def start_daemon(self, d=None):
        self.d = d or Daemon(config_extra=ML_CONFIG % self.ping_timeout_s + self.extra_config)
        if d is None:
            self.d.start()
        self.viewers = []
        st = self.d.request("GET", "/api/v1/moonlight/status").json
        self.assertTrue(st["running"], st)
        self.ports = st

    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="ml-e2e-")
        self.start_daemon()

    def tearDown(self):
        for v in self.viewers:
            v.close()
        self.d.cleanup()
        shutil.rmtree(self.tmp, ignore_errors=True)

    def client(self, i=0, source_ip="127.0.0.1", pin="2468"):
        """A paired HostClient."""
        c = mc.HostClient("127.0.0.1", self.ports["http_port"], self.ports["https_port"],
                          self.identities()[i], source_ip=source_ip)

        def submit():
            self.assertTrue(wait_until(lambda: self.d.request(
                "GET", "/api/v1/moonlight/status").json["pairing_pending"], timeout=20))
            r = self.d.request("POST", "/api/v1/moonlight/pair", {"pin": pin})
            self.assertEqual(r.status, 204, r.body)
        replies = c.pair(pin, submit)
        self.assertEqual(replies[-1].text("paired"), "1", replies[-1].body)
        return c

    def app_id(self, c, name):
        r = c.get(True, "/applist")
        self.assertEqual(r.status_code, 200, r.body)
        import xml.etree.ElementTree as ET
        for app in ET.fromstring(r.body).iter("App"):
            if app.findtext("AppTitle") == name:
                return int(app.findtext("ID"))
        self.fail("no app %r in %s" % (name, r.body))

    def viewer(self, c, source_ip="127.0.0.1"):
        v = ms.Viewer(c, source_ip)
        self.viewers.append(v)
        return v

    def launch(self, v, app, mode="640x480x30"):
        r = v.launch(app, mode)
        self.assertEqual(r.status_code, 200, r.body)
        self.assertEqual(r.text("gamesession"), "1", r.body)
        return r.text("sessionUrl0")

    def ml_sessions(self):
        return [s for s in self.d.request("GET", "/api/v1/sessions").json["sessions"]
                if s.get("transport") == "moonlight"]

    def current_game(self, c):
        return int(c.get(True, "/serverinfo").text("currentgame"))


class MoonlightStream(MoonlightBase):
    def test_pair_launch_stream_decode_with_fec_and_cancel(self):
        lobby = self.d.create_lobby("ml-demo", width=640, height=480, fps=30).json
        c = self.client()
        app = self.app_id(c, "ml-demo")
        v = self.viewer(c)
        url = self.launch(v, app)
        self.assertTrue(url.startswith("rtsp://127.0.0.1:"), url)
        self.assertEqual(self.current_game(c), app)
        # About 5 % of the datagrams lost; FEC at the host's 20 % rebuilds them.
        v.start(url, drop=ms.random_drop(0.05), width=640, height=480, fps=30, bitrate_kbps=2000)
        n = v.video.wait_frames(75, timeout=30)
        self.assertGreaterEqual(n, 75, "frames %d, errors %s" % (n, v.video.errors[:5]))
        self.assertGreater(v.video.dropped, 0)
        self.assertGreater(v.video.reasm.recovered, 0, "FEC rebuilt nothing")
        self.assertEqual(v.video.errors, [])
        frames, w, h = ms.ffprobe_frames(v.video.annexb(), self.tmp)
        self.assertGreaterEqual(frames, 60)
        self.assertEqual((w, h), (640, 480))

        # Listed like any viewer, with who it is.
        sessions = self.ml_sessions()
        self.assertEqual(len(sessions), 1, sessions)
        s = sessions[0]
        self.assertEqual(s["lobby_id"], lobby["id"])
        clients = self.d.request("GET", "/api/v1/moonlight/clients").json["clients"]
        self.assertEqual(s["client_name"], clients[0]["name"])  # the pairing's devicename
        self.assertEqual(s["client_address"], "127.0.0.1")
        gpu = self.d.request("GET", "/api/v1/system/gpu-status").json
        self.assertGreaterEqual(sum(p.get("sessions", 0) for p in gpu["pools"]), 1, gpu)
        metrics = self.d.request("GET", "/metrics").body.decode()
        self.assertIn('lobbyd_sessions_by_transport{transport="moonlight"} 1\n', metrics)

        # Cancel: the session and the launch are gone, the client is told.
        r = c.get(True, "/cancel")
        self.assertEqual(r.text("cancel"), "1", r.body)
        self.assertEqual(self.ml_sessions(), [])
        self.assertEqual(self.current_game(c), 0)
        v.control.lines.wait_for(lambda l: l == TERMINATION, timeout=10)
        gpu = self.d.request("GET", "/api/v1/system/gpu-status").json
        self.assertEqual(sum(p.get("sessions", 0) for p in gpu["pools"]), 0, gpu)

    def test_announced_profile_replaces_the_launch_mode(self):
        self.d.create_lobby("ml-prof", width=640, height=480, fps=30)
        c = self.client()
        v = self.viewer(c)
        # The URL's mode says 1280x720x60 (clients cap or zero the fps; a
        # lobby at 30 fps serves 30); the ANNOUNCE's 320x240@30, 800 kbps
        # is what is served.
        url = self.launch(v, self.app_id(c, "ml-prof"), mode="1280x720x60")
        v.start(url, width=320, height=240, fps=30, bitrate_kbps=800)
        self.assertGreaterEqual(v.video.wait_frames(40, timeout=30), 40)
        frames, w, h = ms.ffprobe_frames(v.video.annexb(), self.tmp)
        self.assertEqual((w, h), (320, 240))
        prof = self.ml_sessions()[0]["profile"]
        self.assertEqual((prof["width"], prof["height"], prof["fps"], prof["bitrate_kbps"]),
                         (320, 240, 30, 800))

    def test_encrypted_video_decrypts_with_the_launch_key(self):
        self.d.create_lobby("ml-enc", width=320, height=240, fps=30)
        c = self.client()
        v = self.viewer(c)
        url = self.launch(v, self.app_id(c, "ml-enc"), mode="320x240x30")
        raw = []
        v.start(url, width=320, height=240, fps=30, bitrate_kbps=800, encryption_enabled=1 | 2,
                drop=lambda i: raw.append(i) or True)  # keep nothing for the plain reassembler
        self.assertTrue(wait_until(lambda: v.video.received > 200, timeout=20))
        # Receive ourselves now: {iv[12], LE32 frame, tag[16]} + AES-128-GCM.
        v.video.stop_pinging()
        sock = v.video.sock
        sock.settimeout(0.5)
        reasm = ms.moonlight_video.Reassembler(v.packet_size)
        gcm = AESGCM(v.rikey)
        payload_seq = 1000
        v.control.send("idr")  # frames before the next IDR do not decode
        deadline = time.monotonic() + 20
        while len(reasm.frames) < 60 and time.monotonic() < deadline:
            payload_seq += 1
            sock.sendto(ms.ping_bytes(v.rtsp.ping_payload, payload_seq), v.video.addr)
            try:
                data = sock.recv(65536)
            except socket.timeout:
                continue
            iv, frame = data[:12], struct.unpack("<I", data[12:16])[0]
            plain = gcm.decrypt(iv, data[32:] + data[16:32], None)
            self.assertEqual(ms.moonlight_video.parse(plain)["frame"], frame)
            reasm.add(plain)
        self.assertGreaterEqual(len(reasm.frames), 60)
        frames, w, h = ms.ffprobe_frames(b"".join(f[2] for f in reasm.frames), self.tmp)
        self.assertGreaterEqual(frames, 40)
        self.assertEqual((w, h), (320, 240))

    def test_audio_reaches_the_client_encrypted_with_fec(self):
        # The lobby's sound (a test beep), re-encoded for the client as CBR
        # Opus in its 5 ms packets, AES-CBC encrypted (featureFlags 0x20,
        # moonlight-embedded's default), 2 FEC shards per 4 packets.
        self.d.create_lobby("ml-sound", width=320, height=240, fps=30)
        c = self.client()
        v = self.viewer(c)
        v.start(self.launch(v, self.app_id(c, "ml-sound"), "320x240x30"), width=320, height=240,
                fps=30, bitrate_kbps=800, feature_flags=135 | 0x20)
        a = ms.audio_receiver("127.0.0.1", v.rtsp.ports["audio"], v.rtsp.ping_payload,
                              key=v.rikey, rikeyid=v.rikeyid & 0xFFFFFFFF,
                              drop=lambda i: i % 9 == 4)
        try:
            self.assertTrue(wait_until(lambda: a.received > 600, timeout=20), a.received)
        finally:
            a.close()
        self.assertEqual(a.errors, [])
        pkts = a.audio.packets()
        self.assertGreater(a.audio.recovered, 0, "audio FEC rebuilt nothing")
        self.assertGreater(len(pkts), 300)
        steps = {b[1] - p[1] for p, b in zip(pkts, pkts[1:]) if b[0] == p[0] + 1}
        self.assertEqual(steps, {5}, "RTP timestamps step by the packet duration")
        # Every packet one Opus frame of 5 ms (TOC config 17/21/25/29: CELT
        # 5 ms), all the same size (CBR): what the client's decoder needs.
        self.assertEqual({p[2][0] >> 3 for p in pkts} - {17, 21, 25, 29}, set(),
                         sorted({p[2][0] for p in pkts}))
        self.assertEqual(len({len(p[2]) for p in pkts}), 1, sorted({len(p[2]) for p in pkts}))

    def test_two_clients_share_one_encode(self):
        self.d.create_lobby("ml-share", width=320, height=240, fps=30)
        app = None
        for i, ip in enumerate(("127.0.0.1", "127.0.0.2")):
            c = self.client(i, source_ip=ip)
            app = app or self.app_id(c, "ml-share")
            v = self.viewer(c, ip)
            v.start(self.launch(v, app, "320x240x30"), width=320, height=240, fps=30,
                    bitrate_kbps=800)
        for v in self.viewers:
            self.assertGreaterEqual(v.video.wait_frames(40, timeout=30), 40)
            # Each control stream is up: it came from its RTSP client's address.
            v.control.lines.drain(0.5)
            self.assertIsNone(v.control.proc.poll(), v.control.lines.all)
            self.assertNotIn("disconnected", v.control.lines.all)
        sessions = self.ml_sessions()
        self.assertEqual(len(sessions), 2)
        self.assertEqual(len({s["encoding"]["encode_id"] for s in sessions}), 1, sessions)

    def test_lobby_deleted_terminates_the_client(self):
        lobby = self.d.create_lobby("ml-del", width=320, height=240, fps=30).json
        c = self.client()
        v = self.viewer(c)
        v.start(self.launch(v, self.app_id(c, "ml-del"), "320x240x30"), width=320, height=240,
                fps=30, bitrate_kbps=800)
        self.assertGreaterEqual(v.video.wait_frames(10, timeout=30), 10)
        self.assertEqual(self.d.request("DELETE", "/api/v1/lobbies/" + lobby["id"]).status, 204)
        v.control.lines.wait_for(lambda l: l == TERMINATION, timeout=10)
        self.assertTrue(wait_until(lambda: self.current_game(c) == 0, timeout=5))

    def test_garbage_on_every_port_changes_nothing(self):
        self.d.create_lobby("ml-junk", width=320, height=240, fps=30)
        c = self.client()
        v = self.viewer(c)
        v.start(self.launch(v, self.app_id(c, "ml-junk"), "320x240x30"), width=320, height=240,
                fps=30, bitrate_kbps=800)
        self.assertGreaterEqual(v.video.wait_frames(10, timeout=30), 10)
        ports = v.rtsp.ports
        junk = [b"", b"\x00" * 7, b"PING", os.urandom(20), os.urandom(1400), b"\xff" * 64]
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as u:
            for _ in range(20):
                for j in junk:
                    for p in (ports["video"], ports["audio"], ports["control"]):
                        u.sendto(j, ("127.0.0.1", p))
        for j in (b"GARBAGE\r\n\r\n", os.urandom(3000), b"OPTIONS * RTSP/1.0\r\n\r\n"):
            try:
                ms.RtspClient(v.rtsp.url).send_raw(j)
            except OSError:
                pass
        # A stranger's launch-less control connection is refused.
        stranger = ms.ControlClient("127.0.0.1", ports["control"], 12345, "00" * 16)
        stranger.lines.drain(1.0)
        stranger.close()
        before = len(v.video.frames())
        self.assertTrue(wait_until(lambda: len(v.video.frames()) > before + 20, timeout=20))
        self.assertIsNone(self.d.proc.poll(), self.d.read_log()[-3000:])
        self.assertEqual(len(self.ml_sessions()), 1)


class MoonlightTimeout(MoonlightBase):
    ping_timeout_s = 2

    def test_silent_client_frees_its_session(self):
        self.d.create_lobby("ml-quiet", width=320, height=240, fps=30)
        c = self.client()
        v = self.viewer(c)
        v.start(self.launch(v, self.app_id(c, "ml-quiet"), "320x240x30"), width=320, height=240,
                fps=30, bitrate_kbps=800)
        self.assertGreaterEqual(v.video.wait_frames(10, timeout=30), 10)
        self.assertEqual(len(self.ml_sessions()), 1)
        v.video.stop_pinging()
        self.assertTrue(wait_until(lambda: self.ml_sessions() == [], timeout=15),
                        self.ml_sessions())
        self.assertEqual(self.current_game(c), 0)


class MoonlightRefusal(MoonlightBase):
    # 320x240@30 = 2.3 Mpx/s: a 5 Mpx/s software budget holds two such
    # encodes, not a third, and no hardware.
    extra_config = "[encoder]\nhardware=off\nsoftware_budget_mpps=5\n"

    def test_launch_over_capacity_is_refused_with_the_reason(self):
        self.d.create_lobby("ml-full", width=320, height=240, fps=30)
        c0 = self.client(0, "127.0.0.1")
        app = self.app_id(c0, "ml-full")
        v0 = self.viewer(c0, "127.0.0.1")
        v0.start(self.launch(v0, app, "320x240x30"), width=320, height=240, fps=30,
                 bitrate_kbps=800)
        self.assertGreaterEqual(v0.video.wait_frames(10, timeout=30), 10)
        # 480x360@30 = 5.2 Mpx/s more: over the budget.
        c1 = self.client(1, "127.0.0.2")
        v1 = self.viewer(c1, "127.0.0.2")
        r = v1.launch(app, "480x360x30")
        self.assertEqual(r.status, 200)
        self.assertEqual(r.status_code, 503, r.body)
        self.assertIn("software budget full", r.status_message)
        self.assertIn("try again in 5 s", r.status_message)
        self.assertEqual(self.current_game(c1), 0)
        self.assertEqual(len(self.ml_sessions()), 1)
        # The first client streams on.
        before = len(v0.video.frames())
        self.assertTrue(wait_until(lambda: len(v0.video.frames()) > before + 10, timeout=10))


@unittest.skipUnless(shutil.which("Xvfb") and shutil.which("xev"), "Xvfb and xev are needed")
class MoonlightInput(MoonlightBase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="ml-e2e-")
        d = Daemon(config_extra=ML_CONFIG % self.ping_timeout_s)
        self.log = xev_recorder(d)
        d.start()
        self.start_daemon(d)

    def test_keyboard_and_mouse_reach_the_desktop(self):
        self.d.request("POST", "/api/v1/lobbies", {
            "name": "ml-desk", "source": {"type": "x11-app", "app": "recorder"},
            "video": {"width": 640, "height": 480, "fps": 15}})
        c = self.client()
        v = self.viewer(c)
        v.start(self.launch(v, self.app_id(c, "ml-desk"), "640x480x15"), width=640, height=480,
                fps=15, bitrate_kbps=1000)
        self.assertGreaterEqual(v.video.wait_frames(5, timeout=30), 5)
        self.assertEqual(self.ml_sessions()[0]["role"], "control")

        def log():
            with open(self.log, errors="replace") as f:
                return f.read()
        # VK 0x48 'H', 0x49 'I'; a click in the middle of the client's 1280x720 reference.
        v.control.send("mouse-abs 640 360 1280 720", "button 1 down", "button 1 up",
                       "key 0x48 down", "key 0x48 up", "key 0x49 down", "key 0x49 up",
                       "mouse-rel 5 5")
        self.assertTrue(wait_until(lambda: "(keysym 0x69, i)" in log(), timeout=10), log()[-2000:])
        text = log()
        self.assertIn("(keysym 0x68, h)", text)
        self.assertGreaterEqual(text.count("ButtonPress event"), 1)
        # 640,360 of 1280x720 is 320,240 on the 640x480 screen.
        self.assertRegex(text, r"ButtonPress event.*\n.*root:\(3[12]\d,2[34]\d\)")

    def test_lobby_without_moonlight_control_gets_no_input(self):
        self.d.request("POST", "/api/v1/lobbies", {
            "name": "ml-watch", "source": {"type": "x11-app", "app": "recorder"},
            "video": {"width": 640, "height": 480, "fps": 15}, "moonlight_control": "off"})
        c = self.client()
        v = self.viewer(c)
        v.start(self.launch(v, self.app_id(c, "ml-watch"), "640x480x15"), width=640, height=480,
                fps=15, bitrate_kbps=1000)
        self.assertGreaterEqual(v.video.wait_frames(5, timeout=30), 5)
        self.assertEqual(self.ml_sessions()[0]["role"], "watch")
        v.control.send("button 1 down", "button 1 up", "key 0x58 down", "key 0x58 up", "idr")
        time.sleep(2)
        with open(self.log, errors="replace") as f:
            text = f.read()
        self.assertNotIn("ButtonPress event", text)
        self.assertNotIn("(keysym 0x78, x)", text)


if __name__ == "__main__":
    unittest.main()
