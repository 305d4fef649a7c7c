"""Encoder capacity end to end, with the TEST DOUBLE hardware pool (no NVENC
here): lobbyd believes 8 slots, the double's "driver" allows 3, like a
GeForce past its cap. Proves fallback inside the request, learned limits
(persisted), gpu-status, SSE events, upgrade back to hardware without the
client re-joining, the structured 503, runtime-fault migration and metrics."""
import os
import re
import threading
import time
import unittest

from lbtest import Daemon, EventStream, decode_rtp, free_port, wait_until

# 320x240@30 = 2.3 Mpx/s: a 5 Mpx/s software budget holds two such encodes.
CONFIG = ("[encoder]\nhardware=off\nkeyframe_interval_ms=1000\nsoftware_budget_mpps=5\n"
          "[testing]\nhw_double=true\nhw_double_believed_limit=8\nhw_double_real_limit=3\n")


def pool(status, name):
    return [p for p in status["pools"] if p["name"] == name][0]


class CapacityTest(unittest.TestCase):
    def setUp(self):
        self.d = Daemon(config_extra=CONFIG).start()
        self.events = EventStream(self.d)
        # encoder_sharing off: one encode (one slot) per session, the Wolf model,
        # so three viewers fill three slots. Sharing has its own tests.
        self.lobby = self.d.request("POST", "/api/v1/lobbies", {
            "name": "cap", "video": {"width": 320, "height": 240, "fps": 30},
            "encoder_sharing": "off"}).json

    def tearDown(self):
        self.events.close()
        self.d.cleanup()

    def join(self, **kw):
        port = free_port()
        body = {"transport": "rtp", "destination": {"host": "127.0.0.1", "port": port},
                "profile": {"bitrate_kbps": 500}}
        body.update(kw)
        r = self.d.request("POST", "/api/v1/lobbies/%s/sessions" % self.lobby["id"], body)
        return r

    def session(self, sid):
        return self.d.request("GET", "/api/v1/sessions/" + sid).json

    def gpu(self):
        return self.d.request("GET", "/api/v1/system/gpu-status").json

    def test_fallback_learn_upgrade_refuse_and_restart(self):
        hw = [self.join().json for _ in range(3)]
        for s in hw:
            self.assertEqual(s["encoding"]["pool"], "test-double@0")
            self.assertTrue(s["encoding"]["hardware"])
            self.assertFalse(s["encoding"]["fallback"])
        self.assertEqual(self.gpu()["software_mode"], False)

        # Session 4: the double refuses the 4th open; lobbyd falls back in the same request.
        r = self.join()
        self.assertEqual(r.status, 201, r.body)
        s4 = r.json
        self.assertEqual(s4["encoding"]["pool"], "software")
        self.assertTrue(s4["encoding"]["fallback"])
        learned = self.events.wait_for("pool.limit_learned")[0]["data"]
        self.assertEqual((learned["pool"], learned["limit"]), ("test-double@0", 3))
        self.assertIn("Could not initialize supporting library", learned["error"])
        self.events.wait_for("encoder.fallback")
        sizes, dims, log = decode_rtp(self.d.request("GET", s4["sdp_url"]).body.decode(), 30)
        self.assertGreaterEqual(len(sizes), 30, log[-1500:])
        self.assertEqual(dims, (320, 240))

        g = self.gpu()
        self.assertEqual((g["nvenc_sessions_used"], g["nvenc_sessions_limit"], g["software_mode"]),
                         (3, 3, True))
        p = pool(g, "test-double@0")
        self.assertEqual((p["used"], p["limit"], p["limit_source"]), (3, 3, "learned"))
        self.assertIn("Could not initialize", p["last_error"])

        # A hardware session leaves: session 4 is upgraded while a decoder watches it.
        sdp4 = self.d.request("GET", s4["sdp_url"]).body.decode()
        ssrc4 = self.session(s4["id"])["stats"]["ssrc"]
        result = {}
        t = threading.Thread(target=lambda: result.update(zip(("sizes", "dims", "log"), decode_rtp(sdp4, 150, timeout=30))))
        t.start()
        time.sleep(2.0)
        self.assertEqual(self.d.request("DELETE", "/api/v1/sessions/" + hw[0]["id"]).status, 204)
        up = self.events.wait_for("encoder.upgrade", timeout=15)[0]["data"]
        self.assertEqual((up["session_id"], up["from"], up["to"]), (s4["id"], "software", "test-double@0"))
        self.assertEqual(up["encode_id"], s4["encoding"]["encode_id"])
        after = self.session(s4["id"])
        self.assertEqual(after["encoding"]["pool"], "test-double@0")
        self.assertEqual(after["stats"]["ssrc"], ssrc4)  # same RTP stream: the client did not re-join
        t.join()
        self.assertGreaterEqual(len(result["sizes"]), 150, result["log"][-2000:])
        self.assertTrue(all(x == 320 * 240 * 3 // 2 for x in result["sizes"]))
        g = self.gpu()
        self.assertEqual((g["nvenc_sessions_used"], g["software_mode"]), (3, False))

        # Hardware full again; software takes two more, then the budget is spent.
        for _ in range(2):
            r = self.join()
            self.assertEqual((r.status, r.json["encoding"]["pool"]), (201, "software"))
        r = self.join()
        self.assertEqual(r.status, 503, r.body)
        self.assertEqual(r.headers.get("Retry-After"), "5")
        err = r.json["error"]
        self.assertEqual(err["code"], "encoder_capacity_exhausted")
        self.assertEqual(err["retry_after_s"], 5)
        by_name = {p["name"]: p for p in err["pools"]}
        self.assertEqual((by_name["test-double@0"]["used"], by_name["test-double@0"]["limit"]), (3, 3))
        self.assertAlmostEqual(by_name["software"]["used_mpps"], 4.608, places=3)
        self.assertEqual(by_name["software"]["budget_mpps"], 5)
        self.events.wait_for("admission.refused")
        # The refused join left nothing behind.
        self.assertEqual(len(self.d.request("GET", "/api/v1/sessions").json["sessions"]), 5)

        metrics = self.d.request("GET", "/metrics").body.decode()
        self.assertIn('lobbyd_pool_slots_limit{pool="test-double@0",source="learned"} 3', metrics)
        self.assertIn('lobbyd_pool_slots_used{pool="test-double@0"} 3', metrics)
        self.assertRegex(metrics, r"lobbyd_admission_refusals_total 1\b")
        self.assertRegex(metrics, r"lobbyd_encoder_upgrades_total 1\b")
        self.assertGreaterEqual(int(re.search(r"lobbyd_encoder_fallbacks_total (\d+)", metrics).group(1)), 3)

        # The learned limit survives a restart.
        self.events.close()
        self.d.stop()
        self.d.start()
        p = pool(self.gpu(), "test-double@0")
        self.assertEqual((p["limit"], p["limit_source"]), (3, "learned"))

    def test_require_hardware_and_explicit_software(self):
        for _ in range(3):
            self.assertEqual(self.join().json["encoding"]["pool"], "test-double@0")
        # Learn the real limit first (4th open fails, falls back).
        self.assertEqual(self.join().json["encoding"]["pool"], "software")
        r = self.join(require_hardware=True)
        self.assertEqual((r.status, r.json["error"]["code"]), (503, "encoder_capacity_exhausted"))
        self.assertIn("hardware_full", r.json["error"]["message"])
        r = self.join(encoder="hardware")
        self.assertEqual(r.status, 503)
        # Asking for software is not "software mode because hardware was unavailable".
        self.assertEqual(self.d.request("DELETE", "/api/v1/sessions/" +
                                        [s for s in self.d.request("GET", "/api/v1/sessions").json["sessions"]
                                         if s["encoding"]["pool"] == "software"][0]["id"]).status, 204)
        s = self.join(encoder="software").json
        self.assertEqual((s["encoding"]["pool"], s["encoding"]["fallback"]), ("software", False))
        self.assertFalse(self.gpu()["software_mode"])
        r = self.join(encoder="gpu")
        self.assertEqual((r.status, r.json["error"]["code"]), (400, "invalid_field"))


class RuntimeFaultTest(unittest.TestCase):
    def test_encoder_fault_moves_session_without_rejoin(self):
        d = Daemon()
        fault = os.path.join(d.tmp, "fault")
        with open(d.config, "a") as f:
            f.write(CONFIG.replace("[testing]\n", "[testing]\nhw_double_fault_file=%s\n" % fault))
        d.start()
        events = EventStream(d)
        try:
            lobby = d.request("POST", "/api/v1/lobbies", {
                "name": "fault", "video": {"width": 320, "height": 240, "fps": 30},
                "encoder_sharing": "off"}).json
            port = free_port()
            s = d.join(lobby["id"], port, bitrate=500).json
            self.assertEqual(s["encoding"]["pool"], "test-double@0")
            ssrc = wait_until(lambda: d.request("GET", "/api/v1/sessions/" + s["id"]).json["stats"]["ssrc"])
            open(fault, "w").close()
            err = events.wait_for("encode.error")[0]["data"]
            self.assertEqual((err["encode_id"], err["pool"]), (s["encoding"]["encode_id"], "test-double@0"))
            events.wait_for("encoder.fallback")
            os.unlink(fault)
            time.sleep(0.5)  # an upgrade back onto the failed pool would happen now; holdoff stops it
            self.assertEqual(events.of_type("encoder.upgrade"), [])
            after = d.request("GET", "/api/v1/sessions/" + s["id"]).json
            self.assertEqual((after["state"], after["encoding"]["pool"]), ("running", "software"))
            self.assertEqual(after["stats"]["ssrc"], ssrc)  # same RTP stream, no re-join
            sizes, dims, log = decode_rtp(d.request("GET", s["sdp_url"]).body.decode(), 30)
            self.assertGreaterEqual(len(sizes), 30, log[-1500:])
            # The lobby kept running, and a new session can still use the double.
            self.assertEqual(d.request("GET", "/api/v1/lobbies/" + lobby["id"]).json["state"], "running")
            m = d.request("GET", "/metrics").body.decode()
            self.assertIn('lobbyd_pool_encode_errors_total{pool="test-double@0",kind="runtime"} 1', m)
        finally:
            events.close()
            d.cleanup()


if __name__ == "__main__":
    unittest.main()
