import puppeteer from "puppeteer-core";
const prefs = JSON.parse(process.argv[2] || "{}");
const browser = await puppeteer.launch({ browser: "firefox", executablePath: "/usr/bin/firefox-esr", headless: true, extraPrefsFirefox: prefs });
const page = await browser.newPage();
await page.goto(process.argv[3] || "about:blank");
const sdp = await page.evaluate(async () => { const pc = new RTCPeerConnection(); pc.addTransceiver("video", {direction: "recvonly"}); await pc.setLocalDescription(await pc.createOffer()); await new Promise(r => setTimeout(r, 1500)); return pc.localDescription.sdp; });
console.log(sdp.split("\r\n").filter(l => /candidate/.test(l)).join("\n"));
await browser.close();
