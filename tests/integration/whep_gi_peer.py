#!/usr/bin/python3
"""WHEP viewers made of GStreamer's webrtcbin (Python gi), for the lite
WebRTC tests and measurements (tests/integration/test_webrtc_lite.py).

Each peer offers what web/viewer.js offers (recvonly H.264 and the "input"
data channel), host candidates on 127.0.0.1 only, POSTs the offer to lobbyd
and parses what arrives into frames (rtph264depay ! h264parse: access
units, key frames and the picture size from the SPS; Debian's openh264dec
refuses x264's 640x360 stream, and the browser test decodes).

  whep_gi_peer.py PORT TOKEN LOBBY N SECONDS
prints one JSON line when every peer received a frame ({"ready": [...session
ids]}) and one SECONDS later ({"peers": [{"frames", "key_frames", "width", "height",
"session", "state"}]}). SECONDS=0: run until killed."""
import json
import os
import sys
import threading
import urllib.error
import urllib.request

import gi

gi.require_version("Gst", "1.0")
gi.require_version("GstWebRTC", "1.0")
gi.require_version("GstSdp", "1.0")
from gi.repository import GLib, Gst, GstSdp, GstWebRTC  # noqa: E402

CAPS = ("application/x-rtp,media=video,encoding-name=H264,payload=102,clock-rate=90000,"
        "packetization-mode=(string)1,profile-level-id=(string)42e01f,level-asymmetry-allowed=(string)1")


class Peer:
    def __init__(self, port, token, lobby, on_ready):
        self.port, self.token, self.lobby, self.on_ready = port, token, lobby, on_ready
        self.frames = 0
        self.key_frames = 0
        self.width = self.height = 0
        self.session = None
        self.error = None
        self.answered = False
        self.pipe = Gst.Pipeline.new()
        self.webrtc = Gst.ElementFactory.make("webrtcbin")
        self.webrtc.set_property("bundle-policy", GstWebRTC.WebRTCBundlePolicy.MAX_BUNDLE)
        # Loopback only. PyGObject drops one reference too many on this
        # property's value: the wrapper is kept for the process's life.
        self.agent = self.webrtc.get_property("ice-agent")
        self.agent.emit("add-local-ip-address", "127.0.0.1")
        self.pipe.add(self.webrtc)
        self.webrtc.connect("pad-added", self.on_pad)
        self.webrtc.connect("notify::ice-gathering-state", self.on_gathering)
        self.webrtc.emit("add-transceiver", GstWebRTC.WebRTCRTPTransceiverDirection.RECVONLY,
                         Gst.Caps.from_string(CAPS))
        self.pipe.set_state(Gst.State.PLAYING)
        if not os.environ.get("WHEP_PEER_NO_DATA_CHANNEL"):
            self.webrtc.emit("create-data-channel", "input", None)
        self.webrtc.emit("create-offer", None, Gst.Promise.new_with_change_func(self.on_offer))

    def on_offer(self, promise):
        reply = promise.get_reply()
        offer = reply.get_value("offer")
        self.webrtc.emit("set-local-description", offer, None)
        # libnice under load may never call gathering complete: post what
        # there is after a while (the 127.0.0.1 host candidate comes first).
        GLib.timeout_add(2000, self.on_gathering, True)

    def on_gathering(self, *args):
        late = args and args[0] is True
        if not late and self.webrtc.get_property("ice-gathering-state") != GstWebRTC.WebRTCICEGatheringState.COMPLETE:
            return False
        if self.answered:
            return False
        self.answered = True
        sdp = self.webrtc.get_property("local-description").sdp.as_text()
        threading.Thread(target=self.post, args=(sdp,), daemon=True).start()
        return False

    def post(self, sdp):
        req = urllib.request.Request(
            "http://127.0.0.1:%d/api/v1/lobbies/%s/whep" % (self.port, self.lobby), data=sdp.encode(),
            headers={"Content-Type": "application/sdp", "Authorization": "Bearer " + self.token})
        try:
            with urllib.request.urlopen(req, timeout=30) as r:
                answer = r.read().decode()
                if os.environ.get("WHEP_PEER_DEBUG"):
                    sys.stderr.write(answer)
                self.session = r.headers.get("Location", "").split("/")[-2]
        except urllib.error.HTTPError as e:
            self.error = "%s: %s" % (e, e.read().decode(errors="replace")[:300])
            return
        except Exception as e:  # noqa: BLE001
            self.error = str(e)
            return
        GLib.idle_add(self.set_answer, answer)

    def set_answer(self, text):
        res, msg = GstSdp.SDPMessage.new_from_text(text)
        desc = GstWebRTC.WebRTCSessionDescription.new(GstWebRTC.WebRTCSDPType.ANSWER, msg)
        self.webrtc.emit("set-remote-description", desc, Gst.Promise.new_with_change_func(self.on_remote_set))
        return False

    def on_remote_set(self, promise):
        reply = promise.get_reply()
        if reply is not None and reply.has_field("error"):
            self.error = "set-remote-description: %s" % reply.get_value("error")

    def on_pad(self, element, pad):
        if pad.direction != Gst.PadDirection.SRC:
            return
        chain = [Gst.ElementFactory.make(n) for n in ("rtph264depay", "h264parse", "fakesink")]
        for e in chain:
            self.pipe.add(e)
        for a, b in zip(chain, chain[1:]):
            a.link(b)
        for e in chain:
            e.sync_state_with_parent()
        res = pad.link(chain[0].get_static_pad("sink"))
        if os.environ.get("WHEP_PEER_DEBUG"):
            sys.stderr.write("pad %s linked: %s\n" % (pad.get_name(), res))
        chain[2].get_static_pad("sink").add_probe(Gst.PadProbeType.BUFFER, self.on_frame)

    def on_frame(self, pad, info):
        self.frames += 1
        if not info.get_buffer().has_flags(Gst.BufferFlags.DELTA_UNIT):
            self.key_frames += 1
        if self.frames == 1:
            caps = pad.get_current_caps()
            s = caps.get_structure(0)
            self.width, self.height = s.get_value("width"), s.get_value("height")
            GLib.idle_add(self.on_ready)
        return Gst.PadProbeReturn.OK

    def state(self):
        return self.webrtc.get_property("connection-state").value_nick


