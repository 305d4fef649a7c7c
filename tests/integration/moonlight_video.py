"""The receiving side of Moonlight's video stream, in Python, for tests and
the Moonlight test client: parses the datagrams (RTP header 0x90 + 4
reserved bytes + NV_VIDEO_PACKET, little-endian), groups them into FEC
blocks and frames, rebuilds lost data datagrams with ml_rs, checks every
field the way moonlight-common-c (RtpVideoQueue.c, VideoDepacketizer.c)
does, and returns each frame's Annex-B bytes.

Written from the protocol description (docs/moonlight.md "Video packets and
FEC"), not from lobbyd's C."""
import struct

import ml_rs

RTP_SIZE = 16  # 12-byte RTP header + 4 reserved bytes
NV_SIZE = 16
FLAG_PIC, FLAG_EOF, FLAG_SOF = 1, 2, 4


class ProtocolError(Exception):
    pass


def parse(datagram):
    """One datagram -> dict of its header fields and the raw bytes."""
    if len(datagram) < RTP_SIZE + NV_SIZE:
        raise ProtocolError("datagram of %d bytes" % len(datagram))
    hdr, pt, seq, ts, ssrc = struct.unpack(">BBHII", datagram[:12])
    spi, frame, flags, extra, mff, mfb, fec = struct.unpack("<IIBBBBI", datagram[16:32])
    return {
        "header": hdr, "pt": pt, "seq": seq, "ts": ts, "ssrc": ssrc,
        "stream_packet_index": spi, "frame": frame, "flags": flags, "extra_flags": extra,
        "multi_fec_flags": mff, "block": (mfb >> 4) & 3, "last_block": (mfb >> 6) & 3,
        "fec_index": (fec >> 12) & 0x3FF, "data_shards": (fec >> 22) & 0x3FF,
        "fec_pct": (fec >> 4) & 0xFF, "raw": bytes(datagram),
    }


