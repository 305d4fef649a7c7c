#!/usr/bin/python3
"""tests/integration/webrtc_peers.py — WHEP viewers made of GStreamer's
webrtcbin through Python gi, for the tests and the benchmarks (one module:
bench/ imports it through sys.path). Each peer offers what web/viewer.js
offers (a recvonly H.264 transceiver and the `input` data channel), with
host candidates on 127.0.0.1 only (other candidates are stripped from the
offer: the daemon must never send to another host), POSTs it to
/api/v1/lobbies/{id}/whep of a running lobbyd over its unix socket or its
TCP listener (bearer token), and counts the H.264 access units, key frames
and the picture size it receives (rtph264depay ! h264parse); `decode` peers
also decode with openh264dec; `rtp` peers record each frame's RTP timestamp
and arrival instead.

Needs Debian's /usr/bin/python3 (python3-gi, gir1.2-gst-plugins-bad-1.0).
Three command lines:

  webrtc_peers.py load [--socket S | --port P --token T] --lobby ID [-n N] ...
      the WHEP load client (bench/whep-load; --help). As a library:
          from webrtc_peers import Endpoint, LoadClient
          client = LoadClient(Endpoint(socket="/run/lobbyd.sock"), lobby_id, decode=2)
          client.offer_all(10)              # all POSTs at once; returns when all answered
          client.wait_frames(1, timeout=15) # every peer got at least one frame
          print(client.fps(seconds=5))      # per-peer fps over the next 5 s
          client.close()                    # DELETE every WHEP resource
      A Python without gi (the test runner's) can still import this module:
      `run_cli([...])` runs `load` with /usr/bin/python3 and returns its --json.

  webrtc_peers.py burst TCP_PORT TOKEN LOBBY_ID N [SETTLE_S]
      a join burst seen by a viewer already watching: peer 0 connects and
      watches for 2 s, then N more peers post their offers at once (each
      from its own thread) and connect; SETTLE_S (default 3) after the last
      one connected, one JSON line reports what peer 0 received: {"burst": t,
      "connected": t, "frames": [[arrival, rtp_timestamp, idr], ...]} (times
      in seconds on time.time(); a frame is an RTP timestamp, its arrival
      that of its first packet; idr: it carried NAL type 5). Progress lines
      before it: "answered I", "connected I", "failed I <why>".

  webrtc_peers.py watch PORT TOKEN LOBBY N SECONDS
      N viewers: one JSON line when every peer received a frame ({"ready":
      [...session ids]}) and one SECONDS later ({"peers": [{"frames",
      "key_frames", "width", "height", "session", "state", "error"}]}).
      SECONDS=0: run until killed. $WHEP_PEER_NO_DATA_CHANNEL: offer no data
      channel; $WHEP_PEER_DEBUG: answers and pad links on stderr.
"""
import argparse
import http.client
import json
import os
import subprocess
import sys
import threading
import time

from lbtest import UnixHTTPConnection

PYTHON = "/usr/bin/python3"
HERE = os.path.dirname(os.path.abspath(__file__))

# What chromium (and so web/viewer.js) offers first for H.264.
VIEWER_CAPS = ("application/x-rtp,media=video,encoding-name=H264,payload=102,clock-rate=90000,"
               "packetization-mode=(string)1,profile-level-id=(string)42e01f,"
               "level-asymmetry-allowed=(string)1")

Gst = GstWebRTC = GstSdp = GLib = None


def _gi():
    global Gst, GstWebRTC, GstSdp, GLib
    if Gst is None:
        import gi
        gi.require_version("Gst", "1.0")
        gi.require_version("GstWebRTC", "1.0")
        gi.require_version("GstSdp", "1.0")
        from gi.repository import GLib as _GLib, Gst as _Gst, GstSdp as _GstSdp, GstWebRTC as _GstWebRTC
        _Gst.init(None)
        Gst, GstWebRTC, GstSdp, GLib = _Gst, _GstWebRTC, _GstSdp, _GLib
        _disable_upnp()
    return Gst


