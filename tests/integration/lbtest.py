"""Shared helpers for lobbyd integration tests: start the real daemon on a
temporary state dir and socket, talk HTTP to it over the socket (or TCP),
receive/decode its RTP with ffmpeg, drive the browser scripts of
tests/browser/, and watch the processes a desktop lobby starts. Nothing here
replaces a lobbyd component."""
import http.client
import json
import os
import select
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
import unittest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BROWSER_DIR = os.path.join(ROOT, "tests", "browser")


def binary(name):
    """A binary of the build under test ($LOBBYD_BUILD, default build/)."""
    return os.path.join(ROOT, os.environ.get("LOBBYD_BUILD", "build"), "src", name)


class UnixHTTPConnection(http.client.HTTPConnection):
    def __init__(self, path, timeout=30):
        super().__init__("localhost", timeout=timeout)
        self.unix_path = path

    def connect(self):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(self.timeout)
        s.connect(self.unix_path)
        self.sock = s


def free_port(kind=socket.SOCK_DGRAM):
    s = socket.socket(socket.AF_INET, kind)
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class Response:
    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers
        self.body = body

    @property
    def json(self):
        return json.loads(self.body)

    def error_code(self):
        try:
            return self.json["error"]["code"]
        except Exception:
            return None


class Daemon:
    """One lobbyd process with its own state dir, socket and TCP port."""

    def __init__(self, state_dir=None, config_extra="", demo=False):
        self.tmp = state_dir or tempfile.mkdtemp(prefix="lobbyd-test-")
        self.state_dir = os.path.join(self.tmp, "state")
        self.socket = os.path.join(self.tmp, "api.sock")
        self.tcp_port = free_port(socket.SOCK_STREAM)
        self.token = "test-token-0123456789abcdef"
        self.config = os.path.join(self.tmp, "lobbyd.conf")
        with open(self.config, "w") as f:
            f.write("[daemon]\nlisten=127.0.0.1:%d\ntoken=%s\n" % (self.tcp_port, self.token))
            f.write("[demo]\nenabled=%s\n" % ("true" if demo else "false"))
            # Never the fixed Moonlight ports (tests run in parallel): a test
            # that wants the host names [moonlight] with its own free ports.
            if "[moonlight]" not in config_extra:
                f.write("[moonlight]\nenabled=false\n")
            f.write(config_extra)
        self.proc = None
        self.log = None

    def command(self):
        """How the daemon is started (the argv and its environment)."""
        env = dict(os.environ)
        env.setdefault("G_MESSAGES_DEBUG", "")
        return ([binary("lobbyd"), "--config", self.config, "--state-dir", self.state_dir,
                 "--socket", self.socket], env)

    def start(self, timeout=20):
        self.log = open(os.path.join(self.tmp, "lobbyd.log"), "ab")
        argv, env = self.command()
        self.proc = subprocess.Popen(argv, stdout=self.log, stderr=self.log, env=env)
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("lobbyd exited with %d:\n%s%s" % (
                    self.proc.returncode, self.read_log(), self.exit_context()))
            try:
                if self.request("GET", "/api/v1/status").status == 200:
                    return self
            except OSError:
                pass
            time.sleep(0.05)
        raise RuntimeError("lobbyd did not come up:\n" + self.read_log())

    def exit_context(self):
        """More to say when the daemon exits at start (subclasses)."""
        return ""

    def read_log(self):
        with open(os.path.join(self.tmp, "lobbyd.log"), "rb") as f:
            return f.read().decode(errors="replace")[-4000:]

    def request(self, method, path, body=None, headers=None, tcp=False, raw=None, timeout=30):
        if tcp:
            conn = http.client.HTTPConnection("127.0.0.1", self.tcp_port, timeout=timeout)
        else:
            conn = UnixHTTPConnection(self.socket, timeout=timeout)
        hdrs = dict(headers or {})
        data = raw
        if body is not None:
            data = json.dumps(body).encode()
            hdrs.setdefault("Content-Type", "application/json")
        try:
            conn.request(method, path, body=data, headers=hdrs)
            r = conn.getresponse()
            return Response(r.status, dict(r.getheaders()), r.read())
        finally:
            conn.close()

    def create_lobby(self, name="t", key=None, width=320, height=240, fps=30, pattern="ball"):
        body = {"name": name, "source": {"type": "testsrc", "pattern": pattern},
                "video": {"width": width, "height": height, "fps": fps}}
        if key is not None:
            body["session_key"] = key
        return self.request("POST", "/api/v1/lobbies", body)

    def join(self, lobby_id, port, width=None, height=None, fps=None, bitrate=1000, host="127.0.0.1"):
        profile = {"codec": "h264", "bitrate_kbps": bitrate}
        for k, v in (("width", width), ("height", height), ("fps", fps)):
            if v is not None:
                profile[k] = v
        return self.request("POST", "/api/v1/lobbies/%s/sessions" % lobby_id,
                            {"transport": "rtp", "destination": {"host": host, "port": port},
                             "profile": profile})

    def kill9(self):
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)
        self.log.close()

    def stop(self, timeout=15):
        if self.proc is None or self.proc.poll() is not None:
            return self.proc.returncode if self.proc else None
        self.proc.send_signal(signal.SIGTERM)
        try:
            rc = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise
        finally:
            self.log.close()
        return rc

    def cleanup(self):
        try:
            self.stop()
        finally:
            shutil.rmtree(self.tmp, ignore_errors=True)


