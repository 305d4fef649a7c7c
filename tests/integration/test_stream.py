"""create → join RTP → a real decoder (ffmpeg) decodes frames of the requested size."""
import time
import unittest

from lbtest import DaemonTest, decode_rtp, free_port, count_udp_packets


class StreamTest(DaemonTest):
    config_extra = "[encoder]\nkeyframe_interval_ms=1000\n"

    def test_join_and_decode_30_frames_of_requested_size(self):
        r = self.d.create_lobby(width=640, height=480, fps=30)
        self.assertEqual(r.status, 201, r.body)
        lobby = r.json
        port = free_port()
        r = self.d.join(lobby["id"], port, width=320, height=240, fps=30)
        self.assertEqual(r.status, 201, r.body)
        session = r.json
        self.assertEqual(session["profile"]["width"], 320)
        self.assertEqual(session["state"], "running")
        r = self.d.request("GET", session["sdp_url"])
        self.assertEqual(r.status, 200)
        self.assertEqual(r.headers.get("Content-Type"), "application/sdp")
        sdp = r.body.decode()
        self.assertIn("m=video %d RTP/AVP 96" % port, sdp)
        self.assertIn("H264/90000", sdp)
        sizes, dims, log = decode_rtp(sdp, 30)
        self.assertGreaterEqual(len(sizes), 30, log[-2000:])
        self.assertEqual(dims, (320, 240), log[-2000:])
        self.assertTrue(all(s == 320 * 240 * 3 // 2 for s in sizes), sizes)
        # The server counts what it sent.
        r = self.d.request("GET", "/api/v1/sessions/" + session["id"])
        self.assertGreater(r.json["stats"]["packets_sent"], 30)

    def test_session_leave_stops_the_stream(self):
        lobby = self.d.create_lobby().json
        port = free_port()
        session = self.d.join(lobby["id"], port).json
        self.assertGreater(count_udp_packets(port, 1.0), 10)
        r = self.d.request("DELETE", "/api/v1/sessions/" + session["id"])
        self.assertEqual(r.status, 204)
        time.sleep(0.2)
        self.assertEqual(count_udp_packets(port, 1.0), 0)
        self.assertEqual(self.d.request("GET", "/api/v1/sessions/" + session["id"]).status, 404)
        # The lobby keeps running without viewers.
        self.assertEqual(self.d.request("GET", "/api/v1/lobbies/" + lobby["id"]).json["state"], "running")

    def test_two_sessions_have_their_own_ssrc(self):
        lobby = self.d.create_lobby().json
        a = self.d.join(lobby["id"], free_port()).json
        b = self.d.join(lobby["id"], free_port()).json
        time.sleep(0.5)
        sa = self.d.request("GET", "/api/v1/sessions/" + a["id"]).json["stats"]["ssrc"]
        sb = self.d.request("GET", "/api/v1/sessions/" + b["id"]).json["stats"]["ssrc"]
        self.assertNotEqual(sa, sb)
        status = self.d.request("GET", "/api/v1/system/gpu-status").json
        five = {k: status[k] for k in ("nvenc_sessions_used", "nvenc_sessions_limit", "software_mode",
                                       "active_lobbies", "active_sessions")}
        # No GPU in CI: hardware is unavailable, so both sessions are software fallbacks.
        self.assertEqual(five, {"nvenc_sessions_used": 0, "nvenc_sessions_limit": 0,
                                "software_mode": True, "active_lobbies": 1, "active_sessions": 2})
        sw = [p for p in status["pools"] if p["name"] == "software"][0]
        # Same lobby, same profile: one shared encode (one slot) for both viewers.
        self.assertEqual((sw["used"], sw["sessions"], sw["limit_source"]), (1, 2, "cpu-budget"))
        self.assertEqual(status["active_encodes"], 1)


if __name__ == "__main__":
    unittest.main()
