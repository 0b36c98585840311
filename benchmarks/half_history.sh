#!/usr/bin/env bash
# GPU runs for the float16 delay history (docs/benchmarks.md, "float16 delay history").
# Usage (repository root, with CuPy, pycuda and pyopencl importable):
#   bash benchmarks/half_history.sh error   # GPU tests, Kuramoto and Montbrio errors
#       (VARIANTS="f32 f16 f64" adds the float64 yardstick, SKIP_TESTS=1 skips the tests)
#   bash benchmarks/half_history.sh speed   # the bench table, float32 vs float16 history
# Logs and JSON lines under $OUT (default results/benchmarks/half_history, inside the
# repository and git-ignored).
set -uo pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:-results/benchmarks/half_history}; mkdir -p "$OUT"
export BRAINSWEEP_OPENCL_DEVICE=nvidia PYTHONUNBUFFERED=1
LOG="$OUT/half_history.jsonl"
run() { "$@" 2>&1 | grep -v "Warning\|warn(" ; }
nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.sm,clocks.max.sm --format=csv
case "${1:-error}" in
error)
    if [ -z "${SKIP_TESTS:-}" ]; then
        echo "== GPU tests (tests/gpu)"
        timeout 300 python3 -m pytest -m gpu -q -rs -p no:cacheprovider tests/gpu \
            > "$OUT/gpu_tests.log" 2>&1
        grep -E "passed|failed|error|SKIP" "$OUT/gpu_tests.log" | tail -8
    fi
    echo "== Kuramoto, the benchmark problem (P = 32768, 40 000 steps)"
    run timeout 150 python3 benchmarks/half_history.py kuramoto --target cuda \
        --variants ${VARIANTS:-f32 f16} --json "$LOG"
    echo "== MontbrioPazoRoxin, the default study's settings (P = 1024)"
    run timeout 240 python3 benchmarks/half_history.py montbrio --target cuda \
        --duration-s "${DURATION_S:-50}" --variants ${VARIANTS:-f32 f16} --json "$LOG"
    ;;
speed)
    echo "== bench table, cuda, 40 000 steps"
    run timeout 200 python3 benchmarks/half_history.py speed --target cuda \
        --sizes 1024 8192 32768 131072 --json "$LOG"
    echo "== P = 32768, three repeats each (spread)"
    run timeout 120 python3 benchmarks/half_history.py speed --target cuda --sizes 32768 \
        --repeats 3 --json "$LOG"
    echo "== opencl (NVIDIA driver), P = 32768 and 131072"
    run timeout 150 python3 benchmarks/half_history.py speed --target opencl --device nvidia \
        --sizes 32768 131072 --json "$LOG"
    ;;
esac