def decode_rtp(sdp_text, frames, timeout=20):
    """Plays an SDP's video (not its audio) with ffmpeg and returns the list of decoded frame sizes (bytes of yuv420p)
    and the stream's reported 'WxH'."""
    with tempfile.NamedTemporaryFile("w", suffix=".sdp", delete=False) as f:
        f.write(sdp_text)
        path = f.name
    try:
        p = subprocess.run(
            ["ffmpeg", "-hide_banner", "-nostdin", "-protocol_whitelist", "file,udp,rtp",
             "-i", path, "-an", "-frames:v", str(frames), "-pix_fmt", "yuv420p", "-f", "framemd5", "-"],
            capture_output=True, text=True, timeout=timeout)
    finally:
        os.unlink(path)
    sizes = []
    for line in p.stdout.splitlines():
        if line.startswith("#") or not line.strip():
            continue
        parts = [x.strip() for x in line.split(",")]
        sizes.append(int(parts[4]))
    import re
    # The input stream's size, else the decoded output's: with an audio
    # stream next to it, ffmpeg may end its probe before the video's first
    # SPS and print the input without a size.
    m = re.search(r"Video: h264[^\n]*?, (\d+)x(\d+)", p.stderr) or re.search(
        r"Video: rawvideo[^\n]*?, (\d+)x(\d+)", p.stderr)
    dims = (int(m.group(1)), int(m.group(2))) if m else None
    return sizes, dims, p.stderr


def count_udp_packets(port, seconds):
    """Counts datagrams arriving on 127.0.0.1:port during @seconds."""
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", port))
    s.settimeout(0.1)
    n = 0
    end = time.time() + seconds
    while time.time() < end:
        try:
            s.recv(65536)
            n += 1
        except socket.timeout:
            pass
    s.close()
    return n


class DaemonTest(unittest.TestCase):
    config_extra = ""

    def setUp(self):
        self.d = Daemon(config_extra=self.config_extra).start()

    def tearDown(self):
        self.d.cleanup()


class EventStream:
    """Reads GET /api/v1/events (Server-Sent Events) in a thread."""

    def __init__(self, daemon, last_event_id=None):
        import threading
        self.events = []
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.connect(daemon.socket)
        hdr = "GET /api/v1/events HTTP/1.1\r\nHost: localhost\r\nAccept: text/event-stream\r\n"
        if last_event_id is not None:
            hdr += "Last-Event-ID: %s\r\n" % last_event_id
        self.sock.sendall((hdr + "\r\n").encode())
        self.status_line = None
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()
        # The daemon subscribes the stream inside the request's handler and
        # answers only after it: once the status line is here, no event the
        # caller causes next can be missed.
        end = time.time() + 10
        while self.status_line is None and time.time() < end:
            time.sleep(0.005)
        if self.status_line is None:
            self.close()
            raise AssertionError("GET /api/v1/events: no answer within 10 s")

    def _run(self):
        buf = b""
        try:
            while True:
                chunk = self.sock.recv(65536)
                if not chunk:
                    return
                buf += chunk
                # Chunked transfer framing is interleaved; SSE fields are line based,
                # so parse "id:", "event:" and "data:" lines wherever they are.
                while b"\n" in buf:
                    line, buf = buf.split(b"\n", 1)
                    line = line.rstrip(b"\r").decode(errors="replace")
                    if self.status_line is None and line.startswith("HTTP/1.1"):
                        self.status_line = line
                    elif line.startswith("id: "):
                        self._id = int(line[4:])
                    elif line.startswith("event: "):
                        self._type = line[7:]
                    elif line.startswith("data: "):
                        self.events.append({"id": getattr(self, "_id", None), "event": self._type,
                                            "data": json.loads(line[6:])})
        except OSError:
            return

    def of_type(self, event_type):
        return [e for e in self.events if e["event"] == event_type]

    def wait_for(self, event_type, timeout=5.0, count=1):
        end = time.time() + timeout
        while time.time() < end:
            found = self.of_type(event_type)
            if len(found) >= count:
                return found
            time.sleep(0.02)
        raise AssertionError("no %s event within %.1fs; got %s" % (event_type, timeout,
                                                                   [e["event"] for e in self.events]))

    def close(self):
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.sock.close()


