"""lobbyctl against the real daemon: tables, --json, exit codes."""
import json
import subprocess
import unittest

from lbtest import DaemonTest, binary, free_port


class CliTest(DaemonTest):
    def ctl(self, *args, ok=True):
        p = subprocess.run([binary("lobbyctl"), "--socket", self.d.socket] + list(args),
                           capture_output=True, text=True, timeout=30)
        if ok:
            self.assertEqual(p.returncode, 0, p.stderr)
        return p

    def test_lobby_and_session_commands(self):
        out = self.ctl("lobby", "create", "cli-lobby", "--key", "cli", "--size", "320x240", "--fps", "15").stdout
        self.assertIn("created lobby", out)
        out = self.ctl("lobby", "create", "again", "--key", "cli").stdout
        self.assertIn("existing lobby", out)
        lobby = json.loads(self.ctl("--json", "lobby", "show", "--key", "cli").stdout)
        self.assertEqual(lobby["video"], {"width": 320, "height": 240, "fps": 15})
        table = self.ctl("lobby", "list").stdout
        self.assertIn("cli-lobby", table)
        self.assertIn("320x240@15", table)

        port = free_port()
        joined = json.loads(self.ctl("--json", "session", "join", lobby["id"], "--dest", "127.0.0.1:%d" % port,
                                     "--bitrate", "500").stdout)
        self.assertEqual(joined["profile"]["bitrate_kbps"], 500)
        self.assertIn(joined["id"], self.ctl("session", "list").stdout)
        self.assertIn("m=video %d" % port, self.ctl("session", "sdp", joined["id"]).stdout)
        status = json.loads(self.ctl("--json", "status").stdout)
        self.assertEqual(status["gpu_status"]["active_sessions"], 1)
        self.assertIn("left session", self.ctl("session", "leave", joined["id"]).stdout)
        self.assertIn("deleted lobby", self.ctl("lobby", "delete", lobby["id"]).stdout)
        self.assertEqual(json.loads(self.ctl("--json", "lobby", "list").stdout)["lobbies"], [])

    def test_pools_and_probe(self):
        table = self.ctl("pools").stdout
        self.assertRegex(table, r"software\s+software\s+yes")
        self.assertIn("cpu-budget", table)
        pools = json.loads(self.ctl("--json", "pools").stdout)
        self.assertEqual(pools[0]["name"], "software")
        probe = json.loads(self.ctl("--json", "probe").stdout)
        self.assertIn("nvml", probe)
        self.assertIn("NVML", self.ctl("probe").stdout)
        # The daemon's own --probe gives the same picture without a running daemon.
        p = subprocess.run([binary("lobbyd"), "--probe", "--json"], capture_output=True, text=True, timeout=30)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(json.loads(p.stdout)["nvml"]["loaded"], probe["nvml"]["loaded"])

    def test_errors_exit_nonzero_with_one_line(self):
        p = self.ctl("lobby", "show", "nope", ok=False)
        self.assertEqual(p.returncode, 1)
        self.assertEqual(len(p.stderr.strip().splitlines()), 1)
        self.assertIn("not_found", p.stderr)
        lobby = json.loads(self.ctl("--json", "lobby", "create", "x").stdout)
        p = self.ctl("session", "join", lobby["id"], "--dest", "10.1.2.3:5000", ok=False)
        self.assertEqual(p.returncode, 1)
        self.assertIn("destination_not_allowed", p.stderr)
        p = subprocess.run([binary("lobbyctl"), "--socket", "/nonexistent.sock", "status"], capture_output=True, text=True)
        self.assertEqual(p.returncode, 1)
        self.assertIn("cannot reach lobbyd", p.stderr)
        p = self.ctl("frobnicate", ok=False)
        self.assertEqual(p.returncode, 2)

    def test_tcp_with_token(self):
        url = "http://127.0.0.1:%d" % self.d.tcp_port
        p = subprocess.run([binary("lobbyctl"), "--url", url, "status"], capture_output=True, text=True)
        self.assertEqual(p.returncode, 1)
        self.assertIn("unauthorized", p.stderr)
        p = subprocess.run([binary("lobbyctl"), "--url", url, "--token", self.d.token, "lobby", "list"],
                           capture_output=True, text=True)
        self.assertEqual(p.returncode, 0, p.stderr)


if __name__ == "__main__":
    unittest.main()
