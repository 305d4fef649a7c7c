"""The Moonlight host's HTTP 47989 / HTTPS 47984 servers (issue 13 item 1,
docs/moonlight.md "HTTP and HTTPS servers") against a REAL daemon with
[moonlight] enabled on free loopback ports, driven by the project's own
client (tests/integration/moonlight_client.py: its own key and certificate,
HTTPS with that client certificate through Python's ssl): serverinfo,
pairing with the PIN posted through the API while getservercert is held,
applist with app ids that survive a restart, launch/cancel and currentgame,
unpaired certificates refused, and malformed requests refused in XML
without a crash."""
import os
import socket
import threading
import time
import unittest
import urllib.parse

import lbtest
from lbtest import Daemon, EventStream, SmallDisk, free_port, wait_until

try:
    import moonlight_client as mc
    HAVE_CRYPTO = True
except ImportError:  # python3-cryptography missing
    HAVE_CRYPTO = False


def ml_config(pair_timeout_s=60, http_port=None):
    return ("[moonlight]\nenabled=true\naddress=127.0.0.1\nhttp_port=%d\nhttps_port=%d\n"
            "rtsp_port=%d\nvideo_port=0\ncontrol_port=0\naudio_port=0\npair_timeout_s=%d\n"
            "hostname=lobbyd-test\n"
            % (http_port or free_port(socket.SOCK_STREAM), free_port(socket.SOCK_STREAM),
               free_port(socket.SOCK_STREAM), pair_timeout_s))


class HostHelpers:
    """What the Moonlight host test cases share: a client, pairing with the
    PIN posted through the API, and the checks."""

    @classmethod
    def shared_identity(cls):
        # RSA key generation is slow under ASan's neighbours: one per class.
        if not hasattr(cls, "_identity"):
            cls._identity = mc.ClientIdentity("lobbyd test client")
            cls._other = mc.ClientIdentity("stranger")
        return cls._identity

    def restart(self):
        # Same state dir, config and ports: a restarted host.
        self.d.stop()
        self.d.start()
        self.ports = self.status()

    def status(self):
        r = self.d.request("GET", "/api/v1/moonlight/status")
        self.assertEqual(r.status, 200, r.body)
        return r.json

    def client(self, identity=None):
        return mc.HostClient("127.0.0.1", self.ports["http_port"], self.ports["https_port"],
                             identity or self.identity)

    def submit_pin(self, pin, wait=True):
        def go():
            if wait:
                self.assertTrue(wait_until(lambda: self.status()["pairing_pending"], timeout=20),
                                "getservercert never became pending")
            r = self.d.request("POST", "/api/v1/moonlight/pair", {"pin": pin})
            self.assertEqual(r.status, 204, r.body)
        return go

    def pair(self, c=None, pin="4321"):
        c = c or self.client()
        replies = c.pair(pin, self.submit_pin(pin))
        self.assertEqual(len(replies), 5, [r.body for r in replies])
        for r in replies:
            self.assertEqual(r.status, 200)
            self.assertEqual(r.status_code, 200, r.body)
            self.assertEqual(r.text("paired"), "1", r.body)
        return c

    def assertRefused(self, reply, code=None):
        self.assertEqual(reply.status, 200, reply.body)  # clients fail on non-2xx
        self.assertNotEqual(reply.status_code, 200, reply.body)
        if code is not None:
            self.assertEqual(reply.status_code, code, reply.body)
        self.assertTrue(reply.status_message, reply.body)

    def assertAlive(self):
        self.assertIsNone(self.d.proc.poll(), self.d.read_log())
        r = self.client().get(False, "/serverinfo")
        self.assertEqual(r.status_code, 200)


