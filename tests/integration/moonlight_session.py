"""A Moonlight client's streaming side, in Python, for tests and benches:
the RTSP handshake on 48010 as moonlight-common-c (RtspConnection.c,
SdpGenerator.c) performs it against a GFE 7.1.431 / Sunshine-style host,
and the video stream's receiver (pings, datagrams, reassembly with FEC via
moonlight_video).

Written from the protocol description (docs/moonlight.md, MOONLIGHT.md),
not from lobbyd's C. Loopback only: the host is whatever address the launch's
sessionUrl0 names, which tests point at 127.0.0.0/8."""
import os
import queue
import socket
import struct
import subprocess
import threading
import time
import urllib.parse

import moonlight_video

CLIENT_VERSION = "14"


class RtspRefused(Exception):
    def __init__(self, method, status, reason, reply):
        super().__init__("%s refused: %s %s" % (method, status, reason))
        self.method = method
        self.status = status
        self.reason = reason  # X-Lobbyd-Error, or None
        self.reply = reply


def parse_reply(raw):
    head, _, body = raw.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    parts = lines[0].split(" ", 2)
    if len(parts) < 2 or parts[0] != "RTSP/1.0":
        raise ValueError("bad status line %r" % lines[0])
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip()] = value.strip()
    return int(parts[1]), headers, body


def announce_sdp(host_ip, width=1280, height=720, fps=30, packet_size=1024,
                 bitrate_kbps=4000, encryption_enabled=1, feature_flags=135,
                 min_fec=2, packet_ms=5):
    """The ANNOUNCE body moonlight-common-c writes (attribute order and the
    trailing blank of each `a=` line included). Bitrates: the NV fields get
    80 % of the configured value, as the client reserves headroom."""
    nv_kbps = bitrate_kbps * 8 // 10
    attrs = [
        ("x-ml-general.featureFlags", 3),
        ("x-ss-general.encryptionEnabled", encryption_enabled),
        ("x-ss-video[0].chromaSamplingType", 0),
        ("x-nv-video[0].clientViewportWd", width),
        ("x-nv-video[0].clientViewportHt", height),
        ("x-nv-video[0].maxFPS", fps),
        ("x-nv-video[0].packetSize", packet_size),
        ("x-nv-video[0].rateControlMode", 4),
        ("x-nv-video[0].timeoutLengthMs", 7000),
        ("x-nv-video[0].framesWithInvalidRefThreshold", 0),
        ("x-nv-video[0].initialBitrateKbps", nv_kbps),
        ("x-nv-video[0].initialPeakBitrateKbps", nv_kbps),
        ("x-nv-vqos[0].bw.minimumBitrateKbps", nv_kbps),
        ("x-nv-vqos[0].bw.maximumBitrateKbps", nv_kbps),
        ("x-ml-video.configuredBitrateKbps", bitrate_kbps),
        ("x-nv-vqos[0].fec.enable", 1),
        ("x-nv-vqos[0].videoQualityScoreUpdateTime", 5000),
        ("x-nv-vqos[0].qosTrafficType", 5),
        ("x-nv-aqos.qosTrafficType", 4),
        ("x-nv-general.featureFlags", feature_flags),
        ("x-nv-general.useReliableUdp", 13),
        ("x-nv-vqos[0].fec.minRequiredFecPackets", min_fec),
        ("x-nv-vqos[0].bllFec.enable", 0),
        ("x-nv-vqos[0].drc.enable", 0),
        ("x-nv-general.enableRecoveryMode", 0),
        ("x-nv-video[0].videoEncoderSlicesPerFrame", 1),
        ("x-nv-clientSupportHevc", 0),
        ("x-nv-vqos[0].bitStreamFormat", 0),
        ("x-nv-video[0].dynamicRangeMode", 0),
        ("x-nv-video[0].maxNumReferenceFrames", 1),
        ("x-nv-video[0].clientRefreshRateX100", fps * 100),
        ("x-nv-audio.surround.numChannels", 2),
        ("x-nv-audio.surround.channelMask", 3),
        ("x-nv-audio.surround.enable", 0),
        ("x-nv-audio.surround.AudioQuality", 0),
        ("x-nv-aqos.packetDuration", packet_ms),
        ("x-nv-video[0].encoderCscMode", 2),
    ]
    family = "IPv6" if ":" in host_ip else "IPv4"
    lines = ["v=0", "o=android 0 14 IN %s %s" % (family, host_ip), "s=NVIDIA Streaming Client"]
    lines += ["a=%s:%s " % (k, v) for k, v in attrs]
    lines += ["t=0 0", "m=video 47998  "]
    return "".join(line + "\r\n" for line in lines)


