"""The lite WebRTC send path ([webrtc] stack = lite, issue 11): watch-only
WHEP viewers on lobbyd's own ICE-lite + DTLS-SRTP over one shared UDP
socket, no webrtcbin. Real Chromium and GStreamer webrtcbin peers (Python
gi, tests/integration/webrtc_peers.py watch) watch through it; a vanished peer
ends its session; control viewers keep webrtcbin; a lite viewer costs no
thread of its own."""
import os
import time
import unittest

import webrtc_peers
from lbtest import Daemon, DaemonTest, EventStream, JsonLinesProcess, have_browser, run_node, wait_until

HERE = os.path.dirname(os.path.abspath(__file__))
PEER = os.path.join(HERE, "webrtc_peers.py")
LITE = "[webrtc]\nstack=lite\nice_addresses=127.0.0.1\npeer_timeout_s=3\n"


def have_gi_peer():
    """/usr/bin/python3 with GStreamer's gi bindings (python3-gi, gir1.2-gst-plugins-bad-1.0)."""
    return webrtc_peers.have_gi()


class GiPeers(JsonLinesProcess):
    """N webrtcbin viewers of a lobby in one /usr/bin/python3 process (its
    lines report each peer's own error: they do not fail by themselves)."""

    def __init__(self, daemon, lobby, n, seconds=0):
        super().__init__([webrtc_peers.PYTHON, PEER, "watch", str(daemon.tcp_port), daemon.token, lobby, str(n),
                          str(seconds)], errors_fail=False)


def threads(pid):
    return len(os.listdir("/proc/%d/task" % pid))


FINGERPRINT = ":".join(["AB"] * 32)


def browser_offer():
    """What web/viewer.js offers: recvonly H.264 and the "input" data channel."""
    lines = ["v=0", "o=- 4611731400430051336 2 IN IP4 127.0.0.1", "s=-", "t=0 0",
             "a=group:BUNDLE 0 1", "a=msid-semantic: WMS",
             "m=video 9 UDP/TLS/RTP/SAVPF 96 97", "c=IN IP4 0.0.0.0", "a=rtcp:9 IN IP4 0.0.0.0",
             "a=ice-ufrag:Ab1x", "a=ice-pwd:0123456789abcdefghijklmn", "a=ice-options:trickle",
             "a=fingerprint:sha-256 " + FINGERPRINT, "a=setup:actpass", "a=mid:0", "a=recvonly",
             "a=rtcp-mux", "a=rtcp-rsize",
             "a=rtpmap:96 VP8/90000",
             "a=rtpmap:97 H264/90000", "a=rtcp-fb:97 nack pli",
             "a=fmtp:97 profile-level-id=42e01f;packetization-mode=1;level-asymmetry-allowed=1",
             "m=application 9 UDP/DTLS/SCTP webrtc-datachannel", "c=IN IP4 0.0.0.0",
             "a=ice-ufrag:Ab1x", "a=ice-pwd:0123456789abcdefghijklmn",
             "a=fingerprint:sha-256 " + FINGERPRINT, "a=setup:actpass", "a=mid:1", "a=sctp-port:5000"]
    return "\r\n".join(lines) + "\r\n"


