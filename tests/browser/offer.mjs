// Prints the SDP offer Debian's chromium makes for what web/viewer.js asks
// (a recvonly video transceiver and the "input" data channel), once ICE
// gathering is complete, as one JSON object: {"offer": "..."}. Used by
// tests/integration/test_whep_interop.py.
import { launch } from "./launch.mjs";

const browser = await launch();
const out = {};
try {
  const page = await browser.newPage();
  out.offer = await page.evaluate(async () => {
    const pc = new RTCPeerConnection();
    pc.addTransceiver("video", { direction: "recvonly" });
    pc.createDataChannel("input");
    await pc.setLocalDescription(await pc.createOffer());
    await new Promise((resolve) => {
      if (pc.iceGatheringState === "complete") return resolve();
      pc.addEventListener("icegatheringstatechange", () => { if (pc.iceGatheringState === "complete") resolve(); });
      setTimeout(resolve, 3000);
    });
    return pc.localDescription.sdp;
  });
} catch (e) {
  out.error = String(e);
} finally {
  await browser.close();
}
console.log(JSON.stringify(out));
