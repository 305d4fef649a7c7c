#!/usr/bin/env bash
# Installs what is missing, builds lobbyd twice (plain and ASan+UBSan) and runs
# every test against both, plus the pure unit tests under valgrind. Ends with "N passed, N failed[, N skipped]".
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/deps.sh --test
bash scripts/build.sh build
bash scripts/build.sh build-asan -Db_sanitize=address,undefined -Db_lundef=false -Dbuildtype=debug
exec python3 tests/run-tests.py --build build --build build-asan:asan --valgrind "$@"
