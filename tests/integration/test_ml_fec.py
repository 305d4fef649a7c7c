"""Moonlight video FEC and packets (issue 13): lobbyd's Reed–Solomon parity
equals the parity of ml_rs.py (pure Python, written from the math), and a
real H.264 stream packetized by lobbyd, with datagrams dropped within each
block's FEC budget, reassembles (moonlight_video.py) into a stream ffmpeg
decodes frame for frame."""
import json
import os
import random
import shutil
import struct
import subprocess
import tempfile
import unittest

import ml_rs
import moonlight_video

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DRIVER = os.path.join(ROOT, os.environ.get("LOBBYD_BUILD", "build"), "tests", "ml-fec-driver")


def driver_parity(data, m):
    p = subprocess.run([DRIVER, "rs", str(len(data)), str(m)], input="".join(d.hex() + "\n" for d in data),
                       capture_output=True, text=True, timeout=60)
    if p.returncode:
        raise AssertionError("driver: rc %d %s" % (p.returncode, p.stderr))
    return [bytes.fromhex(h) for h in json.loads(p.stdout)["parity"]]


class MlFecVectors(unittest.TestCase):
    def test_parity_matches_python(self):
        rnd = random.Random(1313)
        cases = [(1, 1, 8), (2, 2, 16), (5, 2, 40), (7, 3, 1040), (20, 4, 64), (60, 12, 48),
                 (212, 43, 16), (1, 200, 4)]
        cases += [(rnd.randint(1, 40), rnd.randint(1, 12), rnd.randint(1, 300)) for _ in range(6)]
        for k, m, size in cases:
            data = [bytes(rnd.randrange(256) for _ in range(size)) for _ in range(k)]
            want = ml_rs.encode(data, m)
            got = driver_parity(data, m)
            self.assertEqual(got, want, "k=%d m=%d size=%d" % (k, m, size))
            # and the Python decoder gets the data back from C's parity
            shards = list(data) + got
            for i in rnd.sample(range(k + m), m):
                shards[i] = None
            self.assertEqual(ml_rs.decode(shards, k, m), data)


