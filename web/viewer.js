// WHEP viewer: offer recvonly video and audio, POST it to lobbyd, play the
// answer. The <video> starts muted (browsers only autoplay silent media);
// the #sound button turns the lobby's sound on after a click.
import { api, softwareBanner } from "/static/api.js";

const lobbyId = decodeURIComponent(location.pathname.split("/").pop());
// ?control=1 asks for a controlling viewer (keyboard and mouse reach the
// lobby); otherwise the viewer only watches.
const control = new URLSearchParams(location.search).get("control") === "1";
const $ = (id) => document.getElementById(id);
const viewer = (window.lobbydViewer = { lobbyId, sessionId: null, framesDecoded: 0, state: "new", audio: null });

// WHEP here is non-trickle: the offer carries the candidates. Host
// candidates arrive within milliseconds, while "complete" can take seconds
// (chromium keeps probing), so send shortly after the first candidate.
async function gatheringDone(pc, timeoutMs) {
  if (pc.iceGatheringState === "complete") return;
  await new Promise((resolve) => {
    const t = setTimeout(resolve, timeoutMs);
    const finish = () => { clearTimeout(t); resolve(); };
    pc.addEventListener("icegatheringstatechange", () => { if (pc.iceGatheringState === "complete") finish(); });
    pc.addEventListener("icecandidate", (ev) => { if (ev.candidate) setTimeout(finish, 100); });
  });
}

async function start() {
  const lobby = await api.json(`/api/v1/lobbies/${encodeURIComponent(lobbyId)}`);
  $("title").textContent = `${lobby.name} (${lobby.video.width}x${lobby.video.height}@${lobby.video.fps})`;
  const pc = (viewer.pc = new RTCPeerConnection());
  pc.addTransceiver("video", { direction: "recvonly" });
  // After the video: a server (or lobby) without sound rejects it (port 0)
  // and the page plays video only.
  viewer.audioTransceiver = pc.addTransceiver("audio", { direction: "recvonly" });
  // Only a controlling viewer has input to send: a watch-only viewer offers
  // no data channel (no SCTP association on either side).
  if (control) {
    viewer.input = pc.createDataChannel("input");
    captureInput($("video"), viewer.input);
  }
  // lobbyd puts both tracks in one MediaStream ("lobbyd"), which the
  // browser lip-syncs; set it once, or gather loose tracks into one.
  pc.ontrack = (ev) => {
    const video = $("video");
    if (!video.srcObject) video.srcObject = ev.streams[0] || new MediaStream([ev.track]);
    else if (!video.srcObject.getTracks().includes(ev.track)) video.srcObject.addTrack(ev.track);
  };
  // The first frame on screen, in ms since navigation started.
  $("video").requestVideoFrameCallback(() => { viewer.firstFrameMs = performance.now(); });
  pc.onconnectionstatechange = () => { viewer.state = pc.connectionState; $("state").textContent = pc.connectionState; };
  const t0 = performance.now();
  viewer.timing = {};
  pc.addEventListener("connectionstatechange", () => {
    if (pc.connectionState === "connected") viewer.timing.connected_ms = performance.now() - t0;
  });
  await pc.setLocalDescription(await pc.createOffer());
  await gatheringDone(pc, 2000);
  viewer.timing.offer_ms = performance.now() - t0;
  viewer.offeredAudio = /\nm=audio /.test(pc.localDescription.sdp);
  const endpoint = `/api/v1/lobbies/${encodeURIComponent(lobbyId)}/whep${control ? "/control" : ""}`;
  const r = await api.fetch(endpoint, {
    method: "POST", headers: { "Content-Type": "application/sdp" }, body: pc.localDescription.sdp,
  });
  if (r.status !== 201) {
    const body = await r.json().catch(() => null);
    throw new Error(body && body.error ? `${body.error.code}: ${body.error.message}` : `HTTP ${r.status}`);
  }
  viewer.timing.answer_ms = performance.now() - t0;
  viewer.resource = r.headers.get("Location");
  viewer.sessionId = viewer.resource.split("/")[4];
  await pc.setRemoteDescription({ type: "answer", sdp: await r.text() });
  // "inactive" or "stopped" (null) when the answer rejected the audio.
  viewer.audioDirection = viewer.audioTransceiver.currentDirection;
  addEventListener("pagehide", () => { api.fetch(viewer.resource, { method: "DELETE", keepalive: true }); });
  setInterval(stats, 1000);
}