def _disable_upnp():
    """libnice starts UPnP IGD discovery in every agent (SSDP multicast on every interface, a GUPnP
    context per peer): off the host, and load that is not lobbyd's. As lobbyd does
    (src/media/lb-webrtc-ice.c): "upnp" is a construct property, so its default is turned off."""
    import ctypes
    factory = Gst.ElementFactory.find("webrtcbin")
    if factory is None or factory.load() is None:
        return
    gobject = ctypes.CDLL("libgobject-2.0.so.0")
    gobject.g_type_class_ref.restype = ctypes.c_void_p
    gobject.g_type_class_ref.argtypes = [ctypes.c_size_t]
    gobject.g_object_class_find_property.restype = ctypes.c_void_p
    gobject.g_object_class_find_property.argtypes = [ctypes.c_void_p, ctypes.c_char_p]
    try:
        nice = ctypes.CDLL("libnice.so.10", mode=os.RTLD_NOLOAD | os.RTLD_LAZY)
    except OSError:
        return
    nice.nice_agent_get_type.restype = ctypes.c_size_t
    gtype = nice.nice_agent_get_type()
    klass = gobject.g_type_class_ref(gtype)  # kept: the class and its default stay
    pspec = gobject.g_object_class_find_property(klass, b"upnp")
    if pspec:
        # GParamSpecBoolean: a GParamSpec (72 bytes on LP64), then gboolean default_value.
        ctypes.c_int.from_address(pspec + 72).value = 0


class Endpoint:
    """Where lobbyd's API is: its unix socket (no token) or TCP host:port + token."""

    def __init__(self, socket=None, host="127.0.0.1", port=None, token=None):
        if socket is None and port is None:
            raise ValueError("an Endpoint needs a unix socket or a TCP port")
        self.socket, self.host, self.port, self.token = socket, host, port, token

    def request(self, method, path, body=None, content_type=None, timeout=60):
        conn = (UnixHTTPConnection(self.socket, timeout) if self.socket
                else http.client.HTTPConnection(self.host, self.port, timeout=timeout))
        headers = {}
        if content_type:
            headers["Content-Type"] = content_type
        if self.token and not self.socket:
            headers["Authorization"] = "Bearer " + self.token
        try:
            conn.request(method, path, body=body, headers=headers)
            r = conn.getresponse()
            return r.status, dict(r.getheaders()), r.read()
        finally:
            conn.close()


def nal_types(payload):
    """H.264 NAL unit types in one RTP payload (RFC 6184): single NAL,
    STAP-A, FU-A (start fragment)."""
    if not payload:
        return []
    t = payload[0] & 0x1F
    if t == 28 and len(payload) > 1:
        return [payload[1] & 0x1F] if payload[1] & 0x80 else []
    if t == 24:
        out, i = [], 1
        while i + 2 < len(payload):
            out.append(payload[i + 2] & 0x1F)
            i += 2 + ((payload[i] << 8) | payload[i + 1])
        return out
    return [t]