@unittest.skipUnless(HAVE_CRYPTO, "python3-cryptography is needed (scripts/deps.sh --test)")
class MoonlightHttp(HostHelpers, unittest.TestCase):
    pair_timeout_s = 60

    def setUp(self):
        self.d = Daemon(config_extra=ml_config(self.pair_timeout_s)).start()
        self.ports = self.status()
        self.assertTrue(self.ports["running"], self.ports)
        self.identity = self.shared_identity()

    def tearDown(self):
        self.d.cleanup()

    # ---- serverinfo -------------------------------------------------------

    def test_serverinfo_http(self):
        r = self.client().get(False, "/serverinfo")
        self.assertEqual(r.status, 200)
        self.assertEqual(r.status_code, 200)
        self.assertEqual(r.text("hostname"), "lobbyd-test")
        self.assertEqual(r.text("appversion"), "7.1.431.-1")
        self.assertEqual(r.text("GfeVersion"), "3.23.0.74")
        self.assertEqual(r.text("PairStatus"), "0")
        self.assertEqual(r.text("currentgame"), "0")
        self.assertEqual(r.text("state"), "SUNSHINE_SERVER_FREE")
        self.assertEqual(r.text("ServerCodecModeSupport"), "1")
        self.assertEqual(r.text("HttpsPort"), str(self.ports["https_port"]))
        self.assertEqual(r.text("ExternalPort"), str(self.ports["http_port"]))
        self.assertEqual(r.text("LocalIP"), "127.0.0.1")
        self.assertEqual(r.text("mac"), "00:00:00:00:00:00")
        self.assertRegex(r.text("uniqueid"), r"^[0-9a-f-]{36}$")
        # Unpaired certificate over HTTPS: served, but not paired.
        r = self.client().get(True, "/serverinfo")
        self.assertEqual(r.status_code, 200)
        self.assertEqual(r.text("PairStatus"), "0")

    # ---- pairing ----------------------------------------------------------

    def test_pair_with_pin_from_api(self):
        events = EventStream(self.d)
        try:
            c = self.pair()
            pending = events.wait_for("moonlight.pair_pending")[0]["data"]
            self.assertEqual(pending["client_name"], "roth")
            self.assertEqual(pending["address"], "127.0.0.1")
            events.wait_for("moonlight.paired")
        finally:
            events.close()
        # The HTTPS server presents the certificate pairing sent as plaincert.
        from cryptography.hazmat.primitives import serialization
        r = c.get(True, "/serverinfo")
        self.assertEqual(c.last_peer_cert_der, c.server_cert.public_bytes(serialization.Encoding.DER))
        self.assertEqual(r.text("PairStatus"), "1")
        # Plain HTTP never says paired.
        self.assertEqual(c.get(False, "/serverinfo").text("PairStatus"), "0")
        clients = self.d.request("GET", "/api/v1/moonlight/clients").json["clients"]
        self.assertEqual(len(clients), 1, clients)
        self.assertEqual(clients[0]["name"], "roth")
        self.assertGreater(clients[0]["paired_at"], 0)
        self.assertFalse(self.status()["pairing_pending"])
        # The pairing survives a restart (same state dir).
        self.d.stop()
        self.restart()
        self.ports = self.status()
        r = self.client().get(True, "/serverinfo")
        self.assertEqual(r.text("PairStatus"), "1")

    def test_wrong_pin_refused_and_nothing_stored(self):
        c = self.client()
        with self.assertRaises(mc.PairingError) as ctx:
            c.pair("1111", self.submit_pin("2222"))
        self.assertEqual(ctx.exception.reason, "server_hash_mismatch")
        # A client that goes on anyway is refused by the host.
        replies = c.pair("1111", self.submit_pin("2222"), check=False)
        self.assertRefused(replies[-1])
        self.assertEqual(replies[-1].text("paired"), "0")
        self.assertIn("hash_mismatch", replies[-1].status_message)
        self.assertEqual(self.d.request("GET", "/api/v1/moonlight/clients").json["clients"], [])
        self.assertRefused(c.get(True, "/applist"), 401)

    def test_pin_api_errors(self):
        r = self.d.request("POST", "/api/v1/moonlight/pair", {"pin": "1234"})
        self.assertEqual(r.status, 409, r.body)
        self.assertEqual(r.error_code(), "no_pairing_pending")
        for bad in ({"pin": "12a4"}, {"pin": "12345"}, {"pin": 1234}, {}, {"pin": "1234", "x": 1}):
            r = self.d.request("POST", "/api/v1/moonlight/pair", bad)
            self.assertEqual(r.status, 400, (bad, r.body))
        # While a client waits, a malformed PIN may be typed again.
        c = self.client()
        got = {}

        def operator():
            self.assertTrue(wait_until(lambda: self.status()["pairing_pending"], timeout=20))
            st = self.status()
            got["status"] = st
            r = self.d.request("POST", "/api/v1/moonlight/pair", {"pin": "12x4"})
            got["bad"] = r.status
            r = self.d.request("POST", "/api/v1/moonlight/pair", {"pin": "4321"})
            got["good"] = r.status
        replies = c.pair("4321", operator)
        self.assertEqual(got["bad"], 400)
        self.assertEqual(got["good"], 204)
        self.assertEqual(got["status"]["pending_client"]["name"], "roth")
        self.assertEqual(replies[-1].text("paired"), "1")

    def test_clients_list_and_delete(self):
        self.pair()
        clients = self.d.request("GET", "/api/v1/moonlight/clients").json["clients"]
        self.assertEqual(len(clients), 1)
        cid = clients[0]["id"]
        self.assertEqual(self.client().get(True, "/applist").status_code, 200)
        r = self.d.request("DELETE", "/api/v1/moonlight/clients/%s" % cid)
        self.assertEqual(r.status, 204, r.body)
        self.assertEqual(self.d.request("GET", "/api/v1/moonlight/clients").json["clients"], [])
        self.assertRefused(self.client().get(True, "/applist"), 401)
        r = self.d.request("DELETE", "/api/v1/moonlight/clients/%s" % cid)
        self.assertEqual(r.status, 404, r.body)

    def test_unpair_endpoint(self):
        c = self.pair()
        r = c.get(False, "/unpair")
        self.assertEqual(r.status_code, 200, r.body)
        # Over HTTP the host cannot tell who asked: nothing is removed there.
        r = c.get(True, "/unpair")
        self.assertEqual(r.status_code, 200, r.body)
        self.assertEqual(self.d.request("GET", "/api/v1/moonlight/clients").json["clients"], [])
        self.assertRefused(c.get(True, "/applist"), 401)

    def test_lobbyctl_moonlight(self):
        import subprocess

        def ctl(*args, ok=True):
            p = subprocess.run([lbtest.binary("lobbyctl"), "--socket", self.d.socket] + list(args),
                               capture_output=True, text=True, timeout=60)
            self.assertEqual(p.returncode == 0, ok, (args, p.stdout, p.stderr))
            return p
        # No client waits: the API's refusal, one line, exit 1.
        p = ctl("moonlight", "pair", "1234", ok=False)
        self.assertIn("no Moonlight client is waiting", p.stderr)
        c = self.client()

        def operator():
            self.assertTrue(wait_until(lambda: self.status()["pairing_pending"], timeout=20))
            self.assertIn("roth", ctl("moonlight", "status").stdout)
            ctl("moonlight", "pair", "4321")
        replies = c.pair("4321", operator)
        self.assertEqual(replies[-1].text("paired"), "1")
        out = ctl("moonlight", "clients").stdout
        self.assertIn("roth", out)
        cid = self.d.request("GET", "/api/v1/moonlight/clients").json["clients"][0]["id"]
        self.assertIn(cid, out)
        ctl("moonlight", "unpair", cid)
        self.assertEqual(self.d.request("GET", "/api/v1/moonlight/clients").json["clients"], [])

    @unittest.skipUnless(lbtest.have_browser(), "chromium, node and tests/browser/node_modules are needed")
    def test_dashboard_pin_field(self):
        out = {}

        def operator():
            out.update(lbtest.run_node("dashboard-moonlight.mjs", "http://127.0.0.1:%d" % self.d.tcp_port,
                                       self.d.token, "4321"))
        replies = self.client().pair("4321", operator)
        self.assertNotIn("error", out, out)
        self.assertIn("roth", out["client"])
        self.assertEqual(replies[-1].text("paired"), "1", [r.body for r in replies])

    # ---- unpaired ---------------------------------------------------------

    def test_unpaired_certificate_refused(self):
        self.pair()  # some other client is paired; this one is not
        stranger = self.client(self._other)
        self.d.create_lobby(name="l1")
        for path, params in (("/applist", {}), ("/appasset", {"appid": "1", "AssetType": "2", "AssetIdx": "0"}),
                             ("/launch", {"appid": "1", "mode": "1280x720x60", "rikey": "00" * 16, "rikeyid": "1"}),
                             ("/resume", {"rikey": "00" * 16, "rikeyid": "1"}), ("/cancel", {}),
                             ("/pair", {"phrase": "pairchallenge"})):
            r = stranger.get(True, path, params)
            self.assertRefused(r, 401)
        # HTTPS-only endpoints do not exist over HTTP at all.
        r = stranger.get(False, "/applist")
        self.assertRefused(r)

    # ---- apps, launch, cancel ----------------------------------------------

    def test_applist_launch_cancel(self):
        c = self.pair()
        a = self.d.create_lobby(name="A <&> \"lobby\"").json
        b = self.d.create_lobby(name="B").json
        r = c.get(True, "/applist")
        self.assertEqual(r.status_code, 200, r.body)
        apps = {app.find("AppTitle").text: app for app in r.root.findall("App")}
        self.assertEqual(set(apps), {"A <&> \"lobby\"", "B"})
        for app in apps.values():
            self.assertEqual(app.find("IsHdrSupported").text, "0")
        ida = int(apps["A <&> \"lobby\""].find("ID").text)
        idb = int(apps["B"].find("ID").text)
        self.assertNotEqual(ida, idb)
        asset = c.raw(True, "/appasset?" + c._query({"appid": str(ida), "AssetType": "2", "AssetIdx": "0"}))
        self.assertEqual(asset[0], 200)
        self.assertTrue(asset[1].startswith(b"\x89PNG\r\n\x1a\n"), asset[1][:16])

        r = c.get(True, "/launch", {"appid": str(ida), "mode": "1280x720x60", "additionalStates": "1",
                                    "sops": "0", "rikey": "0123456789abcdef0123456789ABCDEF",
                                    "rikeyid": "-5", "localAudioPlayMode": "0", "surroundAudioInfo": "196610",
                                    "remoteControllersBitmap": "0", "gcmap": "0", "corever": "1"})
        self.assertEqual(r.status_code, 200, r.body)
        self.assertEqual(r.text("gamesession"), "1")
        self.assertEqual(r.text("sessionUrl0"), "rtsp://127.0.0.1:%d" % self.ports["rtsp_port"])
        info = c.get(True, "/serverinfo")
        self.assertEqual(info.text("currentgame"), str(ida))
        self.assertEqual(info.text("state"), "SUNSHINE_SERVER_BUSY")
        # Another certificate does not see this client's game.
        self.assertEqual(self.client(self._other).get(True, "/serverinfo").text("currentgame"), "0")
        self.assertEqual(self.status()["launches"], 1)
        r = c.get(True, "/resume", {"rikey": "00" * 16, "rikeyid": "7"})
        self.assertEqual(r.status_code, 200, r.body)
        self.assertEqual(r.text("resume"), "1")
        self.assertEqual(r.text("sessionUrl0"), "rtsp://127.0.0.1:%d" % self.ports["rtsp_port"])
        r = c.get(True, "/cancel")
        self.assertEqual(r.status_code, 200, r.body)
        self.assertEqual(r.text("cancel"), "1")
        info = c.get(True, "/serverinfo")
        self.assertEqual(info.text("currentgame"), "0")
        self.assertEqual(info.text("state"), "SUNSHINE_SERVER_FREE")
        self.assertEqual(self.status()["launches"], 0)
        # Resume with nothing running is refused.
        self.assertRefused(c.get(True, "/resume", {"rikey": "00" * 16, "rikeyid": "7"}))
        del b

    def test_requests_on_one_kept_alive_connection(self):
        # curl (moonlight-embedded) keeps the HTTPS connection alive between
        # requests; libsoup 3.2 shows the client certificate to the first
        # request only, so the second one looked unpaired (seen with the
        # real client: serverinfo PairStatus 1, then applist 401).
        import http.client
        c = self.pair()
        conn = http.client.HTTPSConnection("127.0.0.1", self.ports["https_port"],
                                           context=c.ssl, timeout=30)
        try:
            for path in ("/serverinfo", "/applist", "/serverinfo"):
                conn.request("GET", "%s?%s" % (path, c._query({})))
                r = conn.getresponse()
                reply = mc.HostReply(r.status, r.read())
                self.assertEqual(reply.status_code, 200, (path, reply.body))
                if path == "/serverinfo":
                    self.assertEqual(reply.text("PairStatus"), "1", reply.body)
        finally:
            conn.close()

    def test_app_ids_stable_across_restart(self):
        self.pair()
        self.d.create_lobby(name="one", key="k1")
        self.d.create_lobby(name="two", key="k2")
        before = {a.find("AppTitle").text: a.find("ID").text
                  for a in self.client().get(True, "/applist").root.findall("App")}
        self.assertEqual(len(before), 2)
        self.restart()
        after = {a.find("AppTitle").text: a.find("ID").text
                 for a in self.client().get(True, "/applist").root.findall("App")}
        self.assertEqual(before, after)

    # ---- malformed --------------------------------------------------------

    def test_malformed_requests(self):
        c = self.pair()
        self.d.create_lobby(name="m")
        appid = self.client().get(True, "/applist").root.find("App").find("ID").text
        good = {"appid": appid, "mode": "1280x720x60", "rikey": "00" * 16, "rikeyid": "1"}
        bad_launches = [
            {k: v for k, v in good.items() if k != "appid"},
            {k: v for k, v in good.items() if k != "rikey"},
            {k: v for k, v in good.items() if k != "rikeyid"},
            dict(good, appid="999999"),
            dict(good, appid="-1"),
            dict(good, appid="1" * 400),
            dict(good, appid="abc"),
            dict(good, rikey="zz" * 16),
            dict(good, rikey="00" * 15),
            dict(good, rikey="00" * 5000),
            dict(good, rikeyid="99999999999999999999"),
            dict(good, rikeyid="x"),
            dict(good, mode="huge"),
            dict(good, mode="99999999x99999999x99999999"),
            dict(good, mode="0x0x0"),
        ]
        for params in bad_launches:
            r = c.get(True, "/launch", params)
            self.assertRefused(r)
        self.assertEqual(c.get(True, "/serverinfo").text("currentgame"), "0")
        bad_pairs = [
            {},
            {"phrase": "nonsense"},
            {"phrase": "getservercert"},
            {"phrase": "getservercert", "salt": "zz" * 16, "clientcert": "00"},
            {"phrase": "getservercert", "salt": "00" * 16, "clientcert": "41" * 64},
            {"phrase": "getservercert", "salt": "00" * 16, "clientcert": "0" * 40000},
            {"clientchallenge": "00" * 16},
            {"serverchallengeresp": "00" * 32},
            {"clientpairingsecret": "00" * 300},
            {"clientchallenge": "zz"},
        ]
        for params in bad_pairs:
            r = self.client(self._other).get(False, "/pair", params)
            self.assertRefused(r)
            self.assertEqual(r.text("paired"), "0")
        # A request line past libsoup's limit: refused or closed, never a crash.
        try:
            r = self.client(self._other).get(False, "/pair", {"phrase": "getservercert", "salt": "00" * 16,
                                                             "clientcert": "0" * 200000})
            self.assertRefused(r)
        except (ConnectionError, OSError):
            pass
        self.assertAlive()
        self.assertRefused(c.get(True, "/appasset", {"appid": "424242"}))
        # Unknown paths: XML refusals too.
        self.assertRefused(c.get(False, "/nope"))
        self.assertRefused(c.get(True, "/nope"))
        # A request whose URI does not parse never reaches the handler:
        # libsoup answers 400 itself.
        status, body = c.raw(False, "/serverinfo?%ZZ=%%%")
        self.assertIn(status, (200, 400), body)
        self.assertFalse(self.status()["pairing_pending"])
        self.assertAlive()