class RtspClient:
    """One launch's RTSP handshake: one TCP connection per request, the
    reply read until EOF, as the real client does."""

    def __init__(self, session_url, source_ip=None, timeout=10.0):
        url = urllib.parse.urlparse(session_url)
        if url.scheme != "rtsp" or not url.hostname or not url.port:
            raise ValueError("sessionUrl0 %r" % session_url)
        self.host = url.hostname
        self.port = url.port
        self.url = "rtsp://%s:%d" % (("[%s]" % self.host) if ":" in self.host else self.host,
                                     self.port)
        self.source_ip = source_ip
        self.timeout = timeout
        self.cseq = 0
        self.session = None
        self.ports = {}
        self.ping_payload = None
        self.connect_data = None

    def send_raw(self, data):
        """Sends @data on a fresh connection; returns every byte until EOF."""
        family = socket.AF_INET6 if ":" in self.host else socket.AF_INET
        with socket.socket(family, socket.SOCK_STREAM) as s:
            s.settimeout(self.timeout)
            if self.source_ip:
                s.bind((self.source_ip, 0))
            s.connect((self.host, self.port))
            s.sendall(data)
            chunks = []
            while True:
                chunk = s.recv(65536)
                if not chunk:
                    break
                chunks.append(chunk)
        return b"".join(chunks)

    def request(self, method, target, headers=(), body=None):
        self.cseq += 1
        lines = ["%s %s RTSP/1.0" % (method, target), "CSeq: %d" % self.cseq,
                 "X-GS-ClientVersion: %s" % CLIENT_VERSION, "Host: %s" % self.host]
        if self.session:
            lines.append("Session: %s" % self.session)
        lines += list(headers)
        raw = "\r\n".join(lines) + "\r\n"
        payload = b""
        if body is not None:
            payload = body.encode()
            raw += "Content-type: application/sdp\r\nContent-length: %d\r\n" % len(payload)
        reply = self.send_raw(raw.encode() + b"\r\n" + payload)
        status, hdrs, rbody = parse_reply(reply)
        if hdrs.get("CSeq") != str(self.cseq):
            raise ValueError("%s: CSeq %r, sent %d" % (method, hdrs.get("CSeq"), self.cseq))
        if status != 200:
            raise RtspRefused(method, status, hdrs.get("X-Lobbyd-Error"), reply)
        return hdrs, rbody

    def _setup(self, stream):
        hdrs, _ = self.request("SETUP", "streamid=%s" % stream, [
            "Transport: unicast;X-GS-ClientPort=50000-50001",
            "If-Modified-Since: Thu, 01 Jan 1970 00:00:00 GMT"])
        if "Session" not in hdrs:
            raise ValueError("SETUP %s without Session" % stream)
        self.session = hdrs["Session"].split(";")[0]
        transport = hdrs.get("Transport", "")
        if "server_port=" in transport:
            self.ports[stream.split("/")[0]] = int(transport.split("server_port=")[1].split(";")[0])
        if "X-SS-Ping-Payload" in hdrs:
            self.ping_payload = hdrs["X-SS-Ping-Payload"].encode()
        if "X-SS-Connect-Data" in hdrs:
            self.connect_data = int(hdrs["X-SS-Connect-Data"])
        return hdrs

    def handshake(self, **announce):
        """OPTIONS … PLAY. Returns the DESCRIBE body."""
        self.request("OPTIONS", self.url)
        _, describe = self.request("DESCRIBE", self.url, [
            "Accept: application/sdp", "If-Modified-Since: Thu, 01 Jan 1970 00:00:00 GMT"])
        self._setup("audio/0/0")
        self._setup("video/0/0")
        self._setup("control/13/0")
        self.request("ANNOUNCE", "streamid=control/13/0",
                     body=announce_sdp(self.host, **announce))
        self.request("PLAY", "/")
        return describe.decode("latin-1")


