// lobbyd web UI: API access with the bearer token kept in session storage.
// Over the unix socket or a proxy no token is needed; over lobbyd's TCP
// listener the user types it once (or passes #token=… in the URL).
export const api = {
  token() {
    const m = location.hash.match(/token=([^&]+)/);
    if (m) sessionStorage.setItem("lobbyd-token", decodeURIComponent(m[1]));
    return sessionStorage.getItem("lobbyd-token") || "";
  },
  headers(extra = {}) {
    const t = this.token();
    return t ? { ...extra, Authorization: "Bearer " + t } : extra;
  },
  async fetch(path, options = {}) {
    const r = await fetch(path, { ...options, headers: this.headers(options.headers || {}) });
    if (r.status === 401) { showLogin(); throw new Error("unauthorized"); }
    return r;
  },
  async json(path, options = {}) {
    const r = await this.fetch(path, options);
    const body = r.status === 204 ? null : await r.json();
    if (!r.ok) throw new Error(body && body.error ? body.error.code + ": " + body.error.message : "HTTP " + r.status);
    return body;
  },
  // Server-Sent Events over fetch, so the Authorization header can be sent
  // (EventSource cannot). Reconnects with Last-Event-ID.
  async events(onEvent) {
    let last = null;
    for (;;) {
      try {
        const h = last ? { "Last-Event-ID": last } : {};
        const r = await this.fetch("/api/v1/events", { headers: h });
        const reader = r.body.getReader();
        const dec = new TextDecoder();
        let buf = "";
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          buf += dec.decode(value, { stream: true });
          let i;
          while ((i = buf.indexOf("\n\n")) >= 0) {
            const block = buf.slice(0, i); buf = buf.slice(i + 2);
            let type = "message", data = null;
            for (const line of block.split("\n")) {
              if (line.startsWith("id: ")) last = line.slice(4);
              else if (line.startsWith("event: ")) type = line.slice(7);
              else if (line.startsWith("data: ")) data = JSON.parse(line.slice(6));
            }
            if (data) onEvent(type, data);
          }
        }
      } catch (e) { /* fall through to retry */ }
      await new Promise((r) => setTimeout(r, 2000));
    }
  },
};

export function showLogin() {
  const el = document.getElementById("login");
  if (!el) return;
  el.classList.remove("hidden");
  el.querySelector("form").onsubmit = (ev) => {
    ev.preventDefault();
    sessionStorage.setItem("lobbyd-token", el.querySelector("input").value.trim());
    location.reload();
  };
}

// The seed's warning, shown while sessions encode in software because
// hardware was unavailable, in lobbyd's words (software_reason): the seed's
// sentence when hardware slots are exhausted, otherwise what is true (no GPU,
// NVENC not supported with the driver's reason, hardware turned off).
export function softwareBanner(el, status) {
  if (status.software_mode) {
    const reason = status.software_reason;
    el.textContent = reason && reason.message ? reason.message :
      `GPU encoding sessions exhausted (${status.nvenc_sessions_used}/${status.nvenc_sessions_limit}). ` +
      "Using CPU software encoding - performance may be reduced.";
    el.dataset.reason = reason && reason.code ? reason.code : "capacity_exhausted";
    el.classList.remove("hidden");
  } else {
    el.classList.add("hidden");
  }
}
