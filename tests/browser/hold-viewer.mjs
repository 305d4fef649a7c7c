// A WebRTC viewer that stays connected until it is killed: the fault tests
// in tests/integration/test_hardening_webrtc.py SIGKILL it (a vanished
// browser) or have it flood the input data channel. Prints one JSON line once
// the viewer plays (with the chromium pid), then another after each action.
//   node hold-viewer.mjs VIEWER_URL [FLOOD_COUNT [PAD_BYTES]]
import { launch, whenViewerReady } from "./launch.mjs";

const [url, flood, pad] = process.argv.slice(2);
const browser = await launch();
const out = {};
try {
  const page = await browser.newPage({ viewport: { width: 1000, height: 700 } });
  await page.goto(url);
  await whenViewerReady(page, 30000);
  out.session = await page.evaluate(() => window.lobbydViewer.sessionId);
  out.ready = true;
  console.log(JSON.stringify(out));
  if (flood) {
    // All at once, as fast as the channel takes them: moves across the
    // picture and letter keys pressed and released, each with PAD_BYTES of
    // an extra field that lobbyd must still parse.
    out.flooded = await page.evaluate(([n, padBytes]) => {
      const ch = window.lobbydViewer.input, p = "x".repeat(padBytes);
      for (let i = 0; i < n; i++) {
        const k = String.fromCharCode(97 + ((i / 3) | 0) % 26);
        const ev = i % 3 === 0 ? { t: "move", x: (i % 100) / 100, y: ((i * 7) % 100) / 100 }
          : { t: "key", k, down: i % 3 === 1 };
        if (padBytes) ev.pad = p;
        ch.send(JSON.stringify(ev));
      }
      return n;
    }, [Number(flood), Number(pad || 0)]);
    await page.waitForFunction(() => window.lobbydViewer.input.bufferedAmount === 0, null, { timeout: 30000 });
    console.log(JSON.stringify(out));
  }
  await new Promise(() => {}); // until killed
} catch (e) {
  out.error = String(e);
  console.log(JSON.stringify(out));
  await browser.close();
}
