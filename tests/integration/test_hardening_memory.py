"""Issue 9 item 10: join/leave cycles give back what they took — descriptors,
threads, encoder slots and memory. The short form of bench/soak (same offers,
same sampling): WHEP viewers without a browser (a Chromium-style text offer;
lobbyd answers without the peer connecting) and RTP sessions, after a
warm-up, with RSS sampled once the daemon is quiet.

Before the fixes a WHEP join/leave kept 60-90 KB of RSS per cycle with no
plateau (glibc arenas keeping what the media threads freed; lb-memory) and
every request kept its connection and descriptor (libsoup 3.2 keep-alive;
lb-http-server)."""
import importlib.machinery
import os
import time
import unittest

import lbtest

soak = importlib.machinery.SourceFileLoader("soak", os.path.join(lbtest.ROOT, "bench", "soak")).load_module()

# ASan's quarantine holds freed memory back on purpose: RSS says nothing there.
SANITIZED = "ASAN_OPTIONS" in os.environ
WARMUP = 50
# Fixed: a few KB per cycle at most, mostly noise; before: 80-300 KB per WHEP cycle.
WHEP_MAX_KB_PER_CYCLE = 25.0
RTP_MAX_KB_PER_CYCLE = 10.0


class JoinLeaveMemoryTest(lbtest.DaemonTest):
    def soak(self, phase, cycles, samples=15):
        ph = phase(self.d)
        ph.setup()
        self.addCleanup(ph.close)
        start = soak.sample(self.d)
        for i in range(WARMUP):
            ph.cycle(i)
        before = soak.settled(self.d, start)
        every = max(1, cycles // samples)
        points = []
        for i in range(cycles):
            ph.cycle(WARMUP + i)
            if (i + 1) % every == 0:
                time.sleep(0.7)  # lobbyd trims the heap 0.5 s after a teardown
                points.append((i + 1, soak.rss_kb(self.d.proc.pid)))
        after = soak.settled(self.d, before)
        slope = soak.slope([p for p in points if p[0] > cycles // 2])
        detail = "before %s after %s, RSS slope %.1f KB/cycle, samples %s" % (before, after, slope, points)
        self.assertLessEqual(after["fds"], before["fds"], detail)
        self.assertLessEqual(after["threads"], before["threads"], detail)
        self.assertEqual(after["slots"], 0, detail)
        self.assertEqual(self.d.request("GET", "/api/v1/system/gpu-status").json["active_sessions"], 0)
        return slope, detail

    def test_whep_join_leave(self):
        slope, detail = self.soak(soak.WhepPhase, 150)
        if not SANITIZED:
            self.assertLess(slope, WHEP_MAX_KB_PER_CYCLE, detail)

    def test_rtp_join_leave(self):
        slope, detail = self.soak(soak.RtpPhase, 300)
        if not SANITIZED:
            self.assertLess(slope, RTP_MAX_KB_PER_CYCLE, detail)


if __name__ == "__main__":
    unittest.main()
