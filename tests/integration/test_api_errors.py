"""Bad input gets a clear JSON error with a stable code and the right status,
never a crash and never a half-created lobby or session."""
import os
import stat
import unittest

from lbtest import DaemonTest

GOOD_LOBBY = {"name": "x", "source": {"type": "testsrc"}, "video": {"width": 320, "height": 240, "fps": 30}}


def lobby(**over):
    body = {k: (dict(v) if isinstance(v, dict) else v) for k, v in GOOD_LOBBY.items()}
    for k, v in over.items():
        if v is None:
            body.pop(k, None)
        else:
            body[k] = v
    return body


def join(dest=None, **over):
    body = {"transport": "rtp", "destination": dest or {"host": "127.0.0.1", "port": 5999}}
    body.update(over)
    return body


# (method, path, body-or-raw-bytes, extra headers, expected status, expected code)
L = "{lobby}"
CASES = [
    ("POST", "/api/v1/lobbies", b"{not json", None, 400, "invalid_json"),
    ("POST", "/api/v1/lobbies", b"", None, 400, "invalid_json"),
    ("POST", "/api/v1/lobbies", b"[1,2]", None, 400, "invalid_json"),
    ("POST", "/api/v1/lobbies", b"\xff\xfe", None, 400, "invalid_json"),
    ("POST", "/api/v1/lobbies", lobby(name=None), None, 400, "missing_field"),
    ("POST", "/api/v1/lobbies", lobby(name=42), None, 400, "invalid_field"),
    ("POST", "/api/v1/lobbies", lobby(name=""), None, 400, "out_of_range"),
    ("POST", "/api/v1/lobbies", lobby(name="x" * 129), None, 400, "out_of_range"),
    ("POST", "/api/v1/lobbies", lobby(name="a\nb"), None, 400, "invalid_field"),
    ("POST", "/api/v1/lobbies", lobby(colour="red"), None, 400, "unknown_field"),
    ("POST", "/api/v1/lobbies", lobby(video={"width": 320, "height": 240, "fps": 30, "x": 1}), None, 400, "unknown_field"),
    ("POST", "/api/v1/lobbies", lobby(video={"width": "320"}), None, 400, "invalid_field"),
    ("POST", "/api/v1/lobbies", lobby(video={"width": 320.5}), None, 400, "invalid_field"),
    ("POST", "/api/v1/lobbies", lobby(video={"width": 99999}), None, 400, "out_of_range"),
    ("POST", "/api/v1/lobbies", lobby(video={"width": 321}), None, 400, "out_of_range"),
    ("POST", "/api/v1/lobbies", lobby(video={"fps": 0}), None, 400, "out_of_range"),
    ("POST", "/api/v1/lobbies", lobby(video={"fps": -5}), None, 400, "out_of_range"),
    ("POST", "/api/v1/lobbies", lobby(video={"fps": True}), None, 400, "invalid_field"),
    ("POST", "/api/v1/lobbies", lobby(source={"type": "v4l2src device=/dev/video0"}), None, 400, "invalid_field"),
    ("POST", "/api/v1/lobbies", lobby(source={"type": "testsrc", "pattern": "ball ! filesink location=/tmp/x"}), None, 400, "invalid_field"),
    ("POST", "/api/v1/lobbies", lobby(source="testsrc"), None, 400, "invalid_field"),
    ("POST", "/api/v1/lobbies", lobby(session_key=["a"]), None, 400, "invalid_field"),
    ("POST", "/api/v1/lobbies", b'{"name":"x"}', {"Content-Type": "text/plain"}, 415, "unsupported_media_type"),
    ("POST", "/api/v1/lobbies", b'{"name":"' + b"x" * 70000 + b'"}', None, 413, "payload_too_large"),
    ("PUT", "/api/v1/lobbies", lobby(), None, 405, "method_not_allowed"),
    ("DELETE", "/api/v1/lobbies", None, None, 405, "method_not_allowed"),
    ("PATCH", "/api/v1/sessions/abc", None, None, 405, "method_not_allowed"),
    ("GET", "/api/v1/nope", None, None, 404, "not_found"),
    ("GET", "/api/v2/lobbies", None, None, 404, "not_found"),
    ("GET", "/api/v1/lobbies/00000000-0000-0000-0000-000000000000", None, None, 404, "not_found"),
    ("DELETE", "/api/v1/lobbies/does-not-exist", None, None, 404, "not_found"),
    ("GET", "/api/v1/lobbies/by-key/unknown-key", None, None, 404, "not_found"),
    ("GET", "/api/v1/sessions/does-not-exist", None, None, 404, "not_found"),
    ("GET", "/api/v1/sessions/does-not-exist/sdp", None, None, 404, "not_found"),
    ("DELETE", "/api/v1/sessions/does-not-exist", None, None, 404, "not_found"),
    ("POST", "/api/v1/lobbies/does-not-exist/sessions", join(), None, 404, "not_found"),
    ("POST", "/api/v1/lobbies/%s/sessions" % L, join(transport="webrtc"), None, 400, "invalid_field"),
    ("POST", "/api/v1/lobbies/%s/whep" % L, b"v=0\r\n", {"Content-Type": "application/sdp"}, 400, "invalid_sdp"),
    ("POST", "/api/v1/lobbies/%s/whep" % L, b"", {"Content-Type": "application/sdp"}, 400, "invalid_sdp"),
    ("POST", "/api/v1/lobbies/%s/whep/control" % L, b"hello", {"Content-Type": "application/sdp"}, 400, "invalid_sdp"),
    ("POST", "/api/v1/lobbies/%s/whep" % L, b"v=0\r\n", {"Content-Type": "application/json"}, 415, "unsupported_media_type"),
    ("POST", "/api/v1/lobbies/%s/sessions" % L, join(dest={"host": "8.8.8.8", "port": 5000}), None, 403, "destination_not_allowed"),
    ("POST", "/api/v1/lobbies/%s/sessions" % L, join(dest={"host": "192.168.1.1", "port": 5000}), None, 403, "destination_not_allowed"),
    ("POST", "/api/v1/lobbies/%s/sessions" % L, join(dest={"host": "localhost", "port": 5000}), None, 400, "invalid_field"),
    ("POST", "/api/v1/lobbies/%s/sessions" % L, join(dest={"host": "127.0.0.1", "port": 0}), None, 400, "out_of_range"),
    ("POST", "/api/v1/lobbies/%s/sessions" % L, join(dest={"host": "127.0.0.1", "port": 70000}), None, 400, "out_of_range"),
    ("POST", "/api/v1/lobbies/%s/sessions" % L, join(dest={"host": "127.0.0.1"}), None, 400, "missing_field"),
    ("POST", "/api/v1/lobbies/%s/sessions" % L, join(profile={"codec": "vp8"}), None, 400, "invalid_field"),
    ("POST", "/api/v1/lobbies/%s/sessions" % L, join(profile={"bitrate_kbps": 1}), None, 400, "out_of_range"),
    ("POST", "/api/v1/lobbies/%s/sessions" % L, join(profile={"fps": 60}), None, 400, "out_of_range"),
    ("POST", "/api/v1/lobbies/%s/sessions" % L, join(profile={"pipeline": "x264enc"}), None, 400, "unknown_field"),
]