def ping_bytes(payload, seq):
    """A Sunshine-style ping: the 16-char X-SS-Ping-Payload then BE32 seq;
    the legacy bare PING without a payload."""
    if payload:
        return payload + struct.pack(">I", seq)
    return b"PING"


class VideoReceiver:
    """Pings the host's video port every 500 ms from one socket and
    collects every datagram that comes back (on a thread). @drop(i) -> True
    drops the i-th datagram (counted from 0) before reassembly."""

    def __init__(self, host, port, ping_payload, packet_size, drop=None, source_ip=None,
                 sink=None):
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        self.sock = socket.socket(family, socket.SOCK_DGRAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8 << 20)
        self.sock.bind((source_ip or ("::1" if family == socket.AF_INET6 else "127.0.0.1"), 0))
        self.sock.settimeout(0.1)
        self.addr = (host, port)
        self.payload = ping_payload
        self.reasm = sink or moonlight_video.Reassembler(packet_size)
        self.drop = drop
        self.received = 0
        self.dropped = 0
        self.errors = []
        self.first_frame_at = None
        self.started_at = time.monotonic()
        self._stop = threading.Event()
        self._pings = 0
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self):
        next_ping = 0.0
        while not self._stop.is_set():
            now = time.monotonic()
            if now >= next_ping:
                self._pings += 1
                try:
                    self.sock.sendto(ping_bytes(self.payload, self._pings), self.addr)
                except OSError:
                    pass
                next_ping = now + 0.5
            try:
                data = self.sock.recv(65536)
            except socket.timeout:
                continue
            except OSError:
                break
            i = self.received
            self.received += 1
            if self.drop and self.drop(i):
                self.dropped += 1
                continue
            try:
                self.reasm.add(data)
            except moonlight_video.ProtocolError as e:
                self.errors.append(str(e))
            if self.first_frame_at is None and self.reasm.frames:
                self.first_frame_at = time.monotonic()

    def stop_pinging(self):
        """Goes silent (a vanished client) but keeps the socket."""
        self._stop.set()
        self._thread.join(5)

    def close(self):
        self.stop_pinging()
        self.reasm.finish()
        self.sock.close()

    def frames(self):
        return list(self.reasm.frames)

    def annexb(self):
        return b"".join(f[2] for f in self.reasm.frames)

    def wait_frames(self, n, timeout):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and len(self.reasm.frames) < n:
            time.sleep(0.05)
        return len(self.reasm.frames)


class _AudioSink:
    """What VideoReceiver hands datagrams to, for the audio stream."""

    def __init__(self, audio):
        self.audio = audio
        self.frames = []
        self.recovered = 0

    def add(self, datagram):
        self.audio.add(datagram)

    def finish(self):
        pass


def audio_receiver(host, port, ping_payload, packet_ms=5, key=None, rikeyid=0, drop=None,
                   source_ip=None):
    """Pings the host's audio port like the video one and feeds what comes
    back to a moonlight_audio.AudioReceiver (returned as .audio of the
    receiver): Opus packets by sequence number, lost ones rebuilt from the
    audio FEC, decrypted with the launch key."""
    import moonlight_audio
    audio = moonlight_audio.AudioReceiver(packet_ms, key, rikeyid)
    r = VideoReceiver(host, port, ping_payload, 1024, drop=drop, source_ip=source_ip,
                      sink=_AudioSink(audio))
    r.audio = audio
    return r


def random_drop(rate, seed=1):
    """A drop function losing about @rate of the datagrams, reproducibly."""
    import random
    rng = random.Random(seed)
    return lambda i: rng.random() < rate


class Lines:
    """A process's stdout lines, read on a thread so waits have timeouts."""

    def __init__(self, proc):
        self.proc = proc
        self.q = queue.Queue()
        self.all = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        for line in self.proc.stdout:
            self.q.put(line.rstrip("\n"))
        self.q.put(None)

    def wait_for(self, pred, timeout=10.0):
        end = time.monotonic() + timeout
        while True:
            left = end - time.monotonic()
            if left <= 0:
                raise AssertionError("timed out; lines so far: %r" % self.all)
            try:
                line = self.q.get(timeout=left)
            except queue.Empty:
                continue
            if line is None:
                raise AssertionError("EOF; lines so far: %r" % self.all)
            self.all.append(line)
            if pred(line):
                return line

    def drain(self, seconds):
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            try:
                line = self.q.get(timeout=max(0.01, end - time.monotonic()))
            except queue.Empty:
                continue
            if line is None:
                return
            self.all.append(line)