@unittest.skipUnless(HAVE_CRYPTO, "python3-cryptography is needed (scripts/deps.sh --test)")
class MoonlightPairTimeout(unittest.TestCase):
    def setUp(self):
        self.d = Daemon(config_extra=ml_config(pair_timeout_s=2)).start()
        self.ports = self.d.request("GET", "/api/v1/moonlight/status").json

    def tearDown(self):
        self.d.cleanup()

    def test_held_getservercert_times_out_and_second_is_refused(self):
        ident = mc.ClientIdentity("slow")
        c = mc.HostClient("127.0.0.1", self.ports["http_port"], self.ports["https_port"], ident)
        p = mc.Pairing(ident, "1234")
        out = {}

        def first():
            out["r"] = c.get(False, "/pair", dict(p.getservercert_params(), devicename="first"))
            out["t"] = time.time()
        t0 = time.time()
        th = threading.Thread(target=first)
        th.start()
        self.assertTrue(wait_until(lambda: self.d.request("GET", "/api/v1/moonlight/status").json["pairing_pending"],
                                   timeout=10))
        # Only one client waits at a time: the second is refused at once.
        p2 = mc.Pairing(ident, "1234")
        r2 = c.get(False, "/pair", dict(p2.getservercert_params(), devicename="second"))
        self.assertEqual(r2.status, 200)
        self.assertEqual(r2.status_code, 503, r2.body)
        self.assertEqual(r2.text("paired"), "0")
        th.join(30)
        r = out["r"]
        self.assertEqual(r.status, 200)
        self.assertEqual(r.status_code, 408, r.body)
        self.assertEqual(r.text("paired"), "0")
        self.assertLess(out["t"] - t0, 15)
        st = self.d.request("GET", "/api/v1/moonlight/status").json
        self.assertFalse(st["pairing_pending"])
        r = self.d.request("POST", "/api/v1/moonlight/pair", {"pin": "1234"})
        self.assertEqual(r.error_code(), "no_pairing_pending")

    def test_client_leaving_ends_the_wait(self):
        ident = mc.ClientIdentity("leaver")
        p = mc.Pairing(ident, "1234")
        q = urllib.parse.urlencode(dict(p.getservercert_params(), uniqueid="0123456789ABCDEF"))
        s = socket.create_connection(("127.0.0.1", self.ports["http_port"]))
        s.sendall(("GET /pair?%s HTTP/1.1\r\nHost: x\r\n\r\n" % q).encode())
        self.assertTrue(wait_until(lambda: self.d.request("GET", "/api/v1/moonlight/status").json["pairing_pending"],
                                   timeout=10))
        s.close()
        # Gone at the latest when the hold times out; nothing crashes meanwhile.
        self.assertTrue(wait_until(lambda: not self.d.request("GET", "/api/v1/moonlight/status").json["pairing_pending"],
                                   timeout=10))
        self.assertIsNone(self.d.proc.poll())


