"""The CLIENT side of Moonlight (GameStream) pairing, written in this project
from the protocol description (docs/moonlight.md, "Pairing and host
identity"; /work/shared/MOONLIGHT.md §1), independently of lobbyd's C code:
its own RSA-2048 key and self-signed certificate, a random salt, AES-128-ECB
without padding keyed by SHA-256(salt ‖ PIN)[0:16], SHA-256 challenge hashes
over the certificates' raw signatures, RSA-PKCS#1 v1.5 SHA-256 signatures.

Needs python3-cryptography (Debian's /usr/bin/python3). Importable by
integration tests: `Pairing` builds each request's parameters and checks each
reply's fields, whatever carries them (the C state machine's test driver now,
lobbyd's /pair over HTTP later). Run as a script, it pairs against
tests/unit/ml-pair-driver (the C state machine behind JSON lines) and prints
the outcome of one named scenario as JSON, for tests/integration/test_ml_pairing.py.
"""
import argparse
import datetime
import json
import os
import subprocess
import sys

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.x509.oid import NameOID


class PairingError(Exception):
    """The client refuses the host: `reason` is "server_hash_mismatch" (the
    host did not know the PIN, or it was mistyped on either side),
    "server_bad_signature" (pairingsecret not signed by the certificate the host
    sent), or "bad_reply" (a reply of the wrong shape)."""

    def __init__(self, reason, message):
        super().__init__(message)
        self.reason = reason


def sha256(*parts):
    h = hashes.Hash(hashes.SHA256())
    for p in parts:
        h.update(p)
    return h.finalize()


def aes_ecb(key, data, encrypt):
    if len(data) % 16:
        raise PairingError("bad_reply", "AES-ECB data of %d bytes is not whole blocks" % len(data))
    c = Cipher(algorithms.AES(key), modes.ECB())
    op = c.encryptor() if encrypt else c.decryptor()
    return op.update(data) + op.finalize()


def unhex(text, what):
    try:
        return bytes.fromhex(text)
    except (TypeError, ValueError):
        raise PairingError("bad_reply", "%s is not hex" % what)


class ClientIdentity:
    """A client's RSA-2048 key and self-signed SHA-256 certificate, like
    moonlight-qt and moonlight-embedded create on first start."""

    def __init__(self, cn="lobbyd test client"):
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])
        now = datetime.datetime.now(datetime.timezone.utc)
        self.cert = (x509.CertificateBuilder()
                     .subject_name(name).issuer_name(name)
                     .public_key(self.key.public_key())
                     .serial_number(x509.random_serial_number())
                     .not_valid_before(now - datetime.timedelta(days=1))
                     .not_valid_after(now + datetime.timedelta(days=3650))
                     .sign(self.key, hashes.SHA256()))
        self.cert_pem = self.cert.public_bytes(serialization.Encoding.PEM)

    def sign(self, data):
        return self.key.sign(data, padding.PKCS1v15(), hashes.SHA256())


class Pairing:
    """One pairing attempt, phrase by phrase. Each *_params() returns the
    query parameters of the next request; each on_*() takes the reply's field.
    `check=False` skips the client's own checks of the host (to see what the
    host says about a wrong PIN when a client goes on regardless)."""

    def __init__(self, identity, pin, check=True):
        self.identity = identity
        self.pin = pin.encode("ascii")
        self.check = check
        self.salt = os.urandom(16)
        self.key = sha256(self.salt, self.pin)[:16]
        self.client_challenge = os.urandom(16)
        self.client_secret = os.urandom(16)
        self.server_cert = None
        self.server_hash = None
        self.server_challenge = None

    # 1. phrase=getservercert
    def getservercert_params(self):
        return {"phrase": "getservercert", "salt": self.salt.hex().upper(),
                "clientcert": self.identity.cert_pem.hex().upper()}

    def on_plaincert(self, plaincert_hex):
        pem = unhex(plaincert_hex, "plaincert")
        try:
            self.server_cert = x509.load_pem_x509_certificate(pem)
        except ValueError:
            raise PairingError("bad_reply", "plaincert is not a PEM certificate")
        return self.server_cert

    # 2. clientchallenge
    def clientchallenge_params(self):
        return {"clientchallenge": aes_ecb(self.key, self.client_challenge, True).hex().upper()}

    def on_challengeresponse(self, hex_text):
        plain = aes_ecb(self.key, unhex(hex_text, "challengeresponse"), False)
        if len(plain) < 48:
            raise PairingError("bad_reply", "challengeresponse is %d bytes, not 48" % len(plain))
        self.server_hash, self.server_challenge = plain[:32], plain[32:48]

    # 3. serverchallengeresp
    def client_hash(self):
        return sha256(self.server_challenge, self.identity.cert.signature, self.client_secret)

    def serverchallengeresp_params(self):
        return {"serverchallengeresp": aes_ecb(self.key, self.client_hash(), True).hex().upper()}

    def on_pairingsecret(self, hex_text):
        data = unhex(hex_text, "pairingsecret")
        if len(data) <= 16:
            raise PairingError("bad_reply", "pairingsecret is %d bytes" % len(data))
        secret, sig = data[:16], data[16:]
        if not self.check:
            return
        try:
            self.server_cert.public_key().verify(sig, secret, padding.PKCS1v15(), hashes.SHA256())
        except InvalidSignature:
            raise PairingError("server_bad_signature", "pairingsecret is not signed by the host certificate")
        if sha256(self.client_challenge, self.server_cert.signature, secret) != self.server_hash:
            raise PairingError("server_hash_mismatch",
                               "the host's challenge hash does not match: wrong PIN")

    # 4. clientpairingsecret
    def clientpairingsecret_params(self):
        return {"clientpairingsecret": (self.client_secret + self.identity.sign(self.client_secret)).hex().upper()}


