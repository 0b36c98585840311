#!/usr/bin/env bash
# Issue 17, items 4 and 5 in one GPU-host call: the split kernel's checks, the small-shard
# timings of a baseline package and of this checkout, Nsight Compute profiles of the P = 64
# step (before, after) and of the P = 8192 one, the host-side reshaping before and after,
# and the small study's stages on the GPU and on the CPU. Run from the repository root with
# the GPU environment set up (pycuda, pyopencl); writes under $OUT:
#   log.txt       everything printed, the tables last
#   small.jsonl   one line per timed small-shard case
#   stages.json   the stage timings
#   profiles.tgz  ncu reports (details and per-instruction source pages as text)
#
#   [BASELINE=path/to/other/workflow] [TESTS='tests/gpu -n 8'] [SKIP_COLLECT=1] \
#       bash benchmarks/small_shard.sh
# (the P = 8192 profile and the baseline's come with BASELINE)
set -u
OUT=${OUT:-/tmp/small-shard}
BASELINE=${BASELINE:-}
mkdir -p "$OUT" /tmp/prof
log=$OUT/log.txt
say() { echo "## $*" | tee -a "$log"; }

say "$(date -u +%FT%TZ) $(nvidia-smi --query-gpu=name,driver_version,clocks.max.sm,memory.total --format=csv,noheader)"
# TESTS: the pytest arguments of the checks run first (default: the split kernel's)
read -r -a tests <<<"${TESTS:-tests/gpu/test_issue17_gpu.py -k split}"
say "checks: pytest -m gpu ${tests[*]}"
python3 -m pytest -q -m gpu "${tests[@]}" 2>&1 | tail -3 | tee -a "$log"

if [ -n "$BASELINE" ]; then
    say "small shards, baseline package"
    python3 benchmarks/small_shard.py time --package "$BASELINE" --label before \
        --json "$OUT/small.jsonl" 2>&1 | tee -a "$log"
fi
say "small shards, this checkout"
python3 benchmarks/small_shard.py time --label after --json "$OUT/small.jsonl" 2>&1 | tee -a "$log"

say "ncu"
NCU=(ncu --clock-control none --section SpeedOfLight --section WarpStateStats
     --section SchedulerStats --section Occupancy --section LaunchStats
     --section MemoryWorkloadAnalysis --section SourceCounters -c 1 -f)
profile() {  # name kernel sims [package]
    local name=$1 kernel=$2 sims=$3 package=${4:-workflow}
    "${NCU[@]}" -k "regex:$kernel" -o "/tmp/prof/$name" python3 benchmarks/small_shard.py \
        profile --sims "$sims" --steps 2000 --package "$package" >"/tmp/prof/$name.run.txt" 2>&1
    ncu -i "/tmp/prof/$name.ncu-rep" --page details >"/tmp/prof/$name.details.txt" 2>&1
    ncu -i "/tmp/prof/$name.ncu-rep" --page source --csv --print-source sass \
        >"/tmp/prof/$name.source.csv" 2>&1
    grep -E "Duration|Elapsed Cycles|SM Frequency|Warp Cycles Per Issued|Issued Ipc|Memory Throughput|DRAM Throughput|L2 Hit|Achieved Occupancy|Registers Per|Block Size|Grid Size" \
        "/tmp/prof/$name.details.txt" | sed "s/^/$name: /" | tee -a "$log"
}
[ -n "$BASELINE" ] && profile split64_before simulate_split 64 "$BASELINE"
profile split64_after simulate_split 64
[ -n "$BASELINE" ] && profile lanes8192_after simulate_shard 8192
tar czf "$OUT/profiles.tgz" -C /tmp/prof . 2>>"$log"

if [ -z "${SKIP_COLLECT:-}" ]; then
    say "host-side reshaping"
    python3 benchmarks/small_shard.py collect --frames 100 --sims 8192 --repeats 3 2>&1 \
        | tee -a "$log"
fi

say "stages"
python3 benchmarks/stage_timing.py --targets cuda numba --duration 60 \
    --json "$OUT/stages.json" 2>&1 | tee -a "$log"
