"""One encode, many viewers: sessions of a lobby with the same profile share
one encode (one encoder slot), each with its own RTP output."""
import concurrent.futures
import math
import time
import unittest

from lbtest import Daemon, DaemonTest, RtpReceiver, decode_rtp, free_port


class SharingTest(DaemonTest):
    # Natural key frames rare, so the ones we see come from joins.
    config_extra = "[encoder]\nkeyframe_interval_ms=10000\njoin_keyframe_min_interval_ms=500\n"

    def setUp(self):
        super().setUp()
        self.lobby = self.d.create_lobby(width=320, height=240, fps=30).json

    def join(self, port, **profile):
        body = {"transport": "rtp", "destination": {"host": "127.0.0.1", "port": port},
                "profile": dict({"bitrate_kbps": 800}, **profile)}
        r = self.d.request("POST", "/api/v1/lobbies/%s/sessions" % self.lobby["id"], body)
        self.assertEqual(r.status, 201, r.body)
        return r.json

    def test_four_viewers_one_encode_independent_streams(self):
        ports = [free_port() for _ in range(4)]
        # 900 and 1000 kbps fall in the same tier (1000): still one encode.
        viewers = [self.join(p, bitrate_kbps=900 if i % 2 else 1000) for i, p in enumerate(ports)]
        self.assertEqual(len({v["encoding"]["encode_id"] for v in viewers}), 1)
        self.assertEqual(viewers[0]["encoding"]["bitrate_kbps"], 1000)
        g = self.d.request("GET", "/api/v1/system/gpu-status").json
        sw = [p for p in g["pools"] if p["name"] == "software"][0]
        self.assertEqual((g["active_encodes"], g["active_sessions"], sw["used"], sw["sessions"]), (1, 4, 1, 4))
        metrics = self.d.request("GET", "/metrics").body.decode()
        self.assertIn("lobbyd_encodes 1\n", metrics)
        self.assertIn('lobbyd_pool_sessions{pool="software"} 4', metrics)

        # Every viewer decodes its own stream.
        sdps = [self.d.request("GET", v["sdp_url"]).body.decode() for v in viewers]
        with concurrent.futures.ThreadPoolExecutor(4) as pool:
            results = list(pool.map(lambda sdp: decode_rtp(sdp, 60, timeout=30), sdps))
        for sizes, dims, log in results:
            self.assertGreaterEqual(len(sizes), 60, log[-1500:])
            self.assertEqual(dims, (320, 240))
        ssrcs = [self.d.request("GET", "/api/v1/sessions/" + v["id"]).json["stats"]["ssrc"] for v in viewers]
        self.assertEqual(len(set(ssrcs)), 4)

        # Viewer 2 leaves: 1, 3, 4 go on without a sequence gap; the encode stays.
        rx = {i: RtpReceiver(ports[i]) for i in (0, 2, 3)}
        time.sleep(1.0)
        t_leave = time.time()
        self.assertEqual(self.d.request("DELETE", "/api/v1/sessions/" + viewers[1]["id"]).status, 204)
        time.sleep(1.5)
        for r in rx.values():
            r.close()
        for i, r in rx.items():
            self.assertEqual(r.seq_gaps(), 0, "viewer %d lost packets" % (i + 1))
            self.assertEqual(r.ssrcs(), {ssrcs[i]})
            after = [p for p in r.packets if p[0] > t_leave + 0.2]
            self.assertGreater(len(after), 20, "viewer %d stalled after viewer 2 left" % (i + 1))
        g = self.d.request("GET", "/api/v1/system/gpu-status").json
        self.assertEqual((g["active_encodes"], g["active_sessions"]), (1, 3))

        # The last viewer leaving closes the encode and frees its slot.
        for i in (0, 2, 3):
            self.d.request("DELETE", "/api/v1/sessions/" + viewers[i]["id"])
        g = self.d.request("GET", "/api/v1/system/gpu-status").json
        sw = [p for p in g["pools"] if p["name"] == "software"][0]
        self.assertEqual((g["active_encodes"], sw["used"], sw["used_mpps"]), (0, 0, 0))

    def test_different_profiles_get_one_encode_each(self):
        a = [self.join(free_port(), width=320, height=240) for _ in range(3)]
        b = self.join(free_port(), width=160, height=120)
        c = self.join(free_port(), width=320, height=240, fps=15)
        ids = {x["encoding"]["encode_id"] for x in a}
        self.assertEqual(len(ids), 1)
        self.assertNotIn(b["encoding"]["encode_id"], ids)
        self.assertNotEqual(b["encoding"]["encode_id"], c["encoding"]["encode_id"])
        self.assertEqual(self.d.request("GET", "/api/v1/system/gpu-status").json["active_encodes"], 3)
        sizes, dims, log = decode_rtp(self.d.request("GET", b["sdp_url"]).body.decode(), 30)
        self.assertEqual(dims, (160, 120), log[-1000:])

    def test_late_joiner_gets_a_key_frame_quickly_and_joins_are_rate_limited(self):
        first_port = free_port()
        first = RtpReceiver(first_port)
        self.join(first_port)
        time.sleep(2.0)  # the encode runs; its only IDR so far was at start

        port = free_port()
        rx = RtpReceiver(port)
        t0 = time.time()
        self.join(port)
        deadline = time.time() + 3
        while rx.first_idr_after(t0) is None and time.time() < deadline:
            time.sleep(0.01)
        t_idr = rx.first_idr_after(t0)
        self.assertIsNotNone(t_idr, "late joiner got no IDR")
        # Documented bound: join_keyframe_min_interval_ms (500) + one frame + encode latency.
        self.assertLess(t_idr - t0, 0.75)

        # A storm of joins does not turn the stream into all key frames.
        time.sleep(1.0)
        t1 = time.time()
        for _ in range(6):
            self.join(free_port())
            time.sleep(0.05)
        span = time.time() - t1
        time.sleep(1.5)
        idrs = first.idr_count(t1, time.time())
        self.assertGreaterEqual(idrs, 1)
        # One key frame at once, then at most one per 500 ms interval the joins
        # reach into: 2 when they come within 0.5 s, more only on a box so slow
        # that the joins themselves take longer (each POST asks mid-way).
        allowed = 1 + max(1, math.ceil(span / 0.5))
        self.assertLess(span, 2.0, "6 joins took %.2f s" % span)
        self.assertLessEqual(idrs, allowed, "6 joins within %.2f s forced %d IDRs" % (span, idrs))
        first.close()
        rx.close()


