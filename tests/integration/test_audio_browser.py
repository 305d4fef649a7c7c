"""WebRTC audio in a real browser (issue 12): Debian's chromium on the
viewer page offers a recvonly audio transceiver after the video; the page
starts muted (autoplay) and #sound turns the lobby's sound on; on both
stacks (lite for watch-only viewers, webrtcbin for ?control=1) getStats()
then shows an inbound audio track whose totalSamplesReceived rises and
whose audioLevel catches the testsrc beep. A lobby with "audio": false, or
a daemon whose lobbies have no sound yet, plays video with the audio
m-line rejected."""
import time
import unittest

from lbtest import DaemonTest, have_browser, run_node

CONFIG = "[webrtc]\nice_addresses=127.0.0.1\n"
NO_LOBBY_AUDIO = ("the lobby has no sound (its view lacks \"audio_state\": \"running\"): needs the "
                  "audio producer and the lobby's Opus encode (issue 12 WP1 + WP2)")


def rejected(direction):
    """The audio transceiver's currentDirection after an answer that
    rejected it: "stopped"/null (port 0) or "inactive"."""
    return direction in (None, "stopped", "inactive")


@unittest.skipUnless(have_browser(), "chromium, node and tests/browser/node_modules are needed "
                                     "(scripts/deps.sh --test installs them)")
class AudioBrowserTest(DaemonTest):
    config_extra = CONFIG

    def lobby(self, audio=None):
        body = {"name": "sound", "source": {"type": "testsrc", "pattern": "ball"},
                "video": {"width": 320, "height": 240, "fps": 30}}
        if audio is not None:
            body["audio"] = audio
        r = self.d.request("POST", "/api/v1/lobbies", body)
        self.assertEqual(r.status, 201, r.body)
        return r.json["id"]

    def audio_state(self, lobby):
        """The lobby's audio_state once it settles (the source starts after
        the video plays), or None where lobbies have no sound."""
        deadline = time.monotonic() + 5
        while True:
            state = self.d.request("GET", "/api/v1/lobbies/" + lobby).json.get("audio_state")
            if state in ("running", "failed", "off") or time.monotonic() > deadline:
                return state
            time.sleep(0.2)

    def view(self, lobby, control=False, seconds=3):
        url = "http://127.0.0.1:%d/view/%s%s#token=%s" % (self.d.tcp_port, lobby,
                                                         "?control=1" if control else "", self.d.token)
        out = run_node("audio-check.mjs", url, str(seconds))
        self.assertNotIn("error", out, out)
        self.assertEqual(out["state"], "connected", out)
        # The page: muted at first (autoplay), the button turns sound on,
        # and the video keeps playing.
        self.assertEqual((out["button"], out["muted_before"]), ("Sound on", True), out)
        self.assertEqual((out["button_after"], out["muted_after"]), ("Sound off", False), out)
        self.assertTrue(out["audio_offered"], out)
        self.assertEqual(out["video_tracks"], 1, out)
        self.assertGreater(out["frames"][1] - out["frames"][0], 10 * seconds, out)
        return out

    def assert_heard(self, out):
        self.assertEqual(out["audio_direction"], "recvonly", out)
        # One MediaStream ("lobbyd") holds both tracks: the browser lip-syncs them.
        self.assertEqual(out["audio_tracks"], 1, out)
        self.assertTrue(out["inbound_audio"], out)
        first, last = out["samples"]
        self.assertGreater(last - first, 48000, out)  # 3 s at 48 kHz would be 144000
        self.assertGreater(out["packets"], 50, out)
        self.assertGreater(out["max_audio_level"], 0.01, out)  # the beep, once a second
        self.assertIsNotNone(out["viewer_audio"], out)

    def assert_not_heard(self, out):
        self.assertTrue(rejected(out["audio_direction"]), out)
        self.assertFalse(out["inbound_audio"] and out["packets"] > 0, out)

    def session_audio(self, out):
        return self.d.request("GET", "/api/v1/sessions/" + out["session"]).json["stats"].get("audio")

    def test_lite_viewer_hears_the_lobby(self):
        lobby = self.lobby()
        if self.audio_state(lobby) != "running":
            self.skipTest(NO_LOBBY_AUDIO)
        out = self.view(lobby)
        self.assert_heard(out)
        s = self.d.request("GET", "/api/v1/sessions/" + out["session"]).json
        self.assertEqual(s["stats"].get("stack"), "lite", s)

    def test_webrtcbin_viewer_hears_the_lobby(self):
        lobby = self.lobby()
        if self.audio_state(lobby) != "running":
            self.skipTest(NO_LOBBY_AUDIO)
        out = self.view(lobby, control=True)
        self.assert_heard(out)
        s = self.d.request("GET", "/api/v1/sessions/" + out["session"]).json
        self.assertNotEqual(s["stats"].get("stack"), "lite", s)

    def test_lobby_without_audio_plays_video_only(self):
        lobby = self.lobby(audio=False)
        self.assertIn(self.audio_state(lobby), (None, "off"))
        for control in (False, True):
            with self.subTest(control=control):
                self.assert_not_heard(self.view(lobby, control=control))

    def test_page_without_lobby_sound(self):
        """What runs before lobbies have sound (and after, on either stack):
        the page offers audio, tolerates its rejection and plays video."""
        lobby = self.lobby()
        has_audio = self.audio_state(lobby) == "running"
        for control in (False, True):
            with self.subTest(control=control):
                out = self.view(lobby, control=control, seconds=1)
                if has_audio:
                    self.assertEqual(out["audio_direction"], "recvonly", out)
                else:
                    self.assert_not_heard(out)


if __name__ == "__main__":
    unittest.main()
