"""The web viewer in a real browser (Debian's chromium driven by playwright-core):
WHEP negotiation with lobbyd, video at the lobby's size, frames decoding, a
non-blank picture, and the software-mode banner. Screenshots are kept under
artifacts/screenshots/ (README)."""
import os
import shutil
import unittest

from lbtest import ROOT, DaemonTest, have_browser, run_node, xev_recorder

ARTIFACTS = os.path.join(ROOT, "artifacts", "screenshots")


def run_check(url, shot):
    return run_node("viewer-check.mjs", url, shot)


@unittest.skipUnless(have_browser(), "chromium, node and tests/browser/node_modules are needed "
                                     "(scripts/deps.sh --test installs them)")
class ViewerTest(DaemonTest):
    def test_viewer_plays_the_lobby_over_webrtc(self):
        os.makedirs(ARTIFACTS, exist_ok=True)
        lobby = self.d.create_lobby(name="browser", width=640, height=360, fps=30).json
        url = "http://127.0.0.1:%d/view/%s#token=%s" % (self.d.tcp_port, lobby["id"], self.d.token)
        shot = os.path.join(ARTIFACTS, "viewer.png")
        out = run_check(url, shot)
        self.assertNotIn("error", out, out)
        self.assertEqual((out["width"], out["height"]), (640, 360))
        self.assertEqual(out["state"], "connected")
        a, b = out["frames"]
        self.assertGreater(a, 30)
        self.assertGreater(b - a, 30, "framesDecoded stalled: %s" % out["frames"])  # ~2 s at 30 fps
        # Not blank: the ball and clock on black give a wide spread of luma.
        self.assertGreater(out["luma_stddev"], 10, out)
        self.assertTrue(os.path.getsize(shot) > 10000)
        # lobbyd sees the WebRTC session, encoding constrained-baseline H.264 in software (no GPU here).
        s = self.d.request("GET", "/api/v1/sessions/" + out["session"]).json
        self.assertEqual((s["transport"], s["state"]), ("webrtc", "running"))
        self.assertEqual(s["stats"]["connection_state"], "connected")
        self.assertGreater(s["stats"]["packets_sent"], 50)
        self.assertEqual(out["encoding"]["pool"], "software")
        # The seed's warning, since this session runs in software because hardware was unavailable.
        self.assertIn("Using CPU software encoding", out["banner"] or "")

    def test_whep_errors(self):
        lobby = self.d.create_lobby().json
        r = self.d.request("POST", "/api/v1/lobbies/%s/whep" % lobby["id"], raw=b"v=0\r\n",
                           headers={"Content-Type": "application/sdp"})
        self.assertEqual((r.status, r.error_code()), (400, "invalid_sdp"))
        r = self.d.request("POST", "/api/v1/lobbies/%s/whep" % lobby["id"], {"sdp": "x"})
        self.assertEqual((r.status, r.error_code()), (415, "unsupported_media_type"))
        r = self.d.request("POST", "/api/v1/lobbies/nope/whep", raw=b"v=0\r\n",
                           headers={"Content-Type": "application/sdp"})
        self.assertEqual(r.status, 404)
        # Static pages need no token over TCP; the API behind them does.
        r = self.d.request("GET", "/view/" + lobby["id"], tcp=True)
        self.assertEqual(r.status, 200)
        self.assertIn(b"viewer.js", r.body)
        self.assertEqual(self.d.request("GET", "/static/../token", tcp=True).status, 401)
        self.assertEqual(self.d.request("GET", "/api/v1/lobbies", tcp=True).status, 401)


@unittest.skipUnless(have_browser(), "chromium, node and tests/browser/node_modules are needed")
class DashboardTest(unittest.TestCase):
    def test_software_mode_warning_follows_fallback_and_upgrade(self):
        from lbtest import Daemon, free_port
        os.makedirs(ARTIFACTS, exist_ok=True)
        # TEST DOUBLE hardware pool with one real slot; one encode per session.
        d = Daemon(config_extra="[encoder]\nhardware=off\n[testing]\nhw_double=true\n"
                                "hw_double_believed_limit=1\nhw_double_real_limit=1\n").start()
        try:
            lobby = d.request("POST", "/api/v1/lobbies", {"name": "dash", "encoder_sharing": "off",
                                                          "video": {"width": 320, "height": 240, "fps": 30}}).json
            out = run_node("dashboard-check.mjs", "http://127.0.0.1:%d" % d.tcp_port, d.token, lobby["id"],
                           str(free_port()), str(free_port()), ARTIFACTS)
            self.assertNotIn("error", out, out)
            self.assertEqual((out["first_pool"], out["second_pool"]), ("test-double@0", "software"))
            self.assertFalse(out["banner_before"])
            # Live through SSE: within 2 s of the fallback, gone after the upgrade.
            self.assertLess(out["banner_after_fallback_ms"], 2000)
            self.assertIn("GPU encoding sessions exhausted (1/1). Using CPU software encoding", out["banner_text"])
            self.assertLess(out["banner_gone_after_upgrade_ms"], 5000)
            self.assertTrue(any("test-double@0" in r and "configured" in r for r in out["pool_rows"]), out)
            self.assertTrue(os.path.getsize(os.path.join(ARTIFACTS, "dashboard-software-mode.png")) > 10000)
        finally:
            d.cleanup()


@unittest.skipUnless(have_browser() and shutil.which("Xvfb") and shutil.which("xev"),
                     "chromium, node, Xvfb and xev are needed")
class DesktopInputTest(unittest.TestCase):
    def test_control_viewer_input_reaches_the_app_and_watch_only_does_not(self):
        from lbtest import Daemon
        d = Daemon()
        log = xev_recorder(d)
        d.start()
        try:
            lobby = d.request("POST", "/api/v1/lobbies", {
                "name": "desk", "source": {"type": "x11-app", "app": "recorder"},
                "video": {"width": 640, "height": 480, "fps": 15}}).json
            base = "http://127.0.0.1:%d/view/%s" % (d.tcp_port, lobby["id"])

            def events():
                with open(log, errors="replace") as f:
                    text = f.read()
                return text.count("ButtonPress event"), text.count("KeyPress event"), text

            out = run_node("desktop-check.mjs", base + "?control=1#token=" + d.token, "hi")
            self.assertNotIn("error", out, out)
            self.assertEqual(d.request("GET", "/api/v1/sessions/" + out["session"]).json["role"], "control")
            buttons, keys, text = events()
            self.assertGreaterEqual(buttons, 1, text[-2000:])
            self.assertIn("(keysym 0x68, h)", text)
            self.assertIn("(keysym 0x69, i)", text)

            out = run_node("desktop-check.mjs", base + "#token=" + d.token, "xyz")
            self.assertNotIn("error", out, out)
            self.assertEqual(d.request("GET", "/api/v1/sessions/" + out["session"]).json["role"], "watch")
            b2, k2, text2 = events()
            self.assertEqual((b2, k2), (buttons, keys), "watch-only input reached the app")
            self.assertNotIn("(keysym 0x78, x)", text2)
        finally:
            d.cleanup()


if __name__ == "__main__":
    unittest.main()
