"""Issue 12: the lite WebRTC stack sends RTCP sender reports (SRTCP, on the
BUNDLEd transport) for its video and its audio stream, so a browser can
line the two up (webrtcbin sends its own; the lite path writes them like the
RTP output: NTP = wall clock, RTP time = the media's capture time).

The light client (bench/lite-viewers.c) offers H.264 plus a BUNDLEd Opus
m-line, unprotects what arrives and records each SR per SSRC; the mapping of
each stream's latest RTP timestamp through its SR must land near the time
the packet arrived, and the same for both streams (lip sync)."""
import os
import sys
import unittest

from lbtest import ROOT, Daemon, wait_until

sys.path.insert(0, os.path.join(ROOT, "bench"))
sys.path.insert(0, os.path.dirname(__file__))
import whep_lite  # noqa: E402
from test_audio_rtp import create_lobby  # noqa: E402
from webrtc_peers import Endpoint  # noqa: E402

LOOPBACK = "ice_addresses=127.0.0.1\nallowed_candidates=127.0.0.0/8\npeer_timeout_s=10\n"


def signed32(v):
    v &= 0xffffffff
    return v - (1 << 32) if v >= 1 << 31 else v


def capture_to_arrival(st, ssrc, last_ts, last_real, rate):
    """Seconds from capture (the SR's mapping of @last_ts) to its arrival."""
    sr = next(s for s in st["srs"] if s["ssrc"] == ssrc)
    captured = sr["ntp"] + signed32(last_ts - sr["rtp_ts"]) / rate
    return last_real - captured


class LiteSenderReportTest(unittest.TestCase):
    def setUp(self):
        self.d = Daemon(config_extra="[webrtc]\nstack=lite\n" + LOOPBACK).start()
        self.addCleanup(self.d.cleanup)
        self.lobby = create_lobby(self.d, name="lite-sync")["id"]
        state = {}

        def running():
            state.update(self.d.request("GET", "/api/v1/lobbies/" + self.lobby).json)
            return state.get("audio_state") == "running"
        self.assertTrue(wait_until(running, timeout=10.0), state)
        self.client = whep_lite.LiteLoadClient(Endpoint(socket=self.d.socket), self.lobby,
                                               build=os.environ.get("LOBBYD_BUILD", "build"))
        self.addCleanup(self.client.close)

    def stats(self, peer):
        return {s["peer"]: s for s in self.client.stats()}[peer.index]

    def test_video_and_audio_sender_reports(self):
        peer = self.client.make_peers(1, audio=True)[0]
        self.client.post_all([peer])
        self.assertEqual(peer.status, 201, peer.error)
        self.assertRegex(peer.answer, r"m=audio [1-9]\d* UDP/TLS/RTP/SAVPF 111")

        def two_srs_each():
            st = self.stats(peer)
            ssrcs = {s["ssrc"]: s["count"] for s in st["srs"]}
            return (st["aus"] >= 10 and st["audio_rtp"] >= 10
                    and ssrcs.get(st["video_ssrc"], 0) >= 2 and ssrcs.get(st["audio_ssrc"], 0) >= 2)
        ok = wait_until(two_srs_each, timeout=20)
        st = self.stats(peer)
        self.assertTrue(ok, "no SR for both streams: %s\nclient: %s" % (st, self.client.stderr_text()[-2000:]))
        self.assertEqual(st["srtp_errors"], 0, st)
        # SRs only for the streams we got, nothing else.
        self.assertEqual({s["ssrc"] for s in st["srs"]}, {st["video_ssrc"], st["audio_ssrc"]}, st)
        by_ssrc = {s["ssrc"]: s for s in st["srs"]}
        video, audio = by_ssrc[st["video_ssrc"]], by_ssrc[st["audio_ssrc"]]
        # NTP is the sender's wall clock when it sent (same host): close to
        # when it arrived, and the two streams' SRs go out together.
        for sr in (video, audio):
            self.assertLess(abs(sr["ntp"] - sr["real_recv"]), 1.0, sr)
            self.assertGreater(sr["packets"], 0, sr)
        self.assertLess(abs(video["ntp"] - audio["ntp"]), 1.5, (video, audio))
        # The mappings: each stream's latest packet was captured a little
        # before it arrived, and the two delays match (what lip sync needs;
        # generous for a loaded 2-core box under ASan).
        dv = capture_to_arrival(st, st["video_ssrc"], st["video_last_ts"], st["video_last_real"], 90000)
        da = capture_to_arrival(st, st["audio_ssrc"], st["audio_last_ts"], st["audio_last_real"], 48000)
        print("\n  capture->arrival through the SRs: video %.1f ms, audio %.1f ms (offset %.1f ms)"
              % (dv * 1000, da * 1000, (dv - da) * 1000))
        self.assertGreater(dv, -0.1, st)
        self.assertLess(dv, 2.0, st)
        self.assertGreater(da, -0.1, st)
        self.assertLess(da, 2.0, st)
        self.assertLess(abs(dv - da), 0.5, (dv, da, st))
        # lobbyd counts them.
        session = self.d.request("GET", "/api/v1/sessions/" + peer.session).json
        self.assertGreaterEqual(session["stats"]["rtcp_sr_sent"], 4, session["stats"])


if __name__ == "__main__":
    unittest.main()
