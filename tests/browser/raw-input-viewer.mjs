// A controlling WebRTC viewer that sends whatever text it is given on the
// input data channel, verbatim (tests/integration/test_tracks.py: garbage
// and good messages). Prints one JSON line once the viewer plays, then reads
// stdin: each line is a JSON string (the message to send); an empty line
// prints {"sent": N} once the channel has passed every message on.
//   node raw-input-viewer.mjs VIEWER_URL
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
  let sent = 0;
  for await (const line of readline.createInterface({ input: process.stdin })) {
    if (line.trim() === "") {
      await page.evaluate(async () => {
        const ch = window.lobbydViewer.input;
        while (ch.bufferedAmount > 0) await new Promise((r) => setTimeout(r, 20));
      });
      console.log(JSON.stringify({ sent }));
      continue;
    }
    await page.evaluate((m) => window.lobbydViewer.input.send(m), JSON.parse(line));
    sent++;
  }
} catch (e) {
  console.log(JSON.stringify({ error: String(e) }));
}
await browser.close();