class HostReply:
    """One reply of the host's HTTP(S) server: the HTTP status and the XML root."""

    def __init__(self, status, body):
        import xml.etree.ElementTree as ET
        self.status = status
        self.body = body
        self.root = ET.fromstring(body)

    @property
    def status_code(self):
        return int(self.root.get("status_code", "0"))

    @property
    def status_message(self):
        return self.root.get("status_message", "")

    def text(self, tag):
        el = self.root.find(tag)
        return None if el is None else (el.text or "")


class HostClient:
    """A GameStream client's HTTP side: plain HTTP (serverinfo, pair) and HTTPS
    with the client certificate (everything else), as moonlight-common-c does
    it (uniqueid 0123456789ABCDEF and a random uuid on every request)."""

    def __init__(self, host, http_port, https_port, identity, source_ip=None):
        import ssl
        import tempfile
        self.host = host
        self.http_port = http_port
        self.https_port = https_port
        self.identity = identity
        # Clients behind one address are told apart by it (launches are
        # matched to RTSP by address): tests give each its own 127.0.0.x.
        self.source = (source_ip, 0) if source_ip else None
        self._dir = tempfile.mkdtemp(prefix="ml-client-")
        cert = os.path.join(self._dir, "client.pem")
        key = os.path.join(self._dir, "client.key")
        with open(cert, "wb") as f:
            f.write(identity.cert_pem)
        with open(key, "wb") as f:
            f.write(identity.key.private_bytes(serialization.Encoding.PEM,
                                               serialization.PrivateFormat.TraditionalOpenSSL,
                                               serialization.NoEncryption()))
        self.ssl = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        self.ssl.check_hostname = False
        self.ssl.verify_mode = ssl.CERT_NONE
        self.ssl.load_cert_chain(cert, key)
        self.last_peer_cert_der = None

    def _query(self, params):
        import urllib.parse
        import uuid
        q = {"uniqueid": "0123456789ABCDEF", "uuid": uuid.uuid4().hex}
        q.update(params or {})
        return urllib.parse.urlencode(q)

    def raw(self, https, path_and_query, timeout=30):
        """GET a raw target; returns (HTTP status, body bytes)."""
        import http.client
        if https:
            conn = http.client.HTTPSConnection(self.host, self.https_port, context=self.ssl,
                                               timeout=timeout, source_address=self.source)
        else:
            conn = http.client.HTTPConnection(self.host, self.http_port, timeout=timeout,
                                              source_address=self.source)
        try:
            conn.request("GET", path_and_query)
            if https:  # before the reply: the host closes HTTPS after each one
                self.last_peer_cert_der = conn.sock.getpeercert(binary_form=True) if conn.sock else None
            r = conn.getresponse()
            body = r.read()
            return r.status, body
        finally:
            conn.close()

    def get(self, https, path, params=None, timeout=30):
        status, body = self.raw(https, "%s?%s" % (path, self._query(params)), timeout=timeout)
        return HostReply(status, body)

    def pair(self, pin, submit_pin, check=True):
        """The four phrases over HTTP, then pairchallenge over HTTPS.
        `submit_pin()` runs while getservercert is held (the operator types the
        PIN); returns the list of replies. Raises PairingError like Pairing."""
        import threading
        p = Pairing(self.identity, pin, check=check)
        held = {}

        def first():
            try:
                held["reply"] = self.get(False, "/pair", dict(p.getservercert_params(), devicename="roth",
                                                              updateState="1"), timeout=120)
            except Exception as e:  # noqa: BLE001 - reported below
                held["error"] = e

        t = threading.Thread(target=first)
        t.start()
        submit_pin()
        t.join(120)
        if "error" in held:
            raise held["error"]
        replies = [held["reply"]]
        r = held["reply"]
        if r.text("paired") != "1":
            return replies
        p.on_plaincert(r.text("plaincert"))
        r = self.get(False, "/pair", dict(p.clientchallenge_params(), devicename="roth", updateState="1"))
        replies.append(r)
        if r.text("paired") != "1":
            return replies
        p.on_challengeresponse(r.text("challengeresponse"))
        r = self.get(False, "/pair", dict(p.serverchallengeresp_params(), devicename="roth", updateState="1"))
        replies.append(r)
        if r.text("paired") != "1":
            return replies
        p.on_pairingsecret(r.text("pairingsecret"))
        r = self.get(False, "/pair", dict(p.clientpairingsecret_params(), devicename="roth", updateState="1"))
        replies.append(r)
        if r.text("paired") != "1":
            return replies
        r = self.get(True, "/pair", {"devicename": "roth", "updateState": "1", "phrase": "pairchallenge"})
        replies.append(r)
        self.server_cert = p.server_cert
        return replies


