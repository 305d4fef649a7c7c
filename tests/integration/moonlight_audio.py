"""The receiving side of the Moonlight audio stream, in plain Python, written
from the protocol description (moonlight-common-c AudioStream.c and
RtpAudioQueue.c describe what a client does), not from lobbyd's C:

- a datagram is a 12-byte RTP header (0x80, payload type, BE16 sequence,
  BE32 timestamp in ms, BE32 SSRC) and a payload; payload type 97 carries
  an Opus packet, 127 an FEC shard preceded by a 12-byte FEC header
  (shard index, payload type of the data, BE16 base sequence, BE32 base
  timestamp, BE32 SSRC);
- data packets 4n..4n+3 form a block protected by 2 parity shards
  parity[j] = sum_i M[j][i] * payload[i] over GF(2^8) mod 0x11D with the
  fixed matrix M below; any 4 of the 6 shards give back the 4 payloads;
- encrypted payloads are AES-128-CBC with PKCS#7 padding, IV = BE32(rikeyid
  + sequence) followed by 12 zero bytes.

The Moonlight test client reuses AudioReceiver."""
import struct
import subprocess

import ml_rs

MATRIX = [[0x77, 0x40, 0x38, 0x0E], [0xC7, 0xA7, 0x0D, 0x6C]]
DATA_SHARDS, FEC_SHARDS = 4, 2
PT_AUDIO, PT_FEC = 97, 127


def parse(dgram):
    """A datagram → dict(pt, seq, ts, ssrc, payload[, fec_index, base_seq, base_ts, fec_pt, fec_ssrc])."""
    if len(dgram) < 12:
        raise ValueError("runt datagram")
    b0, pt, seq, ts, ssrc = struct.unpack(">BBHII", dgram[:12])
    d = {"v": b0, "pt": pt, "seq": seq, "ts": ts, "ssrc": ssrc, "payload": dgram[12:]}
    if pt == PT_FEC:
        if len(dgram) < 24:
            raise ValueError("runt FEC datagram")
        idx, fpt, base, bts, fssrc = struct.unpack(">BBHII", dgram[12:24])
        d.update(fec_index=idx, fec_pt=fpt, base_seq=base, base_ts=bts, fec_ssrc=fssrc, payload=dgram[24:])
    return d


def _iv(rikeyid, seq):
    return struct.pack(">I", (rikeyid + seq) & 0xFFFFFFFF) + bytes(12)


def decrypt(payload, key, rikeyid, seq):
    """AES-128-CBC + PKCS#7 with the Moonlight audio IV."""
    iv = _iv(rikeyid, seq)
    try:
        from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
    except ImportError:
        p = subprocess.run(["openssl", "enc", "-d", "-aes-128-cbc", "-K", key.hex(), "-iv", iv.hex()],
                           input=payload, capture_output=True, timeout=30)
        if p.returncode:
            raise ValueError("decryption failed: %s" % p.stderr.decode(errors="replace"))
        return p.stdout
    dec = Cipher(algorithms.AES(key), modes.CBC(iv)).decryptor()
    padded = dec.update(payload) + dec.finalize()
    n = padded[-1] if padded else 0
    if not 1 <= n <= 16 or padded[-n:] != bytes([n]) * n:
        raise ValueError("bad PKCS#7 padding")
    return padded[:-n]


def _mat_inv(m):
    """Inverse of a square matrix over GF(2^8) (Gauss–Jordan)."""
    n = len(m)
    a = [list(row) + [1 if i == j else 0 for j in range(n)] for i, row in enumerate(m)]
    for c in range(n):
        piv = next(r for r in range(c, n) if a[r][c])
        a[c], a[piv] = a[piv], a[c]
        inv = ml_rs.gf_inv(a[c][c])
        a[c] = [ml_rs.gf_mul(inv, x) for x in a[c]]
        for r in range(n):
            if r != c and a[r][c]:
                f = a[r][c]
                a[r] = [x ^ ml_rs.gf_mul(f, y) for x, y in zip(a[r], a[c])]
    return [row[n:] for row in a]


