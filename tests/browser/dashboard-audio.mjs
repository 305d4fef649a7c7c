// The dashboard's lobbies table in Debian's chromium: each row's audio cell
// (text and title), for tests/integration/test_audio_status.py. Prints JSON.
//   node dashboard-audio.mjs BASE_URL TOKEN COUNT
import { launch } from "./launch.mjs";

const [base, token, count] = process.argv.slice(2);
const browser = await launch({ viewer: false });
const out = {};
try {
  const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
  await page.goto(`${base}/#token=${token}`);
  await page.waitForFunction((n) => document.querySelectorAll("#lobbies tbody tr").length >= n, Number(count));
  out.rows = await page.$$eval("#lobbies tbody tr", (rows) => rows.map((r) => {
    const cell = r.querySelector("td[class^=audio-]");
    return { name: r.cells[0].innerText, audio: cell ? cell.innerText : null, title: cell ? cell.title : null };
  }));
} catch (e) {
  out.error = String(e);
} finally {
  await browser.close();
}
console.log(JSON.stringify(out));
