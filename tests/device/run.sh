#!/usr/bin/env bash
# Runs on the GPU machine (device tool): builds src/hw and lobbyd-probe with gcc
# alone and asserts what the probe finds there. The lent H100/H200 have no
# NVENC, so the NVENC probe must report it absent with the driver's own error
# and the pool must be unusable for that reason, while NVML must list the GPUs
# with real names and UUIDs. Then times lobbyd's NVML encoder-usage query
# against the seed's `nvidia-smi --query-gpu=encoder.stats.sessionCount`.
set -uo pipefail
cd "$(dirname "$0")/../.."
out=${OUT:-/tmp/lobbyd-device}
mkdir -p "$out"
fail=0
check() { if eval "$2"; then echo "PASS $1"; else echo "FAIL $1"; fail=1; fi; }

echo "== machine"
nvidia-smi -L || true
nvidia-smi --query-gpu=name,driver_version,encoder.stats.sessionCount --format=csv || true
ldconfig -p | grep -E "libnvidia-(ml|encode)|libcuda\.so" || true

echo "== build"
gcc -std=c11 -D_GNU_SOURCE -Wall -Wextra -O2 -o "$out/lobbyd-probe" src/hw/*.c -ldl -lpthread || exit 1
nvml_h=$(ls /usr/local/cuda*/include/nvml.h /usr/local/cuda*/targets/*/include/nvml.h /usr/include/nvml.h 2>/dev/null | head -1)
if [ -n "$nvml_h" ]; then
  gcc -std=c11 -I"$(dirname "$nvml_h")" -Isrc/hw -o "$out/nvml-abi-check" tests/device/nvml-abi-check.c \
    && echo "PASS nvml-abi: our NVML declarations match $nvml_h" || { echo "FAIL nvml-abi"; fail=1; }
else
  echo "SKIP nvml-abi: no nvml.h on this machine"
fi

echo "== probe (table)"
"$out/lobbyd-probe" | tee "$out/probe.txt"
echo "== probe (json)"
"$out/lobbyd-probe" --json | tee "$out/probe.json"

j="$out/probe.json"
py() { python3 -c "import json,sys; r=json.load(open('$j')); $1"; }
check "NVML loaded" 'py "sys.exit(0 if r[\"nvml\"][\"loaded\"] else 1)"'
check "NVML lists >= 1 GPU with a real name and UUID" \
  'py "g=r[\"gpus\"]; sys.exit(0 if g and all(x[\"name\"] and x[\"uuid\"].startswith(\"GPU-\") and x[\"pci_bus_id\"] for x in g) else 1)"'
check "encoder usage read from NVML" 'py "sys.exit(0 if all(x[\"encoder_usage\"][\"ok\"] for x in r[\"gpus\"]) else 1)"'
check "NVENC reported unavailable with a failing step and the driver's error" \
  'py "sys.exit(0 if all((not x[\"nvenc\"][\"available\"]) and x[\"nvenc\"][\"failed_step\"] and (x[\"nvenc\"][\"status_name\"] or x[\"nvenc\"][\"error\"]) for x in r[\"gpus\"]) else 1)"'
check "pool unusable, and the reason names the failed step" \
  'py "sys.exit(0 if all((not x[\"pool\"][\"usable\"]) and x[\"nvenc\"][\"failed_step\"] in x[\"pool\"][\"reason\"] for x in r[\"gpus\"]) else 1)"'

echo "== bench: NVML query through lobbyd's path vs nvidia-smi (same run)"
"$out/lobbyd-probe" --bench 2000 | tail -1 | tee "$out/bench-nvml.txt"
n=50
t0=$(date +%s%N)
for _ in $(seq $n); do nvidia-smi --query-gpu=encoder.stats.sessionCount --format=csv,noheader >/dev/null; done
t1=$(date +%s%N)
smi_us=$(( (t1 - t0) / 1000 / n ))
lb_us=$(sed -n 's/.*mean_us=\([0-9.]*\).*/\1/p' "$out/bench-nvml.txt")
echo "nvidia-smi: n=$n mean_us=$smi_us" | tee -a "$out/bench-nvml.txt"
python3 -c "print('ratio nvidia-smi/lobbyd = %.0fx' % ($smi_us / $lb_us))" | tee -a "$out/bench-nvml.txt"

[ $fail -eq 0 ] && echo "device checks: all passed" || echo "device checks: FAILED"
exit $fail
