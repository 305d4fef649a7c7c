"""Typed input (issue 10, item 3): a control viewer's data-channel messages
are parsed in the WebRTC output into typed events that the desktop injects
with XTest. The same events reach X as before; a message that is no input
event is dropped there, counted in stats.input_dropped, and never reaches the
desktop (nor makes a GLib CRITICAL). Loopback only."""
import json
import shutil
import time
import unittest

from lbtest import BrowserScript, Daemon, have_browser, wait_until, xev_recorder

# Each is dropped by the parser (tests/unit/test-input.c checks the error of each).
GARBAGE = [
    "not json",
    "",
    "[1,2]",
    '"move"',
    '{"t":"move"} {"t":"move"}',
    '{"t":"teleport","x":0.5,"y":0.5}',
    '{"x":0.5,"y":0.5}',
    '{"t":7}',
    '{"t":"move","x":{},"y":0.5}',
    '{"t":"move","x":"0.5","y":0.5}',
    '{"t":"move","x":0.5,"y":[1]}',
    '{"t":"move","x":1e400,"y":0.5}',
    '{"t":"move","x":1e300,"y":0.5}',
    '{"t":"down","b":99999999999999999999999}',
    '{"t":"down","b":6}',
    '{"t":"down","b":0}',
    '{"t":"up","b":1.5}',
    '{"t":"down","b":"1"}',
    '{"t":"key","k":"%s","down":true}' % ("x" * 40),
    '{"t":"key","k":"","down":true}',
    '{"t":"key","down":true}',
    '{"t":"key","k":"a","down":"yes"}',
    '{"t":"key","k":"NoSuchKeyName","down":true}',
]

# What web/viewer.js sends, and what xev must see for it.
GOOD = [
    ('{"t":"move","x":0.5,"y":0.25}', "root:(319,119)"),
    ('{"t":"down","b":1}', "ButtonPress event"),
    ('{"t":"up","b":1}', "ButtonRelease event"),
    ('{"t":"move","x":1.7,"y":-0.2}', "root:(639,0)"),  # a drag past the edge stops there
    ('{"t":"key","k":"q","down":true}', "keysym 0x71, q"),
    ('{"t":"key","k":"q","down":false}', "KeyRelease event"),
    ('{"t":"key","k":"Enter","down":true}', "keysym 0xff0d, Return"),
    ('{"t":"key","k":"Enter","down":false}', None),
    ('{"t":"key","k":"F5"}', "keysym 0xffc2, F5"),
    ('{"t":"key","k":"F5","down":false}', None),
]


class RawInputViewer(BrowserScript):
    def __init__(self, url):
        super().__init__("raw-input-viewer.mjs", url, stdin=True)

    def send(self, messages):
        for m in messages:
            self.proc.stdin.write(json.dumps(m) + "\n")
            self.proc.stdin.flush()
            time.sleep(0.02)  # far below the per-viewer rate limit
        self.proc.stdin.write("\n")
        self.proc.stdin.flush()
        return self.next_line(timeout=30)["sent"]


@unittest.skipUnless(have_browser() and shutil.which("Xvfb") and shutil.which("xev"),
                     "chromium, node, Xvfb and xev are needed")
class TypedInputTest(unittest.TestCase):
    def setUp(self):
        self.d = Daemon()
        self.log = xev_recorder(self.d)
        self.d.start()
        self.viewer = None

    def tearDown(self):
        if self.viewer:
            self.viewer.close()
        self.d.cleanup()

    def xev(self):
        with open(self.log, errors="replace") as f:
            return f.read()

    def test_garbage_is_dropped_and_counted_good_input_reaches_x(self):
        lobby = self.d.request("POST", "/api/v1/lobbies", {
            "name": "typed", "source": {"type": "x11-app", "app": "recorder"},
            "video": {"width": 640, "height": 480, "fps": 10}}).json
        url = "http://127.0.0.1:%d/view/%s?control=1#token=%s" % (self.d.tcp_port, lobby["id"], self.d.token)
        self.viewer = RawInputViewer(url)
        sid = self.viewer.next_line()["session"]

        def dropped():
            return self.d.request("GET", "/api/v1/sessions/" + sid).json["stats"]["input_dropped"]

        base = dropped()
        sent = self.viewer.send(GARBAGE)
        # An empty message may not be sent by the browser at all; every other one is.
        self.assertGreaterEqual(sent, len(GARBAGE) - 1)
        self.assertTrue(wait_until(lambda: dropped() - base >= len(GARBAGE) - 1, timeout=10),
                        "garbage not counted: input_dropped %d -> %d" % (base, dropped()))
        before = dropped()

        self.viewer.send([m for m, _ in GOOD])
        for _, seen in GOOD:
            if seen:
                self.assertTrue(wait_until(lambda: seen in self.xev(), timeout=10),
                                "%r did not reach X:\n%s" % (seen, self.xev()[-3000:]))
        # Good input is not counted as dropped; nothing of the garbage reached X.
        self.assertEqual(dropped(), before)
        self.assertNotIn("keysym 0x78, x", self.xev())
        s = self.d.request("GET", "/api/v1/sessions/" + sid).json
        self.assertEqual((s["state"], s["role"]), ("running", "control"))
        self.assertNotIn("CRITICAL", self.d.read_log())


if __name__ == "__main__":
    unittest.main()
