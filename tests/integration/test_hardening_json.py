"""Issue 9, items 6 and 13, against the real daemon over its unix socket.

Item 6: the JSON reader is strict (RFC 8259): `\\u0000` in strings, numbers in
odd spellings (leading zeros, hex, '+', '.5', ...), duplicate object keys and
anything json-glib would otherwise accept leniently are 400 `invalid_json`;
content types are matched exactly on the media type (415 otherwise); error
bodies that echo request text are valid UTF-8 JSON.

Item 13: the software-encoding warning says what is true: capacity exhausted
(the seed's sentence, with real numbers), no GPU here, or hardware turned off
in the config — in gpu-status (`software_reason`) and in `lobbyctl status`."""
import json
import os
import shutil
import subprocess
import time
import unittest

from lbtest import Daemon, DaemonTest, binary, free_port

SEED_SENTENCE = ("GPU encoding sessions exhausted (%d/%d). "
                 "Using CPU software encoding - performance may be reduced.")


def lobby_body(**extra):
    body = {"name": "j", "video": {"width": 320, "height": 240, "fps": 30}}
    body.update(extra)
    return body


class JsonStrictnessTest(DaemonTest):
    def post_raw(self, raw, content_type="application/json", path="/api/v1/lobbies"):
        if isinstance(raw, str):
            raw = raw.encode()
        return self.d.request("POST", path, raw=raw, headers={"Content-Type": content_type})

    def assert_json_error(self, r, status, code):
        # Every error body is valid UTF-8 JSON with the stable code.
        body = json.loads(r.body.decode("utf-8"))
        self.assertEqual((r.status, body["error"]["code"]), (status, code), r.body)
        return body

    def test_nul_escape_does_not_cross_tenants(self):
        ids = []
        for secret in ("secret1", "secret2"):
            raw = ('{"name":"t","session_key":"tenant-A\\u0000-%s",'
                   '"video":{"width":320,"height":240,"fps":30}}' % secret)
            r = self.post_raw(raw)
            if r.status in (200, 201):
                ids.append(r.json["id"])
            else:
                self.assert_json_error(r, 400, "invalid_json")
        # Either both are refused, or they are two different lobbies: never the same one.
        self.assertEqual(len(ids), len(set(ids)), "two tenant keys gave the same lobby")
        self.assertEqual(ids, [], "a key with U+0000 must be refused, not truncated")
        # And nobody owns the truncated key.
        r = self.d.request("GET", "/api/v1/lobbies/by-key/tenant-A")
        self.assertEqual(r.status, 404)
        self.assertEqual(self.d.request("GET", "/api/v1/lobbies").json["lobbies"], [])

    def test_nul_in_path_key_does_not_match_prefix(self):
        r = self.d.create_lobby(key="tenant-A")
        self.assertEqual(r.status, 201, r.body)
        r = self.d.request("GET", "/api/v1/lobbies/by-key/tenant-A%00-secret1")
        self.assertIn(r.status, (400, 404), r.body)

    def test_odd_numbers_duplicate_keys_and_lenient_syntax_are_invalid_json(self):
        cases = [
            # numbers json-glib reads leniently
            '{"name":"j","video":{"width":0320,"height":240,"fps":30}}',
            '{"name":"j","video":{"width":0x1E0,"height":240,"fps":30}}',
            '{"name":"j","video":{"width":00,"height":240,"fps":30}}',
            '{"name":"j","video":{"width":+320,"height":240,"fps":30}}',
            '{"name":"j","video":{"width":-0320,"height":240,"fps":30}}',
            '{"name":"j","video":{"width":.5,"height":240,"fps":30}}',
            '{"name":"j","video":{"width":320.,"height":240,"fps":30}}',
            '{"name":"j","video":{"width":3e,"height":240,"fps":30}}',
            '{"name":"j","video":{"width":Infinity,"height":240,"fps":30}}',
            '{"name":"j","video":{"width":NaN,"height":240,"fps":30}}',
            # beyond 64 bits json-glib wraps around: this one read as 320
            '{"name":"j","video":{"width":-18446744073709551296,"height":240,"fps":30}}',
            '{"name":"j","video":{"width":18446744073709551936,"height":240,"fps":30}}',
            # duplicate keys, also spelled differently and nested
            '{"name":"a","name":"b"}',
            '{"name":"a","na\\u006de":"b"}',
            '{"name":"a","video":{"width":320,"width":640}}',
            # strings
            '{"name":"a\\u0000b"}',
            '{"name":"\\x41"}',
            '{"name":"\\ud800"}',
            '{"name":"\\udc00x"}',
            '{"name":"\\u12"}',
            '{"name":"tab\there"}',
            "{'name':'single'}",
            '{name:"bare"}',
            # structure
            '{"name":"a",}',
            '{"name":"a"} /* c */',
            '{/* c */"name":"a"}',
            '{"name":"a"}\x0c',
            '{"name":true1}',
            '{"name":tru}',
            '{"name":' + '[' * 30000 + ']' * 30000 + '}',
            '{"name":"a"}{"name":"b"}',
            '',
            '[]',
        ]
        for raw in cases:
            with self.subTest(raw=raw[:60]):
                self.assert_json_error(self.post_raw(raw), 400, "invalid_json")
        # Not UTF-8 / bytes: also invalid_json, and the error body stays UTF-8.
        for raw in (b'{"name":"\xff\xfe"}', b'{"name":"\xc0\xaf"}', b'{"name":"\xed\xa0\x80"}'):
            with self.subTest(raw=raw):
                self.assert_json_error(self.post_raw(raw), 400, "invalid_json")
        self.assertEqual(self.d.request("GET", "/api/v1/lobbies").json["lobbies"], [])

    def test_strict_json_still_accepts_valid_bodies(self):
        raw = (' \r\n\t{"name" : "h\\u00e9\\ud83d\\ude00\\"\\\\\\/\\b\\f\\n\\r\\t\\u0041x",'
               '"video":{"width":320,"height":240,"fps":30},"session_key":"k\\u0020y"} \n')
        r = self.post_raw(raw)
        # control characters are refused by the field check, not the reader
        self.assert_json_error(r, 400, "invalid_field")
        raw = ('{"name":"h\\u00e9\\ud83d\\ude00\\"\\\\\\/x",'
               '"video":{"width":320,"height":240,"fps":30},"session_key":"k\\u0020y"}')
        r = self.post_raw(raw)
        self.assertEqual(r.status, 201, r.body)
        self.assertEqual(r.json["name"], 'h\u00e9\U0001F600"\\/x')
        self.assertEqual(r.json["session_key"], "k y")

    def test_numbers_in_rfc_spelling_are_read_as_written(self):
        r = self.post_raw('{"name":"n","video":{"width":320,"height":240,"fps":30}}')
        self.assertEqual(r.status, 201, r.body)
        self.assertEqual(r.json["video"]["width"], 320)
        for raw, code in (('{"name":"m","video":{"width":3.2e2,"height":240,"fps":30}}', "invalid_field"),
                          ('{"name":"m","video":{"width":-0,"height":240,"fps":30}}', "out_of_range"),
                          ('{"name":"m","video":{"width":1e999,"height":240,"fps":30}}', "invalid_field"),
                          ('{"name":"m","video":{"width":99999999999999999999,"height":240,"fps":30}}',
                           "out_of_range")):
            with self.subTest(raw=raw):
                r = self.post_raw(raw)
                self.assertEqual(r.status, 400, r.body)
                self.assertIn(r.error_code(), (code, "invalid_json"), r.body)

    def test_content_type_is_matched_exactly(self):
        good = json.dumps(lobby_body())
        for ct in ("application/jsonx", "application/json-patch+json", "application/jsonp",
                   "text/plain", "application/x-www-form-urlencoded", "application/json garbage",
                   "application/json, text/plain"):
            with self.subTest(ct=ct):
                self.assert_json_error(self.post_raw(good, ct), 415, "unsupported_media_type")
        for i, ct in enumerate(("application/json", "Application/JSON", "application/json; charset=utf-8",
                                "application/json;charset=UTF-8")):
            with self.subTest(ct=ct):
                r = self.post_raw(json.dumps(lobby_body(name="ok%d" % i, session_key="ct%d" % i)), ct)
                self.assertEqual(r.status, 201, r.body)

        lobby = self.d.create_lobby(key="sdp").json
        whep = "/api/v1/lobbies/%s/whep" % lobby["id"]
        for ct in ("application/sdpfoo", "application/sdp-x", "application/json", "text/sdp"):
            with self.subTest(ct=ct):
                self.assert_json_error(self.post_raw("v=0\r\n", ct, whep), 415, "unsupported_media_type")
                self.assert_json_error(self.post_raw("v=0\r\n", ct, whep + "/control"), 415,
                                       "unsupported_media_type")
        for ct in ("application/sdp", "Application/SDP", "application/sdp; charset=utf-8"):
            with self.subTest(ct=ct):
                # accepted as SDP, refused as an offer
                self.assert_json_error(self.post_raw("v=0\r\n", ct, whep), 400, "invalid_sdp")

    def test_error_messages_that_echo_request_text_are_utf8(self):
        paths = ["/api/v1/lobbies/by-key/%FF%FE", "/api/v1/lobbies/%FF%FE", "/api/v1/lobbies/%FF/sessions",
                 "/api/v1/sessions/%C3%28", "/api/v1/sessions/%FF/sdp", "/api/v1/nope/%ED%A0%80",
                 "/api/v1/lobbies/by-key/ok%E2%82"]
        for p in paths:
            with self.subTest(path=p):
                r = self.d.request("GET", p)
                self.assertIn(r.status, (400, 404), r.body)
                if r.status == 404:
                    self.assert_json_error(r, 404, "not_found")
        for method, p in (("PUT", "/api/v1/lobbies/by-key/%FF%FE"), ("PATCH", "/api/v1/sessions/%FE")):
            with self.subTest(path=p):
                self.assert_json_error(self.d.request(method, p), 405, "method_not_allowed")
        for p in ("/api/v1/lobbies/%FF%FE", "/api/v1/sessions/%FF%FE", "/api/v1/sessions/%FF%FE/whep"):
            with self.subTest(path=p):
                self.assert_json_error(self.d.request("DELETE", p), 404, "not_found")
        lobby = self.d.create_lobby().json
        r = self.post_raw("v=0\r\n", "application/sdp", "/api/v1/lobbies/%FF%FE/whep")
        self.assert_json_error(r, 404, "not_found")
        # A Content-Type with non-UTF-8 bytes is echoed safely too.
        for ct in ("application/\xff\xfe", "\xff/json"):
            with self.subTest(ct=ct):
                r = self.post_raw(json.dumps(lobby_body()), ct)
                self.assert_json_error(r, 415, "unsupported_media_type")
        # Valid UTF-8 in the key still comes back as it was sent.
        r = self.d.request("GET", "/api/v1/lobbies/by-key/caf%C3%A9")
        body = self.assert_json_error(r, 404, "not_found")
        self.assertIn("caf\u00e9", body["error"]["message"])
        self.assertEqual(self.d.request("GET", "/api/v1/lobbies/" + lobby["id"]).status, 200)


