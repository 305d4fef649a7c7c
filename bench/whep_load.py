#!/usr/bin/python3
"""bench/whep_load.py — a WHEP load client: N real WebRTC peers (GStreamer's
webrtcbin through Python gi), each offering what web/viewer.js offers
(recvonly H.264 + the `input` data channel), POSTed to
/api/v1/lobbies/{id}/whep of a running lobbyd over its unix socket or its TCP
listener (bearer token), connected over loopback only. Each peer counts the
H.264 access units it receives (and key frames); `decode` of them also decode
with openh264dec and count decoded pictures, the stronger proof.

Needs Debian's /usr/bin/python3 (python3-gi, gir1.2-gst-plugins-bad-1.0):
the CLI is bench/whep-load. As a library:

    from whep_load import Endpoint, LoadClient
    client = LoadClient(Endpoint(socket="/run/lobbyd.sock"), lobby_id, decode=2)
    client.offer_all(10)              # all POSTs at once; returns when all answered
    client.wait_frames(1, timeout=15) # every peer got at least one frame
    print(client.fps(seconds=5))      # per-peer fps over the next 5 s
    client.close()                    # DELETE every WHEP resource

A Python without gi (the test runner's) can still import this module:
`run_cli([...])` runs the CLI with /usr/bin/python3 and returns its --json.
"""
import argparse
import http.client
import json
import os
import socket
import subprocess
import sys
import threading
import time

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


class UnixHTTPConnection(http.client.HTTPConnection):
    def __init__(self, path, timeout=30):
        super().__init__("localhost", timeout=timeout)
        self.unix_path = path

    def connect(self):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(self.timeout)
        s.connect(self.unix_path)
        self.sock = s


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


class Peer:
    """One WHEP viewer: its own pipeline with a webrtcbin."""

    def __init__(self, index, caps, decode, on_main):
        _gi()
        self.index = index
        self.decode = decode
        self.lock = threading.Lock()
        self.frames = []      # monotonic arrival time of each H.264 access unit
        self.keyframes = []   # monotonic arrival time of each key frame (IDR access unit)
        self.decoded = 0      # pictures out of openh264dec (decode peers only)
        self.offer = None
        self.answer = None
        self.status = None
        self.error = None
        self.location = None
        self.t_post = self.t_answer = None
        self.gathered = threading.Event()
        self.offered = threading.Event()
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
        self.pipe.set_state(Gst.State.PLAYING)
        self.webrtc.emit("add-transceiver", GstWebRTC.WebRTCRTPTransceiverDirection.RECVONLY,
                         Gst.Caps.from_string(caps) if caps else None)
        self.channel = self.webrtc.emit("create-data-channel", "input", None)
        on_main(self._create_offer)

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
        self._on_gathering()

    def _on_gathering(self, *args):
        if (self.offered.is_set() and self.webrtc.get_property("ice-gathering-state")
                == GstWebRTC.WebRTCICEGatheringState.COMPLETE and not self.gathered.is_set()):
            desc = self.webrtc.get_property("local-description")
            self.offer = desc.sdp.as_text() if desc else None
            self.gathered.set()

    def _loopback_offer(self):
        # Only loopback candidates: the daemon must never send to another host.
        lines = [l for l in self.offer.split("\r\n")
                 if not l.startswith("a=candidate:") or " 127.0.0.1 " in l]
        return "\r\n".join(lines)

    # --- WHEP ------------------------------------------------------------
    def post(self, endpoint, lobby_id, control=False):
        whep_post(self, self._loopback_offer(), endpoint, lobby_id, control)

    def apply_answer(self):
        ok, sdp = GstSdp.SDPMessage.new_from_text(self.answer)
        desc = GstWebRTC.WebRTCSessionDescription.new(GstWebRTC.WebRTCSDPType.ANSWER, sdp)
        self.webrtc.emit("set-remote-description", desc, None)

    # --- media -----------------------------------------------------------
    def _on_pad(self, webrtc, pad):
        if pad.get_direction() != Gst.PadDirection.SRC:
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
        pad.link(sink_bin.get_static_pad("sink"))

    def _on_au(self, pad, info):
        buf = info.get_buffer()
        now = time.monotonic()
        with self.lock:
            self.frames.append(now)
            if not buf.has_flags(Gst.BufferFlags.DELTA_UNIT):
                self.keyframes.append(now)
        return Gst.PadProbeReturn.OK

    def _on_decoded(self, pad, info):
        with self.lock:
            self.decoded += 1
        return Gst.PadProbeReturn.OK

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


def whep_post(peer, offer, endpoint, lobby_id, control=False):
    """POSTs @offer; sets @peer's t_post, t_answer, status, error, location and answer."""
    path = "/api/v1/lobbies/%s/whep%s" % (lobby_id, "/control" if control else "")
    peer.t_post = time.monotonic()
    try:
        # Long: offers answered one at a time queue up behind each other.
        status, headers, body = endpoint.request("POST", path, offer.encode(), "application/sdp", timeout=300)
    except OSError as e:
        peer.error = "POST: %s" % e
        return
    peer.t_answer = time.monotonic()
    peer.status = status
    if status != 201:
        peer.error = "POST %d: %s" % (status, body[:300].decode(errors="replace"))
        return
    peer.location = headers.get("Location") or headers.get("location")
    peer.answer = body.decode()


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
        def delete(p):
            try:
                self.endpoint.request("DELETE", p.location, timeout=30)
            except OSError:
                pass

        # All at once, as they were POSTed: one by one, 100 take minutes on a loaded box.
        threads = [threading.Thread(target=delete, args=(p,), daemon=True) for p in self.peers if p.location]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
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
    """Runs this module's CLI with Debian's python (gi) and returns its --json output."""
    p = subprocess.run([PYTHON, os.path.join(HERE, "whep_load.py"), "--json"] + list(args),
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


def main():
    ap = argparse.ArgumentParser(description="N WHEP viewers of one lobbyd lobby; per-peer fps.")
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
    args = ap.parse_args()
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


if __name__ == "__main__":
    sys.exit(main())