class LiteAnswerTest(DaemonTest):
    config_extra = LITE

    def post(self, lobby, control=False):
        return self.d.request("POST", "/api/v1/lobbies/%s/whep%s" % (lobby, "/control" if control else ""),
                              raw=browser_offer().encode(), headers={"Content-Type": "application/sdp"})

    def test_watch_viewers_get_a_lite_answer_and_control_viewers_webrtcbin(self):
        lobby = self.d.create_lobby().json["id"]
        r = self.post(lobby)
        self.assertEqual(r.status, 201, r.body)
        answer = r.body.decode()
        self.assertIn("a=ice-lite\r\n", answer)
        self.assertIn("a=setup:passive\r\n", answer)
        self.assertIn("a=group:BUNDLE 0\r\n", answer)
        self.assertIn("a=sendonly\r\n", answer)
        self.assertIn("a=rtcp-mux\r\n", answer)
        self.assertIn("a=rtpmap:97 H264/90000\r\n", answer)
        self.assertIn("packetization-mode=1", answer)
        self.assertIn("m=video ", answer)
        # The data channel is rejected: watch-only viewers send nothing.
        self.assertIn("m=application 0 UDP/DTLS/SCTP", answer)
        self.assertRegex(answer, r"a=candidate:1 1 udp \d+ 127\.0\.0\.1 \d+ typ host")
        self.assertRegex(answer, r"a=fingerprint:sha-256 ([0-9A-F]{2}:){31}[0-9A-F]{2}\r\n")
        sid = r.headers["Location"].split("/")[4]
        s = self.d.request("GET", "/api/v1/sessions/" + sid).json
        self.assertEqual((s["transport"], s["role"]), ("webrtc", "watch"))
        self.assertEqual(s["stats"]["stack"], "lite")
        self.assertIn(s["stats"]["connection_state"], ("new", "connecting"))
        # Two lite viewers share one socket: the same candidate port.
        r2 = self.post(lobby)
        self.assertEqual(r2.status, 201, r2.body)
        port = [l.split()[5] for l in answer.split("\r\n") if l.startswith("a=candidate:")]
        port2 = [l.split()[5] for l in r2.body.decode().split("\r\n") if l.startswith("a=candidate:")]
        self.assertEqual(port, port2)
        # Control viewers need the data channel: webrtcbin answers them.
        r3 = self.post(lobby, control=True)
        self.assertEqual(r3.status, 201, r3.body)
        self.assertNotIn(b"a=ice-lite", r3.body)
        self.assertNotIn(b"m=application 0", r3.body)
        s3 = self.d.request("GET", r3.headers["Location"].rsplit("/", 1)[0]).json
        self.assertNotIn("stack", s3["stats"])
        for resp in (r, r2, r3):
            self.assertEqual(self.d.request("DELETE", resp.headers["Location"]).status, 204)
        g = self.d.request("GET", "/api/v1/system/gpu-status").json
        self.assertEqual((g["active_sessions"], g["active_encodes"]), (0, 0))
        self.assertNotIn("CRITICAL", self.d.read_log())

    def test_bad_offers_are_400(self):
        lobby = self.d.create_lobby().json["id"]
        good = browser_offer()
        for bad in (good.replace("a=ice-ufrag:Ab1x\r\n", ""),
                    good.replace("a=fingerprint:sha-256 " + FINGERPRINT + "\r\n", ""),
                    good.replace("a=setup:actpass", "a=setup:passive"),
                    good.replace("packetization-mode=1", "packetization-mode=0")):
            r = self.d.request("POST", "/api/v1/lobbies/%s/whep" % lobby, raw=bad.encode(),
                               headers={"Content-Type": "application/sdp"})
            self.assertEqual((r.status, r.error_code()), (400, "invalid_sdp"), r.body)
        self.assertEqual(self.d.request("GET", "/api/v1/sessions").json["sessions"], [])


class LiteConfigTest(unittest.TestCase):
    def test_unknown_stack_fails_the_start(self):
        d = Daemon(config_extra="[webrtc]\nstack=libwebrtc\n")
        with self.assertRaises(RuntimeError) as cm:
            d.start(timeout=10)
        self.assertIn("stack", str(cm.exception))