@unittest.skipUnless(HAVE_CRYPTO, "python3-cryptography is needed (scripts/deps.sh --test)")
@unittest.skipUnless(os.geteuid() == 0, "mounting a small tmpfs needs root (CI runs as root)")
class MoonlightDiskFull(HostHelpers, unittest.TestCase):
    """The state dir fills up (a small tmpfs, as in test_hardening_store):
    pairing is refused with a reason the client shows, nothing half-stored,
    a client that was paired stays paired, and pairing works once space is
    back."""

    def setUp(self):
        self.disk = SmallDisk(self, prefix="lobbyd-ml-full-")
        self.d = Daemon(state_dir=self.disk.tmp, config_extra=ml_config()).start()
        self.ports = self.status()
        self.assertTrue(self.ports["running"], self.ports)
        self.identity = self.shared_identity()

    def tearDown(self):
        self.disk.release(self.d)

    def paired(self, identity):
        return self.client(identity).get(True, "/serverinfo").text("PairStatus") == "1"

    def test_pairing_on_a_full_disk(self):
        self.pair()  # our identity pairs while there is room
        self.disk.fill()
        # A new client: the PIN is right, the host cannot keep the pairing.
        replies = self.client(self._other).pair("4321", self.submit_pin("4321"))
        last = replies[-1]
        self.assertRefused(last, 500)
        self.assertIn("could not store the pairing", last.status_message)
        self.assertEqual(last.text("paired"), "0")
        self.assertFalse(self.paired(self._other))
        # The paired client pairing again (it forgot the host) loses nothing.
        replies = self.client().pair("4321", self.submit_pin("4321"))
        self.assertRefused(replies[-1], 500)
        self.assertTrue(self.paired(self.identity), "a refused re-pair unpaired the client")
        clients = self.d.request("GET", "/api/v1/moonlight/clients").json["clients"]
        self.assertEqual([c["name"] for c in clients], ["roth"])
        self.assertFalse(self.status()["pairing_pending"])
        self.assertAlive()
        # Room again: the new client pairs; the old one pairing again
        # replaces its row (a new id, no second row); all survive a restart.
        self.disk.free()
        self.pair(self.client(self._other))
        before = {c["id"] for c in self.d.request("GET", "/api/v1/moonlight/clients").json["clients"]}
        events = EventStream(self.d)
        try:
            self.pair()
            gone = events.wait_for("moonlight.unpaired")[0]["data"]["client_id"]
            new = events.wait_for("moonlight.paired")[0]["data"]["client_id"]
        finally:
            events.close()
        after = {c["id"] for c in self.d.request("GET", "/api/v1/moonlight/clients").json["clients"]}
        self.assertIn(gone, before)
        self.assertEqual(after, (before - {gone}) | {new})
        self.restart()
        self.assertTrue(self.paired(self.identity))
        self.assertTrue(self.paired(self._other))
        self.assertEqual(len(self.d.request("GET", "/api/v1/moonlight/clients").json["clients"]), 2)


class MoonlightConfig(unittest.TestCase):
    def test_disabled_by_test_default(self):
        d = Daemon().start()
        try:
            st = d.request("GET", "/api/v1/moonlight/status").json
            self.assertFalse(st["enabled"])
            self.assertFalse(st["running"])
            r = d.request("POST", "/api/v1/moonlight/pair", {"pin": "1234"})
            self.assertEqual(r.status, 409, r.body)
            self.assertEqual(r.error_code(), "moonlight_disabled")
            self.assertEqual(d.request("GET", "/api/v1/moonlight/clients").status, 409)
        finally:
            d.cleanup()

    def test_busy_port_keeps_daemon_running(self):
        busy = socket.socket()
        busy.bind(("127.0.0.1", 0))
        busy.listen(1)
        port = busy.getsockname()[1]
        d = Daemon(config_extra=ml_config(http_port=port)).start()
        try:
            st = d.request("GET", "/api/v1/moonlight/status").json
            self.assertTrue(st["enabled"])
            self.assertFalse(st["running"])
            self.assertIn("moonlight", d.read_log().lower())
            self.assertIsNone(d.proc.poll())
        finally:
            d.cleanup()
            busy.close()


if __name__ == "__main__":
    unittest.main()
