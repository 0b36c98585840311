#!/usr/bin/env bash
# One run on a GPU host: homogeneous-rww and heterogeneous-rww stage by stage
# (benchmarks/heterogeneity_run.py), then the comparison table. The device, the log, the table
# and a tarball of the fits, figures and study files as run go under $OUT (default
# results/benchmarks/heterogeneity, inside the repository and git-ignored).
# Usage (repository root, pycuda importable for the CUDA target):
#   bash benchmarks/heterogeneity_gpu.sh [arguments of heterogeneity_run.py]
#   bash benchmarks/heterogeneity_gpu.sh --target cuda --budget-s 170   # duration from probes
# The full studies (128 + 32 simulations of 14.4 + 864 s, one shard each; about 5.5 minutes
# of kernel time on one H200 at the rates docs/heterogeneity.md measured) in one run:
#   DEADLINE=$(( $(date +%s) + 560 )) bash benchmarks/heterogeneity_gpu.sh --target cuda
# (the probes then pick the longest of 1200, 900, ... TRs that fits DEADLINE - 150 s)
# DEADLINE (seconds since the epoch) bounds the whole run: the stages are stopped 15 s before
# it (the table and the tarball of what is done still come), and, unless --budget-s is given,
# the simulations' budget is what is left minus OVERHEAD_S (default 150: the other stages).
set -uo pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:-results/benchmarks/heterogeneity}; mkdir -p "$OUT"
export PYTHONUNBUFFERED=1
{
    date -u +"%Y-%m-%d %H:%M UTC"
    nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm --format=csv,noheader
    python3 -c "import os, platform; print(platform.processor() or platform.machine(), os.cpu_count(), 'cores')"
    git rev-parse HEAD 2>/dev/null || true
    python3 -c "import brainsweep, os; print('brainsweep from', os.path.dirname(brainsweep.__file__))"
} > "$OUT/machine.txt" 2>&1
cat "$OUT/machine.txt"
limit=0; budget=()
if [ -n "${DEADLINE:-}" ]; then
    left=$(( DEADLINE - $(date +%s) )); limit=$(( left - 15 ))
    [[ " $* " == *" --budget-s "* ]] || budget=(--budget-s $(( left - ${OVERHEAD_S:-150} )))
    echo "deadline in $left s: stages stopped after $limit s; ${budget[*]}"
fi
timeout "$limit" python3 benchmarks/heterogeneity_run.py --results results "${budget[@]}" "$@" \
    2>&1 | tee "$OUT/run.log"
status=${PIPESTATUS[0]}
python3 benchmarks/heterogeneity_comparison.py --results results --json "$OUT/comparison.json" \
    > "$OUT/comparison.md" 2>&1
tar -czf "$OUT/results.tar.gz" results/fit results/figures results/config results/heterogeneity \
    logs/heterogeneity results/sims/*/*.json results/bold/*/*.json 2>/dev/null
ls -la "$OUT"
exit "$status"