class Peer:
    """One WHEP viewer: its own pipeline with a webrtcbin. The offer is made
    on the GLib main loop (@on_main runs a function there); once ICE
    gathering completes (or @gather_timeout_s after the offer, with what
    there is: libnice under load may never call it complete), `gathered` is
    set, `offer` holds it and @on_gathered(peer) runs, if given.

    @data_channel: offer the `input` channel. @parse: depayload and parse
    what arrives into access units (frames, key frames, picture size);
    else only a fakesink. @decode: also decode (openh264dec). @rtp: record
    {rtp timestamp: [arrival (time.time()), idr]} in `rtp_frames`."""

    def __init__(self, index, caps=VIEWER_CAPS, decode=False, on_main=None, data_channel=True, parse=True,
                 rtp=False, gather_timeout_s=None, on_gathered=None, on_ready=None):
        _gi()
        self.index = index
        self.decode = decode
        self.parse = parse
        self.on_gathered, self.on_ready = on_gathered, on_ready
        self.gather_timeout_s = gather_timeout_s
        self.lock = threading.Lock()
        self.frames = []      # monotonic arrival time of each H.264 access unit
        self.keyframes = []   # monotonic arrival time of each key frame (IDR access unit)
        self.decoded = 0      # pictures out of openh264dec (decode peers only)
        self.width = self.height = 0
        self.rtp_frames = {} if rtp else None
        self.offer = None
        self.answer = None
        self.status = None
        self.error = None
        self.location = None
        self.session = None
        self.t_post = self.t_answer = None
        self.gathered = threading.Event()
        self.offered = threading.Event()
        self.connected = threading.Event()
        self.pipe = Gst.Pipeline.new("peer%d" % index)
        self.webrtc = Gst.ElementFactory.make("webrtcbin", "webrtc%d" % index)
        self.webrtc.set_property("bundle-policy", GstWebRTC.WebRTCBundlePolicy.MAX_BUNDLE)
        self.pipe.add(self.webrtc)
        # Loopback only: libnice leaves loopback out unless asked.
        # (The wrapper is kept: PyGObject drops one reference too many
        # when it goes, which frees webrtcbin's agent.)
        self.ice = self.webrtc.get_property("ice-agent")
        if self.ice is not None:
            self.ice.emit("add-local-ip-address", "127.0.0.1")
        self.webrtc.connect("pad-added", self._on_pad)
        self.webrtc.connect("notify::ice-gathering-state", self._on_gathering)
        self.webrtc.connect("notify::connection-state", self._on_state)
        self.pipe.set_state(Gst.State.PLAYING)
        self.webrtc.emit("add-transceiver", GstWebRTC.WebRTCRTPTransceiverDirection.RECVONLY,
                         Gst.Caps.from_string(caps) if caps else None)
        if data_channel:
            self.channel = self.webrtc.emit("create-data-channel", "input", None)
        (on_main or (lambda f: f()))(self._create_offer)

    # --- offer -----------------------------------------------------------
    def _create_offer(self):
        self.webrtc.emit("create-offer", None, Gst.Promise.new_with_change_func(self._on_offer))

    def _on_offer(self, promise):
        reply = promise.get_reply()
        offer = reply.get_value("offer") if reply else None
        if offer is None:
            self.error = "create-offer failed"
            self.gathered.set()
            return
        self.webrtc.emit("set-local-description", offer, None)
        self.offered.set()
        if self.gather_timeout_s is not None:
            GLib.timeout_add(int(self.gather_timeout_s * 1000), self._on_gathering, True)
        self._on_gathering()

    def _on_gathering(self, *args):
        late = bool(args) and args[0] is True
        complete = (self.webrtc.get_property("ice-gathering-state")
                    == GstWebRTC.WebRTCICEGatheringState.COMPLETE)
        if self.offered.is_set() and (complete or late) and not self.gathered.is_set():
            desc = self.webrtc.get_property("local-description")
            self.offer = desc.sdp.as_text() if desc else None
            self.gathered.set()
            if self.on_gathered is not None:
                self.on_gathered(self)
        return False

    def _loopback_offer(self):
        # Only loopback candidates: the daemon must never send to another host.
        lines = [l for l in self.offer.split("\r\n")
                 if not l.startswith("a=candidate:") or " 127.0.0.1 " in l]
        return "\r\n".join(lines)

    # --- WHEP ------------------------------------------------------------
    def post(self, endpoint, lobby_id, control=False, timeout=300):
        """POSTs the offer; `status`, `answer`, `location`, `session` or `error`. True on 201."""
        return whep_post(self, self._loopback_offer(), endpoint, lobby_id, control, timeout)

    def apply_answer(self):
        ok, sdp = GstSdp.SDPMessage.new_from_text(self.answer)
        desc = GstWebRTC.WebRTCSessionDescription.new(GstWebRTC.WebRTCSDPType.ANSWER, sdp)
        self.webrtc.emit("set-remote-description", desc, Gst.Promise.new_with_change_func(self._on_remote_set))
        return False

    def _on_remote_set(self, promise):
        reply = promise.get_reply()
        if reply is not None and reply.has_field("error"):
            self.error = "set-remote-description: %s" % reply.get_value("error")

    # --- media -----------------------------------------------------------
    def _on_pad(self, webrtc, pad):
        if pad.get_direction() != Gst.PadDirection.SRC:
            return
        if self.rtp_frames is not None:
            pad.add_probe(Gst.PadProbeType.BUFFER, self._on_rtp)
        if not self.parse:
            sink = Gst.ElementFactory.make("fakesink", None)
            sink.set_property("sync", False)
            self.pipe.add(sink)
            sink.sync_state_with_parent()
            pad.link(sink.get_static_pad("sink"))
            return
        chain = "rtph264depay ! h264parse ! capsfilter name=au caps=video/x-h264,alignment=au"
        if self.decode:
            # One segment in running time: the decoder would clip (drop) pictures
            # whose RTP-derived timestamps fall before the segment start.
            chain += " ! identity single-segment=true ! openh264dec ! fakesink name=sink sync=false async=false"
        else:
            chain += " ! fakesink name=sink sync=false async=false"
        sink_bin = Gst.parse_bin_from_description(chain, True)
        self.pipe.add(sink_bin)
        sink_bin.sync_state_with_parent()
        sink_bin.get_by_name("au").get_static_pad("src").add_probe(Gst.PadProbeType.BUFFER, self._on_au)
        if self.decode:
            sink_bin.get_by_name("sink").get_static_pad("sink").add_probe(Gst.PadProbeType.BUFFER,
                                                                           self._on_decoded)
        res = pad.link(sink_bin.get_static_pad("sink"))
        if os.environ.get("WHEP_PEER_DEBUG"):
            sys.stderr.write("pad %s linked: %s\n" % (pad.get_name(), res))

    def _on_au(self, pad, info):
        buf = info.get_buffer()
        now = time.monotonic()
        with self.lock:
            self.frames.append(now)
            if not buf.has_flags(Gst.BufferFlags.DELTA_UNIT):
                self.keyframes.append(now)
            first = len(self.frames) == 1
        if first:
            s = pad.get_current_caps().get_structure(0)
            self.width, self.height = s.get_value("width"), s.get_value("height")
            if self.on_ready is not None:
                GLib.idle_add(self.on_ready)
        return Gst.PadProbeReturn.OK

    def _on_decoded(self, pad, info):
        with self.lock:
            self.decoded += 1
        return Gst.PadProbeReturn.OK

    def _on_rtp(self, pad, info):
        data = info.get_buffer().extract_dup(0, 65536)
        if len(data) < 13:
            return Gst.PadProbeReturn.OK
        off = 12 + 4 * (data[0] & 0x0F)
        if data[0] & 0x10 and len(data) >= off + 4:  # header extension
            off += 4 + 4 * ((data[off + 2] << 8) | data[off + 3])
        ts = int.from_bytes(data[4:8], "big")
        frame = self.rtp_frames.setdefault(ts, [time.time(), False])
        if 5 in nal_types(data[off:]):
            frame[1] = True
        return Gst.PadProbeReturn.OK

    def _on_state(self, *_):
        if self.webrtc.get_property("connection-state") == GstWebRTC.WebRTCPeerConnectionState.CONNECTED:
            self.connected.set()

    def frames_between(self, t0, t1):
        with self.lock:
            return sum(1 for t in self.frames if t0 <= t < t1)

    def keyframes_between(self, t0, t1):
        with self.lock:
            return sum(1 for t in self.keyframes if t0 <= t < t1)

    def state(self):
        return self.webrtc.get_property("connection-state").value_nick

    def stop(self):
        self.pipe.set_state(Gst.State.NULL)