def fill(path):
    """Writes zeros into @path until the file system is full (unbuffered, so
    nothing is left to fail at close)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        for size in (65536, 4096, 512, 1):
            try:
                while True:
                    os.write(fd, b"\0" * size)
            except OSError:
                pass
    finally:
        os.close(fd)


class SmallDisk:
    """A daemon's state dir on its own 2 MiB tmpfs, to fill up. Mounting needs
    root (CI runs as root); where it cannot, the test is skipped, saying why."""

    def __init__(self, test, prefix="lobbyd-full-"):
        self.tmp = tempfile.mkdtemp(prefix=prefix)
        self.state_dir = os.path.join(self.tmp, "state")
        os.mkdir(self.state_dir, 0o700)
        m = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2m,mode=0700", "tmpfs", self.state_dir],
                           capture_output=True, text=True)
        if m.returncode != 0:
            shutil.rmtree(self.tmp, ignore_errors=True)
            test.skipTest("cannot mount a tmpfs here: " + m.stderr.strip())
        self.filler = os.path.join(self.state_dir, "filler")

    def fill(self):
        fill(self.filler)

    def free(self):
        if os.path.exists(self.filler):
            os.unlink(self.filler)

    def release(self, daemon):
        """Stops @daemon (running on this disk), unmounts, removes its files."""
        try:
            daemon.stop()
        finally:
            subprocess.run(["umount", "-l", self.state_dir])
            daemon.cleanup()


def wait_until(predicate, timeout=5.0, interval=0.05):
    end = time.time() + timeout
    while time.time() < end:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    return predicate()


class RtpReceiver:
    """Captures RTP packets on 127.0.0.1:port in a thread: arrival time,
    sequence number, SSRC and the H.264 NAL unit types each carries."""

    def __init__(self, port):
        import threading
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
        self.sock.bind(("127.0.0.1", port))
        self.sock.settimeout(0.1)
        self.packets = []  # (time, seq, ssrc, [nal types], rtp timestamp)
        self.running = True
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    @staticmethod
    def nal_types(payload):
        if not payload:
            return []
        t = payload[0] & 0x1F
        if t == 28 and len(payload) > 1:  # FU-A: the original type, on the start fragment
            return [payload[1] & 0x1F] if payload[1] & 0x80 else []
        if t == 24:  # STAP-A: size-prefixed NAL units
            out, i = [], 1
            while i + 2 < len(payload):
                size = (payload[i] << 8) | payload[i + 1]
                if i + 2 < len(payload):
                    out.append(payload[i + 2] & 0x1F)
                i += 2 + size
            return out
        return [t]

    def _run(self):
        while self.running:
            try:
                data = self.sock.recv(65536)
            except socket.timeout:
                continue
            except OSError:
                return
            if len(data) < 12:
                continue
            cc = data[0] & 0x0F
            seq = (data[2] << 8) | data[3]
            ssrc = int.from_bytes(data[8:12], "big")
            off = 12 + 4 * cc
            if data[0] & 0x10 and len(data) >= off + 4:  # header extension
                off += 4 + 4 * ((data[off + 2] << 8) | data[off + 3])
            ts = int.from_bytes(data[4:8], "big")
            self.packets.append((time.time(), seq, ssrc, self.nal_types(data[off:]), ts))

    def first_idr_after(self, t0):
        for t, _, _, nals, _ in self.packets:
            if t >= t0 and 5 in nals:
                return t
        return None

    def idr_count(self, t0, t1):
        """IDR frames (one RTP timestamp each; x264 may cut a frame into slices)."""
        return len({ts for t, _, _, nals, ts in self.packets if t0 <= t <= t1 and 5 in nals})

    def seq_gaps(self):
        """Number of missing sequence numbers (mod 2^16) in what arrived."""
        gaps = 0
        for a, b in zip(self.packets, self.packets[1:]):
            gaps += (b[1] - a[1] - 1) % 65536
        return gaps

    def ssrcs(self):
        return {p[2] for p in self.packets}

    def close(self):
        self.running = False
        self.thread.join()
        self.sock.close()


def have_browser():
    """Debian's chromium, node and tests/browser/node_modules (scripts/deps.sh --test)."""
    return (os.path.exists("/usr/bin/chromium") and shutil.which("node")
            and os.path.isdir(os.path.join(BROWSER_DIR, "node_modules", "playwright-core")))


