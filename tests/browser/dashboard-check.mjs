// Dashboard in Debian's chromium: watches the software-mode warning while
// this script makes lobbyd fall back to software and upgrade back (the
// caller configures a TEST DOUBLE hardware pool with one slot). Prints JSON.
//   node dashboard-check.mjs BASE_URL TOKEN LOBBY_ID RTP_PORT_1 RTP_PORT_2 SCREENSHOT_DIR
import { launch } from "./launch.mjs";

const [base, token, lobby, port1, port2, shots] = process.argv.slice(2);
const headers = { Authorization: "Bearer " + token, "Content-Type": "application/json" };
const join = async (port) => {
  const r = await fetch(`${base}/api/v1/lobbies/${lobby}/sessions`, { method: "POST", headers,
    body: JSON.stringify({ transport: "rtp", destination: { host: "127.0.0.1", port: Number(port) } }) });
  return r.json();
};
const browser = await launch({ viewer: false });
const out = {};
const bannerVisible = () => !document.getElementById("banner").classList.contains("hidden");
try {
  const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
  await page.goto(`${base}/#token=${token}`);
  await page.waitForSelector("#pools tbody tr");
  const first = await join(port1);
  out.first_pool = first.encoding.pool;
  await page.waitForTimeout(500);
  out.banner_before = await page.evaluate(bannerVisible);

  const second = await join(port2);
  const t0 = Date.now();
  out.second_pool = second.encoding.pool;
  await page.waitForFunction(bannerVisible, null, { timeout: 10000 });
  out.banner_after_fallback_ms = Date.now() - t0;
  out.banner_text = await page.textContent("#banner");
  await page.screenshot({ path: `${shots}/dashboard-software-mode.png` });

  await fetch(`${base}/api/v1/sessions/${first.id}`, { method: "DELETE", headers });
  const t1 = Date.now();
  await page.waitForFunction(() => document.getElementById("banner").classList.contains("hidden"), null, { timeout: 10000 });
  out.banner_gone_after_upgrade_ms = Date.now() - t1;
  out.pool_rows = await page.$$eval("#pools tbody tr", (rows) => rows.map((r) => r.innerText));
  await page.screenshot({ path: `${shots}/dashboard.png` });
} catch (e) {
  out.error = String(e);
} finally {
  await browser.close();
}
console.log(JSON.stringify(out));