def main():
    port, token, lobby, n, seconds = int(sys.argv[1]), sys.argv[2], sys.argv[3], int(sys.argv[4]), float(sys.argv[5])
    Gst.init(None)
    loop = GLib.MainLoop()
    peers = []

    def ready():
        if all(p.frames > 0 for p in peers) and not getattr(main, "said", False):
            main.said = True
            print(json.dumps({"ready": [p.session for p in peers]}), flush=True)
            if seconds > 0:
                GLib.timeout_add(int(seconds * 1000), finish)
        return False

    for _ in range(n):
        peers.append(Peer(port, token, lobby, ready))

    def finish():
        if getattr(main, "finished", False):
            return False
        main.finished = True
        print(json.dumps({"peers": [{"frames": p.frames, "key_frames": p.key_frames, "width": p.width, "height": p.height,
                                     "session": p.session, "state": p.state(), "error": p.error}
                                    for p in peers]}), flush=True)
        loop.quit()
        return False

    def status():
        sys.stderr.write("status: %s\n" % json.dumps([[p.state(), p.frames, p.error, p.answered, p.session] for p in peers]))
        return True

    GLib.timeout_add_seconds(5, status)
    if seconds > 0:
        # Never all ready: report what there is.
        GLib.timeout_add(int((seconds + 90) * 1000), finish)
    loop.run()
    sys.stdout.flush()
    # No teardown: the kept ICE-agent wrappers would unref on exit.
    os._exit(0)


if __name__ == "__main__":
    main()
