// A desktop lobby in Debian's chromium: click and type into the viewer's
// video and report when the input channel was open. The caller checks what
// reached the X app. Prints JSON.
//   node desktop-check.mjs VIEWER_URL TEXT
import { launch, whenViewerReady } from "./launch.mjs";

const [url, text] = process.argv.slice(2);
const browser = await launch();
const out = {};
try {
  const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
  await page.goto(url);
  await whenViewerReady(page, 20000);
  const box = await page.locator("#video").boundingBox();
  await page.mouse.click(box.x + box.width / 2, box.y + box.height / 2);
  await page.keyboard.type(text, { delay: 30 });
  await page.waitForTimeout(1000);
  out.session = await page.evaluate(() => window.lobbydViewer.sessionId);
  out.sent = true;
} catch (e) {
  out.error = String(e);
} finally {
  await browser.close();
}
console.log(JSON.stringify(out));
