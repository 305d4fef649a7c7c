"""Issue 12: A/V sync at an RTP receiver. A testsrc lobby beeps and flashes
the bottom band of its picture for the first 100 ms of every second; ffmpeg
plays a session's SDP and lines the streams up with our RTCP sender reports
(capture-time mapping). Each beep onset is within 40 ms of its flash (the
issue's target), after the first 2 s (before both streams had an SR)."""
import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(__file__))
import avsync  # noqa: E402
from lbtest import DaemonTest, wait_until  # noqa: E402
from test_audio_rtp import create_lobby, free_port_quad, rtp_join  # noqa: E402


class AvSyncTest(DaemonTest):
    def test_rtp_offset_within_40_ms(self):
        lobby = create_lobby(self.d)
        state = {}

        def running():
            state.update(self.d.request("GET", "/api/v1/lobbies/" + lobby["id"]).json)
            return state.get("audio_state") == "running"
        self.assertTrue(wait_until(running, timeout=5.0), state)
        r = rtp_join(self.d, lobby["id"], free_port_quad())
        self.assertEqual(r.status, 201, r.body)
        sdp = self.d.request("GET", r.json["sdp_url"]).body.decode()
        result = avsync.measure(sdp, 10)
        log = result.pop("ffmpeg_log")
        # About one pair a second after the first 2 s (generous for a loaded box).
        self.assertGreaterEqual(len(result["offsets_ms"]), 4, (result, log))
        self.assertLessEqual(abs(result["median"]), 40.0, result)
        stats = self.d.request("GET", "/api/v1/sessions/" + r.json["id"]).json["stats"]
        self.assertGreater(stats["rtcp_sr_sent"], 0)


if __name__ == "__main__":
    unittest.main()