def whep_post(peer, offer, endpoint, lobby_id, control=False, timeout=300):
    """POSTs @offer for @peer (a Peer here, or bench/whep_lite's): sets its t_post, t_answer,
    `status`, `answer`, `location`, `session` or `error`. True on 201."""
    path = "/api/v1/lobbies/%s/whep%s" % (lobby_id, "/control" if control else "")
    peer.t_post = time.monotonic()
    try:
        # Long by default: offers answered one at a time queue up behind each other.
        status, headers, body = endpoint.request("POST", path, offer.encode(), "application/sdp", timeout=timeout)
    except OSError as e:
        peer.error = "POST: %s" % e
        return False
    peer.t_answer = time.monotonic()
    peer.status = status
    if status != 201:
        peer.error = "POST %d: %s" % (status, body[:300].decode(errors="replace"))
        return False
    peer.location = headers.get("Location") or headers.get("location")
    peer.session = peer.location.split("/")[-2] if peer.location else None
    peer.answer = body.decode()
    if os.environ.get("WHEP_PEER_DEBUG"):
        sys.stderr.write(peer.answer)
    return True


def delete_all(endpoint, peers):
    """DELETEs every answered peer's WHEP resource, all at once as they were POSTed (one by
    one, 100 take minutes on a loaded box)."""
    def delete(p):
        try:
            endpoint.request("DELETE", p.location, timeout=30)
        except OSError:
            pass

    threads = [threading.Thread(target=delete, args=(p,), daemon=True) for p in peers if p.location]
    for t in threads:
        t.start()
    for t in threads:
        t.join()


