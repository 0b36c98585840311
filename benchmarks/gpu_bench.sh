#!/usr/bin/env bash
# One run on a GPU host: environment, GPU parity tests, Kuramoto parity, kernel variants at
# P = 32768 and the full benchmark table for CUDA and OpenCL. Prints short tables; logs under
# $OUT (default results/benchmarks/gpu_bench, inside the repository and git-ignored).
# Usage (repository root, with CuPy, pycuda and pyopencl importable):
#   bash benchmarks/gpu_bench.sh [steps_variants] [steps_table] [sizes...]
set -uo pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:-results/benchmarks/gpu_bench}; mkdir -p "$OUT"
VSTEPS=${1:-4000}; TSTEPS=${2:-10000}; shift 2 || true
SIZES=${*:-1024 8192 32768 131072}
LOG="$OUT/bench.jsonl"
TABLE_KNOBS=${TABLE_KNOBS:-}
export BRAINSWEEP_OPENCL_DEVICE=nvidia PYTHONUNBUFFERED=1
nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.sm,clocks.max.sm --format=csv
python3 - <<'PY' 2>&1 | tail -2
import cupy as cp
n = 1 << 30  # 4 GiB of float32, far past the 60 MB L2
a = cp.random.random(n, dtype=cp.float32); b = cp.empty_like(a)
for _ in range(3): b[...] = a
start, stop = cp.cuda.Event(), cp.cuda.Event()
start.record()
for _ in range(10): b[...] = a
stop.record(); stop.synchronize()
print(f"copy bandwidth (read + write): {2 * 4 * n * 10 / (cp.cuda.get_elapsed_time(start, stop) * 1e-3) / 1e9:.0f} GB/s")
PY
echo "== GPU parity tests (tests/gpu)"
timeout 300 python3 -m pytest -m gpu -q -rs -p no:cacheprovider tests/gpu > "$OUT/gpu_tests.log" 2>&1
tail -3 "$OUT/gpu_tests.log"
echo "== Kuramoto bench problem vs Numba float64"
for t in cuda opencl; do timeout 120 python3 benchmarks/kuramoto_parity.py --target $t 2>&1 | grep -v Warning | grep "rel\|Error"; done
run() { timeout 200 python3 benchmarks/sweep_bench.py --log "$LOG" "$@" 2>&1 | grep -v "^#\|^target\|^---\|Warning\|lambda" ; }
echo "== variants: P = 32768, $VSTEPS steps (label target P steps Msim/s s/40k KiB/sim B GB/s floor div)"
[ -d benchmarks/baseline/workflow ] && [ -z "${NO_BASELINE:-}" ] && for t in cuda opencl; do
    echo -n "baseline  "; run --package benchmarks/baseline/workflow --label baseline --target $t --sizes 32768 --steps "$VSTEPS"; done
# label and knobs of each CUDA variant (VARIANTS overrides: "label:args;label:args")
VARIANTS=${VARIANTS:-"auto:;parts1:--parts 1;parts4:--parts 4;parts4r64:--parts 4 --max-registers 64;parts8r64:--parts 8 --max-registers 64;batch4p4r64:--batch 4 --parts 4 --max-registers 64;batch16p4r64:--batch 16 --parts 4 --max-registers 64"}
IFS=';' read -ra list <<< "$VARIANTS"
for v in "${list[@]}"; do label=${v%%:*}; knobs=${v#*:}
    printf '%-12s ' "$label"; run --label "$label" $knobs --target cuda --sizes 32768 --steps "$VSTEPS"; done
printf '%-12s ' "opencl-auto"; run --label opencl-auto --target opencl --sizes 32768 --steps "$VSTEPS"
echo "== table: $TSTEPS steps"
for t in cuda opencl; do run --label table $TABLE_KNOBS --target $t --sizes $SIZES --steps "$TSTEPS"; done