@unittest.skipUnless(have_gi_peer(), "/usr/bin/python3 with python3-gi and gir1.2-gst-plugins-bad-1.0 is needed")
class LiteGiPeerTest(DaemonTest):
    config_extra = LITE

    def test_webrtcbin_peers_watch_and_cost_no_thread_each(self):
        lobby = self.d.create_lobby(name="lite", width=640, height=360, fps=30).json["id"]
        one = GiPeers(self.d, lobby, 1)
        many = None
        try:
            one.next_line()
            time.sleep(1)
            t1 = threads(self.d.proc.pid)
            many = GiPeers(self.d, lobby, 5, seconds=4)
            ready = many.next_line()
            self.assertEqual(len(ready["ready"]), 5)
            t6 = threads(self.d.proc.pid)
            print("\n[webrtc lite] lobbyd threads: 1 viewer %d, 6 viewers %d" % (t1, t6))
            # webrtcbin viewers cost ~11 threads each; lite ones none (a
            # GLib pool thread may come and go).
            self.assertLessEqual(t6 - t1, 3)
            for sid in ready["ready"]:
                s = self.d.request("GET", "/api/v1/sessions/" + sid).json
                self.assertEqual((s["transport"], s["stats"]["connection_state"], s["stats"]["stack"]),
                                 ("webrtc", "connected", "lite"))
            done = many.next_line(timeout=30)
            for p in done["peers"]:
                self.assertIsNone(p["error"])
                self.assertEqual((p["width"], p["height"]), (640, 360))
                self.assertGreater(p["frames"], 30, done)  # ~4 s at 30 fps
                self.assertGreaterEqual(p["key_frames"], 1)
        finally:
            one.close()
            if many:
                many.close()
        self.assertNotIn("CRITICAL", self.d.read_log())

    def test_vanished_peer_ends_its_session_and_frees_everything(self):
        lobby = self.d.create_lobby(name="vanish", width=320, height=240, fps=15).json["id"]
        events = EventStream(self.d)
        peer = GiPeers(self.d, lobby, 1)
        try:
            sid = peer.next_line()["ready"][0]
            s = self.d.request("GET", "/api/v1/sessions/" + sid).json
            self.assertEqual(s["stats"]["connection_state"], "connected")
            peer.kill9()
            t0 = time.time()
            gone = wait_until(lambda: self.d.request("GET", "/api/v1/sessions/" + sid).status == 404,
                              timeout=20, interval=0.1)
            print("\n[webrtc lite] SIGKILL -> session gone %.1f s" % (time.time() - t0))
            self.assertTrue(gone, "session %s still there 20 s after its peer was killed" % sid)
            ended = [e for e in events.wait_for("session.ended") if e["data"]["session_id"] == sid]
            self.assertEqual(ended[0]["data"]["reason"], "peer_timeout")
            g = self.d.request("GET", "/api/v1/system/gpu-status").json
            self.assertEqual((g["active_sessions"], g["active_encodes"]), (0, 0))
            # The shared socket serves the next viewer.
            again = GiPeers(self.d, lobby, 1, seconds=2)
            try:
                again.next_line()
                done = again.next_line()
                self.assertGreater(done["peers"][0]["frames"], 5, done)
            finally:
                again.close()
        finally:
            peer.close()
            events.close()


@unittest.skipUnless(have_browser(), "chromium, node and tests/browser/node_modules are needed "
                                     "(scripts/deps.sh --test installs them)")
class LiteBrowserTest(DaemonTest):
    config_extra = LITE

    def test_chromium_watches_through_the_lite_path(self):
        lobby = self.d.create_lobby(name="browser", width=640, height=360, fps=30).json
        url = "http://127.0.0.1:%d/view/%s#token=%s" % (self.d.tcp_port, lobby["id"], self.d.token)
        out = run_node("viewer-check.mjs", url, "")
        self.assertNotIn("error", out, out)
        self.assertEqual((out["width"], out["height"]), (640, 360))
        self.assertEqual(out["state"], "connected")
        a, b = out["frames"]
        self.assertGreater(a, 30)
        # Rising (30 fps is ~60 here; a loaded 2-core CI box gets less).
        self.assertGreater(b - a, 15, "framesDecoded stalled: %s" % out["frames"])
        self.assertGreater(out["luma_stddev"], 10, out)
        s = self.d.request("GET", "/api/v1/sessions/" + out["session"]).json
        self.assertEqual((s["transport"], s["state"], s["role"]), ("webrtc", "running", "watch"))
        self.assertEqual((s["stats"]["connection_state"], s["stats"]["stack"]), ("connected", "lite"))
        self.assertGreater(s["stats"]["packets_sent"], 50)


if __name__ == "__main__":
    unittest.main()


# ---- ICE-lite and DTLS on the wire, without a WebRTC stack -------------------------------------

def stun_request(username, password, tid, use_candidate=True):
    """An ICE Binding request (RFC 8445 §7.1.2): USERNAME, PRIORITY,
    ICE-CONTROLLING, USE-CANDIDATE, MESSAGE-INTEGRITY, FINGERPRINT."""
    import hashlib
    import hmac
    import struct
    import zlib

    def attr(t, v):
        return struct.pack("!HH", t, len(v)) + v + b"\0" * (-len(v) % 4)

    body = attr(0x0006, username.encode()) + attr(0x0024, struct.pack("!I", 1853824767))
    body += attr(0x802A, b"\x01" * 8)
    if use_candidate:
        body += attr(0x0025, b"")
    head = struct.pack("!HHI", 0x0001, len(body) + 24, 0x2112A442) + tid
    mac = hmac.new(password.encode(), head + body, hashlib.sha1).digest()
    body += attr(0x0008, mac)
    head = struct.pack("!HHI", 0x0001, len(body) + 8, 0x2112A442) + tid
    crc = (zlib.crc32(head + body) ^ 0x5354554E) & 0xFFFFFFFF
    return head + body + attr(0x8028, struct.pack("!I", crc))


