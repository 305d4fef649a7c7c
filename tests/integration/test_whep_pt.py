"""H.264 on the low dynamic payload types (issue 11): newer Chromium offers
some H.264 formats on 35-63, the dynamic range RFC 5761 §4 allows next to
96-127 (64-95 would collide with RTCP packet types under rtcp-mux). An offer
whose only H.264 formats are there is answered on one of them, by both
WebRTC stacks ([webrtc] stack = webrtcbin and lite), and a real GStreamer
webrtcbin peer offering H.264 on payload type 45 connects and plays. A
format on 64-95 or a static payload type is still refused."""
import unittest

import webrtc_peers
from lbtest import Daemon

FINGERPRINT = ":".join(["AB"] * 32)

# The H.264 formats of Chromium's video m-line moved to 35-63 (VP8 and its
# rtx stay on 96/97): baseline 35, constrained baseline 45 and main 63
# (packetization-mode=1), constrained baseline in mode 0 on 47.
H264_LOW = [
    (35, "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42001f"),
    (45, "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f"),
    (47, "level-asymmetry-allowed=1;packetization-mode=0;profile-level-id=42e01f"),
    (63, "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=4d001f"),
]


def offer(h264):
    """web/viewer.js's offer (recvonly video, the "input" data channel) with the
    H.264 formats @h264 [(pt, fmtp)], each with an rtx on pt + 1."""
    pts = [96, 97]
    fmts = ["a=rtpmap:96 VP8/90000", "a=rtcp-fb:96 nack pli", "a=rtpmap:97 rtx/90000", "a=fmtp:97 apt=96"]
    for pt, fmtp in h264:
        pts += [pt, pt + 1]
        fmts += ["a=rtpmap:%d H264/90000" % pt, "a=rtcp-fb:%d nack pli" % pt, "a=fmtp:%d %s" % (pt, fmtp),
                 "a=rtpmap:%d rtx/90000" % (pt + 1), "a=fmtp:%d apt=%d" % (pt + 1, pt)]
    lines = ["v=0", "o=- 4611731400430051336 2 IN IP4 127.0.0.1", "s=-", "t=0 0",
             "a=group:BUNDLE 0 1", "a=msid-semantic: WMS",
             "m=video 9 UDP/TLS/RTP/SAVPF " + " ".join(str(p) for p in pts), "c=IN IP4 0.0.0.0",
             "a=rtcp:9 IN IP4 0.0.0.0", "a=ice-ufrag:Ab1x", "a=ice-pwd:0123456789abcdefghijklmn",
             "a=ice-options:trickle", "a=fingerprint:sha-256 " + FINGERPRINT, "a=setup:actpass", "a=mid:0",
             "a=recvonly", "a=rtcp-mux", "a=rtcp-rsize"] + fmts + [
             "m=application 9 UDP/DTLS/SCTP webrtc-datachannel", "c=IN IP4 0.0.0.0",
             "a=ice-ufrag:Ab1x", "a=ice-pwd:0123456789abcdefghijklmn",
             "a=fingerprint:sha-256 " + FINGERPRINT, "a=setup:actpass", "a=mid:1", "a=sctp-port:5000"]
    return "\r\n".join(lines) + "\r\n"


def caps(pt):
    return ("application/x-rtp,media=video,encoding-name=H264,payload=%d,clock-rate=90000,"
            "packetization-mode=(string)1,profile-level-id=(string)42e01f,"
            "level-asymmetry-allowed=(string)1" % pt)


class LowPayloadTypeMixin:
    stack = None

    def setUp(self):
        self.d = Daemon(config_extra="[webrtc]\nstack=%s\nice_addresses=127.0.0.1\n"
                        "allowed_candidates=127.0.0.0/8\n" % self.stack).start()
        self.lobby = self.d.create_lobby(name="pt", width=640, height=360, fps=30).json["id"]

    def tearDown(self):
        self.d.cleanup()

    def post(self, sdp):
        return self.d.request("POST", "/api/v1/lobbies/%s/whep" % self.lobby, raw=sdp.encode(),
                              headers={"Content-Type": "application/sdp"})

    def test_h264_only_on_35_to_63_is_answered_on_that_payload_type(self):
        sdp = offer(H264_LOW)
        r = self.post(sdp)
        self.assertEqual(r.status, 201, r.body[:500])
        answer = r.body.decode()
        self.assertEqual(webrtc_peers.answer_payload_type(answer), 45, answer)  # constrained baseline, mode 1
        self.assertIn("a=rtpmap:45 H264/90000", answer)
        video = answer.split("m=video", 1)[1].split("m=", 1)[0]
        self.assertNotIn("a=inactive", video)
        sid = r.headers["Location"].split("/")[4]
        s = self.d.request("GET", "/api/v1/sessions/" + sid).json
        self.assertEqual((s["transport"], s["role"]), ("webrtc", "watch"))
        self.assertEqual(self.d.request("DELETE", r.headers["Location"]).status, 204)
        # Alone at the edges of the range.
        for pt in (35, 63):
            r = self.post(offer([(pt, "packetization-mode=1;profile-level-id=42e01f")]))
            self.assertEqual(r.status, 201, r.body[:500])
            self.assertEqual(webrtc_peers.answer_payload_type(r.body.decode()), pt)
            self.assertEqual(self.d.request("DELETE", r.headers["Location"]).status, 204)

    def test_rtcp_range_and_static_payload_types_are_refused(self):
        for pt in (64, 72, 95, 34):
            r = self.post(offer([(pt, "packetization-mode=1;profile-level-id=42e01f")]))
            self.assertEqual((r.status, r.error_code()), (400, "invalid_sdp"), (pt, r.body[:300]))
        self.assertEqual(self.d.request("GET", "/api/v1/sessions").json["sessions"], [])

    @unittest.skipUnless(webrtc_peers.have_gi(), "/usr/bin/python3 with python3-gi and gir1.2-gst-plugins-bad-1.0 "
                                              "is needed (scripts/deps.sh --test)")
    def test_webrtcbin_peer_on_payload_type_45_connects_and_plays(self):
        out = webrtc_peers.run_cli(["--socket", self.d.socket, "--lobby", self.lobby, "-n", "1",
                                 "--caps", caps(45), "--settle", "1", "--seconds", "2"])
        row = out["rows"][0]
        self.assertIn("a=rtpmap:45 H264/90000", out["offer"])
        self.assertEqual(row["status"], 201, row)
        self.assertEqual(row["answer_pt"], 45, row)
        self.assertEqual(row["state"], "connected", row)
        self.assertGreater(row["frames"], 10, row)
        self.assertGreater(row["keyframes"], 0, row)
        self.assertNotIn("CRITICAL", self.d.read_log())


class WebrtcbinLowPayloadTypeTest(LowPayloadTypeMixin, unittest.TestCase):
    stack = "webrtcbin"


class LiteLowPayloadTypeTest(LowPayloadTypeMixin, unittest.TestCase):
    stack = "lite"


if __name__ == "__main__":
    unittest.main()
