#!/usr/bin/env bash
# Issue 17 in one run of at most ~7 minutes on one NVIDIA H200 (about 3.5 min
# expected; the parts' timeouts, 120 + 140 + 55 + 35 s, and ~30 s of setup together 6.3
# min): the GPU checks of the issue-17 kernels,
# the N-scaling table, the split kernel's two history store paths at P = 1024 / 256 / 64 and
# float16 against float32 history at P = 64. Run from the repository root with the GPU
# environment set up:
#
#   bash benchmarks/issue17_gpu.sh   # pycuda installed: pip install "brainsweep[cuda]"
#
# Writes under $OUT (default results/benchmarks/issue17):
#   log.txt            everything printed; the summary and the tables last
#   <part>.log         each part's own output
#   n_scaling.json     the N-scaling rows (written after every row)
#   store.jsonl        the store-path rows; half.jsonl the float16/float32 rows
# Each part runs under `timeout` (seconds: T_TESTS, T_SCALING, T_STORE, T_HALF), so a hang
# loses only that part. Expected wall time on an H200 (kernels compile in ~1-2 s each with
# nvcc 13): setup ~30 s; tests ~60 s; N-scaling ~80 s (6 oracle checks, ~15 s: the
# float64 oracle at N = 1000, twice, on the host; 18 s of kernels at the issue's rates, the
# lanes rows at N = 500 / 1000 another 16 s; a row's steps capped at ~20 s of kernel, the
# rows' JSON written as they come); store paths ~25 s; float16 ~15 s.
set -u
OUT=${OUT:-results/benchmarks/issue17}
mkdir -p "$OUT"
log=$OUT/log.txt
export PYTHONUNBUFFERED=1
[ -z "${SMOKE:-}" ] && export BRAINSWEEP_OPENCL_DEVICE=nvidia  # the OpenCL GPU tests' device
say() { echo "## $*" | tee -a "$log"; }
summary=()

part() {  # name seconds command...: run under timeout, log, note status and wall time
    local name=$1 limit=$2
    shift 2
    say "$name: $*"
    local started=$SECONDS
    timeout -k 10 "$limit" "$@" >"$OUT/$name.log" 2>&1
    local rc=$?
    local took=$((SECONDS - started))
    tail -n 40 "$OUT/$name.log" >>"$log"
    local status=ok
    [ "$rc" -ne 0 ] && status="rc $rc"
    [ "$rc" -eq 124 ] || [ "$rc" -eq 137 ] && status="TIMEOUT after ${limit} s"
    summary+=("| $name | $status | $took |")
    say "$name: $status in $took s"
}

say "$(date -u +%FT%TZ) git $(git rev-parse --short HEAD 2>/dev/null || echo '?')" \
    "$(nvidia-smi --query-gpu=name,driver_version,clocks.max.sm,memory.total --format=csv,noheader 2>&1)"

# SMOKE=1: the same parts at tiny sizes on the OpenCL target (PoCL on a CPU), to test this
# script without a GPU (the GPU tests then skip)
if [ -n "${SMOKE:-}" ]; then
    target=opencl scaling=(--sizes 20 68 --sims 4 --steps 50) store=(--sizes 4 2 --steps 300
    --check-steps 300) half=(--sims 4 --steps 5100)
else
    target=cuda scaling=(--sizes 68 192 500 1000 --sims 32768 16384 4096 2048 --steps 2000)
    store=(--sizes 1024 256 64 --steps 20000) half=(--sims 64 --steps 20000)
fi
rm -f "$OUT/n_scaling.json" "$OUT/store.jsonl" "$OUT/half.jsonl"  # these append

part tests "${T_TESTS:-120}" python3 -m pytest -q -m gpu -p no:cacheprovider \
    tests/gpu/test_issue17_gpu.py
part n_scaling "${T_SCALING:-140}" python3 benchmarks/n_scaling.py --target "$target" \
    "${scaling[@]}" --mappings auto lanes --max-row-seconds 20 --json "$OUT/n_scaling.json"
part store "${T_STORE:-55}" python3 benchmarks/small_shard.py store --target "$target" \
    "${store[@]}" --repeats 3 --json "$OUT/store.jsonl"
part half "${T_HALF:-35}" python3 benchmarks/small_shard.py half --target "$target" \
    "${half[@]}" --json "$OUT/half.jsonl"

{
    echo
    echo "| part | status | wall s |"
    echo "|---|---|---|"
    printf '%s\n' "${summary[@]}"
    echo
    echo "### tests"
    grep -E "passed|failed|error|skipped in" "$OUT/tests.log" | tail -n 3
    for name in n_scaling store half; do
        echo
        echo "### $name"
        grep -E '^\||^floor|^# check|^# P=|^# N=|FAILED' "$OUT/$name.log"
    done
} | tee -a "$log"
