#!/usr/bin/python3
"""lbfuzz — generative fuzzer of lobbyd's HTTP API, driven by docs/openapi.json.

Starts the real daemon of a build (plain or ASan) on a temp state dir with
small limits (4 lobbies, 4 sessions, software encoding on a small budget,
RTP only to 127.0.0.1 / ::1), then sends:

  * requests generated with Hypothesis from the document: any path and
    method of it (and some that are not), path parameters (live ids and
    junk), JSON bodies built from the request schemas — valid ones and ones
    with one part made invalid (out-of-range integers, wrong types, unknown
    or missing members, over-long strings, control characters) — and WHEP
    offers (a browser-like offer and mutations of it);
  * raw cases a schema cannot express (RAW_CASES below: invalid UTF-8, NULs,
    \\u0000, odd number spellings, duplicate keys, huge and chunked bodies,
    content-type prefixes, bad payload types in offers, HTTP/1.0 without
    Host, bad methods, unauthenticated TCP), each with its expected answer.

Every answer is checked against the document: its status must be one the
operation lists (405/404 for undeclared methods, 401 on TCP without the
token, 413 for bodies over the limit), an error body must be the Error
schema with a `code` of that status's list, a JSON body must be valid
UTF-8 JSON matching the schema. A body the schema calls valid must not be
refused with 400 (bar two documented semantic checks), one it calls invalid
must not be accepted. The daemon log is read after each request: a GLib
CRITICAL or a sanitizer report is pinned on the request that caused it.

Must run with Debian's /usr/bin/python3 (python3-hypothesis, python3-jsonschema).
    tests/fuzz/lbfuzz.py --build build-asan --requests 2000 --seed 1 [--json out.json]
Exit status 0 only when every check passed.
"""
import argparse
import collections
import json
import os
import re
import socket
import sys
import time
import urllib.parse

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "tests", "integration"))

# Hypothesis keeps a cache (its Unicode tables) in the working directory unless told otherwise.
os.environ.setdefault("HYPOTHESIS_STORAGE_DIRECTORY", os.path.join("/tmp", "lobbyd-hypothesis-%d" % os.getuid()))

try:
    import hypothesis
    import jsonschema
    from hypothesis import HealthCheck, Phase, given, settings
    from hypothesis import strategies as st
except ImportError as e:  # pragma: no cover
    sys.exit("lbfuzz: %s (run with /usr/bin/python3; scripts/deps.sh --test installs "
             "python3-hypothesis and python3-jsonschema)" % e)

DOC_PATH = os.path.join(ROOT, "docs", "openapi.json")
MAX_BODY = 65536
MAX_LOBBIES = 4
MAX_SESSIONS = 4
# Lobbies drawing more than this (pixels per second) are deleted as soon as
# they are created: the fuzzer must stay gentle on a shared CI box.
CHEAP_PIXEL_RATE = 320 * 240 * 30
BAD_LOG = re.compile(r"CRITICAL|ERROR: AddressSanitizer|runtime error:|ERROR: LeakSanitizer|"
                     r"SUMMARY: (Address|UndefinedBehavior)Sanitizer")


# ---------------------------------------------------------------- HTTP ----

def remove_dot_segments(path):
    """RFC 3986 5.2.4, as GUri applies it to the request path (before percent-decoding)."""
    out = []
    for seg in path.split("/"):
        if seg == "..":
            if len(out) > 1:
                out.pop()
        elif seg != ".":
            out.append(seg)
    if path.endswith(("/.", "/..")):
        out.append("")
    return "/".join(out) or "/"


class Reply:
    def __init__(self, status, headers, body, elapsed):
        self.status = status
        self.headers = headers  # lower-case names
        self.body = body
        self.elapsed = elapsed

    def ctype(self):
        return self.headers.get("content-type", "").split(";")[0].strip().lower()


class Transport:
    def __init__(self, unix_path, tcp_port, token):
        self.unix_path = unix_path
        self.tcp_port = tcp_port
        self.token = token

    def connect(self, tcp, timeout):
        if tcp:
            s = socket.create_connection(("127.0.0.1", self.tcp_port), timeout=timeout)
        else:
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            s.settimeout(timeout)
            s.connect(self.unix_path)
        return s

    @staticmethod
    def build(method, target, headers, body):
        lines = ["%s %s HTTP/1.1" % (method, target), "Host: localhost", "Connection: close"]
        for k, v in headers:
            lines.append("%s: %s" % (k, v))
        if body is not None and not any(k.lower() in ("content-length", "transfer-encoding") for k, _ in headers):
            lines.append("Content-Length: %d" % len(body))
        head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
        return head + (body or b"")

    def send_raw(self, data, tcp=False, timeout=30, head_only=False, stream=False):
        """Sends bytes, reads one response. stream: read the head and a little more."""
        t0 = time.monotonic()
        s = self.connect(tcp, timeout)
        try:
            try:
                s.sendall(data)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the daemon may answer (413) and close before reading everything
            return self._read(s, t0, head_only, stream)
        finally:
            s.close()

    def _read(self, s, t0, head_only, stream):
        buf = b""
        while b"\r\n\r\n" not in buf:
            chunk = s.recv(65536)
            if not chunk:
                if not buf:
                    raise ConnectionError("connection closed without a response")
                break
            buf += chunk
        head, _, rest = buf.partition(b"\r\n\r\n")
        lines = head.split(b"\r\n")
        m = re.match(rb"HTTP/1\.[01] (\d{3})", lines[0])
        if not m:
            raise ConnectionError("bad status line %r" % lines[0][:100])
        status = int(m.group(1))
        headers = {}
        for line in lines[1:]:
            k, _, v = line.partition(b":")
            headers[k.decode("latin-1").strip().lower()] = v.decode("latin-1").strip()
        if stream:
            return Reply(status, headers, rest, time.monotonic() - t0)
        if head_only or status in (204, 304) or 100 <= status < 200:
            return Reply(status, headers, b"", time.monotonic() - t0)
        if headers.get("transfer-encoding", "").lower() == "chunked":
            body = self._read_chunked(s, rest)
        elif "content-length" in headers:
            n = int(headers["content-length"])
            while len(rest) < n:
                chunk = s.recv(65536)
                if not chunk:
                    break
                rest += chunk
            body = rest[:n]
        else:
            while True:
                chunk = s.recv(65536)
                if not chunk:
                    break
                rest += chunk
            body = rest
        return Reply(status, headers, body, time.monotonic() - t0)

    @staticmethod
    def _read_chunked(s, rest):
        body = b""
        while True:
            while b"\r\n" not in rest:
                chunk = s.recv(65536)
                if not chunk:
                    return body
                rest += chunk
            size_line, _, rest = rest.partition(b"\r\n")
            size = int(size_line.split(b";")[0] or b"0", 16)
            if size == 0:
                return body
            while len(rest) < size + 2:
                chunk = s.recv(65536)
                if not chunk:
                    return body + rest
                rest += chunk
            body += rest[:size]
            rest = rest[size + 2:]


