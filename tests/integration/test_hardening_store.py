"""Issue 9, items 5b, 9 and 12: the state database under faults.

- Another process holds the database locked: the API keeps answering (no
  2 s stalls), writes fail cleanly with 503 store_busy, deletes still stop
  media, and everything catches up once the lock is released.
- The state dir is full (a small tmpfs): creates and joins fail with 500
  store_error and leave nothing behind, deletes still stop media and answer
  2xx, and the rows are removed once space frees up (and stay removed
  across a restart).
- The database, its WAL and SHM are never readable by others."""
import os
import sqlite3
import stat
import tempfile
import threading
import time
import unittest

from lbtest import Daemon, SmallDisk, count_udp_packets, free_port, wait_until


def db_path(d):
    return os.path.join(d.state_dir, "lobbyd.db")


def rows(d, table):
    """Ids in a table, read by a separate connection the way an operator would."""
    conn = sqlite3.connect("file:%s?mode=ro" % db_path(d), uri=True, timeout=5)
    try:
        return {r[0] for r in conn.execute("SELECT id FROM %s" % table)}
    finally:
        conn.close()


def counts(d):
    s = d.request("GET", "/api/v1/status").json
    g = d.request("GET", "/api/v1/system/gpu-status").json
    return {"lobbies": s["lobbies"], "sessions": s["sessions"], "pipelines": s["pipelines"],
            "encodes": g["active_encodes"],
            "slots": sum(p["used"] for p in g["pools"])}


