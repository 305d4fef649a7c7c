"""WHEP clients that hang up around their answer (issue 11). A client that
closed its connection before its 201 was written never learns the answer's
ICE credentials, so nobody will connect to the session: the join is undone
at once (session gone, encoder slot back), not connect_timeout later. A
client that read its whole answer and then closed the connection is an
ordinary WHEP client: its session waits for ICE (the connect timeout,
here set far beyond the test, applies).

The connect timeout is set to 600 s ([webrtc] peer_timeout_s): any session
still there a few seconds later was kept on purpose."""
import socket
import threading
import time
import unittest

from lbtest import Daemon, wait_until
from test_whep_pt import offer

OFFER = offer([(102, "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f")]).encode()


def raw_post(d, lobby, extra=b""):
    """A connected TCP socket that has sent a WHEP POST (and @extra after it)."""
    s = socket.create_connection(("127.0.0.1", d.tcp_port), timeout=30)
    s.sendall(("POST /api/v1/lobbies/%s/whep HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer %s\r\n"
               "Content-Type: application/sdp\r\nContent-Length: %d\r\n\r\n"
               % (lobby, d.token, len(OFFER))).encode() + OFFER + extra)
    return s


def read_response(s, timeout=30):
    """Reads one HTTP response (Content-Length framed): (status, headers, body)."""
    s.settimeout(timeout)
    buf = b""
    while b"\r\n\r\n" not in buf:
        chunk = s.recv(65536)
        if not chunk:
            return None, {}, buf
        buf += chunk
    head, body = buf.split(b"\r\n\r\n", 1)
    lines = head.decode().split("\r\n")
    headers = {k.strip().lower(): v.strip() for k, v in (l.split(":", 1) for l in lines[1:])}
    n = int(headers.get("content-length", "0"))
    while len(body) < n:
        chunk = s.recv(65536)
        if not chunk:
            break
        body += chunk
    return int(lines[0].split()[1]), headers, body


class HangupMixin:
    stack = None

    def setUp(self):
        self.d = Daemon(config_extra="[webrtc]\nstack=%s\nice_addresses=127.0.0.1\npeer_timeout_s=600\n"
                        "[daemon]\nmax_sessions=500\n" % self.stack).start()
        self.lobby = self.d.create_lobby(name="hangup", width=320, height=240, fps=15).json["id"]

    def tearDown(self):
        self.d.cleanup()

    def slots(self):
        g = self.d.request("GET", "/api/v1/system/gpu-status").json
        return g["active_sessions"], g["active_encodes"]

    def sessions(self):
        return self.d.request("GET", "/api/v1/sessions").json["sessions"]

    def assert_all_gone(self, keep=(), timeout=3.0):
        """Every session but @keep goes within @timeout (connect timeout: 600 s); no slot is leaked.
        Joins still negotiating are no session yet: the answers come first."""
        time.sleep(1.5)
        gone = wait_until(lambda: {s["id"] for s in self.sessions()} <= set(keep), timeout=timeout, interval=0.1)
        left = [s["id"] for s in self.sessions() if s["id"] not in keep]
        self.assertTrue(gone, "%d session(s) of clients that never got their answer still there: %s\n%s"
                        % (len(left), left, self.d.read_log()[-1500:]))

    def test_client_that_read_its_answer_and_closed_keeps_its_session(self):
        s = raw_post(self.d, self.lobby)
        status, headers, body = read_response(s)
        s.close()
        self.assertEqual(status, 201, body[:300])
        sid = headers["location"].split("/")[4]
        time.sleep(1.5)
        self.assertEqual([x["id"] for x in self.sessions()], [sid])  # waiting for ICE
        self.assertEqual(self.d.request("DELETE", headers["location"]).status, 204)

    def test_client_that_pipelined_bytes_then_closed_before_its_answer_leaves_nothing(self):
        # The bytes after the request end the hang-up watch ("a pipelined
        # request"); the client's FIN comes after them, before its answer.
        socks = []
        for _ in range(3):
            s = raw_post(self.d, self.lobby)
            time.sleep(0.002)
            s.sendall(b"GET /api/v1/status HTTP/1.1\r\n")
            s.shutdown(socket.SHUT_WR)
            socks.append(s)
        try:
            self.assert_all_gone()
        finally:
            for s in socks:
                s.close()
        self.assertTrue(wait_until(lambda: self.slots() == (0, 0), timeout=5.0), self.slots())

    def test_clients_closing_at_times_straddling_their_answer_leave_only_answered_sessions(self):
        t0 = time.monotonic()
        r = self.d.request("POST", "/api/v1/lobbies/%s/whep" % self.lobby, raw=OFFER,
                           headers={"Content-Type": "application/sdp"})
        answer_s = time.monotonic() - t0
        self.assertEqual(r.status, 201, r.body[:300])
        self.d.request("DELETE", r.headers["Location"])
        n = 30
        got = []
        lock = threading.Lock()

        def client(i):
            s = raw_post(self.d, self.lobby)
            time.sleep(answer_s * 3 * i / n)
            try:
                # Read as far as there is: a client that holds its whole answer
                # has it; one that closes with part of it (or none) does not.
                s.settimeout(0)
                data = b""
                while True:
                    chunk = s.recv(65536)
                    if not chunk:
                        break
                    data += chunk
            except (BlockingIOError, socket.timeout):
                pass
            except OSError:
                data = b""
            s.close()
            head, _, body = data.partition(b"\r\n\r\n")
            fields = dict(l.split(b":", 1) for l in head.split(b"\r\n")[1:] if b":" in l)
            length = {k.strip().lower(): v.strip() for k, v in fields.items()}.get(b"content-length")
            if head.startswith(b"HTTP/1.1 201") and length is not None and len(body) >= int(length):
                with lock:
                    got.append(head.split(b"/api/v1/sessions/")[1].split(b"/")[0].decode())

        threads = [threading.Thread(target=client, args=(i,)) for i in range(n)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        # A client's last read and its close are not one step: an answer
        # written between them is the server's to keep (one, at most).
        wait_until(lambda: len([x for x in self.sessions() if x["id"] not in got]) <= 1, timeout=3.0)
        left = [x["id"] for x in self.sessions()]
        self.assertLessEqual(len(set(left) - set(got)), 1, (left, got))
        self.assertLessEqual(set(got), set(left))  # read in full: waiting for ICE
        print("\n[whep hangup %s] %d clients closing 0-%.0f ms after their POST: %d held their whole answer"
              % (self.stack, n, answer_s * 3000, len(got)))


class LiteHangupTest(HangupMixin, unittest.TestCase):
    stack = "lite"


class WebrtcbinHangupTest(HangupMixin, unittest.TestCase):
    stack = "webrtcbin"


if __name__ == "__main__":
    unittest.main()