# ------------------------------------------------------------ document ----

def _max_bytes(validator, limit, instance, schema):
    """x-max-bytes: the daemon's string limits count UTF-8 bytes, not characters."""
    if isinstance(instance, str) and len(instance.encode("utf-8", "surrogatepass")) > limit:
        yield jsonschema.ValidationError("%r is longer than %d bytes" % (instance[:20], limit))


LbValidator = jsonschema.validators.extend(jsonschema.Draft202012Validator, {"x-max-bytes": _max_bytes})


class Doc:
    def __init__(self, path):
        with open(path) as f:
            self.doc = json.load(f)
        self.ops = []  # (template segments, method, operation, path item)
        for path, item in self.doc["paths"].items():
            segs = path.strip("/").split("/") if path != "/" else []
            for method, op in item.items():
                if method in ("get", "post", "put", "delete", "patch"):
                    self.ops.append((path, segs, method.upper(), op, item))
        self.registry = None

    def resolve(self, node):
        while isinstance(node, dict) and "$ref" in node:
            node = self.pointer(node["$ref"])
        return node

    def pointer(self, ref):
        node = self.doc
        for part in ref.lstrip("#/").split("/"):
            node = node[part.replace("~1", "/").replace("~0", "~")]
        return node

    def validator(self, schema):
        # The document's components are reachable from the schema through $ref.
        wrapped = dict(schema)
        wrapped["components"] = self.doc["components"]
        return LbValidator(wrapped, format_checker=jsonschema.FormatChecker())

    def match(self, segments):
        """Path templates matching the decoded @segments, in the daemon's order
        (by-key before {id}, like its route table)."""
        found = []
        for path, segs, method, op, item in self.ops:
            if self._match(segs, segments):
                found.append((path, method, op, item))
        found.sort(key=lambda f: 0 if "by-key" in f[0] else 1)
        return found

    @staticmethod
    def _match(tmpl, segments):
        if len(tmpl) == 0:
            return len(segments) == 0
        for i, t in enumerate(tmpl):
            if t == "{session_key}":
                return i < len(segments) and len(segments) > i and "".join(segments[i:]) != ""
            if i >= len(segments):
                return False
            if t.startswith("{"):
                if segments[i] == "":
                    return False
                continue
            if t != segments[i]:
                return False
        return len(segments) == len(tmpl)


# ---------------------------------------------------------- strategies ----

def utf8_len(s):
    return len(s.encode("utf-8", "surrogatepass"))


SAFE_TEXT = st.characters(blacklist_categories=("Cc", "Cs"))
IPS_LOOPBACK = ["127.0.0.1", "::1"]
IPS_OTHER = ["127.0.0.2", "10.0.0.1", "192.0.2.1", "0.0.0.0", "255.255.255.255", "fe80::1", "2001:db8::1",
             "::", "::ffff:127.0.0.1", "224.0.0.1"]


