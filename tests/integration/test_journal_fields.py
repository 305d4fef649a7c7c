"""Structured logs under systemd (issue 14): when stderr is the journal's
stream, the REAL daemon sends its log lines to the journal's native socket
with LOBBY_ID=, SESSION_ID= and POOL= fields, so `journalctl LOBBY_ID=...`
tells one lobby's story.

No journald here: the daemon runs in its own mount namespace (`unshare -m`,
root) where /run/systemd/journal is a directory of this test holding an
AF_UNIX datagram socket bound by the test (journald's "socket"), and its
stderr is a stream connected to /run/systemd/journal/stdout, as systemd
gives a service, with its device:inode in $JOURNAL_STREAM: GLib's
g_log_writer_is_journald() checks the peer's path (GLib < 2.78, e.g.
Debian 12's 2.74) or $JOURNAL_STREAM (newer). The host's /run is never
touched."""
import array
import os
import shutil
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
import unittest

from lbtest import Daemon, binary, free_port

# Inside the namespace: a mount point for the fake journal wherever this
# host lacks /run/systemd/journal (tmpfs, private to the namespace), then
# the test's directory bound on it.
NAMESPACE_SCRIPT = r"""
set -e
if [ ! -d /run/systemd/journal ]; then
  if [ -d /run/systemd ]; then mount -t tmpfs lobbyd-test /run/systemd
  else mount -t tmpfs lobbyd-test /run; fi
  mkdir -p /run/systemd/journal
fi
mount --bind "$1" /run/systemd/journal
shift
exec "$@"
"""

# Inside the namespace, then exec'd into lobbyd: journald's stdout stream.
# A peer's path is the one it was bound with, so the listener binds here; a
# forked relay writes what the daemon prints to stderr into stream.txt.
STREAM_HELPER = r"""
import os, socket, sys
path = "/run/systemd/journal/stdout"
if os.path.exists(path):  # a restart's
    os.unlink(path)
srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
srv.bind(path)
srv.listen(1)
cli = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
cli.connect(path)
conn, _ = srv.accept()
srv.close()
if os.fork() == 0:
    cli.close()
    with open("/run/systemd/journal/stream.txt", "ab") as out:
        while True:
            chunk = conn.recv(65536)
            if not chunk:
                break
            out.write(chunk)
            out.flush()
    os._exit(0)
conn.close()
st = os.fstat(cli.fileno())
os.environ["JOURNAL_STREAM"] = "%d:%d" % (st.st_dev, st.st_ino)
os.dup2(cli.fileno(), 2)
cli.close()
os.execv(sys.argv[1], sys.argv[1:])
"""


def namespace_problem():
    """Why a private mount namespace cannot be made here, or None."""
    if os.geteuid() != 0:
        return "not root: unshare -m and mount need CAP_SYS_ADMIN"
    if shutil.which("unshare") is None:
        return "no unshare(1) (util-linux)"
    p = subprocess.run(["unshare", "-m", "--propagation", "private", "--", "sh", "-c",
                        "mount -t tmpfs lobbyd-probe /mnt"], capture_output=True, text=True)
    if p.returncode != 0:
        return "unshare -m / mount failed: " + p.stderr.strip()
    return None


def parse_entry(data):
    """One datagram of the journal's native protocol: KEY=value lines, or
    KEY, newline, a 64-bit little-endian length, the value, newline."""
    fields = {}
    i = 0
    while i < len(data):
        nl = data.index(b"\n", i)
        line = data[i:nl]
        if b"=" in line:
            key, value = line.split(b"=", 1)
            i = nl + 1
        else:
            key = line
            (n,) = struct.unpack_from("<Q", data, nl + 1)
            value = data[nl + 9:nl + 9 + n]
            assert data[nl + 9 + n:nl + 10 + n] == b"\n", "binary field %r not newline-terminated" % key
            i = nl + 10 + n
        fields[key.decode()] = value.decode(errors="replace")
    return fields


class FakeJournal:
    """/run/systemd/journal/socket as journald binds it, and a thread that
    keeps every entry (a memfd passed with SCM_RIGHTS for a big one too)."""

    def __init__(self, directory):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(os.path.join(directory, "socket"))
        self.sock.settimeout(0.2)
        self.entries = []
        self.errors = []
        self.stopping = False
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()

    def run(self):
        fd_size = array.array("i").itemsize
        while not self.stopping:
            try:
                data, anc, _, _ = self.sock.recvmsg(1 << 20, socket.CMSG_SPACE(fd_size))
            except socket.timeout:
                continue
            except OSError:
                return
            for level, kind, cdata in anc:
                if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
                    fd = array.array("i", cdata[:fd_size])[0]
                    with os.fdopen(fd, "rb") as f:
                        data = f.read()
            try:
                self.entries.append(parse_entry(data))
            except Exception as e:  # noqa: BLE001 - reported by the test
                self.errors.append("%r: %s" % (data[:200], e))

    def close(self):
        self.stopping = True
        self.thread.join(5)
        self.sock.close()