class SoftwareReasonMixin:
    def gpu(self):
        return self.d.request("GET", "/api/v1/system/gpu-status").json

    def lobby(self):
        r = self.d.request("POST", "/api/v1/lobbies", lobby_body(name="sw", encoder_sharing="off"))
        self.assertEqual(r.status, 201, r.body)
        return r.json

    def join(self, lobby):
        body = {"transport": "rtp", "destination": {"host": "127.0.0.1", "port": free_port()},
                "profile": {"bitrate_kbps": 300}}
        r = self.d.request("POST", "/api/v1/lobbies/%s/sessions" % lobby["id"], body)
        self.assertEqual(r.status, 201, r.body)
        return r.json

    def ctl_status(self):
        p = subprocess.run([binary("lobbyctl"), "--socket", self.d.socket, "status"],
                           capture_output=True, text=True, timeout=30)
        self.assertEqual(p.returncode, 0, p.stderr)
        return p.stdout


class NoGpuReasonTest(SoftwareReasonMixin, DaemonTest):
    """This machine has no GPU: the truth is "no hardware encoder", not "exhausted"."""

    def test_no_gpu_is_not_called_exhausted(self):
        lobby = self.lobby()
        s = self.join(lobby)
        self.assertEqual(s["encoding"]["pool"], "software")
        g = self.gpu()
        self.assertTrue(g["software_mode"])
        reason = g["software_reason"]
        self.assertEqual(reason["code"], "no_hardware_encoder", reason)
        self.assertNotIn("exhausted", reason["message"])
        self.assertIn("No NVIDIA GPU", reason["message"])
        self.assertIn("Using CPU software encoding - performance may be reduced.", reason["message"])
        out = self.ctl_status()
        self.assertIn(reason["message"], out)
        self.assertNotIn("exhausted", out)

    def test_browser_banner_says_no_gpu(self):
        from test_browser import have_browser, run_check
        if not have_browser():
            self.skipTest("chromium, node and tests/browser/node_modules are needed")
        lobby = self.lobby()
        url = "http://127.0.0.1:%d/view/%s#token=%s" % (self.d.tcp_port, lobby["id"], self.d.token)
        out = run_check(url, os.path.join(self.d.tmp, "viewer-no-gpu.png"))
        self.assertNotIn("error", out, out)
        self.assertEqual(out["encoding"]["pool"], "software")
        banner = out["banner"] or ""
        self.assertIn("No NVIDIA GPU", banner)
        self.assertIn("Using CPU software encoding - performance may be reduced.", banner)
        self.assertNotIn("exhausted", banner)