class LoadClient:
    """N WHEP peers of one lobby, driven from one GLib main loop thread."""

    def __init__(self, endpoint, lobby_id, caps=VIEWER_CAPS, decode=0, control=False):
        _gi()
        self.endpoint, self.lobby_id, self.caps = endpoint, lobby_id, caps
        self.decode, self.control = decode, control
        self.peers = []
        self.ctx = GLib.MainContext.default()
        self.loop = GLib.MainLoop.new(self.ctx, False)
        self.thread = threading.Thread(target=self.loop.run, daemon=True)
        self.thread.start()
        self.t_first_post = self.t_all_answered = None

    def _on_main(self, func):
        GLib.idle_add(lambda: (func(), False)[1])

    def make_peers(self, n, timeout=30):
        """Creates @n more peers and waits until each has its offer (ICE gathered)."""
        new = []
        for _ in range(n):
            i = len(self.peers)
            p = Peer(i, self.caps, i < self.decode, self._on_main)
            self.peers.append(p)
            new.append(p)
        deadline = time.monotonic() + timeout
        for p in new:
            if not p.gathered.wait(max(0.1, deadline - time.monotonic())):
                p.error = p.error or "ICE gathering did not complete"
        return new

    def post_all(self, peers, concurrency=None):
        """POSTs every peer's offer at once (one thread each); returns when all are answered."""
        self.t_first_post = time.monotonic()
        threads = [threading.Thread(target=p.post, args=(self.endpoint, self.lobby_id, self.control), daemon=True)
                   for p in peers if p.offer is not None]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        self.t_all_answered = time.monotonic()
        for p in peers:
            if p.answer is not None:
                self._on_main(p.apply_answer)
        return self.t_all_answered - self.t_first_post

    def offer_all(self, n, timeout=30):
        """make_peers(n) then post_all: the time from the first POST until all n are answered."""
        return self.post_all(self.make_peers(n, timeout))

    def wait_frames(self, count=1, timeout=20, peers=None):
        peers = [p for p in (peers or self.peers) if p.answer is not None]
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if all(len(p.frames) >= count for p in peers):
                return True
            time.sleep(0.1)
        return False

    def fps(self, seconds=5.0, peers=None):
        """Per-peer frames per second over the next @seconds."""
        peers = peers or self.peers
        t0 = time.monotonic()
        time.sleep(seconds)
        t1 = time.monotonic()
        return [p.frames_between(t0, t1) / (t1 - t0) for p in peers]

    def frame_counts(self, peers=None):
        """Access units received so far, per peer (as LiteLoadClient's)."""
        return [len(p.frames) for p in (peers or self.peers)]

    def client_pid(self):
        """The process whose CPU is the load client's: this one."""
        return os.getpid()

    def report(self, fps=None):
        out = []
        for i, p in enumerate(self.peers):
            out.append({
                "peer": p.index, "status": p.status, "error": p.error, "location": p.location,
                "answer_s": (p.t_answer - p.t_post) if p.t_answer and p.t_post else None,
                "frames": len(p.frames), "keyframes": len(p.keyframes), "decoded": p.decoded if p.decode else None,
                "state": p.state(), "fps": fps[i] if fps is not None and i < len(fps) else None,
                "answer_pt": answer_payload_type(p.answer) if p.answer else None,
            })
        return out

    def close(self):
        delete_all(self.endpoint, self.peers)
        for p in self.peers:
            p.stop()
        self.loop.quit()


def answer_payload_type(sdp):
    """The first payload type of the answer's video m-line, or None."""
    for line in sdp.splitlines():
        if line.startswith("m=video"):
            fields = line.split()
            return int(fields[3]) if len(fields) > 3 and fields[3].isdigit() else None
    return None


def offer_payload_types(sdp):
    for line in sdp.splitlines():
        if line.startswith("m=video"):
            return [int(f) for f in line.split()[3:] if f.isdigit()]
    return []


