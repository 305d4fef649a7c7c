"""The Moonlight control stream end to end over real UDP on 127.0.0.1:
lb-ml-control on a main loop (tests/unit/ml-control-driver: a fixed lookup
table, every callback printed as a line) driven by an independent ENet
client (tests/unit/ml-control-client: libenet + OpenSSL, written from the
protocol, none of lobbyd's code) that encrypts with AES-128-GCM control v2.
IDR requests and input arrive decoded; a wrong key delivers nothing;
garbage, truncated and replayed messages are counted and change nothing;
terminate reaches the client as 0x0109; a client that vanishes is reported
disconnected within the ENet peer timeout (10 s)."""
import os
import subprocess
import time
import unittest

from moonlight_session import Lines

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
RIKEY = "00112233445566778899aabbccddeeff"
CONNECT_DATA = "0x1234abcd"
ML_ID = "0123456789abcdef0123456789abcdef"


def tool(name):
    return os.path.join(ROOT, os.environ.get("LOBBYD_BUILD", "build"), "tests", name)


class MoonlightControl(unittest.TestCase):
    def setUp(self):
        for name in ("ml-control-driver", "ml-control-client"):
            self.assertTrue(os.path.exists(tool(name)), "no %s: build the tests" % tool(name))
        self.driver = subprocess.Popen([tool("ml-control-driver"), CONNECT_DATA, ML_ID, RIKEY],
                                       stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                       stderr=subprocess.PIPE, text=True, bufsize=1)
        self.out = Lines(self.driver)
        self.port = int(self.out.wait_for(lambda l: l.startswith("port ")).split()[1])
        self.clients = []

    def tearDown(self):
        for c in self.clients:
            if c.poll() is None:
                c.kill()
            c.wait()
            for f in (c.stdin, c.stdout, c.stderr):
                f.close()
        if self.driver.poll() is None:
            self.driver.stdin.write("quit\n")
            self.driver.stdin.flush()
            try:
                self.driver.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.driver.kill()
                self.driver.wait()
        err = self.driver.stderr.read()
        self.driver.stdout.close()
        self.driver.stdin.close()
        self.driver.stderr.close()
        self.assertEqual(self.driver.returncode, 0, err)
        self.assertNotIn("CRITICAL", err)
        self.assertNotIn("ERROR: AddressSanitizer", err)
        self.assertNotIn("runtime error:", err)

    def client(self, script, key=RIKEY, connect_data=CONNECT_DATA, keep_open=False):
        """Runs the client with @script on stdin; returns its stdout lines,
        or (with keep_open) the process and its line reader."""
        args = [tool("ml-control-client"), "127.0.0.1", str(self.port), connect_data, key]
        if keep_open:
            proc = subprocess.Popen(args, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                    stderr=subprocess.PIPE, text=True, bufsize=1)
            self.clients.append(proc)
            proc.stdin.write(script)
            proc.stdin.flush()
            return proc, Lines(proc)
        proc = subprocess.run(args, input=script, capture_output=True, text=True, timeout=30)
        self.assertEqual(proc.returncode, 0, proc.stderr)
        return proc.stdout.splitlines()

    def command(self, line):
        self.driver.stdin.write(line + "\n")
        self.driver.stdin.flush()

    def stats(self):
        self.command("stats")
        line = self.out.wait_for(lambda l: l.startswith("stats "))
        return dict(kv.split("=") for kv in line.split()[1:])

    def test_idr_and_input_arrive(self):
        lines = self.client("idr\nping\nkey 0x41 down\nkey 0x41 up\nmouse-rel 10 -5\n"
                            "mouse-abs 640 360 1280 720\nbutton 1 down\nbutton 1 up\n"
                            "button 5 down\nscroll 120\nhscroll -240\ntext héllo\n"
                            "fec-status\ngamepad\nwait 300\nquit\n")
        self.assertIn("connected", lines)
        self.out.wait_for(lambda l: l.startswith("disconnected " + ML_ID + " client"))
        self.assertIn("idr " + ML_ID, self.out.all)
        # every event decoded, in the order sent (lb_input_event_to_string)
        want = ["key 0x61 pressed", "key 0x61 released", "motion-relative +10,-5",
                "motion 640,360 of 1280x720", "button 1 pressed", "button 1 released",
                "button 9 pressed", "scroll +0,-1", "scroll -2,+0", 'text "héllo"']
        got = [l[len("input " + ML_ID + " "):] for l in self.out.all if l.startswith("input ")]
        self.assertEqual(got, want)
        s = self.stats()
        self.assertEqual(s["connects"], "1")
        self.assertGreaterEqual(int(s["pings"]), 1)
        self.assertGreaterEqual(int(s["loss_reports"]), 1)
        self.assertEqual(s["dropped_auth"], "0")
        self.assertEqual(s["dropped_malformed"], "0")
        self.assertEqual(s["input_events"], str(len(want)))

    def test_idr_burst_coalesced(self):
        # start (0x0302 then 0x0307, as clients connect) and a burst of 8
        self.client("idr\nstart\n" + "idr\n" * 8 + "wait 400\nquit\n")
        self.out.drain(0.5)
        idrs = [l for l in self.out.all if l.startswith("idr ")]
        self.assertGreaterEqual(len(idrs), 1)
        self.assertLessEqual(len(idrs), 3, self.out.all)
        self.assertEqual(self.stats()["idr_requests"], "10")

    def test_wrong_key_delivers_nothing(self):
        lines = self.client("idr\nkey 0x41 down\ntext nope\nwait 300\nquit\n",
                            key="ffeeddccbbaa99887766554433221100")
        self.assertIn("connected", lines)
        self.out.wait_for(lambda l: l.startswith("disconnected "))
        self.assertFalse([l for l in self.out.all if l.startswith(("idr ", "input "))], self.out.all)
        s = self.stats()
        self.assertEqual(s["dropped_auth"], "3")
        self.assertEqual(s["messages"], "0")

    def test_unknown_connect_data_refused(self):
        lines = self.client("wait 1500\nquit\n", connect_data="0x99")
        self.assertIn("disconnected", lines)
        s = self.stats()
        self.assertEqual(s["refused"], "1")
        self.assertEqual(s["connects"], "0")

    def test_bad_packets_counted_no_crash(self):
        lines = self.client("garbage 1\ngarbage 40\ngarbage 300\ntruncated\nbad-length\n"
                            "unencrypted\nidr\nreplay\nreplay\nkey 0x42 down\nwait 300\nquit\n")
        self.assertIn("connected", lines)
        self.out.wait_for(lambda l: l.startswith("disconnected " + ML_ID + " client"))
        self.assertIn("idr " + ML_ID, self.out.all)
        self.assertIn("input " + ML_ID + " key 0x62 pressed", self.out.all)
        s = self.stats()
        self.assertEqual(s["dropped_replay"], "2")
        # garbage ×3, truncated, bad-length, unencrypted
        self.assertEqual(int(s["dropped_malformed"]) + int(s["dropped_auth"]), 6, s)
        self.assertEqual(s["idr_requests"], "1")

    def test_many_bad_packets_disconnect(self):
        lines = self.client("garbage 64\n" * 40 + "wait 2000\nquit\n")
        self.out.wait_for(lambda l: l.startswith("disconnected " + ML_ID + " bad_packets"))
        self.assertIn("disconnected", lines)

    def test_terminate_reaches_client(self):
        proc, cl = self.client("idr\nwait 5000\nquit\n", keep_open=True)
        cl.wait_for(lambda l: l == "connected")
        self.out.wait_for(lambda l: l == "idr " + ML_ID)
        self.command("terminate %s 0x80030023" % ML_ID)
        cl.wait_for(lambda l: l == "termination 0x80030023")
        cl.wait_for(lambda l: l == "disconnected")
        self.out.wait_for(lambda l: l.startswith("disconnected " + ML_ID + " terminated"))
        proc.wait(timeout=10)

    def test_vanished_client_times_out(self):
        proc, cl = self.client("idr\n", keep_open=True)
        cl.wait_for(lambda l: l == "connected")
        self.out.wait_for(lambda l: l == "idr " + ML_ID)
        t0 = time.monotonic()
        proc.kill()  # no ENet disconnect: the peer just goes silent
        proc.wait()
        self.out.wait_for(lambda l: l.startswith("disconnected " + ML_ID + " timeout"), timeout=25)
        # the ENet peer timeout is 10 s; generous for a loaded CI box
        self.assertLess(time.monotonic() - t0, 20)


if __name__ == "__main__":
    unittest.main()
