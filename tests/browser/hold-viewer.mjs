// A WebRTC viewer that stays connected until it is killed: the fault tests
// in tests/integration/test_hardening_webrtc.py SIGKILL it (a vanished
// browser) or have it flood the input data channel. Prints one JSON line once
// the viewer plays (with the chromium pid), then another after each action.
//   node hold-viewer.mjs VIEWER_URL [FLOOD_COUNT]
import { chromium } from "playwright-core";

const [url, flood] = process.argv.slice(2);
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--disable-features=WebRtcHideLocalIpsWithMdns", "--autoplay-policy=no-user-gesture-required"],
});
const out = {};
try {
  const page = await browser.newPage({ viewport: { width: 1000, height: 700 } });
  await page.goto(url);
  await page.waitForFunction(() => window.lobbydViewer && window.lobbydViewer.framesDecoded > 5 &&
    window.lobbydViewer.input && window.lobbydViewer.input.readyState === "open", null, { timeout: 30000 });
  out.session = await page.evaluate(() => window.lobbydViewer.sessionId);
  out.ready = true;
  console.log(JSON.stringify(out));
  if (flood) {
    // All at once, as fast as the channel takes them: moves across the picture.
    out.flooded = await page.evaluate((n) => {
      const ch = window.lobbydViewer.input;
      for (let i = 0; i < n; i++)
        ch.send(JSON.stringify({ t: "move", x: (i % 100) / 100, y: ((i * 7) % 100) / 100 }));
      return n;
    }, Number(flood));
    await page.waitForFunction(() => window.lobbydViewer.input.bufferedAmount === 0, null, { timeout: 30000 });
    console.log(JSON.stringify(out));
  }
  await new Promise(() => {}); // until killed
} catch (e) {
  out.error = String(e);
  console.log(JSON.stringify(out));
  await browser.close();
}
