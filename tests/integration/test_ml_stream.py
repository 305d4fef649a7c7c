"""Moonlight video over the shared UDP socket (issue 13 item 4): a real
lobby video path — live test pattern, lobbyd's x264 encode with key frames
only on request, the "moonlight" output, lb-ml-stream on 127.0.0.1 — driven
by tests/unit/ml-stream-driver until the Moonlight host glue exists. This
side is the client: it pings with its X-SS-Ping-Payload, receives the
datagrams, drops some on purpose, reassembles the frames with FEC
(moonlight_video.py + ml_rs.py), decrypts them when encrypted (AES-128-GCM,
python3-cryptography) and has ffprobe decode the H.264."""
import json
import os
import random
import select
import shutil
import socket
import struct
import subprocess
import tempfile
import threading
import time
import unittest

import lbtest
import moonlight_video

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BUILD = os.environ.get("LOBBYD_BUILD", "build")
DRIVER = os.path.join(ROOT, BUILD, "tests", "ml-stream-driver")

WIDTH, HEIGHT, FPS = 320, 240, 30
PACKET_SIZE = 1024
FEC_PCT = 20
MIN_FEC = 2
ENC_PREFIX = 32
WANT_FRAMES = 75


def ffprobe(path):
    p = subprocess.run(["ffprobe", "-v", "error", "-count_frames", "-select_streams", "v:0",
                        "-show_entries", "stream=nb_read_frames,width,height", "-of", "json", path],
                       capture_output=True, text=True, timeout=120, check=True)
    s = json.loads(p.stdout)["streams"][0]
    return int(s["nb_read_frames"]), s["width"], s["height"]


class Driver:
    def __init__(self, key=None):
        args = [DRIVER, str(WIDTH), str(HEIGHT), str(FPS), str(PACKET_SIZE), str(FEC_PCT), str(MIN_FEC)]
        if key is not None:
            args.append(key.hex())
        self.proc = subprocess.Popen(args, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, text=True)
        r, _, _ = select.select([self.proc.stdout], [], [], 60)
        if not r:
            self.close()
            raise AssertionError("driver did not start")
        line = self.proc.stdout.readline()
        if not line:
            raise AssertionError("driver exited: %s" % self.proc.stderr.read())
        self.info = json.loads(line)

    def stats(self):
        self.proc.stdin.write("stats\n")
        self.proc.stdin.flush()
        return json.loads(self.proc.stdout.readline())

    def close(self):
        try:
            self.proc.stdin.close()
        except OSError:
            pass
        try:
            rc = self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise AssertionError("driver did not exit")
        err = self.proc.stderr.read()
        self.proc.stdout.close()
        self.proc.stderr.close()
        return rc, err


class Client:
    """A Moonlight client's video socket: pings every 500 ms (as
    moonlight-common-c's VideoPingThreadProc), reads datagrams."""

    def __init__(self, port, payload, bind_ip="127.0.0.1"):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8 << 20)
        self.sock.bind((bind_ip, 0))
        self.sock.settimeout(0.2)
        self.port = port
        self.payload = payload.encode()
        self.stop = threading.Event()
        self.seq = 0
        self.thread = threading.Thread(target=self._ping, daemon=True)
        self.thread.start()

    def _ping(self):
        while not self.stop.is_set():
            self.seq += 1
            self.sock.sendto(self.payload + struct.pack(">I", self.seq), ("127.0.0.1", self.port))
            self.stop.wait(0.5)

    def receive(self, seconds, until=None):
        out = []
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            try:
                out.append(self.sock.recv(65536))
            except socket.timeout:
                continue
            if until is not None and until(out):
                break
        return out

    def close(self):
        self.stop.set()
        self.thread.join()
        self.sock.close()


def frame_of_plain(d):
    return struct.unpack("<I", d[20:24])[0]


