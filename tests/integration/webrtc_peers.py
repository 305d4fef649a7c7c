#!/usr/bin/python3
"""N WHEP viewers from GStreamer's webrtcbin (run with /usr/bin/python3: it
needs python3-gi and gir1.2-gst-plugins-bad-1.0, which the pyenv python the
tests run under lacks). Small on purpose: just enough for a test to make real
WebRTC peers connect (bench/whep-load is the full load client).

    webrtc_peers.py TCP_PORT TOKEN LOBBY_ID N [SETTLE_S]

A join burst seen by a viewer already watching: peer 0 connects and watches
for 2 s, then N more peers post their offers at once (each from its own
thread) and connect; SETTLE_S (default 3) after the last one connected, one
JSON line reports what peer 0 received: {"burst": t, "connected": t,
"frames": [[arrival, rtp_timestamp, idr], ...]} (times in seconds on
time.time(); a frame is an RTP timestamp, its arrival that of its first
packet; idr: it carried NAL type 5). Progress lines before it: "answered I",
"connected I", "failed I <why>".
"""
import json
import http.client
import sys
import threading
import time

import gi

gi.require_version("Gst", "1.0")
gi.require_version("GstWebRTC", "1.0")
gi.require_version("GstSdp", "1.0")
from gi.repository import GLib, Gst, GstSdp, GstWebRTC  # noqa: E402

Gst.init(None)

# What a browser offers: recvonly constrained-baseline H.264 (fmtp in
# Chromium's form, which lobbyd's offer check is known to accept).
CAPS = ("application/x-rtp,media=video,encoding-name=H264,payload=102,clock-rate=90000,"
        "packetization-mode=(string)1,profile-level-id=(string)42e01f,"
        "level-asymmetry-allowed=(string)1")

out_lock = threading.Lock()


def say(line):
    with out_lock:
        sys.stdout.write(line + "\n")
        sys.stdout.flush()


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
    def __init__(self, index, port, token, lobby):
        self.index, self.port, self.token, self.lobby = index, port, token, lobby
        self.pipe = Gst.Pipeline.new("peer%d" % index)
        self.webrtc = Gst.ElementFactory.make("webrtcbin", None)
        self.webrtc.set_property("bundle-policy", GstWebRTC.WebRTCBundlePolicy.MAX_BUNDLE)
        self.pipe.add(self.webrtc)
        self.webrtc.connect("pad-added", self.on_pad)
        self.webrtc.connect("notify::ice-gathering-state", self.on_gathering)
        self.webrtc.connect("notify::connection-state", self.on_state)
        self.webrtc.emit("add-transceiver", GstWebRTC.WebRTCRTPTransceiverDirection.RECVONLY,
                         Gst.Caps.from_string(CAPS))
        self.sent = False
        self.connected = threading.Event()
        self.frames = None  # peer 0: {rtp timestamp: [arrival, idr]}
        self.pipe.set_state(Gst.State.PLAYING)

    def start(self):
        promise = Gst.Promise.new_with_change_func(self.on_offer, None)
        self.webrtc.emit("create-offer", None, promise)

    def on_offer(self, promise, _):
        reply = promise.get_reply()
        offer = reply.get_value("offer")
        self.webrtc.emit("set-local-description", offer, Gst.Promise.new())

    def on_gathering(self, *_):
        # WHEP has no trickle: the offer goes out with all candidates.
        if self.webrtc.get_property("ice-gathering-state") != GstWebRTC.WebRTCICEGatheringState.COMPLETE:
            return
        if self.sent:
            return
        self.sent = True
        threading.Thread(target=self.post, daemon=True).start()

    def post(self):
        sdp = self.webrtc.get_property("local-description").sdp.as_text()
        try:
            conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
            conn.request("POST", "/api/v1/lobbies/%s/whep" % self.lobby, body=sdp.encode(),
                         headers={"Content-Type": "application/sdp",
                                  "Authorization": "Bearer " + self.token})
            r = conn.getresponse()
            body = r.read().decode()
            conn.close()
        except OSError as e:
            say("failed %d %s" % (self.index, e))
            return
        if r.status != 201:
            say("failed %d HTTP %d %s" % (self.index, r.status, body[:200].replace("\n", " ")))
            return
        say("answered %d" % self.index)
        _, msg = GstSdp.SDPMessage.new_from_text(body)
        answer = GstWebRTC.WebRTCSessionDescription.new(GstWebRTC.WebRTCSDPType.ANSWER, msg)
        self.webrtc.emit("set-remote-description", answer, Gst.Promise.new())

    def on_pad(self, _, pad):
        sink = Gst.ElementFactory.make("fakesink", None)
        sink.set_property("sync", False)
        self.pipe.add(sink)
        sink.sync_state_with_parent()
        pad.link(sink.get_static_pad("sink"))
        if self.frames is not None:
            pad.add_probe(Gst.PadProbeType.BUFFER, self.on_rtp)

    def on_rtp(self, pad, info):
        data = info.get_buffer().extract_dup(0, 65536)
        if len(data) < 13:
            return Gst.PadProbeReturn.OK
        off = 12 + 4 * (data[0] & 0x0F)
        if data[0] & 0x10 and len(data) >= off + 4:  # header extension
            off += 4 + 4 * ((data[off + 2] << 8) | data[off + 3])
        ts = int.from_bytes(data[4:8], "big")
        frame = self.frames.setdefault(ts, [time.time(), False])
        if 5 in nal_types(data[off:]):
            frame[1] = True
        return Gst.PadProbeReturn.OK

    def on_state(self, *_):
        state = self.webrtc.get_property("connection-state")
        if state == GstWebRTC.WebRTCPeerConnectionState.CONNECTED and not self.connected.is_set():
            self.connected.set()
            say("connected %d" % self.index)
        elif state == GstWebRTC.WebRTCPeerConnectionState.FAILED:
            say("failed %d connection-state failed" % self.index)

    def stop(self):
        self.pipe.set_state(Gst.State.NULL)


def main():
    port, token, lobby, n = int(sys.argv[1]), sys.argv[2], sys.argv[3], int(sys.argv[4])
    settle = float(sys.argv[5]) if len(sys.argv) > 5 else 3.0
    loop = GLib.MainLoop()
    threading.Thread(target=loop.run, daemon=True).start()
    watcher = Peer(0, port, token, lobby)
    watcher.frames = {}
    watcher.start()
    if not watcher.connected.wait(30):
        say("failed 0 not connected")
        return 1
    time.sleep(2.0)
    burst = time.time()
    peers = [Peer(i + 1, port, token, lobby) for i in range(n)]
    for p in peers:
        p.start()
    deadline = time.time() + 90
    for p in peers:
        if not p.connected.wait(max(0.1, deadline - time.time())):
            say("failed %d not connected" % p.index)
            return 1
    connected = time.time()
    time.sleep(settle)
    frames = sorted([a, ts, idr] for ts, (a, idr) in list(watcher.frames.items()))
    say(json.dumps({"burst": burst, "connected": connected, "frames": frames}))
    for p in [watcher] + peers:
        p.stop()
    loop.quit()
    return 0


if __name__ == "__main__":
    sys.exit(main())
