"""GET /api/v1/events: Server-Sent Events with ids and Last-Event-ID resume."""
import unittest

from lbtest import DaemonTest, EventStream, free_port


class EventsTest(DaemonTest):
    def test_lifecycle_events_and_resume(self):
        live = EventStream(self.d)
        a = self.d.create_lobby(name="a").json
        b = self.d.create_lobby(name="b").json
        s = self.d.join(a["id"], free_port()).json
        self.d.request("DELETE", "/api/v1/sessions/" + s["id"])
        self.d.request("DELETE", "/api/v1/lobbies/" + b["id"])
        live.wait_for("lobby.deleted")
        live.close()
        self.assertTrue(live.status_line.startswith("HTTP/1.1 200"))
        types = [e["event"] for e in live.events]
        # No GPU here, so the join is a software fallback, announced as it is admitted.
        self.assertEqual(types, ["lobby.created", "lobby.created", "encoder.fallback",
                                 "session.created", "session.ended", "lobby.deleted"])
        ids = [e["id"] for e in live.events]
        self.assertEqual(ids, sorted(ids))
        self.assertEqual(len(set(ids)), len(ids))
        self.assertEqual(live.events[0]["data"]["lobby_id"], a["id"])
        created = live.of_type("session.created")[0]["data"]
        self.assertEqual((created["session_id"], created["pool"], created["encode_id"]),
                         (s["id"], "software", s["encoding"]["encode_id"]))

        # Resume after the second event: exactly the rest, in order, then live ones.
        resumed = EventStream(self.d, last_event_id=ids[1])
        resumed.wait_for("lobby.deleted")
        self.assertEqual([e["id"] for e in resumed.events], ids[2:])
        self.d.create_lobby(name="c")
        resumed.wait_for("lobby.created")
        resumed.close()

        # A resume point older than the ring says there is a gap.
        old = EventStream(self.d, last_event_id=1)
        old.wait_for("events.gap")
        old.close()

    def test_only_get(self):
        r = self.d.request("POST", "/api/v1/events", {"x": 1})
        self.assertEqual((r.status, r.error_code()), (405, "method_not_allowed"))


if __name__ == "__main__":
    unittest.main()
