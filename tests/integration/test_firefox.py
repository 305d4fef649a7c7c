"""The web viewer in Firefox (Debian's firefox-esr, driven by puppeteer-core
over WebDriver BiDi: tests/browser/firefox-check.mjs) on both WebRTC stacks,
[webrtc] stack = webrtcbin and stack = lite: Firefox's offer is answered, ICE
and DTLS connect, H.264 frames are decoded at the lobby's size and keep
coming, lobbyd lists the session, and when Firefox closes its peer
connection the session ends (session.ended, then 404) instead of failing.
A control viewer (the "input" data channel, always webrtcbin) opens its
channel. Firefox's real offer, recorded here, is also posted to both stacks
without a browser."""
import os
import re
import shutil
import time
import unittest

from lbtest import BROWSER_DIR, BrowserScript, DaemonTest, EventStream, wait_until

FIREFOX = os.environ.get("FIREFOX", "/usr/bin/firefox-esr")
LITE = "[webrtc]\nstack=lite\nice_addresses=127.0.0.1\n"
WEBRTCBIN = "[webrtc]\nstack=webrtcbin\n"


def have_firefox():
    """Debian's firefox-esr, node and puppeteer-core in tests/browser/node_modules
    (scripts/deps.sh --test installs them)."""
    return (os.path.exists(FIREFOX) and shutil.which("node")
            and os.path.isdir(os.path.join(BROWSER_DIR, "node_modules", "puppeteer-core")))


# Firefox 153 ESR's offer from web/viewer.js (recvonly video + the "input"
# data channel), as captured by firefox-check.mjs, host candidates kept to
# loopback. With H.264 it offers four formats: profile-level-id 42e01f and
# 42001f, each with packetization-mode=1 and without (mode 0), every fmtp
# with level-asymmetry-allowed=1 and in an order unlike Chromium's.
FIREFOX_OFFER = """v=0
o=mozilla...THIS_IS_SDPARTA-99.0 6303972179456905504 0 IN IP4 0.0.0.0
s=-
t=0 0
a=sendrecv
a=fingerprint:sha-256 38:84:14:A0:3F:FE:22:03:41:8A:AE:86:8D:23:B9:B5:58:A5:E7:0B:4D:82:9B:0D:56:D0:E0:1C:1D:B9:9E:67
a=group:BUNDLE 0 1
a=ice-options:trickle
a=msid-semantic:WMS *
m=video 39675 UDP/TLS/RTP/SAVPF 120 124 121 125 126 127 97 98 105 106 103 104 99 100 123 122 119
c=IN IP4 127.0.0.1
a=candidate:0 1 UDP 2122055935 127.0.0.1 39675 typ host
a=candidate:0 2 UDP 2122055934 127.0.0.1 47923 typ host
a=recvonly
a=end-of-candidates
a=extmap:3 urn:ietf:params:rtp-hdrext:sdes:mid
a=extmap:4 http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time
a=extmap:5 urn:ietf:params:rtp-hdrext:toffset
a=extmap:6/recvonly http://www.webrtc.org/experiments/rtp-hdrext/playout-delay
a=extmap:7 http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01
a=extmap-allow-mixed
a=fmtp:126 profile-level-id=42e01f;level-asymmetry-allowed=1;packetization-mode=1
a=fmtp:97 profile-level-id=42e01f;level-asymmetry-allowed=1
a=fmtp:105 profile-level-id=42001f;level-asymmetry-allowed=1;packetization-mode=1
a=fmtp:103 profile-level-id=42001f;level-asymmetry-allowed=1
a=fmtp:120 max-fs=12288;max-fr=60
a=fmtp:124 apt=120
a=fmtp:121 max-fs=12288;max-fr=60
a=fmtp:125 apt=121
a=fmtp:127 apt=126
a=fmtp:98 apt=97
a=fmtp:106 apt=105
a=fmtp:104 apt=103
a=fmtp:100 apt=99
a=fmtp:119 apt=122
a=ice-pwd:2094dc64a8f4858f4fc6d72bf8e6f0cd
a=ice-ufrag:178230af
a=mid:0
a=rtcp:47923 IN IP4 127.0.0.1
a=rtcp-fb:120 nack
a=rtcp-fb:120 nack pli
a=rtcp-fb:120 ccm fir
a=rtcp-fb:120 goog-remb
a=rtcp-fb:120 transport-cc
a=rtcp-fb:121 nack
a=rtcp-fb:121 nack pli
a=rtcp-fb:121 ccm fir
a=rtcp-fb:121 goog-remb
a=rtcp-fb:121 transport-cc
a=rtcp-fb:126 nack
a=rtcp-fb:126 nack pli
a=rtcp-fb:126 ccm fir
a=rtcp-fb:126 goog-remb
a=rtcp-fb:126 transport-cc
a=rtcp-fb:97 nack
a=rtcp-fb:97 nack pli
a=rtcp-fb:97 ccm fir
a=rtcp-fb:97 goog-remb
a=rtcp-fb:97 transport-cc
a=rtcp-fb:105 nack
a=rtcp-fb:105 nack pli
a=rtcp-fb:105 ccm fir
a=rtcp-fb:105 goog-remb
a=rtcp-fb:105 transport-cc
a=rtcp-fb:103 nack
a=rtcp-fb:103 nack pli
a=rtcp-fb:103 ccm fir
a=rtcp-fb:103 goog-remb
a=rtcp-fb:103 transport-cc
a=rtcp-fb:99 nack
a=rtcp-fb:99 nack pli
a=rtcp-fb:99 ccm fir
a=rtcp-fb:99 goog-remb
a=rtcp-fb:99 transport-cc
a=rtcp-fb:123 nack
a=rtcp-fb:123 nack pli
a=rtcp-fb:123 ccm fir
a=rtcp-fb:123 goog-remb
a=rtcp-fb:123 transport-cc
a=rtcp-fb:122 nack
a=rtcp-fb:122 nack pli
a=rtcp-fb:122 ccm fir
a=rtcp-fb:122 goog-remb
a=rtcp-fb:122 transport-cc
a=rtcp-mux
a=rtcp-rsize
a=rtpmap:120 VP8/90000
a=rtpmap:124 rtx/90000
a=rtpmap:121 VP9/90000
a=rtpmap:125 rtx/90000
a=rtpmap:126 H264/90000
a=rtpmap:127 rtx/90000
a=rtpmap:97 H264/90000
a=rtpmap:98 rtx/90000
a=rtpmap:105 H264/90000
a=rtpmap:106 rtx/90000
a=rtpmap:103 H264/90000
a=rtpmap:104 rtx/90000
a=rtpmap:99 AV1/90000
a=rtpmap:100 rtx/90000
a=rtpmap:123 ulpfec/90000
a=rtpmap:122 red/90000
a=rtpmap:119 rtx/90000
a=setup:actpass
a=ssrc:519785875 cname:{8619eb9b-0b10-4b68-b072-9a65e8ad217a}
m=application 33784 UDP/DTLS/SCTP webrtc-datachannel
c=IN IP4 127.0.0.1
a=candidate:0 1 UDP 2122055935 127.0.0.1 33784 typ host
a=sendrecv
a=end-of-candidates
a=ice-pwd:2094dc64a8f4858f4fc6d72bf8e6f0cd
a=ice-ufrag:178230af
a=mid:1
a=setup:actpass
a=sctp-port:5000
a=max-message-size:1073741823
""".replace("\n", "\r\n")


