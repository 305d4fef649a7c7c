// The dashboard's Moonlight PIN field in Debian's chromium, for
// tests/integration/test_ml_http.py: waits until the field shows (a client
// waits in getservercert), reads the client's name, types PIN and submits,
// then waits until the field hides again. Prints JSON.
//   node dashboard-moonlight.mjs BASE_URL TOKEN PIN
import { launch } from "./launch.mjs";

const [base, token, pin] = process.argv.slice(2);
const browser = await launch({ viewer: false });
const out = {};
try {
  const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
  await page.goto(`${base}/#token=${token}`);
  await page.waitForSelector("#ml-pair:not(.hidden)", { timeout: 20000 });
  out.client = await page.$eval("#ml-client", (el) => el.textContent);
  await page.fill("#ml-pin input[name=pin]", pin);
  await page.click("#ml-pin button");
  await page.waitForSelector("#ml-pair.hidden", { state: "attached", timeout: 20000 });
  out.message = await page.$eval("#ml-msg", (el) => el.textContent);
} catch (e) {
  out.error = String(e);
} finally {
  await browser.close();
}
console.log(JSON.stringify(out));
