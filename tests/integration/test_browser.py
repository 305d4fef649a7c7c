"""The web viewer in a real browser (Debian's chromium driven by playwright-core):
WHEP negotiation with lobbyd, video at the lobby's size, frames decoding, a
non-blank picture, and the software-mode banner. Screenshots are kept under
artifacts/screenshots/ (README)."""
import json
import os
import shutil
import subprocess
import unittest

from lbtest import ROOT, DaemonTest

BROWSER_DIR = os.path.join(ROOT, "tests", "browser")
ARTIFACTS = os.path.join(ROOT, "artifacts", "screenshots")


def have_browser():
    return (os.path.exists("/usr/bin/chromium") and shutil.which("node")
            and os.path.isdir(os.path.join(BROWSER_DIR, "node_modules", "playwright-core")))


def run_check(url, shot):
    p = subprocess.run(["node", os.path.join(BROWSER_DIR, "viewer-check.mjs"), url, shot],
                       capture_output=True, text=True, timeout=90, cwd=BROWSER_DIR)
    lines = [l for l in p.stdout.splitlines() if l.startswith("{")]
    if not lines:
        raise AssertionError("viewer-check printed nothing: %s %s" % (p.stdout[-2000:], p.stderr[-2000:]))
    return json.loads(lines[-1])


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
        self.assertEqual((r.status, r.error_code()), (400, "invalid_field"))
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


if __name__ == "__main__":
    unittest.main()