class SharedHardwareTest(unittest.TestCase):
    def test_four_viewers_one_hardware_slot_second_lobby_falls_back(self):
        d = Daemon(config_extra="[encoder]\nhardware=off\n[testing]\nhw_double=true\n"
                                "hw_double_believed_limit=1\nhw_double_real_limit=1\n").start()
        try:
            l1 = d.create_lobby(name="one", width=320, height=240).json
            l2 = d.create_lobby(name="two", width=320, height=240).json
            v = [d.join(l1["id"], free_port()).json for _ in range(4)]
            self.assertTrue(all(x["encoding"]["pool"] == "test-double@0" for x in v))
            self.assertEqual(len({x["encoding"]["encode_id"] for x in v}), 1)
            w = d.join(l2["id"], free_port()).json
            self.assertEqual((w["encoding"]["pool"], w["encoding"]["fallback"]), ("software", True))
            g = d.request("GET", "/api/v1/system/gpu-status").json
            hw = [p for p in g["pools"] if p["name"] == "test-double@0"][0]
            self.assertEqual((hw["used"], hw["sessions"], hw["limit"]), (1, 4, 1))
            self.assertEqual((g["nvenc_sessions_used"], g["nvenc_sessions_limit"], g["software_mode"]),
                             (1, 1, True))
            sizes, dims, log = decode_rtp(d.request("GET", v[3]["sdp_url"]).body.decode(), 30)
            self.assertGreaterEqual(len(sizes), 30, log[-1000:])
        finally:
            d.cleanup()


if __name__ == "__main__":
    unittest.main()