class StatusPoller:
    """GET /api/v1/status in a loop from a thread; keeps each latency."""

    def __init__(self, d):
        self.d = d
        self.latencies = []
        self.errors = []
        self.running = True
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        while self.running:
            t0 = time.monotonic()
            try:
                r = self.d.request("GET", "/api/v1/status", timeout=10)
                if r.status != 200:
                    self.errors.append(r.status)
            except OSError as e:
                self.errors.append(str(e))
            self.latencies.append(time.monotonic() - t0)
            time.sleep(0.02)

    def stop(self):
        self.running = False
        self.thread.join()
        return max(self.latencies), sorted(self.latencies)[len(self.latencies) // 2]


class LockedDatabaseTest(unittest.TestCase):
    def setUp(self):
        self.d = Daemon().start()
        self.locker = None

    def tearDown(self):
        if self.locker is not None:
            self.locker.close()
        self.d.cleanup()

    def lock(self):
        # isolation_level=None: we issue BEGIN ourselves; timeout=5 to get the lock.
        self.locker = sqlite3.connect(db_path(self.d), isolation_level=None, timeout=5)
        self.locker.execute("BEGIN EXCLUSIVE")

    def unlock(self):
        self.locker.execute("ROLLBACK")
        self.locker.close()
        self.locker = None

    def test_locked_db_does_not_stall_api_and_writes_fail_cleanly(self):
        d = self.d
        lobby = d.create_lobby(name="keep", key="keep").json
        port = free_port()
        session = d.join(lobby["id"], port, width=160, height=120).json
        gone_lobby = d.create_lobby(name="gone", key="gone").json
        self.assertGreater(count_udp_packets(port, 0.5), 0)

        self.lock()
        poller = StatusPoller(d)
        # Deletes while locked: media stops, the API says so.
        r = d.request("DELETE", "/api/v1/sessions/%s" % session["id"])
        self.assertIn(r.status, (200, 204), r.body)
        r = d.request("DELETE", "/api/v1/lobbies/%s" % gone_lobby["id"])
        self.assertIn(r.status, (200, 204), r.body)
        time.sleep(0.3)
        self.assertEqual(count_udp_packets(port, 0.6), 0, "the deleted session still sends")
        before = counts(d)
        self.assertEqual((before["lobbies"], before["sessions"], before["encodes"]), (1, 0, 0))

        results = []

        def writer(i):
            for j in range(3):
                r = d.create_lobby(name="w", key="w-%d-%d" % (i, j))
                results.append(("create", r.status, r.error_code(), r.headers.get("Retry-After")))
                r = d.join(lobby["id"], free_port(), width=160, height=120)
                results.append(("join", r.status, r.error_code(), r.headers.get("Retry-After")))

        threads = [threading.Thread(target=writer, args=(i,)) for i in range(3)]
        t0 = time.monotonic()
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        writes_s = time.monotonic() - t0
        worst, median = poller.stop()
        print("\n  locked db: %d writes in %.2fs; status latency max %.0f ms, median %.0f ms (%d samples)"
              % (len(results), writes_s, worst * 1000, median * 1000, len(poller.latencies)))

        self.assertEqual(poller.errors, [])
        for what, status, code, retry in results:
            self.assertEqual((status, code), (503, "store_busy"), (what, results))
            self.assertIsNotNone(retry, "503 store_busy without Retry-After")
        # Generous for the ASan build on a 2-core box; the bug was a 2 s stall per write.
        self.assertLess(worst, 0.8, "status stalled %.2fs while the database was locked" % worst)

        # Nothing half-made: the failed writes left no lobby, session, encode or slot.
        self.assertEqual(counts(d), before)

        # Released: the pending row removals land, and writes work again.
        t_release = time.monotonic()
        self.unlock()
        ok = wait_until(lambda: session["id"] not in rows(d, "sessions")
                        and gone_lobby["id"] not in rows(d, "lobbies"), timeout=5, interval=0.02)
        print("  locked db: pending deletions written %.0f ms after the lock was released"
              % ((time.monotonic() - t_release) * 1000))
        self.assertTrue(ok, "rows of deleted things are still in the database")
        self.assertEqual(rows(d, "lobbies"), {lobby["id"]})
        r = d.create_lobby(name="after", key="after")
        self.assertEqual(r.status, 201, r.body)
        port2 = free_port()
        r = d.join(lobby["id"], port2, width=160, height=120)
        self.assertEqual(r.status, 201, r.body)
        self.assertGreater(count_udp_packets(port2, 0.5), 0)

        # A restart brings back exactly what exists.
        d.stop()
        d.start()
        ids = {l["id"] for l in d.request("GET", "/api/v1/lobbies").json["lobbies"]}
        self.assertNotIn(gone_lobby["id"], ids)
        self.assertEqual(len(ids), 2)
        sessions = {s["id"] for s in d.request("GET", "/api/v1/sessions").json["sessions"]}
        self.assertNotIn(session["id"], sessions)
        self.assertEqual(len(sessions), 1)


@unittest.skipUnless(os.geteuid() == 0, "mounting a small tmpfs needs root (CI runs as root)")
class DiskFullTest(unittest.TestCase):
    def setUp(self):
        self.disk = SmallDisk(self)
        self.d = Daemon(state_dir=self.disk.tmp)

    def tearDown(self):
        self.disk.release(self.d)

    def free_space(self):
        self.disk.free()

    def test_delete_on_full_disk_stops_media_and_rows_go_once_space_frees(self):
        d = self.d.start()
        a = d.create_lobby(name="a", key="a").json
        b = d.create_lobby(name="b", key="b").json
        c = d.create_lobby(name="c", key="c").json
        pa, pb = free_port(), free_port()
        sa = d.join(a["id"], pa, width=160, height=120).json
        sa2 = d.join(a["id"], free_port(), width=160, height=120, bitrate=800).json
        sb = d.join(b["id"], pb, width=160, height=120).json
        self.assertGreater(count_udp_packets(pa, 0.5), 0)
        self.assertGreater(count_udp_packets(pb, 0.5), 0)
        before = counts(d)

        self.disk.fill()
        # Creates and joins fail cleanly and leave nothing behind.
        r = d.create_lobby(name="x", key="x")
        self.assertEqual((r.status, r.error_code()), (500, "store_error"), r.body)
        r = d.join(c["id"], free_port(), width=160, height=120)
        self.assertEqual((r.status, r.error_code()), (500, "store_error"), r.body)
        self.assertEqual(counts(d), before)

        # Deletes stop the media although the rows cannot be removed yet.
        r = d.request("DELETE", "/api/v1/sessions/%s" % sa["id"])
        self.assertIn(r.status, (200, 204), r.body)
        r = d.request("DELETE", "/api/v1/lobbies/%s" % b["id"])
        self.assertIn(r.status, (200, 204), r.body)
        time.sleep(0.3)
        self.assertEqual(count_udp_packets(pa, 0.6), 0, "the deleted session still sends")
        self.assertEqual(count_udp_packets(pb, 0.6), 0, "the deleted lobby's session still sends")
        self.assertEqual(d.request("GET", "/api/v1/sessions/%s" % sa["id"]).status, 404)
        self.assertEqual(d.request("GET", "/api/v1/lobbies/%s" % b["id"]).status, 404)
        now = counts(d)
        self.assertEqual(now["lobbies"], before["lobbies"] - 1)
        self.assertEqual(now["sessions"], before["sessions"] - 2)

        t_free = time.monotonic()
        self.free_space()
        ok = wait_until(lambda: sa["id"] not in rows(d, "sessions")
                        and b["id"] not in rows(d, "lobbies"), timeout=5, interval=0.02)
        print("\n  disk full: pending deletions written %.0f ms after space was freed"
              % ((time.monotonic() - t_free) * 1000))
        self.assertTrue(ok, "rows of deleted things are still in the database")
        self.assertEqual(rows(d, "lobbies"), {a["id"], c["id"]})
        self.assertEqual(rows(d, "sessions"), {sa2["id"]})

        d.stop()
        d.start()
        lobbies = {l["id"] for l in d.request("GET", "/api/v1/lobbies").json["lobbies"]}
        self.assertEqual(lobbies, {a["id"], c["id"]})
        sessions = {s["id"] for s in d.request("GET", "/api/v1/sessions").json["sessions"]}
        self.assertEqual(sessions, {sa2["id"]})
        self.assertEqual(count_udp_packets(pa, 0.5), 0)
        self.assertEqual(count_udp_packets(pb, 0.5), 0)


    def test_restart_while_disk_is_full_does_not_bring_deleted_things_back(self):
        d = self.d.start()
        a = d.create_lobby(name="a", key="a").json
        b = d.create_lobby(name="b", key="b").json
        pa, pb = free_port(), free_port()
        sa = d.join(a["id"], pa, width=160, height=120).json
        d.join(b["id"], pb, width=160, height=120)
        self.assertGreater(count_udp_packets(pb, 0.5), 0)

        self.disk.fill()
        r = d.request("DELETE", "/api/v1/lobbies/%s" % b["id"])
        self.assertIn(r.status, (200, 204), r.body)
        d.stop()
        # Still full: the daemon starts, serves what exists, and the deleted
        # lobby (and its session) stay deleted.
        d.start()
        lobbies = {l["id"] for l in d.request("GET", "/api/v1/lobbies").json["lobbies"]}
        self.assertEqual(lobbies, {a["id"]})
        sessions = {s["id"] for s in d.request("GET", "/api/v1/sessions").json["sessions"]}
        self.assertEqual(sessions, {sa["id"]})
        self.assertEqual(count_udp_packets(pb, 0.6), 0, "a deleted lobby came back")
        self.assertGreater(count_udp_packets(pa, 0.5), 0)
        r = d.create_lobby(name="x", key="x")
        self.assertEqual((r.status, r.error_code()), (500, "store_error"), r.body)

        t_free = time.monotonic()
        self.free_space()
        ok = wait_until(lambda: b["id"] not in rows(d, "lobbies"), timeout=5, interval=0.02)
        print("\n  disk full across a restart: pending deletion written %.0f ms after space was freed"
              % ((time.monotonic() - t_free) * 1000))
        self.assertTrue(ok, "the deleted lobby's row is still in the database")
        d.stop()
        d.start()
        lobbies = {l["id"] for l in d.request("GET", "/api/v1/lobbies").json["lobbies"]}
        self.assertEqual(lobbies, {a["id"]})
        self.assertEqual(count_udp_packets(pb, 0.5), 0)

    def test_start_on_a_disk_that_filled_while_stopped(self):
        # A clean stop, then the disk fills (logs, another program): the
        # daemon must still start and serve what it has.
        d = self.d.start()
        a = d.create_lobby(name="a", key="a").json
        d.stop()
        self.disk.fill()
        d.start()
        lobbies = {l["id"] for l in d.request("GET", "/api/v1/lobbies").json["lobbies"]}
        self.assertEqual(lobbies, {a["id"]})
        port = free_port()
        r = d.join(a["id"], port, width=160, height=120)
        self.assertEqual((r.status, r.error_code()), (500, "store_error"), r.body)
        self.assertEqual(count_udp_packets(port, 0.5), 0, "a refused join streams")
        self.free_space()
        r = d.join(a["id"], port, width=160, height=120)
        self.assertEqual(r.status, 201, r.body)
        self.assertGreater(count_udp_packets(port, 0.5), 0)


class StateFileModesTest(unittest.TestCase):
    def test_database_wal_and_shm_are_private_in_a_loose_state_dir(self):
        tmp = tempfile.mkdtemp(prefix="lobbyd-modes-")
        state = os.path.join(tmp, "state")
        os.mkdir(state)
        os.chmod(state, 0o755)
        # No token in the config: the daemon writes its own token file too;
        # the demo lobby writes demo.sdp.
        d = Daemon(state_dir=tmp)
        with open(d.config, "w") as f:
            f.write("[daemon]\nlisten=127.0.0.1:%d\n[demo]\nenabled=true\nwidth=160\nheight=120\n"
                    "rtp_port=%d\n" % (d.tcp_port, free_port()))
        try:
            d.start()
            self.assertEqual(d.create_lobby(name="m").status, 201)
            base = db_path(d)
            for name in ("lobbyd.db", "lobbyd.db-wal", "lobbyd.db-shm", "lobbyd.db-pending",
                         "token", "demo.sdp"):
                self.assertTrue(os.path.exists(os.path.join(state, name)), name)
            self.check_private(state)

            # A database left 0644 by an older lobbyd is tightened on start.
            d.stop()
            for suffix in ("", "-wal", "-shm"):
                if os.path.exists(base + suffix):
                    os.chmod(base + suffix, 0o644)
            d.start()
            self.assertEqual(d.create_lobby(name="n").status, 201)
            self.check_private(state)
        finally:
            d.cleanup()

    def check_private(self, state):
        for name in sorted(os.listdir(state)):
            path = os.path.join(state, name)
            st = os.lstat(path)
            if stat.S_ISREG(st.st_mode):
                self.assertEqual(stat.S_IMODE(st.st_mode) & 0o077, 0,
                                 "%s is mode %o" % (name, stat.S_IMODE(st.st_mode)))
        for suffix in ("", "-wal", "-shm"):
            self.assertEqual(stat.S_IMODE(os.stat(os.path.join(state, "lobbyd.db" + suffix)).st_mode),
                             0o600, "lobbyd.db" + suffix)


if __name__ == "__main__":
    unittest.main()
