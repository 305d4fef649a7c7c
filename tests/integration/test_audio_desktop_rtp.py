"""Issue 12: a desktop lobby's app is heard on its own stream and not on
another lobby's — end to end, through the lobby's capture, its Opus encode
and an RTP session, decoded by ffmpeg from the session's SDP (the monitor
recordings of test_audio_desktop.py stop at the sound servers)."""
import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(__file__))
import test_audio_desktop as desktop  # noqa: E402
from lbtest import wait_until  # noqa: E402
from test_audio_rtp import ffmpeg_audio, free_port_quad  # noqa: E402


@unittest.skipUnless(desktop.HAVE_TOOLS, "needs Xvfb, pulseaudio, pulseaudio-utils (paplay, parec) and ffmpeg")
class AudioDesktopRtpTest(unittest.TestCase):
    # The desktop test's fixture: an apps user, a 440 Hz WAV the "tone" app
    # loops with paplay, a "silent" app, the daemon.
    setUp = desktop.AudioDesktopTest.setUp
    tearDown = desktop.AudioDesktopTest.tearDown
    start = desktop.AudioDesktopTest.start
    create = desktop.AudioDesktopTest.create
    lobby = desktop.AudioDesktopTest.lobby

    def join(self, lobby):
        port = free_port_quad()
        body = {"transport": "rtp", "destination": {"host": "127.0.0.1", "port": port},
                "profile": {"codec": "h264", "width": 320, "height": 240, "fps": 10, "bitrate_kbps": 500}}
        r = self.d.request("POST", "/api/v1/lobbies/%s/sessions" % lobby["id"], body)
        self.assertEqual(r.status, 201, r.body)
        sdp = self.d.request("GET", r.json["sdp_url"]).body.decode()
        self.assertIn("m=audio %d RTP/AVP 97" % (port + 2), sdp)
        # A silent app still means a stream of (silent) Opus packets: without
        # any, ffmpeg would wait for the audio stream forever.
        stats = {}

        def audio_flows():
            stats.update(self.d.request("GET", "/api/v1/sessions/" + r.json["id"]).json["stats"])
            return stats.get("audio", {}).get("packets_sent", 0) > 10
        self.assertTrue(wait_until(audio_flows, timeout=10), "lobby %s (%s) sends no audio: %s"
                        % (lobby["name"], lobby["source"], stats))
        return sdp

    def test_tone_heard_on_its_own_rtp_stream_only(self):
        self.start()
        tone = self.create("tone")
        silent = self.create("silent")
        for lobby in (tone, silent):
            self.assertTrue(wait_until(lambda: self.lobby(lobby["id"]).get("audio_state") == "running",
                                       timeout=10), self.lobby(lobby["id"]))
        # paplay is playing into the tone lobby's sink before we listen.
        self.assertTrue(wait_until(lambda: desktop.record_rms_db(tone["audio_server"]["address"], 0.5) > -40,
                                   timeout=15, interval=0.1), "the tone app never played")
        tone_sdp, silent_sdp = self.join(tone), self.join(silent)
        _, samples_t, max_t, mean_t, log_t = ffmpeg_audio(tone_sdp, 4, video=False)
        _, samples_s, max_s, mean_s, log_s = ffmpeg_audio(silent_sdp, 4, video=False)
        print("\n  RTP audio mean/max volume: tone lobby %s/%s dB, silent lobby %s/%s dB"
              % (mean_t, max_t, mean_s, max_s))
        # Both streams really decoded (a second and more of 48 kHz stereo).
        self.assertGreater(samples_t, 48000, log_t[-2000:])
        self.assertGreater(samples_s, 48000, log_s[-2000:])
        # The 440 Hz sine is about -21 dBFS RMS; the silent lobby's stream is
        # digital silence (ffmpeg reports -91 dB), not the other lobby's tone.
        self.assertIsNotNone(mean_t, log_t[-2000:])
        self.assertGreater(mean_t, -35.0, log_t[-2000:])
        self.assertIsNotNone(mean_s, log_s[-2000:])
        self.assertLessEqual(mean_s, -80.0, log_s[-2000:])
        self.assertGreater(mean_t - mean_s, 40.0)


if __name__ == "__main__":
    unittest.main()
