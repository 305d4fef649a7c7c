#!/usr/bin/env bash
# Installs what is missing, builds, and runs lobbyd with its embedded default:
# state in ./state, one demo lobby, API on ./state/lobbyd.sock and 127.0.0.1:8480.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/deps.sh
bash scripts/build.sh
exec build/src/lobbyd "$@"
