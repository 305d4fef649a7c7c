#!/usr/bin/env bash
# Installs what lobbyd needs on Debian 12, only if something is missing
# (idempotent; apt-get update runs only when there is something to install).
#   scripts/deps.sh          build + run
#   scripts/deps.sh --test   also what the tests and benchmarks use
set -euo pipefail

pkgs=(meson ninja-build pkg-config gcc libc6-dev
      libglib2.0-dev libjson-glib-dev libsoup-3.0-dev libsqlite3-dev
      libgstreamer1.0-dev libgstreamer-plugins-base1.0-dev
      gstreamer1.0-plugins-base gstreamer1.0-plugins-good gstreamer1.0-plugins-bad
      gstreamer1.0-plugins-ugly gstreamer1.0-x gstreamer1.0-tools)
if [ "${1:-}" = "--test" ]; then
  pkgs+=(python3 ffmpeg sqlite3 procps valgrind libffmpeg-nvenc-dev libva-dev)
fi

missing=()
for p in "${pkgs[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "deps: installing ${missing[*]}" >&2
sudo=""
[ "$(id -u)" -ne 0 ] && sudo="sudo"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