def quit_firefox(script):
    """Ends stdin, so that the script closes Firefox and exits: puppeteer
    starts Firefox in a process group of its own, which killing the script's
    group would leave running."""
    try:
        script.proc.stdin.close()
        script.proc.wait(30)
    except Exception:
        pass
    script.close()


def answered_h264(answer):
    """The H.264 payload type of an answer's video section and its fmtp."""
    pt = re.search(r"a=rtpmap:(\d+) H264/90000", answer).group(1)
    return pt, re.search(r"a=fmtp:%s ([^\r\n]*)" % pt, answer).group(1)


class FirefoxOfferMixin:
    def test_firefox_offer_is_answered_with_a_packetization_mode_1_format(self):
        lobby = self.d.create_lobby().json["id"]
        r = self.d.request("POST", "/api/v1/lobbies/%s/whep" % lobby, raw=FIREFOX_OFFER.encode(),
                           headers={"Content-Type": "application/sdp"})
        self.assertEqual(r.status, 201, r.body)
        pt, fmtp = answered_h264(r.body.decode())
        # 126 or 105 (mode 1); never 97 or 103, which lobbyd cannot send.
        self.assertIn(pt, ("126", "105"), r.body)
        self.assertIn("packetization-mode=1", fmtp)
        self.assertEqual(self.d.request("DELETE", r.headers["Location"]).status, 204)


