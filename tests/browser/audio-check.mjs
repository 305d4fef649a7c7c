// Drives Debian's chromium through lobbyd's viewer page for its sound and
// prints one JSON object with what the browser saw. Used by
// tests/integration/test_audio_browser.py, which makes the assertions.
//   node audio-check.mjs URL [SECONDS]
// The page is muted until #sound is clicked; chromium only counts received
// samples and levels of audio it plays out, so the click comes first.
import { launch, whenViewerReady } from "./launch.mjs";

const [url, secondsArg] = process.argv.slice(2);
const seconds = Number(secondsArg || 3);
const browser = await launch();
const out = {};
try {
  const page = await browser.newPage();
  page.on("console", (m) => { (out.console ||= []).push(m.text()); });
  await page.goto(url);
  await whenViewerReady(page, 20000);
  Object.assign(out, await page.evaluate(() => {
    const v = window.lobbydViewer, video = document.getElementById("video"), button = document.getElementById("sound");
    return {
      state: v.state, session: v.sessionId,
      button: button ? button.textContent : null, muted_before: video.muted,
      audio_offered: v.offeredAudio === true,
      audio_direction: v.audioDirection === undefined ? "undefined" : v.audioDirection,
      audio_tracks: video.srcObject ? video.srcObject.getAudioTracks().length : 0,
      video_tracks: video.srcObject ? video.srcObject.getVideoTracks().length : 0,
      streams: v.pc.getReceivers().map((r) => r.track.kind),
    };
  }));
  if (out.button !== null) await page.click("#sound");
  // getStats every 50 ms: the beep is 100 ms a second, and audioLevel is the
  // level of the last few tens of ms.
  Object.assign(out, await page.evaluate(async (seconds) => {
    const v = window.lobbydViewer, video = document.getElementById("video");
    const audio = async () => {
      let found = null;
      (await v.pc.getStats()).forEach((s) => { if (s.type === "inbound-rtp" && s.kind === "audio") found = s; });
      return found;
    };
    const frames0 = v.framesDecoded;
    const first = await audio();
    let maxLevel = 0, last = first;
    const end = performance.now() + seconds * 1000;
    while (performance.now() < end) {
      await new Promise((r) => setTimeout(r, 50));
      last = await audio();
      if (last && last.audioLevel > maxLevel) maxLevel = last.audioLevel;
    }
    return {
      muted_after: video.muted, button_after: (document.getElementById("sound") || {}).textContent ?? null,
      inbound_audio: last !== null,
      samples: [first ? first.totalSamplesReceived || 0 : 0, last ? last.totalSamplesReceived || 0 : 0],
      packets: last ? last.packetsReceived || 0 : 0,
      energy: last ? last.totalAudioEnergy || 0 : 0,
      max_audio_level: maxLevel,
      viewer_audio: v.audio,
      frames: [frames0, v.framesDecoded],
    };
  }, seconds));
} catch (e) {
  out.error = String(e);
  try { out.viewer_error = await browser.contexts()[0].pages()[0].evaluate(() => window.lobbydViewer && window.lobbydViewer.error); } catch (_) {}
} finally {
  await browser.close();
}
console.log(JSON.stringify(out));