def parity(payloads):
    """The 2 parity shards of 4 payloads (zero-padded to the longest)."""
    size = max(len(p) for p in payloads)
    out = []
    for j in range(FEC_SHARDS):
        acc = bytearray(size)
        for i, p in enumerate(payloads):
            c = MATRIX[j][i]
            for b, x in enumerate(p):
                acc[b] ^= ml_rs.gf_mul(c, x)
        out.append(bytes(acc))
    return out


def recover(shards):
    """@shards: 6 entries (4 data payloads then 2 parity shards), None for
    lost ones, all of one size. Returns the 4 data payloads."""
    have = [i for i, s in enumerate(shards) if s is not None]
    if len(have) < DATA_SHARDS:
        raise ValueError("only %d of 6 shards" % len(have))
    rows_idx = have[:DATA_SHARDS]
    gen = [[1 if c == i else 0 for c in range(DATA_SHARDS)] if i < DATA_SHARDS else MATRIX[i - DATA_SHARDS]
           for i in rows_idx]
    inv = _mat_inv(gen)
    size = len(shards[rows_idx[0]])
    out = []
    for r in range(DATA_SHARDS):
        if shards[r] is not None:
            out.append(shards[r])
            continue
        acc = bytearray(size)
        for k, i in enumerate(rows_idx):
            c = inv[r][k]
            if c:
                for b, x in enumerate(shards[i]):
                    acc[b] ^= ml_rs.gf_mul(c, x)
        out.append(bytes(acc))
    return out


class AudioReceiver:
    """Collects a stream's datagrams (any order, some lost) and returns the
    Opus packets by sequence number, rebuilding lost data from the FEC
    blocks. packet_ms: the RTP timestamp step (ms)."""

    def __init__(self, packet_ms=5, key=None, rikeyid=0):
        self.packet_ms, self.key, self.rikeyid = packet_ms, key, rikeyid
        self.data = {}  # seq -> (ts, payload as sent)
        self.fec = {}  # base seq -> {index: (hdr, payload)}
        self.recovered = 0

    def add(self, dgram):
        d = parse(dgram)
        if d["pt"] == PT_AUDIO:
            self.data[d["seq"]] = (d["ts"], d["payload"])
        elif d["pt"] == PT_FEC:
            if d["base_seq"] % DATA_SHARDS:
                raise ValueError("FEC block not aligned on 4: %d" % d["base_seq"])
            self.fec.setdefault(d["base_seq"], {})[d["fec_index"]] = (d, d["payload"])
        else:
            raise ValueError("unknown payload type %d" % d["pt"])

    def _fill(self):
        for base, fecs in self.fec.items():
            seqs = [(base + i) & 0xFFFF for i in range(DATA_SHARDS)]
            lost = [s for s in seqs if s not in self.data]
            if not lost:
                continue
            size = len(next(iter(fecs.values()))[1])
            shards = [self.data[s][1] if s in self.data else None for s in seqs]
            if any(s is not None and len(s) != size for s in shards):
                continue  # unequal sizes: the client gives up FEC too
            shards += [fecs[j][1] if j in fecs else None for j in range(FEC_SHARDS)]
            if sum(s is not None for s in shards) < DATA_SHARDS:
                continue
            hdr = next(iter(fecs.values()))[0]
            for i, p in enumerate(recover(shards)):
                if seqs[i] not in self.data:
                    self.data[seqs[i]] = ((hdr["base_ts"] + i * self.packet_ms) & 0xFFFFFFFF, p)
                    self.recovered += 1

    def packets(self):
        """[(seq, ts, opus)] sorted by sequence (no wrap handling: tests are short)."""
        self._fill()
        out = []
        for seq in sorted(self.data):
            ts, p = self.data[seq]
            out.append((seq, ts, decrypt(p, self.key, self.rikeyid, seq) if self.key else p))
        return out
