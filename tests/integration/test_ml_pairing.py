"""Moonlight pairing end to end between an independent client and lobbyd's
state machine: tests/integration/moonlight_client.py (Python, written from
the protocol description, Debian's python3-cryptography) against
lb-ml-pairing behind tests/unit/ml-pair-driver (JSON lines). The right PIN
pairs and returns the client's certificate; a wrong PIN, tampered hashes and
signatures, garbage hex and phrases out of order are refused with a stable
reason, and the host process keeps answering."""
import json
import os
import shutil
import subprocess
import tempfile
import unittest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PYTHON = "/usr/bin/python3"  # Debian's: python3-cryptography lives there
CLIENT = os.path.join(ROOT, "tests", "integration", "moonlight_client.py")


def driver_path():
    return os.path.join(ROOT, os.environ.get("LOBBYD_BUILD", "build"), "tests", "ml-pair-driver")


def have_cryptography():
    return subprocess.run([PYTHON, "-c", "import cryptography"], capture_output=True).returncode == 0


@unittest.skipUnless(have_cryptography(), "/usr/bin/python3 with python3-cryptography is needed "
                     "(scripts/deps.sh --test installs it)")
class MoonlightPairing(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="lobbyd-ml-pair-")
        self.state = os.path.join(self.tmp, "moonlight")
        self.assertTrue(os.path.exists(driver_path()), "no %s: build the tests" % driver_path())

    def tearDown(self):
        shutil.rmtree(self.tmp, ignore_errors=True)

    def pair(self, *args):
        proc = subprocess.run([PYTHON, CLIENT, "--driver", driver_path(), "--state-dir", self.state]
                              + list(args), capture_output=True, text=True, timeout=120)
        self.assertEqual(proc.returncode, 0, proc.stderr)
        result = json.loads(proc.stdout)
        # The host survived whatever it was sent and ended cleanly.
        self.assertTrue(result["identity"]["ok"], result)
        self.assertEqual(result["driver_exit"], 0, proc.stderr)
        return result

    def assertRefused(self, result, by, reason, step=None):
        self.assertEqual(result["outcome"], "refused", result)
        self.assertEqual(result["by"], by, result)
        self.assertEqual(result["reason"], reason, result)
        if step:
            self.assertEqual(result["step"], step, result)

    def test_right_pin_pairs(self):
        r = self.pair("--client-pin", "4321", "--operator-pin", "4321")
        self.assertEqual(r["outcome"], "paired", r)
        # The certificate to persist is the client's own, byte for byte.
        self.assertEqual(r["client_cert_pem"], r["our_cert_pem"])
        # The identity stays across restarts of the host: same uniqueid and certificate.
        again = self.pair()
        self.assertEqual(again["outcome"], "paired", again)
        self.assertEqual(again["identity"]["uniqueid"], r["identity"]["uniqueid"])
        self.assertEqual(again["identity"]["cert_pem"], r["identity"]["cert_pem"])
        key = os.path.join(self.state, "host-key.pem")
        self.assertEqual(os.stat(key).st_mode & 0o777, 0o600)

    def test_wrong_pin_client_notices(self):
        # A real client checks the host's hash after pairingsecret and stops.
        r = self.pair("--client-pin", "1111", "--operator-pin", "2222")
        self.assertRefused(r, "client", "server_hash_mismatch")

    def test_wrong_pin_host_refuses(self):
        # A client that goes on anyway is refused by the host with the reason.
        r = self.pair("--client-pin", "1111", "--operator-pin", "2222", "--no-check")
        self.assertRefused(r, "host", "hash_mismatch", "clientpairingsecret")
        self.assertIn("wrong PIN", r["message"])

    def test_tampered_client_hash(self):
        r = self.pair("--tamper", "hash")
        self.assertRefused(r, "host", "hash_mismatch", "clientpairingsecret")

    def test_tampered_signature(self):
        r = self.pair("--tamper", "signature")
        self.assertRefused(r, "host", "bad_signature", "clientpairingsecret")

    def test_other_secret(self):
        r = self.pair("--tamper", "secret")
        self.assertRefused(r, "host", "hash_mismatch", "clientpairingsecret")

    def test_garbage(self):
        cases = [
            ("salt", "zz", "bad_hex", "getservercert"),
            ("salt", "00" * 15, "bad_length", "getservercert"),
            ("clientcert", "41" * 100, "bad_certificate", "getservercert"),
            ("clientcert", "4", "bad_hex", "getservercert"),
            ("clientchallenge", "00" * 17, "bad_length", "clientchallenge"),
            ("clientchallenge", "not hex at all!", "bad_hex", "clientchallenge"),
            ("serverchallengeresp", "", "bad_length", "serverchallengeresp"),
            ("serverchallengeresp", "0" * 63, "bad_hex", "serverchallengeresp"),
            ("serverchallengeresp", "ff" * 40000, "bad_length", "serverchallengeresp"),
            ("clientpairingsecret", "00" * 16, "bad_length", "clientpairingsecret"),
            ("clientpairingsecret", "00" * 17, "bad_signature", "clientpairingsecret"),
            ("clientpairingsecret", "\u00e9\u00e9", "bad_hex", "clientpairingsecret"),
        ]
        for op, text, reason, step in cases:
            with self.subTest(op=op, text=text[:20]):
                r = self.pair("--tamper", "garbage:%s:%s" % (op, text))
                self.assertRefused(r, "host", reason, step)

    def test_out_of_order_and_after_failure(self):
        raw = [
            # A failed attempt is over: the next phrase is refused, not retried.
            {"op": "clientpairingsecret", "value": "00" * 300},
            # A phrase before getservercert.
            {"op": "getservercert", "salt": "00" * 16, "clientcert": "zz"},
            {"op": "clientchallenge", "value": "00" * 16},
            # Not JSON the driver knows: answered, not fatal.
            {"op": 5},
        ]
        r = self.pair("--tamper", "hash", *sum([["--raw", json.dumps(x)] for x in raw], []))
        self.assertRefused(r, "host", "hash_mismatch")
        self.assertEqual([x.get("reason") for x in r["raw"]],
                         ["aborted", "bad_hex", "out_of_order", "driver"], r["raw"])
        # Skipping a phrase: serverchallengeresp right after the PIN.
        raw = [
            {"op": "getservercert", "salt": "00" * 16, "clientcert": r["identity"]["cert_pem"].encode().hex()},
            {"op": "pin", "pin": "12a4"},
            {"op": "pin", "pin": "1234"},
            {"op": "serverchallengeresp", "value": "00" * 32},
            {"op": "pin", "pin": "1234"},
        ]
        r = self.pair(*sum([["--raw", json.dumps(x)] for x in raw], []))
        self.assertEqual(r["outcome"], "paired", r)
        self.assertEqual([x.get("reason") for x in r["raw"]],
                         [None, "bad_pin", None, "out_of_order", "aborted"], r["raw"])
        self.assertEqual(r["raw"][3]["state"], "failed")


if __name__ == "__main__":
    unittest.main()