@unittest.skipUnless(shutil.which("ffprobe"), "needs ffprobe")
@unittest.skipUnless(os.path.exists(DRIVER), "needs tests/ml-stream-driver")
class MlStream(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="lb-mlstream-")
        self.addCleanup(shutil.rmtree, self.tmp, True)

    def run_viewer(self, key=None, drop_pct=5.0):
        driver = Driver(key)
        try:
            client = Client(driver.info["video_port"], driver.info["ping_payload"])
            try:
                def enough(dgrams):
                    # frame indices (plain header, or the encrypted prefix's)
                    last = dgrams[-1]
                    idx = struct.unpack("<I", last[12:16])[0] if key else frame_of_plain(last)
                    return idx > WANT_FRAMES + 5
                dgrams = client.receive(60, enough)
            finally:
                client.close()
            stats = driver.stats()
        finally:
            rc, err = driver.close()
        self.assertEqual(rc, 0, err)
        self.assertNotIn("CRITICAL", err)
        self.assertGreater(len(dgrams), 0, "no video datagram")
        return dgrams, stats

    def decrypt(self, dgrams, key):
        from cryptography.hazmat.primitives.ciphers.aead import AESGCM
        aes = AESGCM(key)
        plain, ivs = [], set()
        for d in dgrams:
            iv, frame, tag = d[:12], struct.unpack("<I", d[12:16])[0], d[16:32]
            self.assertNotIn(iv, ivs, "an IV used twice")
            ivs.add(iv)
            p = aes.decrypt(iv, d[32:] + tag, None)
            self.assertEqual(frame_of_plain(p), frame)
            self.assertLessEqual(len(d), PACKET_SIZE + 16 + ENC_PREFIX)
            plain.append(p)
        return plain

    def reassemble_and_decode(self, dgrams, drop_pct):
        # Drop ~drop_pct % of the datagrams at random, but never more in a
        # block than its parity (FEC 20 % recovers those; the rest of the
        # loss test is test_ml_fec.py's).
        rnd = random.Random(4713)
        lost = {}
        kept, dropped = [], 0
        for d in dgrams:
            p = moonlight_video.parse(d)
            k = (p["frame"], p["block"])
            parity = (p["data_shards"] * p["fec_pct"] + 99) // 100
            if rnd.random() * 100 < drop_pct and lost.get(k, 0) < parity:
                lost[k] = lost.get(k, 0) + 1
                dropped += 1
                continue
            kept.append(d)
        self.assertGreaterEqual(dropped, len(dgrams) * drop_pct / 100 / 2)
        r = moonlight_video.Reassembler(PACKET_SIZE)
        for d in kept:
            r.add(d)
        frames = r.finish()
        # The last frame may be cut short by the end of the capture.
        self.assertLessEqual(len(r.lost_frames), 1, r.lost_frames)
        self.assertGreater(r.recovered, 0)
        self.assertGreaterEqual(len(frames), WANT_FRAMES)
        # A new viewer starts at frame 1 with an IDR (asked for: the
        # encoder's own key frames are minutes apart), then every frame.
        self.assertEqual(frames[0][0], 1)
        self.assertEqual(frames[0][1], 2)
        self.assertEqual([f[0] for f in frames], list(range(1, len(frames) + 1)))
        self.assertTrue(frames[0][2].startswith(b"\x00\x00\x00\x01\x67")
                        or b"\x00\x00\x01\x67" in frames[0][2][:64], "SPS leads the IDR")
        path = os.path.join(self.tmp, "out.264")
        with open(path, "wb") as f:
            f.write(b"".join(body for _, _, body in frames))
        n, w, h = ffprobe(path)
        self.assertGreaterEqual(n, 60)
        self.assertEqual((w, h), (WIDTH, HEIGHT))
        return frames

    def test_stream_with_loss_and_fec(self):
        dgrams, stats = self.run_viewer()
        for d in dgrams:
            self.assertLessEqual(len(d), PACKET_SIZE + 16)
        frames = self.reassemble_and_decode(dgrams, 5.0)
        ml = stats["moonlight"]
        self.assertTrue(ml["streaming"])
        self.assertGreaterEqual(ml["frames_sent"], len(frames))
        self.assertGreaterEqual(ml["datagrams"], len(dgrams))
        self.assertGreaterEqual(ml["video_pings"], 1)
        # The output counts a frame's datagrams once its send returned, so
        # the client may already hold the last frame's datagrams when the
        # stats are read.
        last = max(frame_of_plain(d) for d in dgrams)
        in_last = sum(1 for d in dgrams if frame_of_plain(d) == last)
        self.assertGreaterEqual(stats["packets_sent"], len(dgrams) - in_last)

    def test_encrypted_stream(self):
        key = bytes(range(0x30, 0x40))
        dgrams, stats = self.run_viewer(key)
        plain = self.decrypt(dgrams, key)
        self.reassemble_and_decode(plain, 5.0)

    def test_wrong_payload_and_other_address_get_nothing(self):
        driver = Driver()
        try:
            port = driver.info["video_port"]
            wrong = Client(port, "X" * 16)
            other = Client(port, driver.info["ping_payload"], bind_ip="127.0.0.2")
            try:
                got = wrong.receive(2) + other.receive(1)
            finally:
                wrong.close()
                other.close()
            stats = driver.stats()
        finally:
            rc, err = driver.close()
        self.assertEqual(rc, 0, err)
        self.assertEqual(got, [])
        self.assertFalse(stats["moonlight"]["streaming"])
        self.assertEqual(stats["moonlight"]["frames_sent"], 0)


class MoonlightTransportIsInternal(lbtest.DaemonTest):
    """Only the Moonlight host makes moonlight sessions: the API refuses
    the transport like any it cannot request, and creates nothing."""

    def test_post_moonlight_session_refused(self):
        lobby = self.d.create_lobby().json["id"]
        for body, code in (({"transport": "moonlight"}, "invalid_field"),
                           ({"transport": "moonlight", "profile": {"codec": "h264", "bitrate_kbps": 1000}},
                            "invalid_field"),
                           # no transport a request may name has this member
                           ({"transport": "moonlight", "ml_id": "0123456789abcdef0123456789abcdef"},
                            "unknown_field")):
            r = self.d.request("POST", "/api/v1/lobbies/%s/sessions" % lobby, body)
            self.assertEqual(r.status, 400, r.body)
            self.assertEqual(r.error_code(), code, r.body)
            self.assertNotIn("moonlight", r.json["error"]["message"] if code == "invalid_field" else "")
        r = self.d.request("GET", "/api/v1/sessions")
        self.assertEqual(r.status, 200)
        body = r.json
        self.assertEqual(body["sessions"] if isinstance(body, dict) else body, [])


if __name__ == "__main__":
    unittest.main()
