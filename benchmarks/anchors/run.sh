#!/usr/bin/env bash
# The anchors: brainsweep, RateML's generated CUDA kernels and vbjax timed side by side on one
# NVIDIA GPU, in one run, on the same two problems (benchmarks/anchors/problems.py), then one
# table: $OUT/anchors.md and $OUT/anchors.json (every timed case is also in $OUT/*.jsonl).
#
# Before (on a machine with a package index): bash benchmarks/anchors/fetch_peers.sh
# Then, repository root, with pycuda, JAX (CUDA) and the project importable:
#   bash benchmarks/anchors/run.sh            # STEPS=2000 by default, about 3 minutes
# Each engine runs in its own process, one after the other, so each has the whole GPU (the
# RateML history alone is 136 GiB at P = 131 072; JAX is told not to preallocate).
set -uo pipefail
cd "$(dirname "$0")/../.."
OUT=${OUT:-results/benchmarks/anchors}
mkdir -p "$OUT"
STEPS=${STEPS:-2000}
PEERS=benchmarks/anchors/.peers
export PYTHONUNBUFFERED=1 PYTHONPATH=$PWD/workflow${PYTHONPATH:+:$PYTHONPATH}
ls "$PEERS"/tvb_contrib-*.whl "$PEERS"/vbjax-*.whl "$PEERS"/tqdm-*.whl > /dev/null || {
    echo "run.sh: $PEERS lacks the peers' wheels; run benchmarks/anchors/fetch_peers.sh" >&2
    exit 2
}
nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm --format=csv \
    | tee "$OUT/gpu.txt"
git log -1 --format='commit %h %cI' 2>/dev/null | tee -a "$OUT/gpu.txt"
echo "steps $STEPS" | tee -a "$OUT/gpu.txt"
# vbjax and tqdm are pure Python: a private folder, not the image's site-packages
site=$(mktemp -d)
python3 -m pip install -q --no-index --no-deps --target "$site" "$PEERS"/vbjax-*.whl \
    "$PEERS"/tqdm-*.whl || exit 1

part() {  # name, time limit (s), command...: JSON lines to $OUT/name.jsonl, the rest to .log
    local name=$1 limit=$2
    shift 2
    echo "== $name"
    timeout "$limit" "$@" > "$OUT/$name.jsonl" 2> "$OUT/$name.log"
    local rc=$?
    [ $rc -ne 0 ] && echo "$name: exit $rc (see $OUT/$name.log)" && tail -3 "$OUT/$name.log"
    grep -c '^{' "$OUT/$name.jsonl" | sed 's/^/  cases timed: /'
}
echo "== host side of the RateML timing against brainsweep (tests/gpu/test_anchors_gpu.py)"
timeout 90 python3 -m pytest -m gpu -q -rs -p no:cacheprovider tests/gpu/test_anchors_gpu.py \
    > "$OUT/test_anchors.log" 2>&1
tail -2 "$OUT/test_anchors.log"
part brainsweep 80 python3 benchmarks/anchors/brainsweep_side.py --target cuda --steps "$STEPS"
part rateml 210 python3 benchmarks/anchors/rateml.py --steps "$STEPS"
export XLA_PYTHON_CLIENT_PREALLOCATE=false
part vbjax 90 env PYTHONPATH="$site:$PYTHONPATH" python3 benchmarks/anchors/vbjax_mpr.py \
    --sizes 1024 8192 --steps "$STEPS"
echo "== check: vbjax (GPU, float32) against brainsweep CUDA (float64), no noise"
timeout 40 python3 benchmarks/anchors/brainsweep_side.py --target cuda --mpr-sizes 4 \
    --steps 3000 --reference "$OUT/reference.npz" > "$OUT/check.log" 2>&1 &&
    timeout 40 env PYTHONPATH="$site:$PYTHONPATH" python3 benchmarks/anchors/vbjax_mpr.py \
        --check "$OUT/reference.npz" 2>&1 | grep -v '^c\[vbjax\]' | tee -a "$OUT/check.log"
rm -f "$OUT/reference.npz"
echo "== table"
python3 benchmarks/anchors/table.py "$OUT"