class HardwareOffReasonTest(SoftwareReasonMixin, DaemonTest):
    config_extra = "[encoder]\nhardware=off\n"

    def test_hardware_off_says_turned_off(self):
        g = self.gpu()
        # Already known before any session: new sessions will encode in software.
        self.assertFalse(g["software_mode"])
        self.assertEqual(g["software_reason"]["code"], "hardware_disabled")
        self.join(self.lobby())
        g = self.gpu()
        self.assertTrue(g["software_mode"])
        reason = g["software_reason"]
        self.assertEqual(reason["code"], "hardware_disabled", reason)
        self.assertIn("turned off", reason["message"])
        self.assertIn("[encoder] hardware", reason["message"])
        self.assertNotIn("exhausted", reason["message"])
        self.assertIn(reason["message"], self.ctl_status())


# TEST DOUBLE for the NVIDIA driver we lack: an NVML that lists one GPU. With
# no CUDA/NVENC library next to it, lobbyd's real NVENC probe then finds the
# GPU unable to encode — the "NVENC not supported on this GPU" case.
FAKE_NVML = r"""
#include <string.h>
static const char *gpu = "NVIDIA Test Double GPU";
int nvmlInit_v2 (void) { return 0; }
int nvmlShutdown (void) { return 0; }
const char *nvmlErrorString (int rc) { return rc ? "Not Supported" : "Success"; }
int nvmlSystemGetDriverVersion (char *v, unsigned n) { strncpy (v, "999.99", n); return 0; }
int nvmlSystemGetNVMLVersion (char *v, unsigned n) { strncpy (v, "99.999", n); return 0; }
int nvmlDeviceGetCount_v2 (unsigned *c) { *c = 1; return 0; }
int nvmlDeviceGetHandleByIndex_v2 (unsigned i, void **d) { *d = (void *)gpu; return 0; }
int nvmlDeviceGetName (void *d, char *v, unsigned n) { strncpy (v, gpu, n); return 0; }
int nvmlDeviceGetUUID (void *d, char *v, unsigned n) { strncpy (v, "GPU-test-double", n); return 0; }
int nvmlDeviceGetPciInfo_v3 (void *d, void *p) { return 3; }
int nvmlDeviceGetBrand (void *d, int *b) { *b = 0; return 0; }
int nvmlDeviceGetEncoderStats (void *d, unsigned *n, unsigned *f, unsigned *l)
{ *n = 0; *f = 0; *l = 0; return 0; }
int nvmlDeviceGetEncoderSessions (void *d, unsigned *c, void *s) { *c = 0; return 0; }
int nvmlDeviceGetEncoderUtilization (void *d, unsigned *u, unsigned *p) { return 3; }
int nvmlDeviceGetEncoderCapacity (void *d, int q, unsigned *c) { return 3; }
"""


