"""Moonlight RTSP server (issue 13 item 3): lobbyd's lb-ml-rtsp-server on a
main loop (tests/unit/ml-rtsp-driver, with a launch table filled from its
command line and callbacks that print a line and return fixed ports), driven
from Python sockets the way moonlight-common-c's RtspConnection.c does it:
one request per TCP connection, the reply read until EOF. The real client
sequence, concurrent launches from two addresses, every kind of malformed
request, slow and dropped connections, IPv6 loopback."""
import os
import queue
import re
import socket
import subprocess
import threading
import time
import unittest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DRIVER = os.path.join(ROOT, os.environ.get("LOBBYD_BUILD", "build"), "tests", "ml-rtsp-driver")

SDP = ("v=0\r\no=android 0 14 IN IPv4 127.0.0.1\r\ns=NVIDIA Streaming Client\r\n"
       "a=x-ml-general.featureFlags:3 \r\n"
       "a=x-ss-general.encryptionEnabled:1 \r\n"
       "a=x-ss-video[0].chromaSamplingType:0 \r\n"
       "a=x-nv-video[0].clientViewportWd:1280 \r\n"
       "a=x-nv-video[0].clientViewportHt:720 \r\n"
       "a=x-nv-video[0].maxFPS:60 \r\n"
       "a=x-nv-video[0].packetSize:1024 \r\n"
       "a=x-nv-video[0].rateControlMode:4 \r\n"
       "a=x-nv-video[0].timeoutLengthMs:7000 \r\n"
       "a=x-nv-video[0].framesWithInvalidRefThreshold:0 \r\n"
       "a=x-nv-video[0].initialBitrateKbps:8000 \r\n"
       "a=x-nv-video[0].initialPeakBitrateKbps:8000 \r\n"
       "a=x-nv-vqos[0].bw.minimumBitrateKbps:8000 \r\n"
       "a=x-nv-vqos[0].bw.maximumBitrateKbps:8000 \r\n"
       "a=x-ml-video.configuredBitrateKbps:10000 \r\n"
       "a=x-nv-vqos[0].fec.enable:1 \r\n"
       "a=x-nv-vqos[0].videoQualityScoreUpdateTime:5000 \r\n"
       "a=x-nv-vqos[0].qosTrafficType:5 \r\n"
       "a=x-nv-aqos.qosTrafficType:4 \r\n"
       "a=x-nv-general.featureFlags:167 \r\n"
       "a=x-nv-general.useReliableUdp:13 \r\n"
       "a=x-nv-vqos[0].fec.minRequiredFecPackets:2 \r\n"
       "a=x-nv-vqos[0].bllFec.enable:0 \r\n"
       "a=x-nv-vqos[0].drc.enable:0 \r\n"
       "a=x-nv-general.enableRecoveryMode:0 \r\n"
       "a=x-nv-video[0].videoEncoderSlicesPerFrame:1 \r\n"
       "a=x-nv-clientSupportHevc:0 \r\n"
       "a=x-nv-vqos[0].bitStreamFormat:%d \r\n"
       "a=x-nv-video[0].dynamicRangeMode:0 \r\n"
       "a=x-nv-video[0].maxNumReferenceFrames:1 \r\n"
       "a=x-nv-video[0].clientRefreshRateX100:6000 \r\n"
       "a=x-nv-audio.surround.numChannels:2 \r\n"
       "a=x-nv-audio.surround.channelMask:3 \r\n"
       "a=x-nv-audio.surround.enable:0 \r\n"
       "a=x-nv-audio.surround.AudioQuality:0 \r\n"
       "a=x-nv-aqos.packetDuration:10 \r\n"
       "a=x-nv-video[0].encoderCscMode:2 \r\n"
       "t=0 0\r\nm=video 47998  \r\n")


class Reply:
    def __init__(self, raw):
        self.raw = raw
        head, _, self.body = raw.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        m = re.match(r"RTSP/1\.0 (\d{3}) ", lines[0])
        if not m:
            raise AssertionError("bad status line %r" % raw[:80])
        self.status = int(m.group(1))
        self.headers = {}
        for line in lines[1:]:
            name, _, value = line.partition(": ")
            self.headers[name] = value  # case-sensitive, as the client reads them


