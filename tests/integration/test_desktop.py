"""x11-app lobbies: lobbyd runs Xvfb and an app from the config's catalogue,
captures it, streams it, and reports (state + event) when the app exits."""
import os
import shutil
import time
import unittest

from lbtest import DaemonTest, EventStream, decode_rtp, free_port, wait_until

APPS = "[apps]\nxterm=xterm -geometry 80x24+0+0\nshort-lived=sh -c \"sleep 1\"\n"


@unittest.skipUnless(shutil.which("Xvfb") and shutil.which("xterm"), "Xvfb and xterm are needed")
class DesktopTest(DaemonTest):
    config_extra = APPS + "[encoder]\nkeyframe_interval_ms=1000\n"

    def create(self, app, **video):
        body = {"name": app, "source": {"type": "x11-app", "app": app},
                "video": dict({"width": 640, "height": 480, "fps": 15}, **video)}
        return self.d.request("POST", "/api/v1/lobbies", body)

    def test_desktop_streams_and_stops_with_its_x_server(self):
        r = self.create("xterm")
        self.assertEqual(r.status, 201, r.body)
        lobby = r.json
        self.assertEqual(lobby["source"], {"type": "x11-app", "app": "xterm"})
        display = lobby["display"]
        lock = "/tmp/.X%s-lock" % display[1:]
        self.assertTrue(os.path.exists(lock))
        s = self.d.join(lobby["id"], free_port()).json
        sizes, dims, log = decode_rtp(self.d.request("GET", s["sdp_url"]).body.decode(), 20)
        self.assertGreaterEqual(len(sizes), 20, log[-1500:])
        self.assertEqual(dims, (640, 480))
        self.assertEqual(self.d.request("DELETE", "/api/v1/lobbies/" + lobby["id"]).status, 204)
        # Xvfb is gone with the lobby (its lock file is removed when it exits).
        self.assertTrue(wait_until(lambda: not os.path.exists(lock), timeout=5), "Xvfb still running")

    def test_app_exit_fails_the_lobby_instead_of_freezing(self):
        events = EventStream(self.d)
        lobby = self.create("short-lived").json
        s = self.d.join(lobby["id"], free_port()).json
        failed = events.wait_for("lobby.failed", timeout=10)[0]["data"]
        events.close()
        self.assertEqual(failed["lobby_id"], lobby["id"])
        self.assertIn("application exited", failed["error"])
        l = self.d.request("GET", "/api/v1/lobbies/" + lobby["id"]).json
        self.assertEqual(l["state"], "failed")
        self.assertEqual(self.d.request("GET", "/api/v1/sessions/" + s["id"]).json["state"], "failed")
        self.assertEqual(self.d.request("GET", "/api/v1/system/gpu-status").json["active_encodes"], 0)

    def test_only_catalogue_apps(self):
        r = self.create("not-in-catalogue")
        self.assertEqual((r.status, r.error_code()), (400, "invalid_field"))
        r = self.d.request("POST", "/api/v1/lobbies", {"name": "x", "source": {"type": "x11-app", "app": "xterm; rm -rf /"}})
        self.assertEqual((r.status, r.error_code()), (400, "invalid_field"))
        self.assertEqual(self.d.request("GET", "/api/v1/lobbies").json["lobbies"], [])


if __name__ == "__main__":
    unittest.main()
