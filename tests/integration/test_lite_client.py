"""The light WebRTC load client (bench/lite-viewers.c, bench/whep_lite.py,
issue 11): N WHEP viewers in one C process, one thread, that bench/whep-scale
uses so it measures lobbyd rather than N webrtcbins. Its peers must really
receive lobbyd's stream: every assertion is on what they counted after
SRTP (access units, key frames), not on connection state, and a lobbyd that
sends nothing (stopped) must leave the counts where they were."""
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import unittest

from lbtest import ROOT, Daemon, wait_until

sys.path.insert(0, os.path.join(ROOT, "bench"))
import whep_lite  # noqa: E402
from webrtc_peers import Endpoint  # noqa: E402

# peer_timeout_s=3: a session the client does not keep alive (consent checks
# for lite, RTCP for webrtcbin, whose STUN stays inside libnice) ends soon.
LOOPBACK = "ice_addresses=127.0.0.1\nallowed_candidates=127.0.0.0/8\npeer_timeout_s=3\n"
# Key frames only when asked (join, PLI), so a PLI's key frame is visible.
ENCODER = "[encoder]\nkeyframe_interval_ms=20000\njoin_keyframe_min_interval_ms=0\n"


def lite_binary():
    return whep_lite.binary(os.environ.get("LOBBYD_BUILD", "build"))


class LiteClientTest(unittest.TestCase):
    def start(self, stack):
        self.d = Daemon(config_extra="[webrtc]\nstack=%s\n%s%s" % (stack, LOOPBACK,
                                                          ENCODER)).start()
        self.addCleanup(self.d.cleanup)
        self.lobby = self.d.create_lobby(name="lite", width=320, height=240, fps=30).json["id"]
        self.client = whep_lite.LiteLoadClient(Endpoint(socket=self.d.socket), self.lobby,
                                               build=os.environ.get("LOBBYD_BUILD", "build"))
        self.addCleanup(self.client.close)

    def join(self, n):
        peers = self.client.make_peers(n)
        self.client.post_all(peers)
        self.assertEqual([p.status for p in peers], [201] * n, [p.error for p in peers])
        return peers

    def counts(self):
        return {s["peer"]: s for s in self.client.stats()}

    def assert_receiving(self, peers, aus=30, timeout=20):
        ok = wait_until(lambda: all(self.counts()[p.index]["aus"] >= aus for p in peers), timeout=timeout)
        stats = self.counts()
        self.assertTrue(ok, "not every peer got %d access units: %s\nclient: %s" % (
            aus, [stats[p.index] for p in peers], self.client.stderr_text()[-2000:]))
        for p in peers:
            s = stats[p.index]
            self.assertGreaterEqual(s["keyframes"], 1, s)
            self.assertEqual(s["srtp_errors"], 0, s)
        return stats

    def test_five_lite_peers_receive_frames_and_key_frames(self):
        self.start("lite")
        peers = self.join(5)
        first = self.assert_receiving(peers)
        # Still rising a second later: a live stream, not a burst at connect.
        time.sleep(1.0)
        later = self.counts()
        for p in peers:
            self.assertGreater(later[p.index]["aus"], first[p.index]["aus"] + 10, later[p.index])
            self.assertEqual(later[p.index]["dtls"], "client", later[p.index])  # lite answers setup:passive
        self.assert_still_receiving(peers)

    def test_counts_stop_when_lobbyd_sends_nothing(self):
        # The counts are lobbyd's packets: with lobbyd stopped they stand still.
        self.start("lite")
        peers = self.join(2)
        self.assert_receiving(peers, aus=10)
        os.kill(self.d.proc.pid, signal.SIGSTOP)
        try:
            time.sleep(0.3)  # what was in flight
            before = self.counts()
            time.sleep(1.0)
            after = self.counts()
        finally:
            os.kill(self.d.proc.pid, signal.SIGCONT)
        self.assertEqual([after[p.index]["aus"] for p in peers], [before[p.index]["aus"] for p in peers])
        self.assertEqual([after[p.index]["rtp"] for p in peers], [before[p.index]["rtp"] for p in peers])
        # Consent refresh kept the sessions: frames flow again.
        self.assertTrue(wait_until(lambda: all(self.counts()[p.index]["aus"] > after[p.index]["aus"] + 10
                                               for p in peers), timeout=15), self.counts())

    def test_pli_gets_a_key_frame(self):
        self.start("lite")
        peer = self.join(1)[0]
        self.assert_receiving([peer], aus=20)
        time.sleep(0.5)
        k0 = self.counts()[peer.index]["keyframes"]
        self.assertTrue(self.client.pli(peer))
        self.assertTrue(wait_until(lambda: self.counts()[peer.index]["keyframes"] > k0, timeout=5),
                        self.counts()[peer.index])

    @unittest.skipUnless(shutil.which("ffprobe"), "needs ffprobe")
    def test_received_h264_decodes(self):
        self.start("lite")
        peer = self.join(1)[0]
        self.assert_receiving([peer], aus=5)
        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, "peer.h264")
            self.assertTrue(self.client.dump(peer, path))
            self.client.pli(peer)  # the dump starts at the next SPS
            k0 = self.counts()[peer.index]["aus"]
            self.assertTrue(wait_until(lambda: self.counts()[peer.index]["aus"] > k0 + 45, timeout=15))
            self.client.call(cmd="close", peer=peer.index)  # flushes the file
            p = subprocess.run(["ffprobe", "-v", "error", "-count_frames", "-select_streams", "v:0",
                                "-show_entries", "stream=codec_name,width,height,nb_read_frames", "-of", "json",
                                path], capture_output=True, text=True, timeout=60)
            self.assertEqual(p.returncode, 0, p.stderr)
            stream = json.loads(p.stdout)["streams"][0]
            self.assertEqual((stream["codec_name"], stream["width"], stream["height"]), ("h264", 320, 240))
            self.assertGreaterEqual(int(stream["nb_read_frames"]), 30, stream)

    def test_webrtcbin_stack_peers_receive_frames(self):
        # stack=webrtcbin answers a=setup:active: the client is the DTLS
        # server, and lobbyd's libnice sends its own checks.
        self.start("webrtcbin")
        peers = self.join(2)
        stats = self.assert_receiving(peers)
        for p in peers:
            self.assertEqual(stats[p.index]["dtls"], "server", stats[p.index])
        self.assert_still_receiving(peers)

    def assert_still_receiving(self, peers):
        """Past peer_timeout_s (3 s): the client keeps the session alive, frames keep coming."""
        time.sleep(4.0)
        before = self.counts()
        time.sleep(1.0)
        after = self.counts()
        for p in peers:
            self.assertGreater(after[p.index]["aus"], before[p.index]["aus"] + 15, (before[p.index], after[p.index]))


if __name__ == "__main__":
    unittest.main()
