"""Where a lobby's audio is reported (issue 12): /metrics counts lobbies by
audio state (promtool-clean), and the dashboard shows each lobby's audio —
its source when running ("tone", "pulse"), else "off" or "failed" with the
reason as the cell's title — as the API reports it."""
import re
import shutil
import subprocess
import unittest

from lbtest import DaemonTest, have_browser, run_node


def audio_text(lobby):
    return lobby["audio_source"] if lobby["audio_state"] == "running" else lobby["audio_state"]


class AudioStatusTest(DaemonTest):
    def make_lobbies(self):
        on = self.d.request("POST", "/api/v1/lobbies", {"name": "with-sound", "video": {
            "width": 160, "height": 120, "fps": 10}}).json
        off = self.d.request("POST", "/api/v1/lobbies", {"name": "silent", "audio": False, "video": {
            "width": 160, "height": 120, "fps": 10}}).json
        return on, off

    def test_metrics_count_lobbies_by_audio_state(self):
        on, off = self.make_lobbies()
        self.assertEqual(off["audio_state"], "off")
        text = self.d.request("GET", "/metrics").body.decode()
        counts = {m.group(1): int(m.group(2))
                  for m in re.finditer(r'^lobbyd_lobbies_audio\{state="(\w+)"\} (\d+)$', text, re.M)}
        self.assertEqual(set(counts), {"running", "failed", "off"}, text)
        self.assertEqual(counts["off"], 1)
        self.assertEqual(sum(counts.values()), 2)
        on = self.d.request("GET", "/api/v1/lobbies/" + on["id"]).json
        self.assertEqual(counts[on["audio_state"]], 1)
        if shutil.which("promtool"):
            p = subprocess.run(["promtool", "check", "metrics"], input=text.encode(), capture_output=True,
                               timeout=60)
            self.assertEqual((p.returncode, p.stdout + p.stderr), (0, b""))

    @unittest.skipUnless(have_browser(), "chromium, node and tests/browser/node_modules are needed")
    def test_dashboard_shows_each_lobbys_audio(self):
        on, off = self.make_lobbies()
        out = run_node("dashboard-audio.mjs", "http://127.0.0.1:%d" % self.d.tcp_port, self.d.token, "2")
        self.assertNotIn("error", out, out)
        rows = {r["name"]: r for r in out["rows"]}
        for lobby in (on, off):
            lobby = self.d.request("GET", "/api/v1/lobbies/" + lobby["id"]).json
            self.assertEqual(rows[lobby["name"]]["audio"], audio_text(lobby), out)
            self.assertEqual(rows[lobby["name"]]["title"], lobby.get("audio_error", ""), out)
        self.assertEqual(rows["silent"]["audio"], "off")


if __name__ == "__main__":
    unittest.main()