class JournalDaemon(Daemon):
    """lobbyd with its stderr the journal's stream, in a mount namespace
    whose /run/systemd/journal is @journal_dir."""

    def __init__(self, journal_dir, **kw):
        super().__init__(**kw)
        self.journal_dir = journal_dir

    def command(self):
        env = dict(os.environ)
        # What an operator's unit has: no G_MESSAGES_DEBUG.
        env.pop("G_MESSAGES_DEBUG", None)
        env.pop("JOURNAL_STREAM", None)
        return (["unshare", "-m", "--propagation", "private", "--", "sh", "-c", NAMESPACE_SCRIPT,
                 "sh", self.journal_dir, sys.executable, "-c", STREAM_HELPER, binary("lobbyd"),
                 "--config", self.config, "--state-dir", self.state_dir, "--socket", self.socket],
                env)

    def exit_context(self):
        return self.stream_text()

    def stream_text(self):
        """What the daemon wrote to stderr (the journal's stream)."""
        try:
            with open(os.path.join(self.journal_dir, "stream.txt"), "rb") as f:
                return f.read().decode(errors="replace")
        except FileNotFoundError:
            return ""


@unittest.skipIf(namespace_problem() is not None, "no fake journal: %s" % namespace_problem())
class JournalFieldsTest(unittest.TestCase):
    def setUp(self):
        self.jdir = tempfile.mkdtemp(prefix="lobbyd-journal-")
        self.journal = FakeJournal(self.jdir)
        self.d = JournalDaemon(self.jdir)
        self.d.start()

    def tearDown(self):
        self.d.cleanup()
        self.journal.close()
        shutil.rmtree(self.jdir, ignore_errors=True)

    def find(self, predicate, what):
        deadline = time.time() + 10
        while time.time() < deadline:
            found = [e for e in list(self.journal.entries) if predicate(e)]
            if found:
                return found[0]
            time.sleep(0.05)
        self.fail("no journal entry %s; entries: %s" % (
            what, [(e.get("MESSAGE"), {k: v for k, v in e.items() if k in ("LOBBY_ID", "SESSION_ID", "POOL")})
                   for e in self.journal.entries][-40:]))

    def test_lobby_story_has_its_ids(self):
        lobby = self.d.create_lobby(name="journal").json["id"]
        session = self.d.join(lobby, free_port()).json["id"]
        # A restart tells the same story: restored lines with the same ids.
        self.assertEqual(self.d.stop(), 0)
        self.d.start()
        restored = self.find(lambda e: e.get("MESSAGE") == "lobby %s restored" % lobby, "lobby restored")
        self.assertEqual(restored["LOBBY_ID"], lobby)
        restored = self.find(lambda e: e.get("SESSION_ID") == session and "restored" in e.get("MESSAGE", ""),
                             "session restored")
        self.assertEqual(restored["LOBBY_ID"], lobby)
        self.assertEqual(self.d.request("DELETE", "/api/v1/sessions/" + session).status, 204)
        self.assertEqual(self.d.request("DELETE", "/api/v1/lobbies/" + lobby).status, 204)

        created = self.find(lambda e: e.get("LOBBY_ID") == lobby and "created" in e.get("MESSAGE", ""),
                            "lobby created")
        self.assertIn(lobby, created["MESSAGE"])  # the terminal's text keeps the id
        self.assertEqual(created["PRIORITY"], "6")  # INFO reaches the journal without G_MESSAGES_DEBUG
        self.assertEqual(created["GLIB_DOMAIN"], "lobbyd-registry")
        for key in ("CODE_FILE", "CODE_LINE", "CODE_FUNC"):
            self.assertIn(key, created)

        joined = self.find(lambda e: e.get("SESSION_ID") == session and "joined" in e.get("MESSAGE", ""),
                           "session joined")
        self.assertEqual(joined["LOBBY_ID"], lobby)
        self.assertEqual(joined["POOL"], "software")

        # No GPU here: the lobby's encode falls back to software, on its pool.
        fallback = self.find(lambda e: e.get("LOBBY_ID") == lobby and "fallback" in e.get("MESSAGE", ""),
                             "encoder fallback")
        self.assertEqual(fallback["POOL"], "software")

        ended = self.find(lambda e: e.get("SESSION_ID") == session and "ended" in e.get("MESSAGE", ""),
                          "session ended")
        self.assertEqual(ended["LOBBY_ID"], lobby)
        deleted = self.find(lambda e: e.get("MESSAGE") == "lobby %s deleted" % lobby, "lobby deleted")
        self.assertEqual(deleted["LOBBY_ID"], lobby)
        self.assertNotIn("SESSION_ID", deleted)

        # Every line goes through the journal, old g_message ones too; the
        # stream (stderr) stays free of them.
        self.assertEqual(self.d.stop(), 0)
        self.find(lambda e: e.get("MESSAGE") == "stopping", "'stopping' (a plain g_message)")
        self.assertEqual(self.journal.errors, [])
        self.assertNotIn(lobby, self.d.stream_text())


if __name__ == "__main__":
    unittest.main()
