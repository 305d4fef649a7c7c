// A controlling WebRTC viewer that sends input when told to, paced below
// lobbyd's per-viewer input rate limit so that every event reaches the
// desktop (tests/integration/test_hardening_xinput.py). Prints one JSON line
// once the viewer plays, then reads commands from stdin, one per line:
//   "send N RATE"  N events at RATE per second: a key press and release
//                  first, then mouse moves with a key pressed and released
//                  every 10th event; prints {"sent": N} when the data
//                  channel has passed them all on.
//   node input-viewer.mjs VIEWER_URL
import { launch, whenViewerReady } from "./launch.mjs";
import * as readline from "node:readline";

const [url] = process.argv.slice(2);
const browser = await launch();
try {
  const page = await browser.newPage({ viewport: { width: 1000, height: 700 } });
  await page.goto(url);
  await whenViewerReady(page, 30000);
  const session = await page.evaluate(() => window.lobbydViewer.sessionId);
  console.log(JSON.stringify({ ready: true, session }));
  for await (const line of readline.createInterface({ input: process.stdin })) {
    const [cmd, n, rate] = line.trim().split(/\s+/);
    if (cmd !== "send")
      continue;
    const sent = await page.evaluate(async ([n, rate]) => {
      const ch = window.lobbydViewer.input, tick = 20, perTick = Math.max(1, Math.round(rate * tick / 1000));
      const ev = (i) => {
        if (i === 0 || i % 10 === 0) return { t: "key", k: String.fromCharCode(97 + (i / 10) % 26), down: true };
        if (i === 1 || i % 10 === 1) return { t: "key", k: String.fromCharCode(97 + ((i - 1) / 10) % 26), down: false };
        return { t: "move", x: (i % 97) / 97, y: ((i * 7) % 89) / 89 };
      };
      let i = 0;
      const t0 = performance.now();
      while (i < n) {
        // Catch up to where the clock says we should be, never ahead of it.
        const due = Math.min(n, Math.floor((performance.now() - t0) / tick + 1) * perTick);
        for (; i < due; i++) ch.send(JSON.stringify(ev(i)));
        await new Promise((r) => setTimeout(r, tick));
      }
      while (ch.bufferedAmount > 0) await new Promise((r) => setTimeout(r, tick));
      return n;
    }, [Number(n), Number(rate)]);
    console.log(JSON.stringify({ sent }));
  }
} catch (e) {
  console.log(JSON.stringify({ error: String(e) }));
}
await browser.close();