@unittest.skipUnless(shutil.which("cc"), "a C compiler builds the NVML test double")
class UnsupportedGpuReasonTest(SoftwareReasonMixin, unittest.TestCase):
    def setUp(self):
        self.d = Daemon()
        src = os.path.join(self.d.tmp, "fake-nvml.c")
        lib = os.path.join(self.d.tmp, "libnvidia-ml-test-double.so")
        with open(src, "w") as f:
            f.write(FAKE_NVML)
        subprocess.run(["cc", "-shared", "-fPIC", "-o", lib, src], check=True)
        self.env = {k: os.environ.get(k) for k in ("LOBBYD_NVML_LIBRARY", "LOBBYD_CUDA_LIBRARY")}
        os.environ["LOBBYD_NVML_LIBRARY"] = lib
        os.environ["LOBBYD_CUDA_LIBRARY"] = "libcuda-test-double-absent.so"
        self.d.start()

    def tearDown(self):
        for k, v in self.env.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
        self.d.cleanup()

    def test_nvenc_not_supported_gives_the_drivers_reason(self):
        g = self.gpu()
        self.assertEqual([p["usable"] for p in g["pools"] if p["name"] == "nvenc@0"], [False])
        self.assertEqual(g["software_reason"]["code"], "hardware_unavailable")
        self.join(self.lobby())
        g = self.gpu()
        self.assertTrue(g["software_mode"])
        reason = g["software_reason"]
        self.assertEqual(reason["code"], "hardware_unavailable", reason)
        msg = reason["message"]
        self.assertIn("NVENC is not usable on this GPU (NVIDIA Test Double GPU", msg)
        self.assertIn("libcuda-test-double-absent.so", msg)  # the probe's own words
        self.assertNotIn("exhausted", msg)
        self.assertIn(msg, self.ctl_status())


