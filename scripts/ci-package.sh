#!/usr/bin/env bash
# CI step: builds the Debian package, lints it, installs it, runs the
# INSTALLED daemon as the lobbyd user against the installed config, checks
# that a lobby streams (ffmpeg decodes its RTP from the SDP), then purges
# the package. Ends with "PASS package" or "FAIL package: why" (exit 0/1).
#
#   scripts/ci-package.sh            the whole step (root, or sudo)
#   KEEP=1 scripts/ci-package.sh     keep the work dir (the .deb, logs)
#
# The package is built in a copy of the tree under /tmp (the repository gets
# no build products). CI has no systemd: the daemon runs under runuser, in
# a network namespace of its own with only loopback up, so the Moonlight
# host the installed config enables (0.0.0.0, fixed ports) reaches nothing
# but 127.0.0.1 and finds its ports free; no system D-Bus is given to it,
# so it announces nothing over mDNS. tests/integration/test_package.py runs
# this when LOBBYD_PACKAGE_TEST=1.
set -euo pipefail

if [ "$(id -u)" -ne 0 ]; then
  exec sudo --preserve-env=KEEP "$0" "$@"
fi

fail() {
  echo "FAIL package: $*"
  exit 1
}
step_t0=$SECONDS
step() { echo "package: $* ($((SECONDS - step_t0)) s)"; }

# --- the run phase, inside the network namespace (see the end) -----------
if [ "${1:-}" = "--run-installed" ]; then
  run=$2
  ip link set lo up
  cd "$run"
  env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8 \
      DBUS_SYSTEM_BUS_ADDRESS=unix:path=/nonexistent/lobbyd-ci \
      runuser -u lobbyd -- /usr/bin/lobbyd -c /etc/lobbyd/lobbyd.conf --no-demo \
      --state-dir "$run/state" --socket "$run/lobbyd.sock" >"$run/lobbyd.log" 2>&1 &
  pid=$!
  api() { # METHOD PATH [JSON]
    curl -sS --max-time 20 --unix-socket "$run/lobbyd.sock" -X "$1" \
      ${3:+-H 'Content-Type: application/json' --data "$3"} "http://localhost$2"
  }
  stop_daemon() {
    # SIGTERM to lobbyd itself: runuser would forward it, then SIGKILL
    # lobbyd 2 s later ("Session terminated, killing shell").
    local t0=$SECONDS
    kill -TERM $(pgrep -P "$pid" -x lobbyd) 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 1 150); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    if kill -0 "$pid" 2>/dev/null; then
      kill -KILL "$pid"
      echo "lobbyd did not stop on SIGTERM within 15 s"
      return 1
    fi
    wait "$pid" || { echo "lobbyd exited with $? on SIGTERM"; return 1; }
    echo "lobbyd stopped in $((SECONDS - t0)) s"
  }
  # Whatever fails below, no daemon outlives this namespace's script.
  # runuser forks lobbyd and forwards SIGTERM to it; whatever fails below,
  # no daemon outlives this script.
  trap 'for p in $(pgrep -P "$pid") "$pid"; do kill -KILL "$p" 2>/dev/null || true; done' EXIT
  up=0
  for _ in $(seq 1 200); do
    kill -0 "$pid" 2>/dev/null || { cat "$run/lobbyd.log"; echo "lobbyd exited at start"; exit 1; }
    if api GET /api/v1/status >/dev/null 2>&1; then up=1; break; fi
    sleep 0.1
  done
  [ $up -eq 1 ] || { stop_daemon || true; tail -50 "$run/lobbyd.log"; echo "lobbyd did not answer"; exit 1; }
  # It runs as lobbyd, not root.
  user=$(ps -o user= -p "$(pgrep -P "$pid" -x lobbyd || echo "$pid")" | tr -d ' ' || true)
  [ "$user" = "lobbyd" ] || { stop_daemon || true; echo "lobbyd runs as '$user'"; exit 1; }
  # The web assets from /usr/share/lobbyd/web (the installed binary finds them).
  api GET /static/dashboard.js | cmp -s - /usr/share/lobbyd/web/dashboard.js ||
    { stop_daemon || true; echo "GET /static/dashboard.js is not /usr/share/lobbyd/web/dashboard.js"; exit 1; }
  port=$(python3 -c 'import socket; s=socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  lobby=$(api POST /api/v1/lobbies \
    '{"name":"package","source":{"type":"testsrc","pattern":"ball"},"video":{"width":320,"height":240,"fps":30}}')
  lobby_id=$(python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])' <<<"$lobby") ||
    { stop_daemon || true; echo "create lobby: $lobby"; exit 1; }
  session=$(api POST "/api/v1/lobbies/$lobby_id/sessions" \
    "{\"transport\":\"rtp\",\"destination\":{\"host\":\"127.0.0.1\",\"port\":$port},\"profile\":{\"codec\":\"h264\",\"bitrate_kbps\":1000}}")
  sdp_url=$(python3 -c 'import json,sys; print(json.load(sys.stdin)["sdp_url"])' <<<"$session") ||
    { stop_daemon || true; echo "join: $session"; exit 1; }
  api GET "$sdp_url" >"$run/session.sdp"
  frames=$(timeout 30 ffmpeg -hide_banner -nostdin -loglevel error -protocol_whitelist file,udp,rtp \
    -i "$run/session.sdp" -an -frames:v 30 -f framemd5 - 2>"$run/ffmpeg.log" | grep -cv '^#' || true)
  echo "decoded $frames frames of $sdp_url"
  stop_daemon || { tail -50 "$run/lobbyd.log"; exit 1; }
  if [ "$frames" -lt 30 ]; then
    cat "$run/session.sdp"
    tail -20 "$run/ffmpeg.log"
    tail -50 "$run/lobbyd.log"
    echo "ffmpeg decoded $frames < 30 frames"
    exit 1
  fi
  exit 0
