// What the browser scripts here share: Debian's chromium (or $CHROMIUM)
// through playwright-core, and a viewer page that plays.
import { chromium } from "playwright-core";

const ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
  "--disable-background-networking", "--disable-component-update", "--disable-sync"];
// For a WebRTC viewer: host candidates as real addresses (lobbyd cannot
// resolve mDNS .local names), and video that plays without a click.
const VIEWER_ARGS = ["--disable-features=WebRtcHideLocalIpsWithMdns", "--autoplay-policy=no-user-gesture-required"];

export function launch({ viewer = true } = {}) {
  return chromium.launch({
    executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
    args: viewer ? ARGS.concat(VIEWER_ARGS) : ARGS,
  });
}

// Until the viewer on @page has decoded a few frames and its input data
// channel is open.
// Playing, and for a control viewer (the only kind with an input channel)
// the channel open.
export function whenViewerReady(page, timeout) {
  return page.waitForFunction(() => window.lobbydViewer && window.lobbydViewer.framesDecoded > 5 &&
    (!window.lobbydViewer.input || window.lobbydViewer.input.readyState === "open"), null, { timeout });
}