class Gen:
    """Strategies from the JSON Schemas of the document. @sink_ports: the
    only valid RTP ports drawn, so streams go to sockets the fuzzer owns."""

    def __init__(self, doc, sink_ports):
        self.doc = doc
        self.sink_ports = sink_ports

    def valid(self, schema, path=""):
        schema = self.doc.resolve(schema)
        if path == "destination.port":
            return st.sampled_from(self.sink_ports)
        if path == "destination.host":
            return st.sampled_from(IPS_LOOPBACK + IPS_OTHER)
        if path == "source.app":
            # Never a catalogue app: a fuzzer has no business starting X servers.
            return st.from_regex(r"\A[a-z0-9_-]{1,32}\Z").filter(lambda s: s != "xterm")
        if "enum" in schema:
            return st.sampled_from(schema["enum"])
        t = schema.get("type")
        if t == "object":
            props = schema.get("properties", {})
            req = set(schema.get("required", []))
            required = {k: self.valid(v, self._sub(path, k)) for k, v in props.items() if k in req}
            optional = {k: self.valid(v, self._sub(path, k)) for k, v in props.items() if k not in req}
            return st.fixed_dictionaries(required, optional=optional)
        if t == "integer":
            lo, hi = schema.get("minimum", -2 ** 31), schema.get("maximum", 2 ** 31)
            step = schema.get("multipleOf", 1)
            small = st.integers(lo, min(hi, lo + 400))
            if path.endswith(".width") or path.endswith(".height"):
                ints = st.one_of(st.just(lo), small, st.integers(lo, hi))
            elif path.endswith(".fps"):
                ints = st.one_of(st.just(lo), st.integers(lo, min(hi, 30)), st.just(hi))
            else:
                ints = st.one_of(st.just(lo), st.just(hi), small, st.integers(lo, hi))
            return ints.map(lambda v: v - (v - lo) % step if step > 1 else v)
        if t == "string":
            lo, hi = schema.get("minLength", 0), schema.get("maxLength", 64)
            return st.text(SAFE_TEXT, min_size=lo, max_size=hi).filter(lambda s: lo <= utf8_len(s) <= hi)
        if t == "boolean":
            return st.booleans()
        return st.none()

    @staticmethod
    def _sub(path, key):
        return key if not path else path + "." + key

    def invalid_value(self, schema, path):
        """A value that breaks @schema at this place."""
        schema = self.doc.resolve(schema)
        wrong_types = st.sampled_from([None, True, 1.5, "x", [], {}, 30.0, -1, "30"])
        if "enum" in schema:
            return st.one_of(st.text(max_size=70).filter(lambda s: s not in schema["enum"]), wrong_types,
                             st.sampled_from([v.upper() for v in schema["enum"]] + [v + " " for v in schema["enum"]]))
        t = schema.get("type")
        if t == "integer":
            lo, hi = schema.get("minimum", 0), schema.get("maximum", 2 ** 31)
            cands = [lo - 1, hi + 1, -1, 0, 2 ** 31, 2 ** 32, 2 ** 53 + 1, 2 ** 63 - 1, -2 ** 63, 2 ** 64, 10 ** 30,
                     float(lo), lo + 0.5, True, str(lo), None]
            if schema.get("multipleOf", 1) > 1:
                cands.append(lo + 1)
            return st.one_of(st.sampled_from([c for c in cands if not (isinstance(c, int) and not isinstance(c, bool) and lo <= c <= hi and c % schema.get("multipleOf", 1) == lo % schema.get("multipleOf", 1))]),
                             st.integers(hi + 1, 2 ** 70), st.integers(-2 ** 70, lo - 1) if lo > -2 ** 70 else st.just(None))
        if t == "string":
            hi = schema.get("maxLength", 64)
            ctl = st.builds(lambda a, c, b: a + c + b, st.text(SAFE_TEXT, max_size=5),
                            st.sampled_from(["\x00", "\x01", "\n", "\t", "\x7f", "\x85", "\x9f", "\x1b"]),
                            st.text(SAFE_TEXT, max_size=5))
            cands = [st.just(""), st.just("a" * (hi + 1)), st.just("\u00e9" * (hi // 2 + 1)), ctl, wrong_types]
            if path == "destination.host":
                cands.append(st.sampled_from(["localhost", "127.1", "127.0.0.01", "1.2.3", "::g", "[::1]",
                                              "127.0.0.1:5004", " 127.0.0.1", "0x7f000001", "fe80::1%lo"]))
            if path == "source.app":
                cands.append(st.sampled_from(["../xterm", "xterm;id", "XTERM", "x term", "$(id)"]))
            return st.one_of(*cands)
        if t == "boolean":
            return st.sampled_from([0, 1, "true", None, "false", []])
        if t == "object":
            return st.sampled_from([None, [], "x", 1, [{}], True])
        return wrong_types

    def body(self, schema):
        """(body value, mutation name or None)."""
        schema = self.doc.resolve(schema)

        @st.composite
        def make(draw):
            value = draw(self.valid(schema))
            kind = draw(st.sampled_from(["valid", "valid", "field", "field", "field", "missing",
                                              "unknown", "root"]))
            if kind == "valid":
                return value, None
            if kind == "root":
                return draw(st.sampled_from([[], "x", 1, None, [value], True])), "root not an object"
            # Pick an object node (with its schema) of the body to break.
            nodes = []

            def walk(v, sch, path):
                sch = self.doc.resolve(sch)
                if isinstance(v, dict) and sch.get("type") == "object":
                    nodes.append((v, sch, path))
                    for k, sub in sch.get("properties", {}).items():
                        if k in v:
                            walk(v[k], sub, self._sub(path, k))
            walk(value, schema, "")
            obj, sch, path = draw(st.sampled_from(nodes))
            if kind == "unknown":
                name = draw(st.text(SAFE_TEXT, min_size=1, max_size=20).filter(lambda k: k not in sch.get("properties", {})))
                obj[name] = draw(st.sampled_from([1, "x", None, {}]))
                return value, "unknown member %s" % self._sub(path, name)
            if kind == "missing":
                req = [k for k in sch.get("required", []) if k in obj]
                if not req:
                    return value, None
                k = draw(st.sampled_from(req))
                del obj[k]
                return value, "missing %s" % self._sub(path, k)
            props = sch.get("properties", {})
            k = draw(st.sampled_from(sorted(props)))
            obj[k] = draw(self.invalid_value(props[k], self._sub(path, k)))
            return value, "invalid %s" % self._sub(path, k)
        return make()


OFFER = ("v=0\r\no=- 4611731400430051336 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\na=group:BUNDLE 0\r\n"
         "a=msid-semantic: WMS\r\nm=video 9 UDP/TLS/RTP/SAVPF 96 97\r\nc=IN IP4 0.0.0.0\r\n"
         "a=rtcp:9 IN IP4 0.0.0.0\r\na=ice-ufrag:fZ2v\r\na=ice-pwd:uBgk3fI0XrDKbYUyy4p6T2Ej\r\n"
         "a=ice-options:trickle\r\na=fingerprint:sha-256 "
         "A1:B2:C3:D4:E5:F6:07:18:29:3A:4B:5C:6D:7E:8F:90:A1:B2:C3:D4:E5:F6:07:18:29:3A:4B:5C:6D:7E:8F:90\r\n"
         "a=setup:actpass\r\na=mid:0\r\na=recvonly\r\na=rtcp-mux\r\na=rtcp-rsize\r\n"
         "a=rtpmap:96 H264/90000\r\na=rtcp-fb:96 nack\r\na=rtcp-fb:96 nack pli\r\n"
         "a=fmtp:96 level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f\r\n"
         "a=rtpmap:97 rtx/90000\r\na=fmtp:97 apt=96\r\n")


def offer_with_pt(pt):
    return OFFER.replace("SAVPF 96 97", "SAVPF %s 97" % pt).replace(":96 ", ":%s " % pt).replace("apt=96", "apt=%s" % pt)


@st.composite
def sdp_offers(draw):
    lines = OFFER.split("\r\n")[:-1]
    ops = draw(st.lists(st.sampled_from(["drop", "dup", "swap", "pt", "garbage", "truncate", "profile",
                                         "nopm", "codec", "lf", "candidate"]), max_size=3))
    text = None
    for op in ops:
        if not lines and op in ("drop", "dup", "swap"):
            continue
        if op == "drop":
            del lines[draw(st.integers(0, len(lines) - 1))]
        elif op == "dup":
            i = draw(st.integers(0, len(lines) - 1))
            lines.insert(i, lines[i])
        elif op == "swap":
            i, j = draw(st.integers(0, len(lines) - 1)), draw(st.integers(0, len(lines) - 1))
            lines[i], lines[j] = lines[j], lines[i]
        elif op == "pt":
            pt = draw(st.sampled_from(["0", "35", "127", "128", "200", "255", "-1", "abc", "96 96", "", "99999999999"]))
            lines = offer_with_pt(pt).split("\r\n")[:-1]
        elif op == "garbage":
            lines.insert(draw(st.integers(0, len(lines))), draw(st.text(SAFE_TEXT, max_size=80)))
        elif op == "truncate":
            lines = lines[:draw(st.integers(0, len(lines)))]
        elif op == "profile":
            plid = draw(st.sampled_from(["640032", "42e0", "zzzzzz", "", "4d001f", "42001f", "f4001f"]))
            lines = [l.replace("42e01f", plid) for l in lines]
        elif op == "nopm":
            lines = [l.replace("packetization-mode=1", "packetization-mode=0") for l in lines]
        elif op == "codec":
            codec = draw(st.sampled_from(["VP8", "H265", "h264", "H264/0", "opus"]))
            lines = [l.replace("H264/90000", codec + "/90000") for l in lines]
        elif op == "lf":
            text = "\n".join(lines) + "\n"
        elif op == "candidate":
            # Loopback only: a candidate is where lobbyd would send STUN checks.
            lines.append("a=candidate:1 1 udp 2122260223 127.0.0.1 %d typ host" % draw(st.integers(1, 65535)))
    return (text or "\r\n".join(lines) + "\r\n"), ("mutated offer: " + ",".join(ops)) if ops else None


# ------------------------------------------------------------- checker ----

class Run:
    def __init__(self, args, daemon, doc):
        self.args = args
        self.d = daemon
        self.doc = doc
        self.t = Transport(daemon.socket, daemon.tcp_port, daemon.token)
        self.requests = 0
        self.statuses = collections.Counter()
        self.failures = collections.OrderedDict()  # kind -> list of details
        self.lobbies = []  # ids the fuzzer may delete
        self.fixtures = []
        self.sessions = []
        self.log_pos = 0
        self.log_path = os.path.join(daemon.tmp, "lobbyd.log")
        self.crashed = False
        self.sinks = []
        self.validators = {}

    def fail(self, kind, detail):
        lst = self.failures.setdefault(kind, [])
        lst.append(detail)

    def new_log(self):
        try:
            with open(self.log_path, "rb") as f:
                f.seek(self.log_pos)
                data = f.read()
                self.log_pos += len(data)
            return data.decode(errors="replace")
        except OSError:
            return ""

    def describe(self, method, target, body, note=None):
        b = body if body is None else body[:160]
        return "%s %s body=%r%s" % (method, target[:200], b, (" (%s)" % note) if note else "")

    def exchange(self, method, target, headers=(), body=None, tcp=False, raw=None, note=None, stream=False,
                 timeout=None):
        """Sends one request; returns the Reply or None (crash/timeout recorded)."""
        data = raw if raw is not None else Transport.build(method, target, list(headers), body)
        self.requests += 1
        what = self.describe(method, target, body if raw is None else raw, note)
        try:
            r = self.t.send_raw(data, tcp=tcp, timeout=timeout or self.args.timeout, head_only=(method == "HEAD"), stream=stream)
        except (OSError, ConnectionError) as e:
            r = None
            if self.d.proc.poll() is not None:
                self.crashed = True
                self.fail("crash", "daemon exited %s after %s" % (self.d.proc.returncode, what))
            else:
                self.fail("no response", "%s: %s" % (what, e))
        log = self.new_log()
        for line in log.splitlines():
            if BAD_LOG.search(line):
                kind = "CRITICAL" if "CRITICAL" in line else "sanitizer report"
                self.fail(kind, "%s -> %s" % (what, line.strip()[:300]))
        if r is not None:
            self.statuses[r.status] += 1
        return r

    def check(self, method, target, r, body_sent, tcp=False, authorized=True, valid=None, note=None):
        """Checks @r against the document; returns the matched operation or None."""
        if r is None:
            return None
        what = self.describe(method, target, body_sent, note)
        path = remove_dot_segments(urllib.parse.urlsplit(target).path)
        raw_segments = urllib.parse.unquote_to_bytes(path).lstrip(b"/").split(b"/")
        segments = [s.decode("utf-8", "replace") for s in raw_segments]
        if segments == [""]:
            segments = []
        # Like the daemon's route table: the first path that matches decides, then the method.
        matches = self.doc.match(segments)
        matches = [mt for mt in matches if mt[0] == matches[0][0]] if matches else []
        op = None
        for p, m, o, it in matches:
            if m == method:
                op = o
                break
        # The web UI is only GET /static/ names of its folder; static_file() rules.
        if op is not None and op["operationId"] == "getStatic" and not re.fullmatch(r"[a-z0-9_-][a-z0-9._-]*", segments[-1]):
            op = None
            matches = []
        allowed = {}
        if op is not None:
            for status, resp in op["responses"].items():
                allowed[int(status)] = self.doc.resolve(resp)
        else:
            nf = self.doc.resolve({"$ref": "#/components/responses/NotFound"})
            allowed[404] = nf
            if matches and not (matches[0][3].get("x-lobbyd-outside-route-table") and matches[0][0] != "/api/v1/events"):
                allowed[405] = self._error_response(["method_not_allowed"])
        needs_auth = op is None or op.get("security") != []
        if tcp and needs_auth and not authorized:
            allowed = {401: self.doc.resolve({"$ref": "#/components/responses/Unauthorized"})}
        if body_sent is not None and len(body_sent) > MAX_BODY:
            allowed = {413: self.doc.resolve({"$ref": "#/components/responses/PayloadTooLarge"})}
            if tcp and needs_auth and not authorized:
                allowed[401] = self.doc.resolve({"$ref": "#/components/responses/Unauthorized"})
        if r.status == 400 and not r.body and "content-type" not in r.headers:
            # libsoup refused the request line or headers before lobbyd saw it
            # (e.g. %00 in the path): an HTTP-level answer, not the API's.
            self.statuses["400 (HTTP level)"] += 1
            self.statuses[400] -= 1
            return None
        if r.status not in allowed:
            self.fail("undocumented status", "%s -> %d %s (documented: %s)" % (
                what, r.status, r.body[:200], sorted(allowed)))
            return op
        if r.status == 405 and "allow" not in r.headers:
            self.fail("invalid body", "%s -> 405 without Allow" % what)
        if r.status == 401 and "www-authenticate" not in r.headers:
            self.fail("invalid body", "%s -> 401 without WWW-Authenticate" % what)
        if r.status >= 500 and r.status != 503:
            self.fail("server error", "%s -> %d %s" % (what, r.status, r.body[:300]))
        self._check_body(what, method, r, allowed[r.status])
        if valid is True and r.status == 400:
            msg = r.body.decode("utf-8", "replace")
            semantic = ("must not exceed the lobby's" in msg) or ("catalogue" in msg)
            if not semantic:
                self.fail("schema mismatch", "%s: the schema calls the body valid, the daemon answered %d %s" % (
                    what, r.status, msg[:200]))
        if valid is False and 200 <= r.status < 300:
            self.fail("schema mismatch", "%s: the schema calls the body invalid, the daemon answered %d" % (what, r.status))
        return op

    def _error_response(self, codes):
        return {"description": "", "content": {"application/json": {"schema": {"allOf": [
            {"$ref": "#/components/schemas/Error"},
            {"properties": {"error": {"properties": {"code": {"enum": codes}}}}}]}}}}

    def _check_body(self, what, method, r, response):
        content = response.get("content")
        if method == "HEAD" or r.status == 204:
            if r.body:
                self.fail("invalid body", "%s -> %d with a body" % (what, r.status))
            return
        if not content:
            return
        ctype = r.ctype()
        if ctype not in content:
            self.fail("invalid body", "%s -> %d Content-Type %r, documented %s" % (what, r.status, ctype, sorted(content)))
            return
        try:
            text = r.body.decode("utf-8")
        except UnicodeDecodeError:
            self.fail("invalid body", "%s -> %d body is not UTF-8: %r" % (what, r.status, r.body[:200]))
            return
        if ctype != "application/json":
            return
        try:
            value = json.loads(text)
        except ValueError:
            self.fail("invalid body", "%s -> %d body is not JSON: %r" % (what, r.status, r.body[:200]))
            return
        schema = content[ctype].get("schema", {})
        key = json.dumps(schema, sort_keys=True)
        if key not in self.validators:
            self.validators[key] = self.doc.validator(schema)
        errors = list(self.validators[key].iter_errors(value))
        if errors:
            self.fail("invalid body", "%s -> %d %s: %s" % (what, r.status, text[:200], errors[0].message[:200]))

    # ---- fixtures and clean-up ----

    def lobby_cost(self, body):
        v = body.get("video") if isinstance(body, dict) else None
        v = v if isinstance(v, dict) else {}
        return v.get("width", 1280) * v.get("height", 720) * v.get("fps", 30)

    def after(self, method, target, r, body_value):
        """Keeps what the fuzzer made bounded: remembers ids, deletes what is costly or over the limits."""
        if r is None:
            return
        location = r.headers.get("location", "")
        if r.status == 201 and location.startswith("/api/v1/lobbies/"):
            lid = location.split("/")[4]
            if self.lobby_cost(body_value) > CHEAP_PIXEL_RATE:
                self.call("DELETE", location)
            else:
                self.lobbies.append(lid)
        elif r.status == 201 and location.startswith("/api/v1/sessions/"):
            if location.endswith("/whep"):
                self.call("DELETE", location)  # WHEP sessions cost most: leave at once
            else:
                self.sessions.append(location.split("/")[4])
        elif r.status == 204 and method == "DELETE":
            parts = target.split("/")
            if len(parts) > 4:
                if parts[3] == "lobbies" and parts[4] in self.lobbies:
                    self.lobbies.remove(parts[4])
                if parts[3] == "sessions" and parts[4] in self.sessions:
                    self.sessions.remove(parts[4])
        elif r.status == 503 and b"limit_reached" in r.body:
            if "sessions" in target or "whep" in target:
                if self.sessions:
                    self.call("DELETE", "/api/v1/sessions/" + self.sessions.pop(0))
            elif self.lobbies:
                self.call("DELETE", "/api/v1/lobbies/" + self.lobbies.pop(0))

    def call(self, method, target, body=None, ctype="application/json"):
        raw = None if body is None else json.dumps(body).encode()
        headers = [("Content-Type", ctype)] if raw is not None else []
        r = self.exchange(method, target, headers, raw)
        self.check(method, target, r, raw)
        if r is not None and r.status == 204 and method == "DELETE":
            self.after(method, target, r, body)
        return r

    def setup_fixtures(self):
        for i in range(2):
            r = self.call("POST", "/api/v1/lobbies", {"name": "fuzz-fixture-%d" % i, "session_key": "fuzz-%d" % i,
                                                     "video": {"width": 160, "height": 120, "fps": 10}})
            if r is None or r.status not in (200, 201):
                raise SystemExit("lbfuzz: cannot create a fixture lobby: %s" % (r and r.body))
            self.fixtures.append(json.loads(r.body)["id"])
        for _ in range(3):
            s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            s.bind(("127.0.0.1", 0))
            s.setblocking(False)
            self.sinks.append(s)

    def drain_sinks(self):
        for s in self.sinks:
            try:
                while s.recv(65536):
                    pass
            except OSError:
                pass

    def cleanup(self):
        for sid in list(self.sessions):
            self.call("DELETE", "/api/v1/sessions/" + sid)
        for lid in list(self.lobbies) + self.fixtures:
            self.call("DELETE", "/api/v1/lobbies/" + lid)
        # Lobbies made by requests the fuzzer did not expect to create one (bugs are reported elsewhere).
        r = self.call("GET", "/api/v1/lobbies")
        for lobby in json.loads(r.body)["lobbies"] if r is not None and r.status == 200 else []:
            self.call("DELETE", "/api/v1/lobbies/" + lobby["id"])
        r = self.call("GET", "/api/v1/status")
        if r is not None and r.status == 200:
            st_ = json.loads(r.body)
            if st_["lobbies"] or st_["sessions"] or st_["pipelines"]:
                self.fail("leak", "after clean-up: %s" % st_)


# ------------------------------------------------------------ raw cases ----

def J(obj_text):
    return obj_text.encode("utf-8")


LOBBY_OK = '{"name":"raw","video":{"width":160,"height":120,"fps":10}}'


def raw_cases(run):
    """(name, issue item, method, target, headers, body, expected statuses, options)."""
    L = run.fixtures[0]
    ct = [("Content-Type", "application/json")]
    sdp = [("Content-Type", "application/sdp")]
    cases = [
        ("body: invalid UTF-8", "-", "POST", "/api/v1/lobbies", ct, b'{"name":"\xff\xfe"}', {400}, {}),
        ("body: NUL byte", "-", "POST", "/api/v1/lobbies", ct, b'{"name":"a\x00b"}', {400}, {}),
        ("body: \\u0000 in name", "6", "POST", "/api/v1/lobbies", ct, J('{"name":"a\\u0000b"}'), {400}, {}),
        ("body: \\u0000 in session_key", "6", "POST", "/api/v1/lobbies", ct,
         J('{"name":"t","session_key":"tenant-A\\u0000-secret1"}'), {400}, {}),
        ("body: lone surrogate escape", "-", "POST", "/api/v1/lobbies", ct, J('{"name":"\\ud800"}'), {400}, {}),
        ("number: leading zero 0320", "6", "POST", "/api/v1/lobbies", ct,
         J('{"name":"t","video":{"width":0320,"height":240}}'), {400}, {}),
        ("number: hex 0x1E0", "6", "POST", "/api/v1/lobbies", ct,
         J('{"name":"t","video":{"width":320,"height":0x1E0}}'), {400}, {}),
        ("number: 1e999", "-", "POST", "/api/v1/lobbies", ct, J('{"name":"t","video":{"width":1e999}}'), {400}, {}),
        ("number: 3.2e2 (a double)", "-", "POST", "/api/v1/lobbies", ct, J('{"name":"t","video":{"width":3.2e2}}'), {400}, {}),
        ("number: -0", "-", "POST", "/api/v1/lobbies", ct, J('{"name":"t","video":{"width":-0}}'), {400}, {}),
        ("number: +320", "-", "POST", "/api/v1/lobbies", ct, J('{"name":"t","video":{"width":+320}}'), {400}, {}),
        ("number: 2^64", "-", "POST", "/api/v1/lobbies", ct,
         J('{"name":"t","video":{"width":18446744073709551616}}'), {400}, {}),
        # json-glib saturates the magnitude to 2^64-1 and negates it: the fps becomes 1.
        ("number: -(2^64+1) (wraps to 1)", "6", "POST", "/api/v1/lobbies", ct,
         J('{"name":"t","video":{"width":160,"height":120,"fps":-18446744073709551617}}'), {400}, {}),
        ("number: NaN", "-", "POST", "/api/v1/lobbies", ct, J('{"name":"t","video":{"fps":NaN}}'), {400}, {}),
        ("duplicate keys: name", "6", "POST", "/api/v1/lobbies", ct, J('{"name":"a","name":"b"}'), {400}, {}),
        ("duplicate keys: destination.port", "6", "POST", "/api/v1/lobbies/%s/sessions" % L, ct,
         J('{"transport":"rtp","destination":{"host":"127.0.0.1","port":%d,"port":%d}}'
           % (run.sinks[0].getsockname()[1], run.sinks[1].getsockname()[1])), {400}, {}),
        ("content-type: application/jsonx", "6", "POST", "/api/v1/lobbies", [("Content-Type", "application/jsonx")],
         J(LOBBY_OK), {415}, {}),
        ("content-type: application/json; charset=utf-8", "-", "POST", "/api/v1/lobbies",
         [("Content-Type", "application/json; charset=utf-8")], J(LOBBY_OK), {201}, {"delete": True}),
        ("content-type: text/plain", "-", "POST", "/api/v1/lobbies", [("Content-Type", "text/plain")], J(LOBBY_OK), {415}, {}),
        ("content-type: application/sdpfoo (WHEP)", "6", "POST", "/api/v1/lobbies/%s/whep" % L,
         [("Content-Type", "application/sdpfoo")], OFFER.encode(), {415}, {}),
        ("json: trailing data", "-", "POST", "/api/v1/lobbies", ct, J('{"name":"t"} {}'), {400}, {}),
        ("json: deep nesting", "-", "POST", "/api/v1/lobbies", ct, b'{"name":' + b"[" * 5000 + b"]" * 5000 + b"}", {400}, {}),
        ("json: empty body", "-", "POST", "/api/v1/lobbies", ct, b"", {400}, {}),
        ("path: %FF%FE in by-key", "6", "GET", "/api/v1/lobbies/by-key/%FF%FE", [], None, {404}, {}),
        ("path: %00 in id", "-", "GET", "/api/v1/lobbies/a%00b", [], None, {400, 404}, {}),
        ("path: dot-dot static", "-", "GET", "/static/..%2F..%2Fetc%2Fpasswd", [], None, {400, 404}, {}),
        ("path: dot segments", "-", "GET", "/api/v1/lobbies/../../../etc/passwd", [], None, {404}, {}),
        ("path: 8 KB id", "-", "GET", "/api/v1/lobbies/" + "a" * 8000, [], None, {404}, {}),
        ("size: Content-Length 70000, no body sent", "3", "POST", "/api/v1/lobbies",
         ct + [("Content-Length", "70000")], b"", {413}, {"max_s": 5}),
        ("size: 200 KB body", "-", "POST", "/api/v1/lobbies", ct, b'{"name":"' + b"a" * 200000 + b'"}', {413}, {}),
        ("size: 200 KB chunked body", "3", "POST", "/api/v1/lobbies", ct + [("Transfer-Encoding", "chunked")],
         b"".join(b"%x\r\n%s\r\n" % (4096, b"a" * 4096) for _ in range(50)) + b"0\r\n\r\n", {413}, {}),
        ("size: 200 KB SDP offer", "-", "POST", "/api/v1/lobbies/%s/whep" % L, sdp,
         OFFER.encode() + b"a=x:" + b"y" * 200000 + b"\r\n", {413}, {}),
        ("tcp: no token", "-", "GET", "/api/v1/lobbies", [], None, {401}, {"tcp": True}),
        ("tcp: wrong token", "-", "GET", "/api/v1/lobbies", [("Authorization", "Bearer nope")], None, {401}, {"tcp": True}),
        ("tcp: no token, Content-Length 536870912", "3", "POST", "/api/v1/lobbies",
         ct + [("Content-Length", "536870912")], b"", {401}, {"tcp": True, "max_s": 5}),
        ("tcp: token", "-", "GET", "/api/v1/status", [("Authorization", "Bearer " + run.d.token)], None, {200},
         {"tcp": True}),
        ("tcp: web page without token", "-", "GET", "/", [], None, {200}, {"tcp": True}),
        ("method: FOO", "-", "FOO", "/api/v1/lobbies", [], None, {405}, {}),
        ("method: lower-case get", "-", "get", "/api/v1/status", [], None, {405}, {}),
        ("method: PUT on a lobby", "-", "PUT", "/api/v1/lobbies/%s" % L, ct, J("{}"), {405}, {}),
        ("method: POST on events", "-", "POST", "/api/v1/events", [], None, {405}, {}),
        ("method: OPTIONS *", "-", "OPTIONS", "*", [], None, {200, 400, 404, 405, 501}, {"http_level": True}),
    ]
    for pt in ("0", "34", "64", "95", "128", "200", "255", "abc"):
        cases.append(("WHEP: H.264 payload type %s" % pt, "8", "POST", "/api/v1/lobbies/%s/whep" % L, sdp,
                      offer_with_pt(pt).encode(), {400}, {}))
    cases += [
        ("WHEP: empty offer", "-", "POST", "/api/v1/lobbies/%s/whep" % L, sdp, b"", {400}, {}),
        ("WHEP: not SDP", "-", "POST", "/api/v1/lobbies/%s/whep" % L, sdp, b"hello", {400}, {}),
        ("WHEP: v=0 only", "-", "POST", "/api/v1/lobbies/%s/whep/control" % L, sdp, b"v=0\r\n", {400}, {}),
        ("WHEP: VP8 only", "-", "POST", "/api/v1/lobbies/%s/whep" % L, sdp,
         OFFER.replace("H264/90000", "VP8/90000").encode(), {400}, {}),
        ("WHEP: no packetization-mode=1", "-", "POST", "/api/v1/lobbies/%s/whep" % L, sdp,
         OFFER.replace("packetization-mode=1", "packetization-mode=0").encode(), {400}, {}),
        ("WHEP: audio only", "-", "POST", "/api/v1/lobbies/%s/whep" % L, sdp,
         OFFER.replace("m=video", "m=audio").replace("H264/90000", "opus/48000/2").encode(), {400}, {}),
        ("WHEP: NUL in offer", "-", "POST", "/api/v1/lobbies/%s/whep" % L, sdp, OFFER.encode() + b"\x00", {400}, {}),
        ("WHEP: invalid UTF-8 in offer", "-", "POST", "/api/v1/lobbies/%s/whep" % L, sdp, OFFER.encode() + b"a=\xff\r\n",
         {400}, {}),
        ("WHEP: browser-like offer", "-", "POST", "/api/v1/lobbies/%s/whep" % L, sdp, OFFER.encode(), {201},
         {"delete": True}),
    ]
    return cases


def wait_fds(pid, limit, timeout=3.0):
    """The daemon's fd count, once it is at most @limit or @timeout passed."""
    end = time.monotonic() + timeout
    while True:
        try:
            n = len(os.listdir("/proc/%d/fd" % pid))
        except OSError:
            return 0
        if n <= limit or time.monotonic() > end:
            return n
        time.sleep(0.05)


def run_raw(run, case):
    name, item, method, target, headers, body, expected, opts = case
    tcp = opts.get("tcp", False)
    data = Transport.build(method, target, headers, body)
    authorized = any(k == "Authorization" and v == "Bearer " + run.d.token for k, v in headers)
    fails_before = sum(len(v) for v in run.failures.values())
    r = run.exchange(method, target, raw=data, tcp=tcp, note="raw: " + name, timeout=opts.get("max_s", 0) + 3 if "max_s" in opts else None)
    label = "[raw] %s (item %s)" % (name, item)
    if r is not None:
        if r.status not in expected:
            run.fail("raw case", "%s: expected %s, got %d %s" % (label, sorted(expected), r.status, r.body[:200]))
        if "max_s" in opts and r.elapsed > opts["max_s"]:
            run.fail("raw case", "%s: answered after %.1f s (limit %d s)" % (label, r.elapsed, opts["max_s"]))
        if not opts.get("http_level"):
            run.check(method, target, r, body, tcp=tcp, authorized=authorized or not tcp, note="raw: " + name)
        if r.status == 201 and "location" in r.headers:
            run.call("DELETE", r.headers["location"])  # also what a bug let through
    after = [d for v in run.failures.values() for d in v][fails_before:]
    return label, after


def http10_case(run):
    """GET /api/v1/status HTTP/1.0 without Host, on the unix socket (issue 9 item 8)."""
    fails_before = sum(len(v) for v in run.failures.values())
    r = run.exchange("GET", "/api/v1/status", raw=b"GET /api/v1/status HTTP/1.0\r\n\r\n", note="raw: HTTP/1.0 without Host")
    label = "[raw] HTTP/1.0 without Host on the unix socket (item 8)"
    if r is not None:
        run.check("GET", "/api/v1/status", r, None, note="raw: HTTP/1.0 without Host")
        if r.status not in (200, 400):
            run.fail("raw case", "%s: expected 200 (or an HTTP-level 400), got %d" % (label, r.status))
    time.sleep(0.2)
    for line in run.new_log().splitlines():
        if BAD_LOG.search(line):
            run.fail("CRITICAL", "%s -> %s" % (label, line.strip()[:300]))
    return label, [d for v in run.failures.values() for d in v][fails_before:]


def keepalive_case(run):
    """A keep-alive connection the client closes after its response must be
    released (issue 9 item 2: connections were never closed)."""
    label = "[raw] keep-alive connection closed by the client is released (item 2)"
    pid = run.d.proc.pid
    before = len(os.listdir("/proc/%d/fd" % pid))
    fails_before = sum(len(v) for v in run.failures.values())
    for _ in range(3):
        data = b"GET /api/v1/status HTTP/1.1\r\nHost: localhost\r\n\r\n"
        r = run.exchange("GET", "/api/v1/status", raw=data, note="raw: keep-alive, then the client closes")
        run.check("GET", "/api/v1/status", r, None, note="raw: keep-alive")
    after = wait_fds(pid, before)
    if after > before:
        run.fail("leak", "%s: the daemon holds %d more fd(s) after 3 such connections" % (label, after - before))
    return label, [d for v in run.failures.values() for d in v][fails_before:]


def sse_case(run):
    r = run.exchange("GET", "/api/v1/events?last_event_id=abc", stream=True, note="SSE")
    if r is not None:
        if r.status != 200 or r.ctype() != "text/event-stream":
            run.fail("undocumented status", "GET /api/v1/events -> %d %s" % (r.status, r.ctype()))


# ---------------------------------------------------------- generation ----

METHODS = ["GET", "POST", "DELETE", "PUT", "PATCH", "HEAD", "OPTIONS"]


def fill_path(run, draw, template):
    out = []
    for seg in template.strip("/").split("/") if template != "/" else []:
        if not seg.startswith("{"):
            out.append(seg)
            continue
        # Draw the same way whatever lives now (Hypothesis replays choice sequences).
        junk = draw(st.one_of(st.text(SAFE_TEXT, min_size=1, max_size=40), st.from_regex(r"\A[0-9a-f]{32}\Z"),
                              st.sampled_from(["..", ".", "%", "by-key", "null", "0", "-1", "a" * 300, "\u00e9",
                                               "\x00", "\xff", "fuzz-0", "fuzz-1", "a/b", "a//b"])))
        use_live, index = draw(st.integers(0, 9)) < 6, draw(st.integers(0, 2 ** 16))
        live = list(run.sessions) if "/sessions/" in template else run.fixtures + run.lobbies
        value = live[index % len(live)] if use_live and live and seg != "{name}" else junk
        out.append(urllib.parse.quote(value, safe="" if draw(st.booleans()) else "/"))
    return "/" + "/".join(out)


def generate(run, gen, count, seed_value):
    ops = [(p, m, o, it) for p, segs, m, o, it in run.doc.ops]
    lobby_schema = run.doc.resolve({"$ref": "#/components/schemas/LobbyCreate"})
    session_schema = run.doc.resolve({"$ref": "#/components/schemas/SessionCreate"})
    bodies = {"createLobby": gen.body(lobby_schema), "joinLobby": gen.body(session_schema)}
    lobby_validator = run.doc.validator(lobby_schema)
    session_validator = run.doc.validator(session_schema)
    offers = sdp_offers()
    left = [count]

    @settings(max_examples=count, database=None, deadline=None, phases=[Phase.generate],
              suppress_health_check=list(HealthCheck), derandomize=False)
    @hypothesis.seed(seed_value)
    @given(st.data())
    def one(data):
        if run.crashed:
            return
        draw = data.draw
        path, method, op, item = draw(st.sampled_from(ops))
        if path == "/api/v1/events":
            return  # a stream: sse_case() covers it
        if draw(st.integers(0, 9)) == 0:
            method = draw(st.sampled_from(METHODS))  # often not declared: 405/404
        target = fill_path(run, draw, path)
        if draw(st.integers(0, 19)) == 0:
            target += "?" + urllib.parse.urlencode({draw(st.text(SAFE_TEXT, max_size=8)): draw(st.text(SAFE_TEXT, max_size=8))})
        headers, body, value, valid, note = [], None, None, None, None
        declared = [o for p, m, o, it in ops if p == path and m == method]
        opid = declared[0]["operationId"] if declared else None
        if opid in bodies:
            value, note = draw(bodies[opid])
            body = json.dumps(value, ensure_ascii=draw(st.booleans())).encode("utf-8", "surrogatepass")
            headers.append(("Content-Type", draw(st.sampled_from(["application/json"] * 8 + ["application/json; charset=utf-8", "text/plain"]))))
            validator = lobby_validator if opid == "createLobby" else session_validator
            try:
                valid = validator.is_valid(value)
            except Exception:
                valid = None
            if headers[-1][1] == "text/plain":
                valid = None
            if opid == "joinLobby" and valid and isinstance(value, dict):
                host = value.get("destination", {}).get("host")
                if host not in IPS_LOOPBACK:
                    valid = None  # refused with 403 by the allow-list, not a schema matter
        elif opid in ("whepOffer", "whepControlOffer"):
            text, note = draw(offers)
            body = text.encode("utf-8", "surrogatepass")
            headers.append(("Content-Type", "application/sdp"))
        tcp = draw(st.integers(0, 9)) == 0
        authorized = True
        if tcp:
            authorized = draw(st.integers(0, 3)) != 0
            if authorized:
                headers.append(("Authorization", "Bearer " + run.d.token))
        if left[0] <= 0:
            return
        left[0] -= 1
        r = run.exchange(method, target, headers, body, tcp=tcp, note=note)
        run.check(method, target, r, body, tcp=tcp, authorized=authorized, valid=valid, note=note)
        run.after(method, target, r, value)
        if run.requests % 50 == 0:
            run.drain_sinks()
        if run.args.progress and run.requests % 1000 == 0:
            print("lbfuzz: %d requests, %d failures" % (run.requests, sum(len(v) for v in run.failures.values())),
                  file=sys.stderr, flush=True)

    try:
        one()
    except hypothesis.errors.Flaky:
        pass  # the caller goes on with the next seed
    return count - left[0]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--build", default=os.environ.get("LOBBYD_BUILD", "build"))
    ap.add_argument("--requests", type=int, default=2000, help="generated requests (raw cases come on top)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--timeout", type=float, default=30, help="seconds per request")
    ap.add_argument("--json", help="write the results here")
    ap.add_argument("--progress", action="store_true")
    ap.add_argument("--keep", action="store_true", help="keep the daemon's temp dir (log)")
    args = ap.parse_args()

    os.environ["LOBBYD_BUILD"] = args.build
    if "asan" in args.build:
        os.environ.setdefault("ASAN_OPTIONS", "detect_leaks=0:halt_on_error=1:abort_on_error=0:exitcode=66")
        os.environ.setdefault("UBSAN_OPTIONS", "print_stacktrace=1:halt_on_error=1:exitcode=67")
    import lbtest
    config = ("[daemon]\nmax_lobbies=%d\nmax_sessions=%d\nmax_body_bytes=%d\n"
              "[rtp]\nallowed_destinations=127.0.0.1/32;::1/128\n"
              "[encoder]\nhardware=off\nsoftware_budget_mpps=8\n" % (MAX_LOBBIES, MAX_SESSIONS, MAX_BODY))
    # lbtest.Daemon writes [daemon] listen and token; GKeyFile merges our second [daemon] group.
    d = lbtest.Daemon(config_extra=config)
    d.start(timeout=60)
    doc = Doc(DOC_PATH)
    run = Run(args, d, doc)
    t0 = time.monotonic()
    failed_cases = []
    try:
        run.new_log()
        fds_start = len(os.listdir("/proc/%d/fd" % d.proc.pid))
        run.setup_fixtures()
        gen = Gen(doc, [s.getsockname()[1] for s in run.sinks])
        # The fixture lobbies' pipelines open fds as they start: let them settle
        # so that the per-case fd checks measure the cases.
        last, end = -1, time.monotonic() + 10
        while time.monotonic() < end:
            n = len(os.listdir("/proc/%d/fd" % d.proc.pid))
            if n == last:
                break
            last = n
            time.sleep(1)
        # Raw cases first, so each failure is pinned on one request, then the generated run.
        for case in raw_cases(run):
            n0 = len(os.listdir("/proc/%d/fd" % d.proc.pid))
            label, fails = run_raw(run, case)
            # Each case closes its connection and deletes what it made: a grown fd count is a leak.
            grown = wait_fds(d.proc.pid, n0) - n0 if not run.crashed else 0
            if grown > 0:
                run.fail("leak", "%s: the daemon holds %d more fd(s) after it" % (label, grown))
                fails = fails + ["leaked %d fd(s)" % grown]
            if fails:
                failed_cases.append((label, fails))
            if run.crashed:
                break
        if not run.crashed:
            for case in (http10_case, keepalive_case):
                label, fails = case(run)
                if fails:
                    failed_cases.append((label, fails))
            sse_case(run)
        sent, seed_value, idle_rounds = 0, args.seed, 0
        while sent < args.requests and not run.crashed and idle_rounds < 3:
            n = generate(run, gen, args.requests - sent, seed_value)
            sent += n
            idle_rounds = idle_rounds + 1 if n == 0 else 0
            seed_value += 1
        if not run.crashed:
            run.cleanup()
            # Every request closed its connection and everything was deleted: the fds are back.
            time.sleep(1)
            fds_end = len(os.listdir("/proc/%d/fd" % d.proc.pid))
            if fds_end > fds_start + 4:
                run.fail("leak", "daemon fds %d before, %d after the run" % (fds_start, fds_end))
    finally:
        elapsed = time.monotonic() - t0
        alive = d.proc.poll() is None
        rc = d.stop(timeout=30) if alive else d.proc.returncode
        for line in run.new_log().splitlines():
            if BAD_LOG.search(line):
                run.fail("CRITICAL" if "CRITICAL" in line else "sanitizer report", "at exit: " + line.strip()[:300])
        if alive and rc not in (0, None):
            run.fail("crash", "daemon exited %s on SIGTERM" % rc)
        if not args.keep:
            import shutil
            shutil.rmtree(d.tmp, ignore_errors=True)
        for s in run.sinks:
            s.close()

    kinds = ["crash", "sanitizer report", "CRITICAL", "undocumented status", "invalid body", "schema mismatch",
             "server error", "raw case", "no response", "leak"]
    print("lbfuzz: %s, seed %d, %d requests in %.0f s (%.0f/s)" % (args.build, args.seed, run.requests, elapsed,
                                                                   run.requests / max(elapsed, 1e-9)))
    print("  %-22s %s" % ("status", "count"))
    for status, n in sorted(run.statuses.items(), key=lambda kv: str(kv[0])):
        print("  %-22s %d" % (status, n))
    print("  %-22s %s" % ("check", "failures"))
    for k in kinds + [k for k in run.failures if k not in kinds]:
        print("  %-22s %d" % (k, len(run.failures.get(k, []))))
    if failed_cases:
        print("failed raw cases:")
        for label, fails in failed_cases:
            print("  " + label)
    for k, lst in run.failures.items():
        print("--- %s (%d)" % (k, len(lst)))
        for detail in lst[:8]:
            print("    " + detail)
        if len(lst) > 8:
            print("    … %d more" % (len(lst) - 8))
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"build": args.build, "seed": args.seed, "requests": run.requests, "seconds": elapsed,
                       "statuses": {str(k): v for k, v in run.statuses.items()},
                       "failures": {k: len(run.failures.get(k, [])) for k in kinds},
                       "failed_raw_cases": [l for l, _ in failed_cases],
                       "details": {k: v[:50] for k, v in run.failures.items()}}, f, indent=1)
    return 1 if run.failures else 0


if __name__ == "__main__":
    sys.exit(main())
