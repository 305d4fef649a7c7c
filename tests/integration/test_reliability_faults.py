"""Fault tests of the reliability suite (issue 9): what the daemon must survive
without a restart, asserting that everything else keeps working and nothing
leaks."""
import os
import signal
import time

from lbtest import DaemonTest, EventStream, RtpReceiver, free_port, wait_until


def fds(pid):
    return len(os.listdir("/proc/%d/fd" % pid))


def fd_targets(pid):
    out = []
    for fd in sorted(os.listdir("/proc/%d/fd" % pid), key=int):
        try:
            out.append("%s:%s" % (fd, os.readlink("/proc/%d/fd/%s" % (pid, fd))))
        except OSError:
            pass
    return out


class DaemonStopTest(DaemonTest):
    config_extra = "[encoder]\nhardware=off\n"

    def req(self, method, path, body=None, timeout=30):
        # Connection: close, so the fd count measures the daemon, not keep-alive
        # connections the client left (those are issue 9 item 2's idle timeouts).
        return self.d.request(method, path, body, headers={"Connection": "close"}, timeout=timeout)

    def lobby(self, name):
        r = self.req("POST", "/api/v1/lobbies", {"name": name, "video": {"width": 160, "height": 120, "fps": 15}})
        self.assertEqual(r.status, 201, r.body)
        return r.json

    def test_sigstop_sigcont_while_streaming(self):
        """SIGSTOP for 5 s then SIGCONT (a paused VM, a debugger, cgroup
        freezer) while an RTP session streams and an SSE client listens."""
        pid = self.d.proc.pid
        # Warm-up cycle: GStreamer's registry and thread pools stay after the first pipeline.
        warm = self.lobby("warm")
        self.assertEqual(self.req("DELETE", "/api/v1/lobbies/" + warm["id"]).status, 204)
        fds_before = fds(pid)
        targets_before = fd_targets(pid)

        events = EventStream(self.d)
        rx = RtpReceiver(free_port())
        try:
            lobby = self.lobby("stream")
            r = self.req("POST", "/api/v1/lobbies/%s/sessions" % lobby["id"],
                         {"transport": "rtp", "destination": {"host": "127.0.0.1", "port": rx.sock.getsockname()[1]},
                          "profile": {"bitrate_kbps": 300}})
            self.assertEqual(r.status, 201, r.body)
            session = r.json["id"]
            events.wait_for("session.created", timeout=10)
            self.assertTrue(wait_until(lambda: len(rx.packets) > 20, timeout=15), "no RTP before the stop")

            os.kill(pid, signal.SIGSTOP)
            try:
                time.sleep(5)
                stopped_at = len(rx.packets)
                time.sleep(0.3)
                self.assertLessEqual(len(rx.packets) - stopped_at, 2, "packets while stopped?")
            finally:
                os.kill(pid, signal.SIGCONT)
            t0 = time.time()

            # The API answers at once (well under the 5 s it was away).
            self.assertEqual(self.req("GET", "/api/v1/status", timeout=10).status, 200)
            self.assertLess(time.time() - t0, 3.0)
            # RTP flows again on the same stream (same SSRC, the session still running).
            resumed = len(rx.packets)
            self.assertTrue(wait_until(lambda: len(rx.packets) > resumed + 20, timeout=10),
                            "RTP did not resume after SIGCONT")
            self.assertEqual(len(rx.ssrcs()), 1)
            s = self.req("GET", "/api/v1/sessions/" + session).json
            self.assertEqual(s["state"], "running", s)
            # The SSE client, still on its first connection, gets new events.
            last_id = events.events[-1]["id"]
            other = self.lobby("after")
            created = events.wait_for("lobby.created", timeout=10, count=2)
            self.assertEqual(created[-1]["data"]["lobby_id"], other["id"])
            self.assertGreater(created[-1]["id"], last_id)

            for lid in (lobby["id"], other["id"]):
                self.assertEqual(self.req("DELETE", "/api/v1/lobbies/" + lid).status, 204)
        finally:
            rx.close()
            events.close()
        # The daemon notices the closed SSE client when it next writes to it.
        self.assertEqual(self.req("DELETE", "/api/v1/lobbies/" + self.lobby("poke")["id"]).status, 204)
        # Nothing leaked: no lobby, session or pipeline; the fds of the run are back.
        status = self.req("GET", "/api/v1/status").json
        self.assertEqual((status["lobbies"], status["sessions"], status["pipelines"]), (0, 0, 0), status)
        self.assertTrue(wait_until(lambda: fds(pid) <= fds_before + 1, timeout=10),
                        "fds %d -> %d: %s -> %s" % (fds_before, fds(pid), targets_before, fd_targets(pid)))
        self.assertIsNone(self.d.proc.poll())
