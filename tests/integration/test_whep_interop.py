"""WHEP interop (issue 11): offers from three WebRTC stacks are answered —
Debian's chromium (captured live through playwright), GStreamer's webrtcbin
(made live by tests/integration/webrtc_peers.py under Debian's python3-gi; its H.264 fmtp
has no level-asymmetry-allowed, which lobbyd refused with 400 before RFC 6184
fmtp parsing), and a Firefox-shaped offer (text below: H.264 with and
without packetization-mode=1, mids 0/1, the data channel's m-line first).
Each gets 201 and an answer whose video payload type is one of the offer's
H.264 ones with packetization-mode=1; the webrtcbin peer also connects and
receives frames. Everything stays on loopback: remote candidates outside
127.0.0.0/8 are dropped ([webrtc] allowed_candidates) and stripped here."""
import os
import re
import subprocess
import json
import unittest

import webrtc_peers
from lbtest import BROWSER_DIR, ROOT, Daemon, have_browser

CONFIG = "[webrtc]\nice_addresses=127.0.0.1\nallowed_candidates=127.0.0.0/8\n"

# Firefox's offer for web/viewer.js, in the shape Firefox (115 ESR and later)
# writes it (RFC 8829 / JSEP): H.264 126 (packetization-mode=1) and 97
# (mode 0) among VP8/VP9 and their rtx, extmaps, rtcp-fb, mids "0"/"1". The
# data channel's m-line comes first here (a page that creates the channel
# before the transceiver), so the video is the second m-line.
FIREFOX_OFFER = "\r\n".join([
    "v=0",
    "o=mozilla...THIS_IS_SDPARTA-128.0 5472373612543215887 0 IN IP4 0.0.0.0",
    "s=-",
    "t=0 0",
    "a=fingerprint:sha-256 7B:2F:1E:83:3F:52:9C:6B:6A:21:8A:51:32:5E:99:1D:0C:6B:CA:54:0F:A4:63:21:5D:8E:61:"
    "9C:3E:0A:54:B7",
    "a=group:BUNDLE 0 1",
    "a=ice-options:trickle",
    "a=msid-semantic:WMS *",
    "m=application 9 UDP/DTLS/SCTP webrtc-datachannel",
    "c=IN IP4 0.0.0.0",
    "a=sendrecv",
    "a=ice-pwd:6b7b4e0c8b2e3f1a9d5c7e2f4a6b8c0d",
    "a=ice-ufrag:3f9a1c2e",
    "a=mid:0",
    "a=setup:actpass",
    "a=sctp-port:5000",
    "a=max-message-size:1073741823",
    "m=video 9 UDP/TLS/RTP/SAVPF 120 124 121 125 126 127 97 98 123 122 119",
    "c=IN IP4 0.0.0.0",
    "a=recvonly",
    "a=extmap:3 urn:ietf:params:rtp-hdrext:sdes:mid",
    "a=extmap:4 http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time",
    "a=extmap:5 urn:ietf:params:rtp-hdrext:toffset",
    "a=extmap:6/recvonly http://www.webrtc.org/experiments/rtp-hdrext/playout-delay",
    "a=extmap:7 http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01",
    "a=fmtp:126 profile-level-id=42e01f;level-asymmetry-allowed=1;packetization-mode=1",
    "a=fmtp:97 profile-level-id=42e01f;level-asymmetry-allowed=1",
    "a=fmtp:120 max-fs=12288;max-fr=60",
    "a=fmtp:124 apt=120",
    "a=fmtp:121 max-fs=12288;max-fr=60",
    "a=fmtp:125 apt=121",
    "a=fmtp:127 apt=126",
    "a=fmtp:98 apt=97",
    "a=fmtp:119 apt=122",
    "a=ice-pwd:6b7b4e0c8b2e3f1a9d5c7e2f4a6b8c0d",
    "a=ice-ufrag:3f9a1c2e",
    "a=mid:1",
    "a=rtcp-fb:120 nack",
    "a=rtcp-fb:120 nack pli",
    "a=rtcp-fb:120 ccm fir",
    "a=rtcp-fb:120 goog-remb",
    "a=rtcp-fb:120 transport-cc",
    "a=rtcp-fb:121 nack",
    "a=rtcp-fb:121 nack pli",
    "a=rtcp-fb:121 ccm fir",
    "a=rtcp-fb:121 goog-remb",
    "a=rtcp-fb:121 transport-cc",
    "a=rtcp-fb:126 nack",
    "a=rtcp-fb:126 nack pli",
    "a=rtcp-fb:126 ccm fir",
    "a=rtcp-fb:126 goog-remb",
    "a=rtcp-fb:126 transport-cc",
    "a=rtcp-fb:97 nack",
    "a=rtcp-fb:97 nack pli",
    "a=rtcp-fb:97 ccm fir",
    "a=rtcp-fb:97 goog-remb",
    "a=rtcp-fb:97 transport-cc",
    "a=rtcp-fb:123 nack",
    "a=rtcp-fb:123 nack pli",
    "a=rtcp-fb:123 ccm fir",
    "a=rtcp-fb:123 goog-remb",
    "a=rtcp-fb:123 transport-cc",
    "a=rtcp-mux",
    "a=rtcp-rsize",
    "a=rtpmap:120 VP8/90000",
    "a=rtpmap:124 rtx/90000",
    "a=rtpmap:121 VP9/90000",
    "a=rtpmap:125 rtx/90000",
    "a=rtpmap:126 H264/90000",
    "a=rtpmap:127 rtx/90000",
    "a=rtpmap:97 H264/90000",
    "a=rtpmap:98 rtx/90000",
    "a=rtpmap:123 ulpfec/90000",
    "a=rtpmap:122 red/90000",
    "a=rtpmap:119 rtx/90000",
    "a=setup:actpass",
    "a=ssrc:2466352960 cname:{8c2c5f1e-5b0e-4c7a-9a59-3d1e0e6d2f41}",
    "",
])