// Keyboard and mouse over the data channel, as lobbyd's input events:
// positions are fractions of the picture, keys are KeyboardEvent.key.
function captureInput(video, channel) {
  const send = (ev) => { if (channel.readyState === "open") channel.send(JSON.stringify(ev)); };
  const pos = (e) => {
    const r = video.getBoundingClientRect();
    return { x: (e.clientX - r.left) / r.width, y: (e.clientY - r.top) / r.height };
  };
  video.tabIndex = 0;
  video.addEventListener("mousemove", (e) => send({ t: "move", ...pos(e) }));
  video.addEventListener("mousedown", (e) => { video.focus(); send({ t: "move", ...pos(e) }); send({ t: "down", b: e.button + 1 }); });
  video.addEventListener("mouseup", (e) => send({ t: "up", b: e.button + 1 }));
  video.addEventListener("contextmenu", (e) => e.preventDefault());
  video.addEventListener("keydown", (e) => { e.preventDefault(); send({ t: "key", k: e.key, down: true }); });
  video.addEventListener("keyup", (e) => { e.preventDefault(); send({ t: "key", k: e.key, down: false }); });
}

// Sound is off until a click: browsers block autoplay with sound.
function soundButton() {
  const video = $("video"), button = $("sound");
  const label = () => { button.textContent = video.muted ? "Sound on" : "Sound off"; };
  button.addEventListener("click", () => {
    video.muted = !video.muted;
    label();
    video.play().catch(() => {});
  });
  label();
}

let lastBytes = 0, lastTime = 0;
async function stats() {
  const report = await viewer.pc.getStats();
  report.forEach((s) => {
    if (s.type === "inbound-rtp" && s.kind === "video") {
      viewer.framesDecoded = s.framesDecoded || 0;
      $("frames").textContent = viewer.framesDecoded;
      $("fps").textContent = s.framesPerSecond ?? "-";
      $("size").textContent = s.frameWidth ? `${s.frameWidth}x${s.frameHeight}` : "-";
      if (lastTime) $("bitrate").textContent = `${Math.round((8 * (s.bytesReceived - lastBytes)) / (s.timestamp - lastTime))} kbit/s`;
      lastBytes = s.bytesReceived; lastTime = s.timestamp;
    }
    if (s.type === "inbound-rtp" && s.kind === "audio") {
      viewer.audio = {
        packetsReceived: s.packetsReceived || 0, totalSamplesReceived: s.totalSamplesReceived || 0,
        audioLevel: s.audioLevel || 0, totalAudioEnergy: s.totalAudioEnergy || 0,
        jitterBufferDelay: s.jitterBufferDelay || 0,
      };
      $("audio").textContent = `${viewer.audio.packetsReceived} packets, level ${viewer.audio.audioLevel.toFixed(2)}`;
    }
    if (s.type === "candidate-pair" && s.nominated && s.currentRoundTripTime !== undefined)
      $("rtt").textContent = `${Math.round(s.currentRoundTripTime * 1000)} ms`;
  });
  if (viewer.sessionId) {
    const s = await api.json(`/api/v1/sessions/${viewer.sessionId}`).catch(() => null);
    if (s && s.encoding) {
      viewer.encoding = s.encoding;
      $("encoder").textContent = `${s.encoding.hardware ? "hardware" : "software"} (${s.encoding.pool})`;
    }
  }
}

async function watchStatus() {
  const refresh = async () => softwareBanner($("banner"), await api.json("/api/v1/system/gpu-status"));
  await refresh();
  api.events((type) => { if (type.startsWith("encoder.") || type.startsWith("session.")) refresh(); });
}

soundButton();
start().catch((e) => { viewer.error = String(e); $("state").textContent = "error: " + e.message; });
watchStatus().catch(() => {});
