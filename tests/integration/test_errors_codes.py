"""Each failure has its own stable code and status (issue 10, item 5): an output
that cannot start is 500 output_error, not the encoder refusal 503
encoder_open_failed that drives fallback; an SDP offer that cannot be parsed
or answered is 400 invalid_sdp, not invalid_field.

output_error is tested in tests/unit/test-branch.c with a real udpsink that
fails in its start(): nothing a client may send makes udpsink fail to start
(its start only creates sockets; destinations are loopback IP literals). The
one way found from outside, exhausting the daemon's file descriptors with
prlimit, also breaks GStreamer's own GstPoll and the HTTP accept, so it
tests nothing about this mapping."""
import unittest

from lbtest import DaemonTest

OFFER_HEAD = "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n"


def h264_offer():
    return (OFFER_HEAD
            + "a=group:BUNDLE 0\r\n"
            + "m=video 9 UDP/TLS/RTP/SAVPF 96\r\nc=IN IP4 0.0.0.0\r\n"
            + "a=mid:0\r\na=recvonly\r\na=rtcp-mux\r\n"
            + "a=ice-ufrag:abcd\r\na=ice-pwd:abcdefghijklmnopqrstuvwx\r\n"
            + "a=fingerprint:sha-256 " + ":".join(["AB"] * 32) + "\r\na=setup:actpass\r\n"
            + "a=rtpmap:96 H264/90000\r\n"
            + "a=fmtp:96 level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f\r\n")


class InvalidSdpTest(DaemonTest):
    # webrtcbin here; LiteInvalidSdpTest below runs the same on the lite stack.
    config_extra = "[webrtc]\nstack=webrtcbin\nice_addresses=127.0.0.1\n"
    # webrtcbin refuses these while negotiating; lite while reading the offer.
    REFUSED = "negotiation failed"

    def post(self, lobby, body, control=False):
        return self.d.request("POST", "/api/v1/lobbies/%s/whep%s" % (lobby, "/control" if control else ""),
                              raw=body, headers={"Content-Type": "application/sdp"})

    def assert_nothing_left(self):
        g = self.d.request("GET", "/api/v1/system/gpu-status").json
        self.assertEqual((g["active_sessions"], g["active_encodes"]), (0, 0))
        self.assertTrue(all(p["used"] == 0 for p in g["pools"]), g["pools"])
        self.assertEqual(self.d.request("GET", "/api/v1/sessions").json["sessions"], [])

    def test_malformed_offers_are_400_invalid_sdp(self):
        lobby = self.d.create_lobby().json["id"]
        good = h264_offer()
        bad = {
            "empty": b"",
            "not sdp": b"hello",
            "v=0 only": b"v=0\r\n",
            "garbage lines": b"v=0\r\nthis is not sdp\r\n\r\n",
            "NUL": good.encode() + b"\x00",
            "not UTF-8": good.encode() + b"a=\xff\r\n",
            "VP8 only": good.replace("H264/90000", "VP8/90000").encode(),
            "packetization-mode=0": good.replace("packetization-mode=1", "packetization-mode=0").encode(),
            "audio only": good.replace("m=video", "m=audio").replace("H264/90000", "opus/48000/2").encode(),
            "static payload type": good.replace(" 96\r\n", " 0\r\n").replace(":96 ", ":0 ").encode(),
        }
        for name, body in bad.items():
            for control in (False, True):
                with self.subTest(name=name, control=control):
                    r = self.post(lobby, body, control)
                    self.assertEqual((r.status, r.error_code()), (400, "invalid_sdp"), r.body)
        self.assert_nothing_left()

    def test_offers_webrtc_cannot_answer_are_400_invalid_sdp(self):
        """Usable H.264, so the branch is built; then webrtcbin refuses the
        offer. That is still the client's SDP, not invalid_field, and the
        half-built session is gone."""
        lobby = self.d.create_lobby().json["id"]
        good = h264_offer()
        bad = {
            "no ICE credentials": good.replace("a=ice-ufrag:abcd\r\n", "").replace(
                "a=ice-pwd:abcdefghijklmnopqrstuvwx\r\n", ""),
            "no fingerprint": "".join(l + "\r\n" for l in good.split("\r\n")
                                      if l and not l.startswith("a=fingerprint")),
            "BUNDLE names no media": good.replace("a=group:BUNDLE 0", "a=group:BUNDLE 7"),
            "unknown setup role": good.replace("a=setup:actpass", "a=setup:bogus"),
        }
        bad.update(self.EXTRA_BAD(good))
        for name, body in bad.items():
            with self.subTest(name=name):
                r = self.post(lobby, body.encode())
                self.assertEqual((r.status, r.error_code()), (400, "invalid_sdp"), r.body)
                self.assertIn(self.REFUSED, r.json["error"]["message"])
        self.assert_nothing_left()
        self.assertEqual(self.d.request("GET", "/api/v1/status").json["pipelines"], 1)
        # the same lobby still answers a good offer
        r = self.post(lobby, good.encode())
        self.assertEqual(r.status, 201, r.body)
        self.assertEqual(self.d.request("DELETE", r.headers["Location"]).status, 204)

    @staticmethod
    def EXTRA_BAD(good):
        return {}


class LiteInvalidSdpTest(InvalidSdpTest):
    config_extra = "[webrtc]\nstack=lite\nice_addresses=127.0.0.1\n"
    REFUSED = "offer"

    @staticmethod
    def EXTRA_BAD(good):
        # lite checks the fingerprint itself, SHA-256 only: another hash would
        # have let any certificate through.
        return {
            "no ICE password": good.replace("a=ice-pwd:abcdefghijklmnopqrstuvwx\r\n", ""),
            "sha-1 fingerprint": good.replace("a=fingerprint:sha-256 " + ":".join(["AB"] * 32),
                                              "a=fingerprint:sha-1 " + ":".join(["AB"] * 20)),
            "no setup": good.replace("a=setup:actpass\r\n", ""),
            "setup passive": good.replace("a=setup:actpass", "a=setup:passive"),
        }


if __name__ == "__main__":
    unittest.main()
