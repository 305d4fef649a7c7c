#!/usr/bin/env bash
# Installs what lobbyd needs on Debian 12, only if something is missing
# (idempotent; apt-get update runs only when there is something to install).
#   scripts/deps.sh          build + run
#   scripts/deps.sh --test   also what the tests and benchmarks use
set -euo pipefail

pkgs=(meson ninja-build pkg-config gcc libc6-dev
      libglib2.0-dev libjson-glib-dev libsoup-3.0-dev libsqlite3-dev
      libgstreamer1.0-dev libgstreamer-plugins-base1.0-dev libgstreamer-plugins-bad1.0-dev gstreamer1.0-nice
      gstreamer1.0-plugins-base gstreamer1.0-plugins-good gstreamer1.0-plugins-bad
      gstreamer1.0-plugins-ugly gstreamer1.0-x gstreamer1.0-tools xvfb xterm libx11-dev libxtst-dev
      libssl-dev libsrtp2-dev libenet-dev
      pulseaudio pulseaudio-utils)
if [ "${1:-}" = "--test" ]; then
  pkgs+=(python3 ffmpeg sqlite3 procps valgrind libffmpeg-nvenc-dev libva-dev chromium x11-utils)
  # The viewer in Firefox too (tests/integration/test_firefox.py); it decodes
  # H.264 with ffmpeg's libavcodec (no OpenH264 download offline).
  pkgs+=(firefox-esr)
  # The reliability suite: the fuzzer (run with /usr/bin/python3) and promtool.
  pkgs+=(python3-hypothesis python3-jsonschema prometheus)
  # WebRTC peers from GStreamer's webrtcbin through gi
  # (tests/integration/webrtc_peers.py: the tests, bench/whep-load).
  pkgs+=(python3-gi gir1.2-gst-plugins-bad-1.0)
  # The independent Moonlight pairing client (tests/integration/moonlight_client.py).
  pkgs+=(python3-cryptography)
  # The mDNS announcement test runs its own avahi-daemon on a private bus in
  # a network namespace (tests/integration/test_ml_mdns.py).
  pkgs+=(avahi-daemon avahi-utils)
  # systemd-analyze verify / security --offline of the unit
  # (tests/integration/test_service.py); nothing is started.
  pkgs+=(systemd)
  # Node.js may come from elsewhere (e.g. NodeSource, with npm inside, which
  # Debian's npm package conflicts with): only ask Debian when npm is absent.
  command -v npm >/dev/null 2>&1 || pkgs+=(nodejs npm)
fi

browser_modules() {
  # playwright-core drives Debian's chromium, puppeteer-core its firefox-esr
  # (WebDriver BiDi); they come from the npm registry.
  local b="$(dirname "$0")/../tests/browser/node_modules"
  if [ "${1:-}" = "--test" ] && { [ ! -d "$b/playwright-core" ] || [ ! -d "$b/puppeteer-core" ]; }; then
    (cd "$(dirname "$0")/../tests/browser" && npm ci --no-audit --no-fund >/dev/null)
  fi
  # @redocly/cli lints docs/openapi.json (tests/integration/test_reliability_contract.py).
  if [ "${1:-}" = "--test" ] && [ ! -d "$(dirname "$0")/../tests/openapi/node_modules/@redocly/cli" ]; then
    (cd "$(dirname "$0")/../tests/openapi" && npm ci --no-audit --no-fund >/dev/null)
  fi
}

# Apps of x11-app lobbies (and their X servers) run as this unprivileged
# user when lobbyd runs as root ([apps] user in the config).
app_user() {
  if [ "$(id -u)" -eq 0 ] && ! getent passwd lobbyd-app >/dev/null; then
    useradd --system --user-group --create-home --home-dir /var/lib/lobbyd-app \
      --shell /bin/bash --comment "lobbyd apps" lobbyd-app
  fi
}
app_user

missing=()
for p in "${pkgs[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
if [ ${#missing[@]} -eq 0 ]; then
  browser_modules "${1:-}"
  exit 0
fi

echo "deps: installing ${missing[*]}" >&2
sudo=""
[ "$(id -u)" -ne 0 ] && sudo="sudo"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
# No package may start a system service here (avahi-daemon would announce
# this machine on its network): lobbyd and its tests start what they need.
# policy-rc.d is Debian's switch for that (invoke-rc.d, deb-systemd-invoke).
policy=""
if [ ! -e /usr/sbin/policy-rc.d ]; then
  policy=/usr/sbin/policy-rc.d
  printf '#!/bin/sh\nexit 101\n' | $sudo tee "$policy" >/dev/null
  $sudo chmod 755 "$policy"
  trap '$sudo rm -f "$policy"' EXIT
fi
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
browser_modules "${1:-}"
