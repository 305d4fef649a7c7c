"""The API contract (issue 9, reliability suite): docs/openapi.json is what
the daemon serves at /api/v1/openapi.json, `redocly lint` (npm's
@redocly/cli, tests/openapi/) finds nothing in it, and /metrics passes
`promtool check metrics` (Debian's prometheus) with labelled series present.
The route table is compared with the document by the unit test test-openapi."""
import json
import os
import shutil
import subprocess
import unittest

from lbtest import ROOT, DaemonTest, RtpReceiver, free_port

DOC = os.path.join(ROOT, "docs", "openapi.json")
LINT_DIR = os.path.join(ROOT, "tests", "openapi")
REDOCLY = os.path.join(LINT_DIR, "node_modules", ".bin", "redocly")


class OpenApiTest(DaemonTest):
    def test_daemon_serves_the_document(self):
        with open(DOC, "rb") as f:
            doc = f.read()
        r = self.d.request("GET", "/api/v1/openapi.json")
        self.assertEqual(r.status, 200)
        self.assertEqual(r.headers.get("Content-Type"), "application/json")
        self.assertEqual(r.body, doc)
        self.assertEqual(json.loads(r.body)["openapi"], "3.1.0")
        # TCP: like every API route, only with the token.
        self.assertEqual(self.d.request("GET", "/api/v1/openapi.json", tcp=True).status, 401)
        r = self.d.request("GET", "/api/v1/openapi.json", tcp=True,
                           headers={"Authorization": "Bearer " + self.d.token})
        self.assertEqual((r.status, r.body), (200, doc))

    @unittest.skipUnless(os.path.exists(REDOCLY) and shutil.which("node"),
                         "tests/openapi/node_modules is needed (scripts/deps.sh --test runs npm ci there)")
    def test_redocly_lint_is_clean(self):
        env = dict(os.environ, REDOCLY_TELEMETRY="off", REDOCLY_SUPPRESS_UPDATE_NOTICE="true", NO_COLOR="1")
        p = subprocess.run([REDOCLY, "lint", "--config", os.path.join(LINT_DIR, "redocly.yaml"),
                            "--format", "json", DOC], capture_output=True, text=True, timeout=120,
                           cwd=LINT_DIR, env=env)
        self.assertEqual(p.returncode, 0, (p.stdout + p.stderr)[-4000:])
        report = json.loads(p.stdout)
        self.assertEqual((report["totals"]["errors"], report["totals"]["warnings"]), (0, 0),
                         json.dumps(report["problems"], indent=1)[:4000])


@unittest.skipUnless(shutil.which("promtool"), "promtool is needed (Debian package prometheus)")
class MetricsLintTest(DaemonTest):
    # The test double adds a hardware pool, so the limit series (pool, source) exist too.
    config_extra = "[encoder]\nhardware=off\n[testing]\nhw_double=true\n"

    def test_metrics_pass_promtool(self):
        lobbies = [self.d.create_lobby(name="m%d" % i, width=160, height=120, fps=10).json for i in range(2)]
        ports = [free_port() for _ in range(3)]
        receivers = [RtpReceiver(p) for p in ports]
        try:
            for i, port in enumerate(ports):
                r = self.d.join(lobbies[i % 2]["id"], port, bitrate=300 + 2000 * i)
                self.assertEqual(r.status, 201, r.body)
            body = self.d.request("GET", "/metrics").body
            text = body.decode()
            for series in ("lobbyd_pool_slots_used{pool=", "lobbyd_pool_slots_limit{pool=",
                           'lobbyd_sessions{state="running"} 3', "lobbyd_lobbies 2"):
                self.assertIn(series, text)
            p = subprocess.run(["promtool", "check", "metrics"], input=body, capture_output=True, timeout=60)
            self.assertEqual((p.returncode, p.stdout + p.stderr), (0, b""), text)
        finally:
            for rx in receivers:
                rx.close()
