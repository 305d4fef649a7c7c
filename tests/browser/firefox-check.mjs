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
  page.on("console", (m) => { (out.console ||= []).push(m.text()); });
  // The offer as sent and the answer as received, before the page applies it.
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
  const inbound = () => page.evaluate(async () => {
    const v = window.lobbydViewer;
    const r = { state: v.state, error: v.error || null, session: v.sessionId };
    const report = await v.pc.getStats();
    report.forEach((s) => {
      if (s.type === "inbound-rtp" && s.kind === "video")
        Object.assign(r, { packetsReceived: s.packetsReceived, bytesReceived: s.bytesReceived,
          framesDecoded: s.framesDecoded, frameWidth: s.frameWidth, frameHeight: s.frameHeight,
          codecId: s.codecId, decoderImplementation: s.decoderImplementation });
      if (s.type === "codec" && s.mimeType && s.mimeType.startsWith("video/")) (r.codecs ||= []).push(s.mimeType);
    });
    r.ice = v.pc.iceConnectionState;
    r.dtls = v.pc.sctp ? v.pc.sctp.transport.state : null;
    const t = v.pc.getTransceivers()[0];
    r.dtls_transport = t && t.receiver.transport ? t.receiver.transport.state : null;
    const video = document.getElementById("video");
    r.videoWidth = video.videoWidth; r.videoHeight = video.videoHeight;
    return r;
  });
  out.offer = await page.evaluate(() => window.lobbydViewer.pc.localDescription.sdp);
  out.answer = await page.evaluate(() => window.lobbydAnswer || null);
  if (!out.error) {
    // Connected, then stats a few seconds apart.
    const end = Date.now() + 15000;
    while (Date.now() < end) {
      const s = await inbound();
      if (s.error || s.state === "connected" || s.state === "failed") break;
      await sleep(200);
    }
    await sleep(2000);
    out.first = await inbound();
    await sleep(3000);
    out.second = await inbound();
    out.state = out.second.state;
    out.session = out.second.session;
    if (out.second.error) out.viewer_error = out.second.error;
  }
} catch (e) {
  out.error = String(e);
} finally {
  await browser.close();
}
console.log(JSON.stringify(out));