@unittest.skipUnless(shutil.which("ffmpeg") and shutil.which("ffprobe"), "needs ffmpeg")
class MlVideoReassembly(unittest.TestCase):
    PACKET_SIZE = 1024
    FEC_PCT = 20
    MIN_FEC = 2

    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="lb-mlfec-")
        self.addCleanup(shutil.rmtree, self.tmp, True)

    def encode_source(self):
        src = os.path.join(self.tmp, "src.264")
        # A mid-stream IDR (-g 30) so SPS/PPS+IDR shows up more than once.
        subprocess.run(["ffmpeg", "-v", "error", "-f", "lavfi", "-i", "testsrc=size=320x240:rate=30",
                        "-t", "3", "-pix_fmt", "yuv420p", "-c:v", "libx264", "-profile:v", "baseline", "-g", "30",
                        "-bsf:v", "h264_mp4toannexb", "-f", "h264", "-y", src], check=True, timeout=120)
        with open(src, "rb") as f:
            return f.read()

    def packetize(self, aus, packet_size=None):
        packet_size = packet_size or self.PACKET_SIZE
        inp = os.path.join(self.tmp, "aus.bin")
        out = os.path.join(self.tmp, "dgrams.bin")
        with open(inp, "wb") as f:
            for au, idr in aus:
                f.write(struct.pack("<IB", len(au), 1 if idr else 0) + au)
        subprocess.run([DRIVER, "video", str(packet_size), str(self.FEC_PCT), str(self.MIN_FEC), inp, out],
                       check=True, timeout=120)
        with open(out, "rb") as f:
            blob = f.read()
        dgrams, off = [], 0
        while off < len(blob):
            (n,) = struct.unpack("<I", blob[off:off + 4])
            dgrams.append(blob[off + 4:off + 4 + n])
            off += 4 + n
        return dgrams

    def decoded_frames(self, annexb):
        path = os.path.join(self.tmp, "out.264")
        with open(path, "wb") as f:
            f.write(annexb)
        p = subprocess.run(["ffprobe", "-v", "error", "-count_frames", "-select_streams", "v:0",
                            "-show_entries", "stream=nb_read_frames,width,height", "-of", "json", path],
                           capture_output=True, text=True, timeout=120, check=True)
        s = json.loads(p.stdout)["streams"][0]
        return int(s["nb_read_frames"]), s["width"], s["height"]

    def test_drop_within_budget_and_decode(self):
        src = self.encode_source()
        aus = moonlight_video.split_access_units(src)
        self.assertGreaterEqual(len(aus), 90)
        self.assertTrue(aus[0][1] and aus[30][1])
        # 1024: what clients ask for; 128: many shards per block (~40 for an IDR).
        for packet_size, min_block in ((1024, 7), (128, 40)):
            with self.subTest(packet_size=packet_size):
                self.drop_and_decode(aus, packet_size, min_block)

    def drop_and_decode(self, aus, packet_size, min_block):
        dgrams = self.packetize(aus, packet_size)

        # Group by (frame, block) and drop, in every block, as many
        # datagrams as it has parity (data ones preferred), at random.
        rnd = random.Random(13)
        blocks = {}
        for i, d in enumerate(dgrams):
            p = moonlight_video.parse(d)
            blocks.setdefault((p["frame"], p["block"]), []).append((i, p))
        drop = set()
        dropped_data = 0
        for (frame, blk), members in blocks.items():
            first = members[0][1]
            d = first["data_shards"]
            m = (d * first["fec_pct"] + 99) // 100
            self.assertEqual(len(members), d + m, "frame %d block %d" % (frame, blk))
            self.assertGreaterEqual(m, self.MIN_FEC)
            self.assertLessEqual(d + m, 255)
            victims = rnd.sample(range(d), min(m, d)) + rnd.sample(range(d, d + m), max(0, m - d))
            for v in victims:
                drop.add(members[v][0])
                dropped_data += v < d

        # Non-final datagrams are exactly packetSize + 16 bytes.
        for i, d in enumerate(dgrams):
            p = moonlight_video.parse(d)
            if not (p["fec_index"] < p["data_shards"] and p["flags"] & moonlight_video.FLAG_EOF):
                self.assertEqual(len(d), packet_size + 16)

        self.assertGreater(dropped_data, 50)
        self.assertGreaterEqual(max(len(mb) for mb in blocks.values()), min_block)  # the IDRs
        r = moonlight_video.Reassembler(packet_size)
        for i, d in enumerate(dgrams):
            if i not in drop:
                r.add(d)
        frames = r.finish()
        self.assertEqual(r.lost_frames, [])
        self.assertEqual(r.recovered, dropped_data)
        self.assertEqual(len(frames), len(aus))
        self.assertEqual([f[0] for f in frames], list(range(1, len(aus) + 1)))
        for (idx, ftype, body), (au, idr) in zip(frames, aus):
            self.assertEqual(ftype, 2 if idr else 1)
            self.assertEqual(body, au, "frame %d" % idx)

        n, w, h = self.decoded_frames(b"".join(f[2] for f in frames))
        self.assertGreaterEqual(n, 60)
        self.assertEqual((w, h), (320, 240))

    def test_drop_beyond_budget_loses_the_frame(self):
        src = self.encode_source()
        aus = moonlight_video.split_access_units(src)[:5]
        dgrams = self.packetize(aus)
        first = moonlight_video.parse(dgrams[0])
        d = first["data_shards"]
        m = (d * first["fec_pct"] + 99) // 100
        r = moonlight_video.Reassembler(self.PACKET_SIZE)
        for i, dg in enumerate(dgrams):
            if i > m:  # frame 1 loses m + 1 of its datagrams
                r.add(dg)
        r.finish()
        self.assertEqual(r.lost_frames, [1])
        self.assertEqual(len(r.frames), 4)


if __name__ == "__main__":
    unittest.main()
