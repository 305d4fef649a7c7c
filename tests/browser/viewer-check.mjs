// Drives Debian's chromium (playwright-core) through lobbyd's viewer page and
// prints one JSON object with what the browser saw. Used by
// tests/integration/test_browser.py, which makes the assertions.
//   node viewer-check.mjs URL SCREENSHOT_PATH
import { launch } from "./launch.mjs";

const [url, shot] = process.argv.slice(2);
const browser = await launch();
const out = {};
try {
  const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
  page.on("console", (m) => { (out.console ||= []).push(m.text()); });
  await page.goto(url);
  // Page load (navigation start) → first decoded frame on screen.
  await page.waitForFunction(() => window.lobbydViewer && window.lobbydViewer.firstFrameMs, null, { timeout: 20000 });
  out.first_frame_ms = await page.evaluate(() => window.lobbydViewer.firstFrameMs);
  await page.waitForFunction(() => window.lobbydViewer.framesDecoded > 30, null, { timeout: 20000 });
  const a = await page.evaluate(() => window.lobbydViewer.framesDecoded);
  await page.waitForTimeout(2000);
  const b = await page.evaluate(() => window.lobbydViewer.framesDecoded);
  out.frames = [a, b];
  Object.assign(out, await page.evaluate(() => {
    const v = document.getElementById("video");
    const c = document.createElement("canvas");
    c.width = v.videoWidth; c.height = v.videoHeight;
    const g = c.getContext("2d");
    g.drawImage(v, 0, 0);
    const px = g.getImageData(0, 0, c.width, c.height).data;
    let sum = 0, sum2 = 0, n = 0;
    for (let i = 0; i < px.length; i += 4 * 97) { const y = (px[i] + px[i + 1] + px[i + 2]) / 3; sum += y; sum2 += y * y; n++; }
    const mean = sum / n;
    return { width: v.videoWidth, height: v.videoHeight, luma_mean: mean, luma_stddev: Math.sqrt(sum2 / n - mean * mean),
      state: window.lobbydViewer.state, timing: window.lobbydViewer.timing, session: window.lobbydViewer.sessionId, encoding: window.lobbydViewer.encoding || null,
      banner: document.getElementById("banner").classList.contains("hidden") ? null : document.getElementById("banner").textContent };
  }));
  // Glass-to-glass samples: for 60 frames on screen, the RTP timestamp and
  // when the frame is displayed (wall clock, µs).
  out.frames_shown = await page.evaluate(() => new Promise((resolve) => {
    const v = document.getElementById("video"), got = [];
    const cb = (now, m) => {
      if (m.rtpTimestamp !== undefined)
        got.push({ rtp: m.rtpTimestamp, shown_unix_us: (performance.timeOrigin + m.expectedDisplayTime) * 1000 });
      if (got.length < 60) v.requestVideoFrameCallback(cb); else resolve(got);
    };
    v.requestVideoFrameCallback(cb);
  }));
  if (shot) await page.screenshot({ path: shot });
} catch (e) {
  out.error = String(e);
  try { out.viewer_error = await browser.contexts()[0].pages()[0].evaluate(() => window.lobbydViewer && window.lobbydViewer.error); } catch (_) {}
} finally {
  await browser.close();
}
console.log(JSON.stringify(out));