class ExhaustedReasonTest(SoftwareReasonMixin, DaemonTest):
    # TEST DOUBLE hardware pool with one slot (hardware=off only turns off the real probe).
    config_extra = ("[encoder]\nhardware=off\n[testing]\nhw_double=true\n"
                    "hw_double_believed_limit=1\nhw_double_real_limit=1\n")

    def test_exhausted_keeps_the_seed_sentence_with_real_numbers(self):
        lobby = self.lobby()
        g = self.gpu()
        self.assertFalse(g["software_mode"])
        self.assertIsNone(g["software_reason"])  # hardware is there and has room
        first = self.join(lobby)
        self.assertEqual(first["encoding"]["pool"], "test-double@0")
        self.assertIsNone(self.gpu()["software_reason"])
        second = self.join(lobby)
        self.assertEqual(second["encoding"]["pool"], "software")
        g = self.gpu()
        self.assertTrue(g["software_mode"])
        self.assertEqual(g["software_reason"], {"code": "capacity_exhausted", "message": SEED_SENTENCE % (1, 1)})
        self.assertIn(SEED_SENTENCE % (1, 1), self.ctl_status())
        # The slot frees, the fallback moves back to hardware: no warning left.
        self.assertEqual(self.d.request("DELETE", "/api/v1/sessions/" + first["id"]).status, 204)
        deadline = time.time() + 10
        while time.time() < deadline and self.gpu()["software_mode"]:
            time.sleep(0.1)
        g = self.gpu()
        self.assertFalse(g["software_mode"])
        self.assertIsNone(g["software_reason"])


if __name__ == "__main__":
    unittest.main()
