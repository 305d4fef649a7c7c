"""Idempotent creates under concurrency, kill -9 + restart, delete, clean stop."""
import os
import stat
import threading
import time
import unittest

from lbtest import Daemon, DaemonTest, decode_rtp, free_port, count_udp_packets


class ConcurrentCreateTest(DaemonTest):
    def test_50_concurrent_creates_with_one_key_make_one_lobby(self):
        results = []
        barrier = threading.Barrier(50)

        def worker(i):
            barrier.wait()
            r = self.d.create_lobby(name="racer-%d" % i, key="orchestrator-session-1")
            results.append((r.status, r.json["id"]))

        threads = [threading.Thread(target=worker, args=(i,)) for i in range(50)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        statuses = sorted(s for s, _ in results)
        self.assertEqual(len(results), 50)
        self.assertEqual(statuses.count(201), 1, statuses)
        self.assertEqual(statuses.count(200), 49, statuses)
        self.assertEqual(len({i for _, i in results}), 1)
        lobbies = self.d.request("GET", "/api/v1/lobbies").json["lobbies"]
        self.assertEqual(len(lobbies), 1)
        by_key = self.d.request("GET", "/api/v1/lobbies/by-key/orchestrator-session-1")
        self.assertEqual(by_key.json["id"], results[0][1])


class RestartTest(unittest.TestCase):
    def test_kill9_restart_keeps_ids_and_stream_resumes(self):
        d = Daemon(config_extra="[encoder]\nkeyframe_interval_ms=1000\n").start()
        try:
            a = d.create_lobby(name="a", key="key-a").json
            b = d.create_lobby(name="b", key="key/with spaces").json
            port = free_port()
            s = d.join(a["id"], port, width=160, height=120).json
            self.assertGreater(count_udp_packets(port, 0.5), 0)
            d.kill9()
            self.assertEqual(count_udp_packets(port, 0.5), 0)

            d.start()
            lobbies = {l["id"]: l for l in d.request("GET", "/api/v1/lobbies").json["lobbies"]}
            self.assertEqual(set(lobbies), {a["id"], b["id"]})
            self.assertEqual(lobbies[a["id"]]["session_key"], "key-a")
            self.assertEqual(lobbies[b["id"]]["state"], "running")
            r = d.request("GET", "/api/v1/lobbies/by-key/key%2Fwith%20spaces")
            self.assertEqual(r.json["id"], b["id"])
            # Same key after restart → the same lobby, never a duplicate.
            r = d.create_lobby(name="again", key="key-a")
            self.assertEqual((r.status, r.json["id"]), (200, a["id"]))
            self.assertEqual(len(d.request("GET", "/api/v1/lobbies").json["lobbies"]), 2)
            # The RTP session came back with its id and sends again.
            r = d.request("GET", "/api/v1/sessions/" + s["id"])
            self.assertEqual(r.status, 200)
            self.assertEqual(r.json["state"], "running")
            sdp = d.request("GET", "/api/v1/sessions/%s/sdp" % s["id"]).body.decode()
            sizes, dims, log = decode_rtp(sdp, 30)
            self.assertGreaterEqual(len(sizes), 30, log[-1500:])
            self.assertEqual(dims, (160, 120))
        finally:
            d.cleanup()


class DeleteAndStopTest(unittest.TestCase):
    def test_delete_lobby_stops_stream_and_pipelines(self):
        d = Daemon().start()
        try:
            base = d.request("GET", "/api/v1/status").json["pipelines"]
            lobby = d.create_lobby().json
            port1, port2 = free_port(), free_port()
            s1 = d.join(lobby["id"], port1).json
            d.join(lobby["id"], port2)
            self.assertEqual(d.request("GET", "/api/v1/status").json["pipelines"], base + 1)
            self.assertGreater(count_udp_packets(port1, 0.5), 0)
            r = d.request("DELETE", "/api/v1/lobbies/" + lobby["id"])
            self.assertEqual(r.status, 204)
            time.sleep(0.2)
            self.assertEqual(count_udp_packets(port1, 1.0), 0)
            self.assertEqual(count_udp_packets(port2, 0.3), 0)
            self.assertEqual(d.request("GET", "/api/v1/sessions/" + s1["id"]).status, 404)
            self.assertEqual(d.request("GET", "/api/v1/sessions").json["sessions"], [])
            self.assertEqual(d.request("GET", "/api/v1/status").json["pipelines"], base)
            gpu = d.request("GET", "/api/v1/system/gpu-status").json
            self.assertEqual((gpu["active_lobbies"], gpu["active_sessions"], gpu["software_mode"]),
                             (0, 0, False))
            # Deleted means deleted: not restored after a restart either.
            d.stop()
            d.start()
            self.assertEqual(d.request("GET", "/api/v1/lobbies").json["lobbies"], [])
        finally:
            d.cleanup()

    def test_sigterm_stops_cleanly_and_keeps_state(self):
        d = Daemon().start()
        try:
            lobby = d.create_lobby(key="k").json
            port = free_port()
            d.join(lobby["id"], port)
            self.assertEqual(stat.S_IMODE(os.stat(d.socket).st_mode), 0o660)
            t0 = time.time()
            self.assertEqual(d.stop(), 0)
            self.assertLess(time.time() - t0, 5)
            self.assertFalse(os.path.exists(d.socket))
            self.assertEqual(count_udp_packets(port, 0.5), 0)
            d.start()
            self.assertEqual(d.request("GET", "/api/v1/lobbies/by-key/k").json["id"], lobby["id"])
        finally:
            d.cleanup()

    def test_second_daemon_on_same_socket_is_refused(self):
        d = Daemon().start()
        try:
            import subprocess
            from lbtest import binary
            p = subprocess.run([binary("lobbyd"), "--config", d.config, "--state-dir", d.state_dir + "2",
                                "--socket", d.socket, "--listen", ""],
                               capture_output=True, text=True, timeout=20)
            self.assertNotEqual(p.returncode, 0)
            self.assertIn("another lobbyd", p.stderr)
            self.assertEqual(d.request("GET", "/api/v1/status").status, 200)
        finally:
            d.cleanup()


if __name__ == "__main__":
    unittest.main()
