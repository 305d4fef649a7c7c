"""Moonlight audio datagrams (issue 13 item 6): lobbyd's packetizer
(tests/unit/ml-audio-driver) against moonlight_audio.py, the receiving side
written independently in Python: every header field, the timestamp step,
AES-128-CBC decryption with the client's IV, the parity of every block,
and recovery of the Opus packets after dropping 2 of each block's 6
datagrams."""
import os
import random
import subprocess
import unittest

import moonlight_audio

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DRIVER = os.path.join(ROOT, os.environ.get("LOBBYD_BUILD", "build"), "tests", "ml-audio-driver")
KEY = bytes(range(0x10, 0x20))


def run_driver(packets, packet_ms=5, encrypt=False, rikeyid=0):
    p = subprocess.run([DRIVER, str(packet_ms), "1" if encrypt else "0", KEY.hex(), str(rikeyid)],
                       input="".join(x.hex() + "\n" for x in packets), capture_output=True, text=True,
                       timeout=60)
    if p.returncode:
        raise AssertionError("driver: rc %d %s" % (p.returncode, p.stderr))
    return [None if line == "refused" else bytes.fromhex(line) for line in p.stdout.split()]


def opus_packets(n, size=None, seed=13):
    """Deterministic Opus-looking packets (TOC 0xfc: CELT FB 20 ms stereo);
    CBR (all @size bytes) or VBR."""
    rnd = random.Random(seed)
    out = []
    for _ in range(n):
        ln = size or rnd.randint(20, 300)
        out.append(bytes([0xFC]) + bytes(rnd.randrange(256) for _ in range(ln - 1)))
    return out


class MlAudioDatagrams(unittest.TestCase):
    def check_stream(self, packets, packet_ms, encrypt, rikeyid):
        dgrams = run_driver(packets, packet_ms, encrypt, rikeyid)
        self.assertNotIn(None, dgrams)
        n = len(packets)
        self.assertEqual(len(dgrams), n + 2 * (n // 4))
        parsed = [moonlight_audio.parse(d) for d in dgrams]
        data = [d for d in parsed if d["pt"] == 97]
        fec = [d for d in parsed if d["pt"] == 127]
        self.assertEqual(len(data), n)
        key = KEY if encrypt else None
        for i, d in enumerate(data):
            self.assertEqual((d["v"], d["seq"], d["ts"], d["ssrc"]), (0x80, i, i * packet_ms, 0))
            got = moonlight_audio.decrypt(d["payload"], KEY, rikeyid, i) if encrypt else d["payload"]
            self.assertEqual(got, packets[i], "packet %d" % i)
            if encrypt:
                self.assertEqual(len(d["payload"]), (len(packets[i]) // 16 + 1) * 16)
        # FEC datagrams follow each block's 4th data datagram
        order = [d["pt"] for d in parsed]
        self.assertEqual(order[:6], [97, 97, 97, 97, 127, 127] if n >= 4 else order[:6])
        for b, f in enumerate(fec):
            blk = b // 2
            self.assertEqual((f["v"], f["fec_index"], f["fec_pt"], f["base_seq"], f["base_ts"], f["fec_ssrc"]),
                             (0x80, b % 2, 97, blk * 4, blk * 4 * packet_ms, 0))
            self.assertEqual(f["seq"], blk * 4 + 4 + b % 2)
            want = moonlight_audio.parity([data[blk * 4 + i]["payload"] for i in range(4)])[b % 2]
            self.assertEqual(f["payload"], want, "parity %d of block %d" % (b % 2, blk))
        # drop 2 of every block's 6 datagrams (every pattern in turn)
        patterns = [(a, c) for a in range(6) for c in range(a + 1, 6)]
        rx = moonlight_audio.AudioReceiver(packet_ms, key, rikeyid)
        pos, blk = 0, 0
        while pos < len(dgrams):
            group = dgrams[pos:pos + 6] if len(dgrams) - pos >= 6 else dgrams[pos:]
            drop = patterns[blk % len(patterns)] if len(group) == 6 else ()
            for k, g in enumerate(group):
                if k not in drop:
                    rx.add(g)
            pos += len(group)
            blk += 1
        got = rx.packets()
        self.assertEqual([s for s, _, _ in got], list(range(n)))
        self.assertEqual([t for _, t, _ in got], [i * packet_ms for i in range(n)])
        self.assertEqual([p for _, _, p in got], packets)
        return rx

    def test_plain_cbr(self):
        rx = self.check_stream(opus_packets(64, size=120), 5, False, 0)
        self.assertGreater(rx.recovered, 10)

    def test_encrypted_cbr(self):
        # rikeyid as the client sends it (a negative decimal; IV wraps)
        rx = self.check_stream(opus_packets(64, size=200), 10, True, -3)
        self.assertGreater(rx.recovered, 10)

    def test_encrypted_sizes_around_blocks(self):
        for size in (1, 15, 16, 17, 1400):
            self.check_stream(opus_packets(8, size=size, seed=size), 5, True, 123456789)

    def test_vbr_parity(self):
        # unequal sizes: the parity covers the payloads zero-padded to the
        # longest (the client only uses it when sizes are equal)
        packets = opus_packets(16)
        dgrams = run_driver(packets, 20, False, 0)
        parsed = [moonlight_audio.parse(d) for d in dgrams]
        data = [d["payload"] for d in parsed if d["pt"] == 97]
        fec = [d["payload"] for d in parsed if d["pt"] == 127]
        self.assertEqual(data, packets)
        for blk in range(4):
            self.assertEqual(fec[blk * 2:blk * 2 + 2], moonlight_audio.parity(data[blk * 4:blk * 4 + 4]))

    def test_refusals(self):
        dgrams = run_driver([b"", bytes(1401), b"\xfc\x01"], 5, False, 0)
        self.assertEqual(dgrams[:2], [None, None])
        self.assertEqual(moonlight_audio.parse(dgrams[2])["seq"], 0)


if __name__ == "__main__":
    unittest.main()