class BadRequestTest(DaemonTest):
    def test_table_of_bad_requests(self):
        good = self.d.create_lobby(name="victim", key="victim").json
        self.assertGreaterEqual(len(CASES), 20)
        failures = []
        for method, path, body, headers, status, code in CASES:
            path = path.replace(L, good["id"])
            if isinstance(body, (bytes, bytearray)):
                hdrs = {"Content-Type": "application/json"}
                hdrs.update(headers or {})
                r = self.d.request(method, path, raw=body, headers=hdrs)
            else:
                r = self.d.request(method, path, body, headers=headers)
            got = (r.status, r.error_code())
            if got != (status, code):
                failures.append("%s %s %r: expected %s, got %s %s" % (method, path, body if not isinstance(body, bytes) else body[:40], (status, code), got, r.body[:200]))
            elif r.status == 405:
                self.assertIn("Allow", r.headers)
            if r.status >= 400 and r.error_code() is not None:
                self.assertTrue(r.json["error"]["message"])
        self.assertEqual(failures, [], "\n".join(failures))
        # Nothing half-created, and the daemon is alive and unchanged.
        lobbies = self.d.request("GET", "/api/v1/lobbies").json["lobbies"]
        self.assertEqual([l["id"] for l in lobbies], [good["id"]])
        self.assertEqual(self.d.request("GET", "/api/v1/sessions").json["sessions"], [])
        self.assertEqual(self.d.request("GET", "/api/v1/status").json["pipelines"], 1)


class AuthTest(DaemonTest):
    def test_tcp_requires_bearer_token(self):
        r = self.d.request("GET", "/api/v1/lobbies", tcp=True)
        self.assertEqual((r.status, r.error_code()), (401, "unauthorized"))
        r = self.d.request("GET", "/api/v1/lobbies", tcp=True, headers={"Authorization": "Bearer wrong"})
        self.assertEqual((r.status, r.error_code()), (401, "unauthorized"))
        r = self.d.request("GET", "/api/v1/lobbies", tcp=True,
                           headers={"Authorization": "Bearer " + self.d.token + "x"})
        self.assertEqual(r.status, 401)
        # An unauthenticated create must not create anything.
        r = self.d.request("POST", "/api/v1/lobbies", {"name": "sneaky"}, tcp=True)
        self.assertEqual(r.status, 401)
        r = self.d.request("GET", "/api/v1/lobbies", tcp=True,
                           headers={"Authorization": "Bearer " + self.d.token})
        self.assertEqual((r.status, r.json["lobbies"]), (200, []))
        # The unix socket needs no token: its file mode guards it.
        self.assertEqual(self.d.request("GET", "/api/v1/lobbies").status, 200)

    def test_generated_token_file_is_private(self):
        from lbtest import Daemon
        d = Daemon()
        with open(d.config, "w") as f:
            f.write("[daemon]\nlisten=127.0.0.1:%d\n[demo]\nenabled=false\n" % d.tcp_port)
        d.start()
        try:
            path = os.path.join(d.state_dir, "token")
            self.assertEqual(stat.S_IMODE(os.stat(path).st_mode), 0o600)
            token = open(path).read().strip()
            self.assertGreaterEqual(len(token), 32)
            r = d.request("GET", "/api/v1/status", tcp=True, headers={"Authorization": "Bearer " + token})
            self.assertEqual(r.status, 200)
        finally:
            d.cleanup()


if __name__ == "__main__":
    unittest.main()