# What GStreamer's webrtcbin offers for H.264 caps written the usual way
# (no level-asymmetry-allowed).
WEBRTCBIN_CAPS = ("application/x-rtp,media=video,encoding-name=H264,payload=96,clock-rate=90000,"
                  "packetization-mode=(string)1,profile-level-id=(string)42e01f")


def loopback_only(sdp):
    return "\r\n".join(l for l in sdp.replace("\r\n", "\n").split("\n")
                       if not l.startswith("a=candidate:") or re.search(r" 127\.\d+\.\d+\.\d+ ", l))


def h264_mode1_payloads(offer):
    """The payload types of the offer's video m-lines with rtpmap H264/90000 and packetization-mode=1."""
    rtpmap, fmtp = {}, {}
    for line in offer.splitlines():
        m = re.match(r"a=rtpmap:(\d+) (\S+)", line)
        if m:
            rtpmap[int(m.group(1))] = m.group(2).upper()
        m = re.match(r"a=fmtp:(\d+) (.*)", line)
        if m:
            fmtp[int(m.group(1))] = m.group(2).replace(" ", "").lower()
    return {pt for pt, enc in rtpmap.items()
            if enc == "H264/90000" and "packetization-mode=1" in fmtp.get(pt, "")}


def m_lines(sdp):
    return [l.split()[0] for l in sdp.splitlines() if l.startswith("m=")]