class FirefoxViewerMixin:
    stack = None

    def open_viewer(self, query=""):
        lobby = self.d.create_lobby(name="firefox", width=640, height=360, fps=30).json["id"]
        url = "http://127.0.0.1:%d/view/%s%s#token=%s" % (self.d.tcp_port, lobby, query, self.d.token)
        script = BrowserScript("firefox-check.mjs", url, stdin=True)
        return script, script.next_line(timeout=80)

    def assert_plays(self, out):
        self.assertIsNone(out.get("viewer_error"), out.get("viewer_error"))
        first, second = out["first"], out["second"]
        print("\n[firefox %s] %s; offer H.264: %s; answer: %s; frames %d -> %d, packets %d -> %d" % (
            self.stack, out["browser"], sorted(set(re.findall(r"a=fmtp:(\d+) (profile-level-id[^\r\n]*)",
                                                              out["offer"]))),
            answered_h264(out["answer"]), first["frames"], second["frames"], first["packets"],
            second["packets"]))
        # The browser's own view: connected over ICE and DTLS, H.264 at the
        # lobby's size, packets and decoded frames rising (~75 frames in the
        # 2.5 s between the samples at 30 fps; a loaded 2-core box gets less).
        self.assertEqual((second["state"], second["ice"], second["dtls"]), ("connected", "connected", "connected"))
        self.assertEqual(second["codecs"], ["video/H264"])
        self.assertEqual((second["width"], second["height"]), (640, 360))
        self.assertEqual(second["video"], [640, 360])
        self.assertGreater(first["frames"], 5, first)
        self.assertGreater(second["frames"] - first["frames"], 15, (first, second))
        self.assertGreater(second["packets"], first["packets"])
        self.assertGreater(second["bytes"], first["bytes"])

    def assert_ends_when_firefox_closes(self, script, sid, events):
        script.proc.stdin.write("close-pc\n")
        script.proc.stdin.flush()
        self.assertEqual(script.next_line(timeout=20), {"closed": "pc"})
        gone = wait_until(lambda: self.d.request("GET", "/api/v1/sessions/" + sid).status == 404,
                          timeout=20, interval=0.2)
        s = self.d.request("GET", "/api/v1/sessions/" + sid)
        self.assertTrue(gone, "session still there 20 s after Firefox closed its peer connection: %s" % s.body)
        self.assertEqual([e for e in events.of_type("session.failed") if e["data"]["session_id"] == sid], [])
        ended = [e for e in events.wait_for("session.ended") if e["data"]["session_id"] == sid]
        print("[firefox %s] closed by the page: session.ended reason %s" % (self.stack, ended[0]["data"]["reason"]))
        g = self.d.request("GET", "/api/v1/system/gpu-status").json
        self.assertEqual((g["active_sessions"], g["active_encodes"]), (0, 0))

    def test_firefox_plays_and_the_session_ends_when_it_closes(self):
        events = EventStream(self.d)
        script, out = self.open_viewer()
        try:
            self.assert_plays(out)
            s = self.d.request("GET", "/api/v1/sessions/" + out["session"]).json
            self.assertEqual((s["transport"], s["state"], s["role"]), ("webrtc", "running", "watch"))
            self.assertEqual(s["stats"]["connection_state"], "connected")
            self.assertEqual(s["stats"].get("stack", "webrtcbin"), self.stack)
            self.assertGreater(s["stats"]["packets_sent"], 50)
            self.assert_ends_when_firefox_closes(script, out["session"], events)
        finally:
            quit_firefox(script)
            events.close()
        self.assertNotIn("CRITICAL", self.d.read_log())


@unittest.skipUnless(have_firefox(), "firefox-esr, node and tests/browser/node_modules/puppeteer-core are needed "
                                     "(scripts/deps.sh --test installs them)")
class FirefoxLiteTest(FirefoxViewerMixin, DaemonTest):
    config_extra = LITE
    stack = "lite"

    def test_firefox_control_viewer_opens_the_input_channel(self):
        # Control viewers keep webrtcbin (the data channel) under stack=lite.
        script, out = self.open_viewer("?control=1")
        try:
            self.assert_plays(out)
            self.assertEqual(out["second"]["input"], "open")
            s = self.d.request("GET", "/api/v1/sessions/" + out["session"]).json
            self.assertEqual((s["role"], s["stats"]["connection_state"]), ("control", "connected"))
            self.assertNotIn("stack", s["stats"])
        finally:
            quit_firefox(script)


@unittest.skipUnless(have_firefox(), "firefox-esr, node and tests/browser/node_modules/puppeteer-core are needed "
                                     "(scripts/deps.sh --test installs them)")
class FirefoxWebrtcbinTest(FirefoxViewerMixin, DaemonTest):
    config_extra = WEBRTCBIN
    stack = "webrtcbin"


class FirefoxOfferLiteTest(FirefoxOfferMixin, DaemonTest):
    config_extra = LITE


class FirefoxOfferWebrtcbinTest(FirefoxOfferMixin, DaemonTest):
    config_extra = WEBRTCBIN


if __name__ == "__main__":
    unittest.main()