class Driver:
    def __init__(self, test, launches, address="127.0.0.1", extra=()):
        self.proc = subprocess.Popen([DRIVER, "--address", address] + list(extra) + list(launches),
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                     text=True)
        self.test, self.stderr = test, ""
        test.addCleanup(self.check_stderr)  # runs after stop (cleanups are LIFO)
        test.addCleanup(self.stop)
        self.address = address
        self.lines = queue.Queue()
        first = self.proc.stdout.readline().split()
        if first[:1] != ["port"]:
            raise AssertionError("driver: %r %s" % (first, self.proc.stderr.read()))
        self.port = int(first[1])
        self.ids = {}
        for _ in launches:
            _, ip, ml_id = self.proc.stdout.readline().split()
            self.ids[ip] = ml_id
        threading.Thread(target=self._pump, daemon=True).start()

    def _pump(self):
        for line in self.proc.stdout:
            self.lines.put(line.strip())

    def line(self, timeout=10):
        return self.lines.get(timeout=timeout)

    def alive(self):
        return self.proc.poll() is None

    def stop(self):
        if self.proc.poll() is None:
            self.proc.stdin.close()
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if not self.proc.stderr.closed:
            self.stderr += self.proc.stderr.read()
        for f in (self.proc.stdout, self.proc.stderr):
            try:
                f.close()
            except Exception:
                pass

    def check_stderr(self):
        # no GLib criticals or warnings, no sanitizer report
        for bad in ("CRITICAL", "WARNING", "ERROR", "runtime error"):
            self.test.assertNotIn(bad, self.stderr)

    def connect(self, source=None):
        fam = socket.AF_INET6 if ":" in self.address else socket.AF_INET
        s = socket.socket(fam, socket.SOCK_STREAM)
        s.settimeout(20)
        if source:
            s.bind((source, 0))
        s.connect((self.address, self.port))
        return s

    def raw(self, data, source=None, shut=False):
        s = self.connect(source)
        try:
            s.sendall(data)
            if shut:
                s.shutdown(socket.SHUT_WR)
            out = b""
            while True:
                chunk = s.recv(65536)
                if not chunk:
                    return out
                out += chunk
        finally:
            s.close()

    def request(self, method, target, cseq, headers=(), body=b"", source=None):
        host = "[%s]" % self.address if ":" in self.address else self.address
        lines = ["%s %s RTSP/1.0" % (method, target), "CSeq: %d" % cseq, "X-GS-ClientVersion: 14",
                 "Host: %s" % host]
        lines += ["%s: %s" % h for h in headers]
        if body:
            lines.append("Content-length: %d" % len(body))
        return Reply(self.raw(("\r\n".join(lines) + "\r\n\r\n").encode() + body, source))

    def client_sequence(self, test, source=None, bitstream=0):
        """OPTIONS … PLAY as moonlight-common-c sends them; returns the replies."""
        url = "rtsp://%s:%d" % (self.address if ":" not in self.address else "[%s]" % self.address, self.port)
        r = {}
        r["options"] = self.request("OPTIONS", url, 1, source=source)
        r["describe"] = self.request("DESCRIBE", url, 2, [("Accept", "application/sdp"),
                                                          ("If-Modified-Since", "Thu, 01 Jan 1970 00:00:00 GMT")],
                                     source=source)
        tr = [("Transport", "unicast;X-GS-ClientPort=50000-50001"),
              ("If-Modified-Since", "Thu, 01 Jan 1970 00:00:00 GMT")]
        r["audio"] = self.request("SETUP", "streamid=audio/0/0", 3, tr, source=source)
        test.assertEqual(r["audio"].status, 200, r["audio"].raw)
        sess = r["audio"].headers["Session"].split(";")[0]
        r["video"] = self.request("SETUP", "streamid=video/0/0", 4, [("Session", sess)] + tr, source=source)
        r["control"] = self.request("SETUP", "streamid=control/13/0", 5, [("Session", sess)] + tr, source=source)
        r["announce"] = self.request("ANNOUNCE", "streamid=control/13/0", 6,
                                     [("Session", sess), ("Content-type", "application/sdp")],
                                     (SDP % bitstream).encode(), source=source)
        r["play"] = self.request("PLAY", "/", 7, [("Session", sess)], source=source)
        r["session"] = sess
        return r


