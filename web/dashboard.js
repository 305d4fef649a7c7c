// Dashboard: lobbies, sessions, encoder pools, the software-mode warning;
// refreshed by Server-Sent Events rather than a polling loop.
import { api, softwareBanner } from "/static/api.js";

const $ = (s) => document.querySelector(s);
const esc = (t) => String(t ?? "").replace(/[&<>"]/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" })[c]);

// "tone", "pulse", "off", or "failed" (its reason in the cell's title).
const audioText = (l) => l.audio_state === "running" ? l.audio_source : l.audio_state ?? "-";

// The PIN field shows while a Moonlight client waits in getservercert.
async function renderMoonlight() {
  const ml = await api.json("/api/v1/moonlight/status");
  const box = $("#ml-pair");
  const waiting = ml.pairing_pending && ml.pending_client;
  box.classList.toggle("hidden", !waiting);
  if (waiting) $("#ml-client").textContent = `${ml.pending_client.name} (${ml.pending_client.address})`;
}

async function render() {
  renderMoonlight().catch(() => {});
  const [status, lobbies, sessions] = await Promise.all([
    api.json("/api/v1/system/gpu-status"), api.json("/api/v1/lobbies"), api.json("/api/v1/sessions"),
  ]);
  softwareBanner($("#banner"), status);
  $("#summary").textContent = `${status.active_lobbies} lobbies, ${status.active_sessions} sessions, ${status.active_encodes} encodes`;
  $("#pools tbody").innerHTML = status.pools.map((p) => {
    const limit = p.limit ?? (p.budget_mpps ? p.budget_mpps : null);
    const used = p.budget_mpps ? p.used_mpps : p.used + p.external;
    const pct = limit ? Math.min(100, (100 * used) / limit) : 0;
    return `<tr data-pool="${esc(p.name)}"><td>${esc(p.name)}</td><td>${p.usable ? "yes" : "no"}</td>
      <td>${esc(p.budget_mpps ? `${used.toFixed(1)} / ${limit} Mpx/s` : `${used} / ${limit ?? "∞"}`)}</td>
      <td><span class="bar"><span style="width:${pct}%"></span></span></td><td>${esc(p.limit_source)}</td>
      <td>${p.sessions ?? 0}</td><td>${esc(p.usable ? p.limit_note : p.unavailable_reason)}</td></tr>`;
  }).join("");
  $("#lobbies tbody").innerHTML = lobbies.lobbies.map((l) => `<tr><td>${esc(l.name)}</td><td>${esc(l.session_key)}</td>
      <td>${l.video.width}x${l.video.height}@${l.video.fps}</td><td>${esc(l.state)}</td>
      <td class="audio-${esc(l.audio_state)}" title="${esc(l.audio_error)}">${esc(audioText(l))}</td><td>${l.sessions}</td>
      <td><a href="/view/${encodeURIComponent(l.id)}" target="_blank">view</a>
      <button data-stop="${esc(l.id)}">stop</button></td></tr>`).join("");
  $("#sessions tbody").innerHTML = sessions.sessions.map((s) => `<tr><td>${esc(s.id.slice(0, 8))}</td>
      <td>${esc(s.lobby_id.slice(0, 8))}</td><td>${esc(s.transport)}${s.client_address
        ? ` <small>${esc(s.client_name)} ${esc(s.client_address)}</small>` : ""}</td>
      <td>${s.encoding ? esc(`${s.encoding.pool}${s.encoding.fallback ? " (fallback)" : ""}`) : "-"}</td>
      <td>${esc(s.state)}</td><td><button data-end="${esc(s.id)}">end</button></td></tr>`).join("");
}

document.addEventListener("click", async (ev) => {
  const stop = ev.target.dataset.stop, end = ev.target.dataset.end;
  if (stop) await api.fetch(`/api/v1/lobbies/${stop}`, { method: "DELETE" });
  if (end) await api.fetch(`/api/v1/sessions/${end}`, { method: "DELETE" });
  if (stop || end) render();
});
$("#create").onsubmit = async (ev) => {
  ev.preventDefault();
  await api.json("/api/v1/lobbies", { method: "POST", headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ name: ev.target.name.value }) });
  render();
};

$("#ml-pin").onsubmit = async (ev) => {
  ev.preventDefault();
  const r = await api.fetch("/api/v1/moonlight/pair", { method: "POST", headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ pin: ev.target.pin.value }) });
  $("#ml-msg").textContent = r.ok ? "" : ((await r.json().catch(() => null))?.error?.message ?? `error ${r.status}`);
  ev.target.pin.value = "";
  render().catch(() => {});
};

render().catch(() => {});
let pending = null;
api.events(() => {
  // Coalesce bursts of events into one refresh.
  if (!pending) pending = setTimeout(() => { pending = null; render().catch(() => {}); }, 50);
});