class JsonLinesProcess:
    """A helper process in a session of its own that prints JSON lines; with
    @errors_fail, a line with "error" fails the test."""

    def __init__(self, argv, cwd=None, stdin=False, errors_fail=True):
        self.errors_fail = errors_fail
        self.proc = subprocess.Popen(argv, stdin=subprocess.PIPE if stdin else None, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, text=True, cwd=cwd, start_new_session=True)

    def next_line(self, timeout=60):
        end = time.time() + timeout
        while time.time() < end:
            r, _, _ = select.select([self.proc.stdout], [], [], 0.5)
            if r:
                line = self.proc.stdout.readline()
                if not line:
                    break
                if line.startswith("{"):
                    out = json.loads(line)
                    if self.errors_fail and "error" in out:
                        raise AssertionError("%s: %s" % (self.proc.args[1], out))
                    return out
            elif self.proc.poll() is not None:
                break
        if self.proc.poll() is None:
            self.kill9()
            raise AssertionError("%s timed out" % self.proc.args[1])
        raise AssertionError("%s printed nothing: %s" % (self.proc.args[1], self.proc.stderr.read()[-2000:]))

    def kill9(self):
        """SIGKILL to the script's process group."""
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except OSError:
            pass
        self.proc.wait(10)

    def close(self):
        if self.proc.poll() is None:
            self.kill9()
        for f in (self.proc.stdin, self.proc.stdout, self.proc.stderr):
            if f is None:
                continue
            try:
                f.close()
            except OSError:
                pass


class BrowserScript(JsonLinesProcess):
    """A tests/browser/ script under node that prints JSON lines (one with
    "error" when it fails)."""

    def __init__(self, script, *args, stdin=False):
        super().__init__(["node", os.path.join(BROWSER_DIR, script)] + list(args), cwd=BROWSER_DIR, stdin=stdin)


def run_node(script, *args):
    """Runs a tests/browser/ script to its end; its last JSON line."""
    p = subprocess.run(["node", os.path.join(BROWSER_DIR, script)] + list(args),
                       capture_output=True, text=True, timeout=90, cwd=BROWSER_DIR)
    lines = [l for l in p.stdout.splitlines() if l.startswith("{")]
    if not lines:
        raise AssertionError("%s printed nothing: %s %s" % (script, p.stdout[-2000:], p.stderr[-2000:]))
    return json.loads(lines[-1])


def xev_recorder(daemon):
    """Configures the [apps] entry "recorder" of @daemon (before its start):
    xev in a window covering a 640x480 screen, logging every event it gets.
    Returns the path of that log."""
    log = os.path.join(daemon.tmp, "xev.log")
    # The app runs as [apps] user (not root): let it reach and write its log.
    open(log, "w").close()
    os.chmod(log, 0o666)
    os.chmod(daemon.tmp, 0o711)
    with open(daemon.config, "a") as f:
        f.write('[apps]\nrecorder=sh -c "exec xev -geometry 640x480+0+0 > %s"\n' % log)
    return log


def read_lock_pid(display):
    """The pid in the lock file of X @display (":N"), None without one."""
    try:
        with open("/tmp/.X%s-lock" % display[1:]) as f:
            return int(f.read().strip())
    except (OSError, ValueError):
        return None


def alive(pid):
    """True while @pid exists and is not a zombie."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            stat = f.read()
    except OSError:
        return False
    return stat[stat.rindex(")") + 2] != "Z"


class ApiLatency(threading.Thread):
    """Worst GET /api/v1/status latency on the unix socket while running, one
    request every @interval seconds."""

    def __init__(self, daemon, interval=0.05):
        super().__init__(daemon=True)
        self.d = daemon
        self.interval = interval
        self.running = True
        self.worst = 0.0
        self.count = 0

    def run(self):
        while self.running:
            t = time.monotonic()
            try:
                self.d.request("GET", "/api/v1/status", timeout=60)
            except OSError:
                pass
            self.worst = max(self.worst, time.monotonic() - t)
            self.count += 1
            time.sleep(self.interval)

    def stop(self):
        self.running = False
        self.join(70)
        return self.worst