def tool(name):
    """A test tool of the build under test (tests/ of $LOBBYD_BUILD)."""
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    return os.path.join(root, os.environ.get("LOBBYD_BUILD", "build"), "tests", name)


class ControlClient:
    """tests/unit/ml-control-client (libenet + OpenSSL, none of lobbyd's
    code) connected to the host's control port; commands go to its stdin."""

    def __init__(self, host, port, connect_data, rikey_hex, source_ip=None):
        self.proc = subprocess.Popen(
            [tool("ml-control-client"), host, str(port), str(connect_data), rikey_hex]
            + ([source_ip] if source_ip else []),
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            bufsize=1)
        self.lines = Lines(self.proc)

    def send(self, *commands):
        for c in commands:
            self.proc.stdin.write(c + "\n")
        self.proc.stdin.flush()

    def wait_connected(self, timeout=10):
        self.lines.wait_for(lambda l: l == "connected", timeout)

    def close(self):
        if self.proc.poll() is None:
            try:
                self.send("quit")
                self.proc.wait(5)
            except (OSError, subprocess.TimeoutExpired):
                self.proc.kill()
                self.proc.wait()
        self.proc.stdin.close()
        self.proc.stderr.close()


class Viewer:
    """One Moonlight client streaming an app: launch (HTTPS), the RTSP
    handshake, the control stream, and the video receiver, on its own
    loopback source address. @client is a moonlight_client.HostClient that
    is paired."""

    def __init__(self, client, source_ip="127.0.0.1"):
        self.client = client
        self.source_ip = source_ip
        self.rikey = os.urandom(16)
        self.rikeyid = struct.unpack(">i", os.urandom(4))[0]
        self.rtsp = None
        self.control = None
        self.video = None
        self.launched_at = None

    def launch(self, app_id, mode="640x480x30", resume=False):
        self.launched_at = time.monotonic()
        return self.client.get(True, "/resume" if resume else "/launch", {
            "appid": app_id, "mode": mode, "additionalStates": 1, "sops": 0,
            "rikey": self.rikey.hex(), "rikeyid": self.rikeyid, "localAudioPlayMode": 0,
            "surroundAudioInfo": 196610, "remoteControllersBitmap": 0, "gcmap": 0, "corever": 1})

    def start(self, session_url, drop=None, control=True, **announce):
        """RTSP handshake, control stream (start + IDR request, as the client
        does), video pings. Returns self."""
        self.packet_size = announce.get("packet_size", 1024)
        self.rtsp = RtspClient(session_url, source_ip=self.source_ip)
        self.rtsp.handshake(**announce)
        if control:
            self.control = ControlClient(self.rtsp.host, self.rtsp.ports["control"],
                                         self.rtsp.connect_data, self.rikey.hex(),
                                         self.source_ip)
            self.control.wait_connected()
            self.control.send("start", "idr")
        self.video = VideoReceiver(self.rtsp.host, self.rtsp.ports["video"], self.rtsp.ping_payload,
                                   self.packet_size, drop=drop, source_ip=self.source_ip)
        return self

    def close(self):
        if self.video:
            self.video.close()
        if self.control:
            self.control.close()


def ffprobe_frames(annexb, tmpdir):
    """Decodes Annex-B H.264 with ffprobe: (frames decoded, width, height)."""
    import json
    path = os.path.join(tmpdir, "ml-%d.h264" % os.getpid())
    with open(path, "wb") as f:
        f.write(annexb)
    out = subprocess.run(["ffprobe", "-v", "error", "-count_frames", "-select_streams", "v:0",
                          "-show_entries", "stream=nb_read_frames,width,height", "-of", "json",
                          "-f", "h264", path], capture_output=True, text=True, timeout=120)
    os.unlink(path)
    streams = json.loads(out.stdout or "{}").get("streams") or [{}]
    st = streams[0]
    return int(st.get("nb_read_frames") or 0), st.get("width"), st.get("height")