class MlRtspServer(unittest.TestCase):
    def test_client_sequence(self):
        d = Driver(self, ["127.0.0.1,-7"])
        ml_id = d.ids["127.0.0.1"]
        r = d.client_sequence(self)
        self.assertEqual(r["options"].status, 200)
        self.assertEqual(r["options"].headers["CSeq"], "1")
        self.assertIn("DESCRIBE", r["options"].headers["Public"])
        self.assertEqual(r["describe"].status, 200)
        self.assertEqual(r["describe"].headers["CSeq"], "2")
        self.assertIn(b"a=x-ss-general.encryptionSupported:1\r\n", r["describe"].body)
        self.assertIn(b"a=fmtp:97 surround-params=", r["describe"].body)
        self.assertNotIn(b"AAAAAU", r["describe"].body)
        self.assertEqual(r["session"], ml_id)
        for name, port in (("audio", 48000), ("video", 47998), ("control", 47999)):
            rep = r[name]
            self.assertEqual(rep.status, 200, rep.raw)
            self.assertEqual(rep.headers["Session"].split(";")[0], ml_id)
            self.assertEqual(rep.headers["Transport"], "server_port=%d" % port)
        self.assertEqual(r["audio"].headers["X-SS-Ping-Payload"], ("audio" + ml_id)[:16])
        self.assertEqual(r["video"].headers["X-SS-Ping-Payload"], ("video" + ml_id)[:16])
        self.assertNotIn("X-SS-Ping-Payload", r["control"].headers)
        self.assertEqual(int(r["control"].headers["X-SS-Connect-Data"], 0), 0x1234ABCD)
        self.assertEqual(r["announce"].status, 200, r["announce"].raw)
        self.assertEqual(r["play"].status, 200, r["play"].raw)
        self.assertEqual(r["play"].headers["CSeq"], "7")
        want = ["setup %s audio 127.0.0.1" % ml_id, "setup %s video 127.0.0.1" % ml_id,
                "setup %s control 127.0.0.1" % ml_id,
                "announce %s 1280x720@60 packet=1024 bitrate=8000 audio_ms=10 channels=2 enc=1" % ml_id,
                "play %s" % ml_id]
        self.assertEqual([d.line() for _ in want], want)
        # the launch is claimed: a second handshake from this address finds none
        self.assertEqual(d.request("OPTIONS", "rtsp://127.0.0.1", 1).status, 454)

    def test_concurrent_launches(self):
        d = Driver(self, ["127.0.0.1,1", "127.0.0.2,2"])
        results, errors = {}, []

        def run(src):
            try:
                results[src] = d.client_sequence(self, source=src)
            except Exception as e:  # noqa: BLE001 - reported below
                errors.append((src, e))

        threads = [threading.Thread(target=run, args=(src,)) for src in ("127.0.0.1", "127.0.0.2")]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        self.assertEqual(errors, [])
        for src in ("127.0.0.1", "127.0.0.2"):
            r = results[src]
            self.assertEqual(r["session"], d.ids[src])
            for name in ("options", "describe", "audio", "video", "control", "announce", "play"):
                self.assertEqual(r[name].status, 200, (src, name, r[name].raw))
        self.assertNotEqual(d.ids["127.0.0.1"], d.ids["127.0.0.2"])
        lines = [d.line() for _ in range(10)]
        for src in ("127.0.0.1", "127.0.0.2"):
            mine = [l for l in lines if d.ids[src] in l]
            self.assertEqual(len(mine), 5, lines)
            self.assertTrue(all(src in l for l in mine if l.startswith("setup")), mine)

    def refusal(self, rep, status, reason):
        self.assertEqual(rep.status, status, rep.raw)
        self.assertEqual(rep.headers.get("X-Lobbyd-Error"), reason, rep.raw)
        self.assertIn("CSeq", rep.headers)

    def test_malformed_requests(self):
        d = Driver(self, ["127.0.0.1,5", "127.0.0.3,6"])
        H = b"X-GS-ClientVersion: 14\r\nHost: 127.0.0.1\r\n"
        cases = [
            (b"\x16\x03\x01\x02\x05garbage\xff\xfe\r\n\r\n", 400, "bad_request_line"),
            (b"\x16\x03\x01\x02\x00\x01\xfc\x03\x03", 400, "nul_byte"),
            (b"hello\r\n\r\n", 400, "bad_request_line"),
            (b"OPTIONS rtsp://127.0.0.1 RTSP/1.0\r\n" + H + b"\r\n", 400, "bad_cseq"),
            (b"OPTIONS rtsp://127.0.0.1 RTSP/1.0\r\nCSeq: 1\r\nContent-length: 99999999\r\n\r\n", 413,
             "body_too_large"),
            (b"OPTIONS rtsp://127.0.0.1 RTSP/1.0\r\nCSeq: 1\r\nX: a\x00b\r\n\r\n", 400, "nul_byte"),
            (b"OPTIONS rtsp://127.0.0.1 RTSP/1.0\nCSeq: 1\r\n\r\n", 400, "bad_line_ending"),
            (b"RECORD rtsp://127.0.0.1 RTSP/1.0\r\nCSeq: 3\r\n\r\n", 501, "unknown_method"),
            (b"OPTIONS rtsp://127.0.0.1 RTSP/2.0\r\nCSeq: 3\r\n\r\n", 505, "bad_version"),
            (b"OPTIONS rtsp://127.0.0.1 RTSP/1.0\r\nCSeq: 3\r\n\r\nextra", 400, "trailing_data"),
            (b"OPTIONS rtsp://127.0.0.1 RTSP/1.0\r\n" + b"X-Long: " + b"a" * 9000 + b"\r\n\r\n", 400,
             "head_too_large"),
            (b"SETUP streamid=foo/0/0 RTSP/1.0\r\nCSeq: 3\r\n\r\n", 404, "unknown_stream"),
        ]
        for data, status, reason in cases:
            rep = Reply(d.raw(data))
            self.refusal(rep, status, reason)
        # truncated body: the client stops sending and half-closes
        rep = Reply(d.raw(b"ANNOUNCE streamid=control/13/0 RTSP/1.0\r\nCSeq: 4\r\nContent-length: 100\r\n\r\n"
                          b"v=0\r\n", shut=True))
        self.refusal(rep, 400, "truncated_body")
        rep = Reply(d.raw(b"OPTIONS rtsp://127.0.0.1 RTSP/1.0\r\nCSeq: 4\r\n", shut=True))
        self.refusal(rep, 400, "no_end_of_headers")
        # no launch from this address
        self.refusal(d.request("OPTIONS", "rtsp://127.0.0.1", 1, source="127.0.0.9"), 454, "session_mismatch")
        # wrong or missing Session after the first SETUP
        a = d.request("SETUP", "streamid=audio/0/0", 3)
        self.assertEqual(a.status, 200)
        sess = a.headers["Session"]
        self.refusal(d.request("SETUP", "streamid=video/0/0", 4, [("Session", "0" * 32)]), 454, "session_mismatch")
        self.refusal(d.request("PLAY", "/", 4), 454, "session_mismatch")
        self.refusal(d.request("PLAY", "/", 4, [("Session", "x;y")]), 454, "session_mismatch")
        self.refusal(d.request("PLAY", "streamid=video", 4, [("Session", sess)]), 404, "bad_target")
        self.refusal(d.request("ANNOUNCE", "streamid=video", 4, [("Session", sess)], (SDP % 0).encode()), 404,
                     "bad_target")
        # HEVC, a bad SDP, a missing field
        self.refusal(d.request("ANNOUNCE", "streamid=control/13/0", 6, [("Session", sess)], (SDP % 1).encode()),
                     415, "unsupported")
        self.refusal(d.request("ANNOUNCE", "streamid=control/13/0", 6, [("Session", sess)], b"zzz\r\n"), 400,
                     "bad_sdp")
        self.refusal(d.request("ANNOUNCE", "streamid=control/13/0", 6, [("Session", sess)],
                               re.sub(r"a=x-nv-video\[0\]\.maxFPS:60 \r\n", "", SDP % 0).encode()), 400,
                     "missing_field")
        # the launch of 127.0.0.3 is untouched by all this and still works
        r = d.client_sequence(self, source="127.0.0.3")
        self.assertEqual(r["session"], d.ids["127.0.0.3"])
        self.assertEqual(r["play"].status, 200)
        # only what succeeded reached the callbacks
        seen = []
        while True:
            try:
                seen.append(d.line(timeout=1))
            except queue.Empty:
                break
        self.assertEqual([l.split()[0] for l in seen], ["setup", "setup", "setup", "setup", "announce", "play"], seen)
        self.assertTrue(d.alive())

    def test_callback_refusal(self):
        d = Driver(self, ["127.0.0.1,5"], extra=["--refuse-play"])
        r = d.client_sequence(self)
        self.assertEqual(r["announce"].status, 200)
        self.refusal(r["play"], 503, "ambiguous_launch")

    def test_ambiguous_launches(self):
        d = Driver(self, ["127.0.0.1,5", "127.0.0.1,6"])
        self.refusal(d.request("OPTIONS", "rtsp://127.0.0.1", 1), 503, "ambiguous_launch")
        self.refusal(d.request("SETUP", "streamid=audio/0/0", 3), 503, "ambiguous_launch")

    def test_slow_client_closed(self):
        d = Driver(self, ["127.0.0.1,5"], extra=["--timeout-ms", "1000"])
        silent = d.connect()
        slow = d.connect()
        t0 = time.monotonic()
        slow.sendall(b"OPTIONS rtsp://127.0.0.1 RTSP/1.0\r\n")
        # keep trickling: the deadline is for the whole request, not per read
        for _ in range(4):
            time.sleep(0.4)
            try:
                slow.sendall(b"X")
            except OSError:
                break
        for s in (silent, slow):
            try:
                self.assertEqual(s.recv(100), b"")
            except ConnectionResetError:
                pass
            s.close()
        elapsed = time.monotonic() - t0
        self.assertGreater(elapsed, 0.8)
        self.assertLess(elapsed, 10)
        self.assertEqual(d.request("OPTIONS", "rtsp://127.0.0.1", 1).status, 200)

    def test_many_dropped_connections(self):
        d = Driver(self, ["127.0.0.1,5"])
        socks = []
        for i in range(200):
            try:
                s = d.connect()
            except OSError:
                continue
            if i % 3 == 1:
                s.sendall(b"OPTIONS rtsp://127.0.0.1 RTSP/1.0\r\nCSe")
            elif i % 3 == 2:
                s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")  # RST
            socks.append(s)
        self.assertGreater(len(socks), 150)
        for s in socks:
            s.close()
        deadline = time.monotonic() + 20
        while True:
            try:
                rep = d.request("OPTIONS", "rtsp://127.0.0.1", 1)
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)
        self.assertEqual(rep.status, 200)
        r = d.client_sequence(self)
        self.assertEqual(r["play"].status, 200)
        self.assertTrue(d.alive())

    def test_free_with_open_connections(self):
        # the server is freed while connections are mid-request: no crash,
        # no callback afterwards, a clean exit (ASan: no use after free)
        d = Driver(self, ["127.0.0.1,5"])
        socks = [d.connect() for _ in range(5)]
        socks[1].sendall(b"OPTIONS rtsp://127.0.0.1 RTSP/1.0\r\n")
        self.assertEqual(d.request("OPTIONS", "rtsp://127.0.0.1", 1).status, 200)
        d.proc.stdin.close()
        self.assertEqual(d.proc.wait(timeout=30), 0)
        for s in socks:
            try:
                self.assertEqual(s.recv(100), b"")
            except ConnectionResetError:
                pass
            s.close()

    @unittest.skipUnless(socket.has_ipv6, "no IPv6")
    def test_ipv6_loopback(self):
        try:
            with socket.socket(socket.AF_INET6) as s:
                s.bind(("::1", 0))
        except OSError:
            self.skipTest("no ::1")
        d = Driver(self, ["::1,9"], address="::1")
        r = d.client_sequence(self)
        self.assertEqual(r["session"], d.ids["::1"])
        self.assertEqual(r["play"].status, 200)
        self.assertEqual(d.line(), "setup %s audio ::1" % d.ids["::1"])


if __name__ == "__main__":
    unittest.main()