class WhepInteropTest(unittest.TestCase):
    def setUp(self):
        self.d = Daemon(config_extra=CONFIG).start()
        self.lobby = self.d.create_lobby(name="interop", width=1280, height=720, fps=30).json["id"]

    def tearDown(self):
        self.d.cleanup()

    def post(self, offer):
        return self.d.request("POST", "/api/v1/lobbies/%s/whep" % self.lobby, raw=offer.encode(),
                              headers={"Content-Type": "application/sdp"})

    def assert_answered(self, offer, r):
        self.assertEqual(r.status, 201, r.body[:500])
        answer = r.body.decode()
        pt = webrtc_peers.answer_payload_type(answer)
        self.assertIn(pt, h264_mode1_payloads(offer), answer)
        self.assertRegex(answer, r"a=rtpmap:%d H264/90000" % pt)
        # The answer keeps the offer's m-lines, in its order.
        self.assertEqual(m_lines(answer), m_lines(offer))
        self.assertNotIn("a=inactive", answer.split("m=video", 1)[1].split("m=", 1)[0])
        return pt

    def test_firefox_offer(self):
        r = self.post(FIREFOX_OFFER)
        pt = self.assert_answered(FIREFOX_OFFER, r)
        self.assertEqual(pt, 126)  # 97 is packetization-mode 0
        self.assertIn("a=mid:1", r.body.decode())
        self.d.request("DELETE", r.headers["Location"])

    @unittest.skipUnless(have_browser(), "chromium, node and tests/browser/node_modules are needed")
    def test_chromium_offer(self):
        p = subprocess.run(["node", os.path.join(BROWSER_DIR, "offer.mjs")], capture_output=True, text=True,
                           timeout=90, cwd=BROWSER_DIR)
        lines = [l for l in p.stdout.splitlines() if l.startswith("{")]
        self.assertTrue(lines, p.stderr[-2000:])
        out = json.loads(lines[-1])
        self.assertNotIn("error", out, out)
        offer = loopback_only(out["offer"])
        r = self.post(offer)
        pt = self.assert_answered(offer, r)
        # Chromium offers baseline (42001f) before constrained baseline (42e01f): the exact profile wins.
        self.assertRegex(offer, r"a=fmtp:%d [^\r\n]*profile-level-id=42e01f" % pt)
        self.d.request("DELETE", r.headers["Location"])

    @unittest.skipUnless(webrtc_peers.have_gi(), "/usr/bin/python3 with python3-gi and gir1.2-gst-plugins-bad-1.0 "
                                              "is needed (scripts/deps.sh --test)")
    def test_webrtcbin_offer_connects_and_plays(self):
        out = webrtc_peers.run_cli(["--socket", self.d.socket, "--lobby", self.lobby, "-n", "1",
                                 "--caps", WEBRTCBIN_CAPS, "--settle", "1", "--seconds", "2"])
        row = out["rows"][0]
        self.assertNotIn("level-asymmetry-allowed", out["offer"])
        self.assertEqual(row["status"], 201, row)
        self.assertIn(row["answer_pt"], h264_mode1_payloads(out["offer"]))
        # Not just answered: connected, and H.264 access units arrive.
        self.assertEqual(row["state"], "connected", row)
        self.assertGreater(row["frames"], 10, row)
        self.assertGreater(row["keyframes"], 0, row)


@unittest.skipUnless(webrtc_peers.have_gi(), "/usr/bin/python3 with python3-gi is needed")
class WhepScaleQuickTest(unittest.TestCase):
    """bench/whep-scale --quick (N = 1, 5 of each transport) prints a well-formed table and every viewer,
    WebRTC and RTP, received frames. Not timed: the targets' pass/fail is the benchmark's business."""

    def test_quick_table(self):
        build = os.environ.get("LOBBYD_BUILD", "build")
        p = subprocess.run([os.path.join(ROOT, "bench", "whep-scale"), "--quick", "--build", build],
                           capture_output=True, text=True, timeout=400, cwd=ROOT)
        self.assertEqual(p.returncode, 0, p.stdout[-2000:] + p.stderr[-3000:])
        tables, cur = [], None
        for line in p.stdout.splitlines():
            if line.startswith("|"):
                cells = [c.strip() for c in line.strip().strip("|").split("|")]
                if cur is None:
                    cur = {"header": cells, "rows": []}
                    tables.append(cur)
                elif not set("".join(cells)) <= set("-"):
                    self.assertEqual(len(cells), len(cur["header"]), line)
                    cur["rows"].append(dict(zip(cur["header"], cells)))
            else:
                cur = None
        self.assertEqual(len(tables), 2, p.stdout)
        rows = tables[0]["rows"]
        self.assertEqual(sorted((r["transport"], int(r["N"])) for r in rows),
                         [("rtp", 1), ("rtp", 5), ("webrtc", 1), ("webrtc", 5)], p.stdout)
        for r in rows:
            n = int(r["N"])
            self.assertEqual(r["answered"], "%d/%d" % (n, n), r)
            self.assertEqual(r["with frames"], "%d/%d" % (n, n), r)  # every viewer got frames in the window
            fmin, fmean = (float(x) for x in r["fps min / mean"].split("/"))
            self.assertGreater(fmin, 0, r)
            float(r["all answered s"])
            self.assertRegex(r["status p50 / p99 / max ms (samples)"], r"^[\d.]+ / [\d.]+ / [\d.]+ \(\d+\)$")
            for col in ("lobbyd CPU %", "threads", "RSS MiB"):
                float(r[col])
        self.assertEqual(len(tables[1]["rows"]), 6)
        self.assertTrue(all(r["result"] in ("pass", "FAIL") for r in tables[1]["rows"]), tables[1])


if __name__ == "__main__":
    unittest.main()
