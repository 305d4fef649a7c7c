"""bench/whep_lite.py — LiteLoadClient: N WHEP viewers from bench-lite-viewers
(bench/lite-viewers.c: one C process, one thread, its own ICE/DTLS/SRTP, no
jitter buffer or decode), with the interface bench/whep-scale uses of
webrtc_peers.LoadClient. The C process makes offers and counts what arrives;
this module POSTs the offers over lobbyd's API (all at once, one thread
each) and hands the answers back, over JSON lines on the process's stdin and
stdout. Any Python 3 can import it (no gi).

    from webrtc_peers import Endpoint
    from whep_lite import LiteLoadClient
    client = LiteLoadClient(Endpoint(socket=d.socket), lobby_id, build="build")
    peers = client.make_peers(5)
    client.post_all(peers)
    client.wait_frames(30, timeout=20)
    print(client.stats())             # per peer: state, rtp, aus, keyframes, lost, ...
    client.close()
"""
import json
import os
import subprocess
import tempfile
import threading
import time

import webrtc_peers  # tests/integration, on sys.path

HERE = os.path.dirname(os.path.abspath(__file__))


def binary(build="build"):
    build = build if os.path.isabs(build) else os.path.join(HERE, "..", build)
    return os.path.join(build, "bench", "bench-lite-viewers")


class LitePeer:
    def __init__(self, client, index, offer):
        self.client, self.index, self.offer = client, index, offer
        self.answer = self.status = self.error = self.location = None
        self.t_post = self.t_answer = None

    def post(self, endpoint, lobby_id, control=False):
        webrtc_peers.whep_post(self, self.offer, endpoint, lobby_id, control)

    @property
    def frames(self):
        """Access units so far (a number, not webrtcbin peers' list of times)."""
        return self.client.stats()[self.index]["aus"]


class LiteLoadClient:
    """N WHEP peers of one lobby in one bench-lite-viewers process."""

    def __init__(self, endpoint, lobby_id, build=None, control=False):
        self.endpoint, self.lobby_id, self.control = endpoint, lobby_id, control
        self.peers = []
        self.lock = threading.Lock()
        self.stderr = tempfile.TemporaryFile(mode="w+")
        self.proc = subprocess.Popen([binary(build or os.environ.get("LOBBYD_BUILD", "build"))],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self.stderr,
                                     text=True, start_new_session=True)
        self.t_first_post = self.t_all_answered = None

    def call(self, **cmd):
        """One command, its one JSON line of answer."""
        with self.lock:
            self.proc.stdin.write(json.dumps(cmd) + "\n")
            self.proc.stdin.flush()
            line = self.proc.stdout.readline()
        if not line:
            self.stderr.seek(0)
            raise RuntimeError("bench-lite-viewers exited (%s): %s" % (self.proc.poll(), self.stderr.read()[-2000:]))
        return json.loads(line)

    def make_peers(self, n, timeout=30, audio=False):
        """audio: the offers also have a BUNDLEd recvonly Opus m-line."""
        out = self.call(cmd="add", n=n, audio=True) if audio else self.call(cmd="add", n=n)
        if "error" in out:
            raise RuntimeError("bench-lite-viewers: %s" % out["error"])
        new = [LitePeer(self, p["peer"], p["offer"]) for p in out["peers"]]
        self.peers.extend(new)
        return new

    def post_all(self, peers, concurrency=None):
        """POSTs every peer's offer at once (one thread each); returns when all are answered."""
        self.t_first_post = time.monotonic()
        threads = [threading.Thread(target=p.post, args=(self.endpoint, self.lobby_id, self.control), daemon=True)
                   for p in peers]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        self.t_all_answered = time.monotonic()
        for p in peers:
            if p.answer is not None:
                r = self.call(cmd="answer", peer=p.index, sdp=p.answer)
                if not r.get("ok"):
                    p.error = r.get("error")
        return self.t_all_answered - self.t_first_post

    def offer_all(self, n, timeout=30):
        return self.post_all(self.make_peers(n, timeout))

    def stats(self):
        """Per peer (by index): state, rtp, bytes, aus, keyframes, lost, srtp_errors, t_* (monotonic s)."""
        return self.call(cmd="stats")["peers"]

    def frame_counts(self, peers=None):
        s = self.stats()
        return [s[p.index]["aus"] for p in (peers or self.peers)]

    def client_pid(self):
        return self.proc.pid

    def wait_frames(self, count=1, timeout=20, peers=None):
        peers = [p for p in (peers or self.peers) if p.answer is not None]
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if all(c >= count for c in self.frame_counts(peers)):
                return True
            time.sleep(0.1)
        return False

    def fps(self, seconds=5.0, peers=None):
        peers = peers or self.peers
        t0, c0 = time.monotonic(), self.frame_counts(peers)
        time.sleep(seconds)
        t1, c1 = time.monotonic(), self.frame_counts(peers)
        return [(b - a) / (t1 - t0) for a, b in zip(c0, c1)]

    def pli(self, peer):
        return self.call(cmd="pli", peer=peer.index).get("ok", False)

    def dump(self, peer, path):
        """From the peer's next SPS on, its H.264 as an Annex-B file (for a decode check)."""
        return self.call(cmd="dump", peer=peer.index, path=path).get("ok", False)

    def report(self, fps=None):
        s = self.stats()
        out = []
        for i, p in enumerate(self.peers):
            st = s[p.index]
            out.append({
                "peer": p.index, "status": p.status, "error": p.error or st.get("error"), "location": p.location,
                "answer_s": (p.t_answer - p.t_post) if p.t_answer and p.t_post else None,
                "frames": st["aus"], "keyframes": st["keyframes"], "decoded": None, "state": st["state"],
                "fps": fps[i] if fps is not None and i < len(fps) else None, "lost": st["lost"],
                "answer_pt": webrtc_peers.answer_payload_type(p.answer) if p.answer else None,
            })
        return out

    def close(self):
        webrtc_peers.delete_all(self.endpoint, self.peers)
        if self.proc.poll() is None:
            try:
                self.call(cmd="quit")
                self.proc.wait(10)
            except (OSError, ValueError, RuntimeError, subprocess.TimeoutExpired):
                self.proc.kill()
                self.proc.wait(10)
        for f in (self.proc.stdin, self.proc.stdout):
            try:
                f.close()
            except OSError:
                pass

    def stderr_text(self):
        self.stderr.seek(0)
        return self.stderr.read()