def run_cli(args, timeout=120):
    """Runs the `load` command line with Debian's python (gi) and returns its --json output."""
    p = subprocess.run([PYTHON, os.path.join(HERE, "webrtc_peers.py"), "load", "--json"] + list(args),
                       capture_output=True, text=True, timeout=timeout)
    lines = [l for l in p.stdout.splitlines() if l.startswith("{")]
    if not lines:  # exit 1 with a report: not every peer was answered
        raise RuntimeError("whep-load failed (%d): %s %s" % (p.returncode, p.stdout[-2000:], p.stderr[-3000:]))
    return json.loads(lines[-1])


def have_gi():
    if not os.path.exists(PYTHON):
        return False
    p = subprocess.run([PYTHON, "-c", "import gi; gi.require_version('GstWebRTC', '1.0');"
                        "from gi.repository import GstWebRTC"], capture_output=True)
    return p.returncode == 0


# --- load ------------------------------------------------------------------

def main_load(argv):
    ap = argparse.ArgumentParser(prog="whep-load", description="N WHEP viewers of one lobbyd lobby; per-peer fps.")
    ap.add_argument("--socket", help="lobbyd's unix socket")
    ap.add_argument("--port", type=int, help="lobbyd's TCP port on 127.0.0.1 (with --token)")
    ap.add_argument("--token", help="bearer token for TCP (default: $LOBBYD_TOKEN)")
    ap.add_argument("--lobby", required=True, help="lobby id")
    ap.add_argument("-n", "--peers", type=int, default=1)
    ap.add_argument("--decode", type=int, default=0, help="how many peers also decode (openh264dec)")
    ap.add_argument("--control", action="store_true", help="POST to .../whep/control")
    ap.add_argument("--caps", default=VIEWER_CAPS, help="the recvonly transceiver's codec preferences")
    ap.add_argument("--settle", type=float, default=3.0, help="seconds after the answers before measuring")
    ap.add_argument("--seconds", type=float, default=5.0, help="fps window")
    ap.add_argument("--print-offer", action="store_true", help="print one peer's offer and exit")
    ap.add_argument("--json", action="store_true", help="one JSON object on stdout")
    args = ap.parse_args(argv)
    if args.print_offer:
        endpoint = Endpoint(socket="/nonexistent")
        c = LoadClient(endpoint, args.lobby, caps=args.caps)
        p = c.make_peers(1)[0]
        print(json.dumps({"offer": p._loopback_offer()}) if args.json else p._loopback_offer())
        c.close()
        return 0
    endpoint = Endpoint(socket=args.socket, port=args.port, token=args.token or os.environ.get("LOBBYD_TOKEN"))
    c = LoadClient(endpoint, args.lobby, caps=args.caps, decode=args.decode, control=args.control)
    try:
        peers = c.make_peers(args.peers)
        answered_s = c.post_all(peers)
        c.wait_frames(1, timeout=args.settle + 15)
        time.sleep(args.settle)
        fps = c.fps(args.seconds)
        rows = c.report(fps)
    finally:
        c.close()
    ok = [r for r in rows if r["status"] == 201]
    summary = {"peers": len(rows), "answered": len(ok), "all_answered_s": answered_s,
               "fps_min": min((r["fps"] for r in ok), default=0.0),
               "fps_mean": sum(r["fps"] for r in ok) / len(ok) if ok else 0.0,
               "offer": peers[0].offer if peers else None, "rows": rows}
    if args.json:
        print(json.dumps(summary))
    else:
        print("whep-load: %d peers, %d answered in %.2f s; fps min %.1f mean %.1f over %.0f s"
              % (len(rows), len(ok), answered_s, summary["fps_min"], summary["fps_mean"], args.seconds))
        print("| peer | status | answer s | state | frames | key frames | decoded | fps |")
        print("|---|---|---|---|---|---|---|---|")
        for r in rows:
            print("| %d | %s | %s | %s | %d | %d | %s | %s |" % (
                r["peer"], r["status"] if r["error"] is None else r["error"],
                "%.2f" % r["answer_s"] if r["answer_s"] is not None else "-", r["state"], r["frames"],
                r["keyframes"], "-" if r["decoded"] is None else r["decoded"], "%.1f" % r["fps"] if r["fps"] is not None else "-"))
    return 0 if len(ok) == len(rows) else 1


# --- burst -----------------------------------------------------------------

_out_lock = threading.Lock()


def say(line):
    with _out_lock:
        sys.stdout.write(line + "\n")
        sys.stdout.flush()


