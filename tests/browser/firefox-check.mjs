// Drives Debian's firefox-esr (puppeteer-core over WebDriver BiDi) through
// lobbyd's viewer page and prints one JSON object with what the browser saw:
// its offer, the answer, and inbound-rtp stats sampled twice. Used by
// tests/integration/test_firefox.py, which makes the assertions.
//   node firefox-check.mjs URL
import puppeteer from "puppeteer-core";

// Loopback host candidates (everything here is on 127.0.0.1), video that
// plays without a click, and nothing fetched from the network.
const PREFS = {
  // Firefox gathers only the default route's address (here eth0's) unless
  // the page captures or may capture a camera or microphone; a camera
  // permission granted by default lifts that, and the loopback pref then
  // keeps 127.0.0.1 among the host candidates.
  "permissions.default.camera": 1,
  "media.peerconnection.ice.loopback": true,
  "media.peerconnection.ice.obfuscate_host_addresses": false,
  "media.autoplay.default": 0,
  "media.autoplay.blocking_policy": 0,
  // Debian's firefox-esr has no OpenH264 (a plugin downloaded at run time),
  // so H.264 is offered only as "hardware" H.264: allow it and clear the
  // gfx blocklist entry for it (1 = FEATURE_STATUS_OK). Decoding then goes
  // through the platform decoder (libavcodec), not a GPU.
  "media.webrtc.hw.h264.enabled": true,
  "gfx.blacklist.webrtc.hw.acceleration.h264": 1,
  "media.gmp-manager.updateEnabled": false,
  "media.gmp-gmpopenh264.autoupdate": false,
  "app.update.enabled": false,
  "network.captive-portal-service.enabled": false,
  "network.connectivity-service.enabled": false,
  "browser.safebrowsing.update.enabled": false,
  "extensions.update.enabled": false,
  "datareporting.policy.dataSubmissionEnabled": false,
  "toolkit.telemetry.enabled": false,
};

const [url] = process.argv.slice(2);
const browser = await puppeteer.launch({
  browser: "firefox",
  protocol: "webDriverBiDi",
  executablePath: process.env.FIREFOX || "/usr/bin/firefox-esr",
  headless: true,
  extraPrefsFirefox: PREFS,
});
const out = { browser: await browser.version() };
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
try {
  const page = await browser.newPage();
  // The answer as received, before the page applies it.
  await page.evaluateOnNewDocument(() => {
    const orig = RTCPeerConnection.prototype.setRemoteDescription;
    RTCPeerConnection.prototype.setRemoteDescription = function (d) {
      window.lobbydAnswer = d && d.sdp;
      return orig.apply(this, arguments);
    };
  });
  await page.goto(url);
  await page.waitForFunction(() => window.lobbydViewer && (window.lobbydViewer.sessionId || window.lobbydViewer.error),
    { timeout: 20000 });
  // What the page's RTCPeerConnection reports: ICE, DTLS and inbound-rtp.
  const sample = () => page.evaluate(async () => {
    const v = window.lobbydViewer;
    const r = { state: v.pc.connectionState, ice: v.pc.iceConnectionState, codecs: [] };
    const t = v.pc.getTransceivers()[0];
    r.dtls = t && t.receiver.transport ? t.receiver.transport.state : null;
    (await v.pc.getStats()).forEach((s) => {
      if (s.type === "inbound-rtp" && s.kind === "video")
        Object.assign(r, { packets: s.packetsReceived, bytes: s.bytesReceived, frames: s.framesDecoded,
          width: s.frameWidth, height: s.frameHeight });
      if (s.type === "codec" && s.mimeType && s.mimeType.startsWith("video/")) r.codecs.push(s.mimeType);
    });
    const video = document.getElementById("video");
    r.video = [video.videoWidth, video.videoHeight];
    r.input = v.input ? v.input.readyState : null;
    return r;
  });
  out.offer = await page.evaluate(() => window.lobbydViewer.pc.localDescription.sdp);
  out.answer = await page.evaluate(() => window.lobbydAnswer || null);
  out.session = await page.evaluate(() => window.lobbydViewer.sessionId);
  out.viewer_error = await page.evaluate(() => window.lobbydViewer.error || null);
  if (!out.viewer_error) {
    await page.waitForFunction(() => ["connected", "failed"].includes(window.lobbydViewer.pc.connectionState),
      { timeout: 20000 });
    await sleep(1500);
    out.first = await sample();
    await sleep(2500);
    out.second = await sample();
  }
} catch (e) {
  out.error = String(e);
}
console.log(JSON.stringify(out));
// With stdin open (tests/integration/lbtest.BrowserScript), the viewer stays
// until stdin says "close-pc" (the page closes its peer connection, as
// when it stops watching) or ends (the browser quits).
if (!process.stdin.isTTY) {
  for await (const line of (await import("node:readline")).createInterface({ input: process.stdin })) {
    if (line.trim() === "close-pc") {
      const page = (await browser.pages()).at(-1);
      await page.evaluate(() => window.lobbydViewer.pc.close()).catch(() => {});
      console.log(JSON.stringify({ closed: "pc" }));
    }
  }
}
await browser.close();