fi

cd "$(dirname "$0")/.."
root=$PWD
version=$(sed -n "s/^ *version *: *'\([^']*\)'.*/\1/p" meson.build | head -1)
[ -n "$version" ] || fail "no project version in meson.build"
arch=$(dpkg --print-architecture)
deb="lobbyd_${version}_${arch}.deb"
export DEBIAN_FRONTEND=noninteractive

work=$(mktemp -d /tmp/lobbyd-package.XXXXXX)
chmod 755 "$work"
policy=""
cleanup() {
  [ -n "$policy" ] && rm -f "$policy"
  if [ "${KEEP:-0}" = "1" ]; then echo "package: work dir kept: $work"; else rm -rf "$work"; fi
}
trap cleanup EXIT

# No maintainer script may start a service here (the package's postinst
# enables lobbyd.service and would start it under systemd): policy-rc.d is
# Debian's switch for that (deb-systemd-invoke, invoke-rc.d).
if [ ! -e /usr/sbin/policy-rc.d ]; then
  policy=/usr/sbin/policy-rc.d
  printf '#!/bin/sh\nexit 101\n' >"$policy"
  chmod 755 "$policy"
fi

# --- tools and build dependencies (only what is missing) -----------------
tools=(dpkg-dev debhelper fakeroot lintian adduser python3 curl ffmpeg iproute2 util-linux procps)
missing=()
for p in "${tools[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
updated=0
if [ ${#missing[@]} -gt 0 ]; then
  echo "package: installing ${missing[*]}"
  apt-get update -qq
  updated=1
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# A copy of the tree as it is (tracked and untracked files, not ignored ones).
src="$work/lobbyd-$version"
mkdir "$src"
git -C "$root" ls-files -z --cached --others --exclude-standard |
  tar -C "$root" --null -T - --ignore-failed-read -cf - 2>/dev/null | tar -C "$src" -xf -
if ! (cd "$src" && dpkg-checkbuilddeps >/dev/null 2>&1); then
  echo "package: installing the build dependencies"
  [ $updated -eq 1 ] || apt-get update -qq
  updated=1
  (cd "$src" && apt-get build-dep -y -qq --no-install-recommends ./ >/dev/null)
fi
step "tools and build dependencies present"

# --- build -----------------------------------------------------------------
if ! (cd "$src" && nice -n 19 dpkg-buildpackage -b -us -uc -j"$(nproc)") >"$work/build.log" 2>&1; then
  tail -60 "$work/build.log"
  fail "dpkg-buildpackage"
fi
[ -f "$work/$deb" ] || { ls "$work"; fail "no $deb"; }
step "built $deb"
dpkg-deb -f "$work/$deb" Depends Recommends Suggests | sed 's/^/package:   /'

# --- lintian: errors fail, warnings are listed ---------------------------
lintian --fail-on error --tag-display-limit 0 "$work"/lobbyd_*.changes >"$work/lintian.log" 2>&1 && lrc=0 || lrc=$?
sed 's/^/package: lintian: /' "$work/lintian.log"
echo "package: lintian: $(grep -c '^E:' "$work/lintian.log" || true) errors, $(grep -c '^W:' "$work/lintian.log" || true) warnings"
[ $lrc -eq 0 ] || fail "lintian reported errors"

# --- install, run the installed daemon as lobbyd, purge --------------------
if dpkg-query -W -f='${Status}' lobbyd 2>/dev/null | grep -q "install ok installed"; then
  echo "package: purging the lobbyd package installed before"
  apt-get purge -y -qq lobbyd >/dev/null
fi
if ! apt-get install -y -qq "$work/$deb" >"$work/install.log" 2>&1; then
  [ $updated -eq 1 ] || { apt-get update -qq && apt-get install -y -qq "$work/$deb" >"$work/install.log" 2>&1; } ||
    { tail -30 "$work/install.log"; fail "apt-get install ./$deb"; }
fi
purge() { apt-get purge -y -qq lobbyd >"$work/purge.log" 2>&1; }
trap 'purge || true; cleanup' EXIT
step "installed"
getent passwd lobbyd >/dev/null || fail "postinst created no lobbyd user"
[ -x /usr/bin/lobbyd ] && [ -f /etc/lobbyd/lobbyd.conf ] || fail "installed files missing"
echo "package: user $(id lobbyd)"

run=$(mktemp -d /tmp/lobbyd-package-run.XXXXXX)
chown lobbyd:lobbyd "$run"
if ! unshare --net -- "$root/scripts/ci-package.sh" --run-installed "$run"; then
  rm -rf "$run"
  fail "the installed daemon did not stream"
fi
rm -rf "$run"
step "installed daemon as lobbyd streamed"

trap cleanup EXIT
purge || { cat "$work/purge.log"; fail "apt-get purge lobbyd"; }
! getent passwd lobbyd >/dev/null || fail "the lobbyd user is left after purge"
! getent group lobbyd >/dev/null || fail "the lobbyd group is left after purge"
[ ! -e /etc/lobbyd ] && [ ! -e /usr/bin/lobbyd ] && [ ! -e /var/lib/lobbyd ] || fail "files left after purge"
step "purged"
echo "PASS package"