def main_burst(argv):
    port, token, lobby, n = int(argv[0]), argv[1], argv[2], int(argv[3])
    settle = float(argv[4]) if len(argv) > 4 else 3.0
    _gi()
    endpoint = Endpoint(port=port, token=token)
    loop = GLib.MainLoop()
    threading.Thread(target=loop.run, daemon=True).start()

    def post(peer):
        # WHEP has no trickle: the offer goes out with all candidates.
        if not peer.post(endpoint, lobby, timeout=60):
            say("failed %d %s" % (peer.index, peer.error.replace("\n", " ")[:220]))
            return
        say("answered %d" % peer.index)
        peer.apply_answer()

    def make(i, rtp=False):
        # Browsers' fmtp (Chromium's form); no data channel; nothing parsed:
        # only the watcher (peer 0) records its RTP.
        p = Peer(i, data_channel=False, parse=False, rtp=rtp,
                 on_gathered=lambda peer: threading.Thread(target=post, args=(peer,), daemon=True).start())
        return p

    def wait_connected(p, timeout):
        if not p.connected.wait(timeout):
            return False
        say("connected %d" % p.index)
        return True

    watcher = make(0, rtp=True)
    if not wait_connected(watcher, 30):
        say("failed 0 not connected")
        return 1
    time.sleep(2.0)
    burst = time.time()
    peers = [make(i + 1) for i in range(n)]
    deadline = time.time() + 90
    for p in peers:
        if not wait_connected(p, max(0.1, deadline - time.time())):
            say("failed %d not connected" % p.index)
            return 1
    connected = time.time()
    time.sleep(settle)
    frames = sorted([a, ts, idr] for ts, (a, idr) in list(watcher.rtp_frames.items()))
    say(json.dumps({"burst": burst, "connected": connected, "frames": frames}))
    for p in [watcher] + peers:
        p.stop()
    loop.quit()
    return 0


# --- watch -----------------------------------------------------------------

def main_watch(argv):
    port, token, lobby, n, seconds = int(argv[0]), argv[1], argv[2], int(argv[3]), float(argv[4])
    _gi()
    endpoint = Endpoint(port=port, token=token)
    loop = GLib.MainLoop()
    peers = []
    done = {"said": False, "finished": False}

    def ready():
        if all(p.frames for p in peers) and not done["said"]:
            done["said"] = True
            print(json.dumps({"ready": [p.session for p in peers]}), flush=True)
            if seconds > 0:
                GLib.timeout_add(int(seconds * 1000), finish)
        return False

    def post(peer):
        if peer.post(endpoint, lobby, timeout=30):
            GLib.idle_add(peer.apply_answer)

    for i in range(n):
        peers.append(Peer(i, data_channel=not os.environ.get("WHEP_PEER_NO_DATA_CHANNEL"), gather_timeout_s=2.0,
                          on_ready=ready,
                          on_gathered=lambda peer: threading.Thread(target=post, args=(peer,), daemon=True).start()))

    def finish():
        if done["finished"]:
            return False
        done["finished"] = True
        print(json.dumps({"peers": [{"frames": len(p.frames), "key_frames": len(p.keyframes), "width": p.width,
                                     "height": p.height, "session": p.session, "state": p.state(),
                                     "error": p.error} for p in peers]}), flush=True)
        loop.quit()
        return False

    def status():
        sys.stderr.write("status: %s\n" % json.dumps([[p.state(), len(p.frames), p.error, p.gathered.is_set(),
                                                       p.session] for p in peers]))
        return True

    GLib.timeout_add_seconds(5, status)
    if seconds > 0:
        # Never all ready: report what there is.
        GLib.timeout_add(int((seconds + 90) * 1000), finish)
    loop.run()
    sys.stdout.flush()
    # No teardown: the kept ICE-agent wrappers would unref on exit.
    os._exit(0)


COMMANDS = {"load": main_load, "burst": main_burst, "watch": main_watch}

if __name__ == "__main__":
    if len(sys.argv) < 2 or sys.argv[1] not in COMMANDS:
        sys.stderr.write("usage: webrtc_peers.py {%s} ARGS... (see the module's docstring)\n" % ",".join(COMMANDS))
        sys.exit(2)
    sys.exit(COMMANDS[sys.argv[1]](sys.argv[2:]))