def xor_mapped(response):
    import socket
    import struct
    at = 20
    while at + 4 <= len(response):
        t, n = struct.unpack("!HH", response[at:at + 4])
        if t == 0x0020:
            port = struct.unpack("!H", response[at + 6:at + 8])[0] ^ 0x2112
            ip = bytes(a ^ b for a, b in zip(response[at + 8:at + 12], b"\x21\x12\xa4\x42"))
            return socket.inet_ntoa(ip), port
        at += 4 + n + (-n % 4)
    return None


class LiteIceTest(DaemonTest):
    config_extra = LITE + "allowed_candidates=127.0.0.0/8\n"

    def test_binding_checks_and_a_dtls_alert(self):
        import re
        import socket
        lobby = self.d.create_lobby().json["id"]
        events = EventStream(self.d)
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        sock.bind(("127.0.0.1", 0))
        sock.settimeout(2)
        try:
            r = self.d.request("POST", "/api/v1/lobbies/%s/whep" % lobby, raw=browser_offer().encode(),
                               headers={"Content-Type": "application/sdp"})
            self.assertEqual(r.status, 201, r.body)
            answer = r.body.decode()
            sid = r.headers["Location"].split("/")[4]
            ufrag = re.search(r"a=ice-ufrag:(\S+)", answer).group(1)
            pwd = re.search(r"a=ice-pwd:(\S+)", answer).group(1)
            port = int(re.search(r"a=candidate:\S+ 1 udp \d+ 127\.0\.0\.1 (\d+) typ host", answer).group(1))
            server = ("127.0.0.1", port)
            # Wrong password, wrong ufrag: no answer at all.
            sock.sendto(stun_request(ufrag + ":Ab1x", "not-the-password", b"A" * 12), server)
            sock.sendto(stun_request("nobody:Ab1x", pwd, b"B" * 12), server)
            with self.assertRaises(socket.timeout):
                sock.recvfrom(2048)
            # The right credentials: a Binding success naming our address.
            sock.sendto(stun_request(ufrag + ":Ab1x", pwd, b"C" * 12), server)
            data, _ = sock.recvfrom(2048)
            self.assertEqual(data[:2], b"\x01\x01")
            self.assertEqual(data[8:20], b"C" * 12)
            self.assertEqual(xor_mapped(data), sock.getsockname())
            s = self.d.request("GET", "/api/v1/sessions/" + sid).json
            self.assertEqual(s["stats"]["connection_state"], "connecting")
            # A fatal DTLS alert (handshake_failure) in place of a ClientHello.
            alert = bytes([21, 0xFE, 0xFD, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2, 2, 40])
            sock.sendto(alert, server)
            gone = wait_until(lambda: self.d.request("GET", "/api/v1/sessions/" + sid).status == 404,
                              timeout=10, interval=0.1)
            self.assertTrue(gone, "a DTLS alert did not end the session")
            ended = [e for e in events.wait_for("session.ended") if e["data"]["session_id"] == sid]
            self.assertEqual(ended[0]["data"]["reason"], "connection_failed")
            # Gone from the socket's tables: its credentials get no answer.
            sock.sendto(stun_request(ufrag + ":Ab1x", pwd, b"D" * 12), server)
            with self.assertRaises(socket.timeout):
                sock.recvfrom(2048)
        finally:
            sock.close()
            events.close()
        self.assertNotIn("CRITICAL", self.d.read_log())

    def test_checks_from_outside_allowed_candidates_get_no_answer(self):
        import re
        import socket
        self.d.stop()
        self.d = Daemon(config_extra=LITE + "allowed_candidates=10.0.0.0/8\n").start()
        lobby = self.d.create_lobby().json["id"]
        r = self.d.request("POST", "/api/v1/lobbies/%s/whep" % lobby, raw=browser_offer().encode(),
                           headers={"Content-Type": "application/sdp"})
        self.assertEqual(r.status, 201, r.body)
        answer = r.body.decode()
        ufrag = re.search(r"a=ice-ufrag:(\S+)", answer).group(1)
        pwd = re.search(r"a=ice-pwd:(\S+)", answer).group(1)
        port = int(re.search(r"127\.0\.0\.1 (\d+) typ host", answer).group(1))
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        sock.settimeout(1.5)
        try:
            sock.sendto(stun_request(ufrag + ":Ab1x", pwd, b"E" * 12), ("127.0.0.1", port))
            with self.assertRaises(socket.timeout):
                sock.recvfrom(2048)
        finally:
            sock.close()