class Driver:
    """tests/unit/ml-pair-driver: lobbyd's pairing state machine over JSON lines."""

    def __init__(self, path, state_dir):
        self.proc = subprocess.Popen([path, state_dir], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     text=True)

    def request(self, obj):
        self.proc.stdin.write(json.dumps(obj) + "\n")
        self.proc.stdin.flush()
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError("ml-pair-driver died (exit %s)" % self.proc.poll())
        return json.loads(line)

    def close(self):
        self.proc.stdin.close()
        rc = self.proc.wait(timeout=30)
        return rc


def pair_via_driver(driver, identity, client_pin, operator_pin, check=True, tamper=None):
    """A whole attempt against the driver. `tamper` names a step whose request
    is altered: "hash" (one bit of the encrypted client hash), "signature"
    (one bit of the signature in clientpairingsecret), "secret" (another
    secret than the hashed one, correctly signed), or a phrase name mapped to
    the raw text to send instead ("garbage:<op>:<text>"). Returns a dict:
    outcome ("paired" or "refused"), by ("host" or "client"), reason, step."""
    p = Pairing(identity, client_pin, check=check)

    def host(op, **fields):
        reply = driver.request(dict(op=op, **fields))
        if not reply.get("ok"):
            raise HostRefused(op, reply)
        return reply

    garbage_op, garbage_text = None, None
    if tamper and tamper.startswith("garbage:"):
        _, garbage_op, garbage_text = tamper.split(":", 2)

    def value(op, text):
        return garbage_text if op == garbage_op else text

    try:
        params = p.getservercert_params()
        host("getservercert", salt=value("salt", params["salt"]),
             clientcert=value("clientcert", params["clientcert"]))
        reply = host("pin", pin=operator_pin)
        server_cert = p.on_plaincert(reply["plaincert"])
        reply = host("clientchallenge", value=value("clientchallenge", p.clientchallenge_params()["clientchallenge"]))
        p.on_challengeresponse(reply["challengeresponse"])
        resp = p.serverchallengeresp_params()["serverchallengeresp"]
        if tamper == "hash":
            resp = "%02X" % (int(resp[:2], 16) ^ 1) + resp[2:]
        reply = host("serverchallengeresp", value=value("serverchallengeresp", resp))
        p.on_pairingsecret(reply["pairingsecret"])
        if tamper == "secret":
            p.client_secret = os.urandom(16)
        secret = p.clientpairingsecret_params()["clientpairingsecret"]
        if tamper == "signature":
            i = 40
            secret = secret[:i] + ("0" if secret[i] != "0" else "1") + secret[i + 1:]
        reply = host("clientpairingsecret", value=value("clientpairingsecret", secret))
        return {"outcome": "paired", "client_cert_pem": reply.get("client_cert_pem"),
                "our_cert_pem": identity.cert_pem.decode(),
                "server_cert_is_host": server_cert is not None}
    except HostRefused as e:
        return {"outcome": "refused", "by": "host", "step": e.op, "reason": e.reply.get("reason"),
                "message": e.reply.get("message")}
    except PairingError as e:
        return {"outcome": "refused", "by": "client", "reason": e.reason, "message": str(e)}


class HostRefused(Exception):
    def __init__(self, op, reply):
        super().__init__("%s refused: %s" % (op, reply))
        self.op = op
        self.reply = reply


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--driver", required=True)
    ap.add_argument("--state-dir", required=True)
    ap.add_argument("--client-pin", default="1234")
    ap.add_argument("--operator-pin", default="1234")
    ap.add_argument("--no-check", action="store_true")
    ap.add_argument("--tamper", default=None)
    ap.add_argument("--raw", action="append", default=[],
                    help="JSON lines sent to the driver after the attempt (its replies are printed too)")
    args = ap.parse_args()
    driver = Driver(args.driver, args.state_dir)
    identity = ClientIdentity()
    result = pair_via_driver(driver, identity, args.client_pin, args.operator_pin,
                             check=not args.no_check, tamper=args.tamper)
    result["identity"] = driver.request({"op": "identity"})
    result["raw"] = [driver.request(json.loads(r)) for r in args.raw]
    result["driver_exit"] = driver.close()
    json.dump(result, sys.stdout)
    print()


if __name__ == "__main__":
    main()