class Reassembler:
    """Feed datagrams in any order within a frame (frames in order); collect
    complete frames' Annex-B in .frames. packet_size: the negotiated
    x-nv-video[0].packetSize."""

    def __init__(self, packet_size):
        self.packet_size = packet_size
        self.blocksize = packet_size + RTP_SIZE
        self.frames = []         # (frame index, frame type, annex-b bytes)
        self.recovered = 0       # data datagrams rebuilt by FEC
        self.lost_frames = []
        self._cur = None         # frame index being gathered
        self._blocks = {}
        self._last_spi = None

    def add(self, datagram):
        p = parse(datagram)
        if p["header"] != 0x90 or p["pt"] != 0:
            raise ProtocolError("RTP header %#x pt %d" % (p["header"], p["pt"]))
        if p["frame"] != self._cur:
            self._finish()
            self._cur = p["frame"]
            self._blocks = {}
            self._last_block = p["last_block"]
        blk = self._blocks.setdefault(p["block"], {"shards": {}, "first": p})
        first = blk["first"]
        for f in ("data_shards", "fec_pct", "last_block", "ts"):
            if p[f] != first[f]:
                raise ProtocolError("%s differs inside a block" % f)
        if (p["seq"] - p["fec_index"]) & 0xFFFF != (first["seq"] - first["fec_index"]) & 0xFFFF:
            raise ProtocolError("seq - fecIndex is not the block's first seq")
        d = first["data_shards"]
        parity = (d * first["fec_pct"] + 99) // 100
        if p["fec_index"] >= d + parity:
            raise ProtocolError("fecIndex %d beyond %d+%d" % (p["fec_index"], d, parity))
        if p["fec_index"] < d:
            if not p["flags"] & FLAG_EOF and len(datagram) != self.blocksize:
                raise ProtocolError("non-final datagram of %d bytes" % len(datagram))
            if p["multi_fec_flags"] != 0x10:
                raise ProtocolError("multiFecFlags %#x" % p["multi_fec_flags"])
            spi = p["stream_packet_index"]
            if spi & 0xFF or (spi >> 8) & 0xFFFF != p["seq"]:
                raise ProtocolError("streamPacketIndex %#x for seq %d" % (p["stream_packet_index"], p["seq"]))
        elif len(datagram) != self.blocksize:
            raise ProtocolError("parity datagram of %d bytes" % len(datagram))
        blk["shards"][p["fec_index"]] = p["raw"] + bytes(self.blocksize - len(p["raw"]))

    def _block_data(self, blk):
        first = blk["first"]
        d = first["data_shards"]
        m = (d * first["fec_pct"] + 99) // 100
        shards = [blk["shards"].get(i) for i in range(d + m)]
        if all(s is not None for s in shards[:d]):
            return shards[:d]
        if sum(s is not None for s in shards) < d:
            return None
        self.recovered += sum(s is None for s in shards[:d])
        return ml_rs.decode(shards, d, m)

    def _finish(self):
        if self._cur is None:
            return
        blocks = []
        for b in range(self._last_block + 1):
            blk = self._blocks.get(b)
            data = self._block_data(blk) if blk else None
            if data is None:
                self.lost_frames.append(self._cur)
                return
            blocks.append(data)
        payload = bytearray()
        for b, data in enumerate(blocks):
            for x, shard in enumerate(data):
                spi, _, flags = struct.unpack("<IIB", shard[16:25])
                want = FLAG_PIC | (FLAG_SOF if x == 0 else 0) | (FLAG_EOF if x == len(data) - 1 else 0)
                if flags != want:
                    raise ProtocolError("frame %d block %d shard %d flags %#x, want %#x"
                                        % (self._cur, b, x, flags, want))
                idx = (spi >> 8) & 0xFFFFFF
                if x > 0 and idx != (self._last_spi + 1) & 0xFFFFFF:
                    raise ProtocolError("streamPacketIndex not contiguous")
                self._last_spi = idx
                payload += shard[RTP_SIZE + NV_SIZE:]
        if payload[0] != 0x01:
            raise ProtocolError("frame header type %#x" % payload[0])
        ftype = payload[3]
        last_len = struct.unpack("<H", payload[4:6])[0]
        per = self.packet_size - NV_SIZE
        if not 1 <= last_len <= per:
            raise ProtocolError("lastPayloadLen %d" % last_len)
        n_data = sum(len(d) for d in blocks)
        body = bytes(payload[: (n_data - 1) * per + last_len])[8:]
        self.frames.append((self._cur, ftype, body))

    def finish(self):
        self._finish()
        self._cur = None
        return self.frames


def split_access_units(annexb):
    """H.264 Annex-B -> list of (access unit bytes, is_idr). A new access
    unit starts at an AUD/SPS/PPS/SEI after a slice, or at a slice whose
    first_mb_in_slice is 0 (the first bit after the NAL header is 1)."""
    starts = []
    i = 0
    n = len(annexb)
    while True:
        j = annexb.find(b"\x00\x00\x01", i)
        if j < 0:
            break
        s = j - 1 if j > 0 and annexb[j - 1] == 0 else j
        starts.append((s, j + 3))
        i = j + 3
    aus, cur, cur_idr, seen_vcl = [], [], False, False
    for k, (s, h) in enumerate(starts):
        end = starts[k + 1][0] if k + 1 < len(starts) else n
        nal = annexb[s:end]
        t = annexb[h] & 0x1F
        vcl = t in (1, 5)
        new = seen_vcl and (t in (6, 7, 8, 9) or (vcl and annexb[h + 1] & 0x80))
        if new:
            aus.append((b"".join(cur), cur_idr))
            cur, cur_idr, seen_vcl = [], False, False
        cur.append(nal)
        if vcl:
            seen_vcl = True
            cur_idr = cur_idr or t == 5
    if cur:
        aus.append((b"".join(cur), cur_idr))
    return aus
