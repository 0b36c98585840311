#!/usr/bin/env bash
# One run on a host with 4 NVIDIA H200s for issues 5 and 8. Every step has its own timeout
# and log; the four GPUs work in parallel where the steps need one GPU each:
#   GPU 0: `brainsweep bench` table, CUDA then OpenCL on the NVIDIA driver (P = 1024 ... 131072,
#          40 000 steps), then the GPU parity tests (tests/gpu)
#   GPU 1: RateML Fig. 1 (config/studies/rateml-fig1.yaml, fills the GPU's memory)
#   GPU 2: tvb-hpc poster Fig. 2 panels a and b (config/studies/tvbhpc-fig2.yaml)
#   GPU 3: device-to-device copy bandwidth (CuPy), the floor's reference
# then, on all four: poster Fig. 2 panel c (weak scaling, 21 600 sims/GPU) and the benchmark
# grid P = 131 072 split over 1, 2 and 4 GPUs. Logs, CSVs and machine records are packed into
# $OUT/gpu_reproductions.tgz after every step; short tables are printed last. Defaults (inside
# the repository, git-ignored): RUN_DIR=results/benchmarks/gpu_reproductions (logs, CSVs),
# OUT=results/benchmarks (the archive).
# Usage (repository root, with CuPy, pycuda and pyopencl importable):
#   bash benchmarks/gpu_reproductions.sh                               # a host with 4 GPUs
#   bash benchmarks/gpu_reproductions.sh quick                         # dry run: tiny
#       sizes, OpenCL on PoCL instead of CUDA, no GPUs (checks every command line)
set -uo pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:-results/benchmarks}; mkdir -p "$OUT"
S=${RUN_DIR:-results/benchmarks/gpu_reproductions}; rm -rf "$S"; mkdir -p "$S"
QUICK=${1:-}
export PYTHONUNBUFFERED=1 NCCL_NVLS_ENABLE=0 TORCH_SYMM_MEM_DISABLE_MULTICAST=1 NVSHMEM_DISABLE_NVLS=1
export PYTHONWARNINGS=ignore
BS="python3 -m brainsweep.cli"
pack() {  # parallel steps pack too: each through its own temporary name
    local tmp="$OUT/.gpu_reproductions-$BASHPID.tgz"
    tar czf "$tmp" -C "$S" . 2>/dev/null; mv -f "$tmp" "$OUT/gpu_reproductions.tgz"
}
# Seconds from this script's start by which each phase must end: every step's limit is cut to
# what is left, so the whole run ends soon after PHASE_B_END (default 500 s, under ten minutes).
PHASE_A_END=${PHASE_A_END:-330}; PHASE_B_END=${PHASE_B_END:-500}; DEADLINE=$PHASE_A_END
# step NAME LIMIT_S GPU COMMAND...: run with a timeout, log to $S/NAME.log, say how it ended
step() {
    local name=$1 limit=$2 gpu=$3; shift 3
    local started=$SECONDS left=$((DEADLINE - SECONDS))
    [ "$left" -lt "$limit" ] && limit=$left
    if [ "$limit" -lt 10 ]; then
        echo "== $name: skipped, $left s left of the phase" | tee -a "$S/steps.txt"; return 0
    fi
    CUDA_VISIBLE_DEVICES=$gpu timeout -k 10 "$limit" "$@" > "$S/$name.log" 2>&1
    local rc=$?
    echo "== $name: rc $rc, $((SECONDS - started)) s (limit $limit s, GPU $gpu)" | tee -a "$S/steps.txt"
    pack
    return 0
}
if [ "$QUICK" = quick ]; then
    # the same commands on tiny sizes: OpenCL (PoCL) stands in for CUDA, processes for GPUs
    TARGET=opencl; OCL=pthread; GPUS_ALL=""; G0=""; G1=""; G2=""; G3=""
    BENCH_SIZES="16 32"; BENCH_STEPS=200; SCALE_SIZES=32; SCALE_STEPS=200
    mkdir -p "$S/configs"
    python3 - "$S/configs" <<'PY'
import sys, yaml
out = sys.argv[1]
tiny = {"rateml-fig1": {"target": "opencl", "device": "pthread", "sizes": [16, 32],
                        "n_steps": 300, "row_budget_s": 0.5, "min_steps": 100},
        "tvbhpc-fig2": {"target": "opencl", "device": "pthread", "sizes": [16, 32],
                        "n_steps": 200, "gpus": [1, 2], "sims_per_gpu": 32,
                        "scaling_steps": 200}}
for name, change in tiny.items():
    data = yaml.safe_load(open(f"config/studies/{name}.yaml"))
    data["reproduce"].update(change)
    yaml.safe_dump(data, open(f"{out}/{name}.yaml", "w"))
PY
    FIG1="$S/configs/rateml-fig1.yaml"; HPC="$S/configs/tvbhpc-fig2.yaml"
else
    TARGET=cuda; OCL=nvidia; GPUS_ALL=0,1,2,3; G0=0; G1=1; G2=2; G3=3
    BENCH_SIZES="1024 8192 32768 131072"; BENCH_STEPS=40000; SCALE_SIZES=131072; SCALE_STEPS=10000
    FIG1=config/studies/rateml-fig1.yaml; HPC=config/studies/tvbhpc-fig2.yaml
fi
echo "== run $(date -u +%FT%TZ) quick=${QUICK:-no} target=$TARGET" | tee "$S/steps.txt"

# --- phase 0: the machine ------------------------------------------------------------------
{ nvidia-smi --query-gpu=index,name,driver_version,memory.total,clocks.sm,clocks.max.sm,pci.bus_id --format=csv 2>&1
  nvidia-smi topo -m 2>&1 | head -8
  $BS info 2>&1
  python3 -c "import pyopencl as cl; print('OpenCL with CUDA_VISIBLE_DEVICES=1:', [(p.name, [d.name for d in p.get_devices()]) for p in cl.get_platforms()])" 2>&1
} > "$S/machine.log"
CUDA_VISIBLE_DEVICES=1 python3 -c "import pyopencl as cl; print('OpenCL devices seen with CUDA_VISIBLE_DEVICES=1:', sum(len(p.get_devices()) for p in cl.get_platforms() if 'NVIDIA' in p.name))" >> "$S/machine.log" 2>&1
grep -v "^ *$" "$S/machine.log" | head -20

# --- phase A: one GPU per chain, in parallel ------------------------------------------------
(
    step bench_cuda 120 "$G0" $BS bench --target "$TARGET" ${QUICK:+--device $OCL} --sizes $BENCH_SIZES \
        --steps "$BENCH_STEPS" --json "$S/bench_cuda.json"
    BRAINSWEEP_OPENCL_DEVICE=$OCL step bench_opencl 120 "$G0" $BS bench --target opencl \
        --device "$OCL" --sizes $BENCH_SIZES --steps "$BENCH_STEPS" --json "$S/bench_opencl.json"
    step gpu_tests 200 "$G0" python3 -m pytest -m gpu -q -rs -p no:cacheprovider tests/gpu
) &
step rateml_fig1 310 "$G1" $BS reproduce --config "$FIG1" --out-dir "$S/rateml-fig1" &
step tvbhpc_fig2_ab 150 "$G2" $BS reproduce --config "$HPC" --out-dir "$S/tvbhpc-fig2" --panels a b &
if [ -z "$QUICK" ]; then
    step copy_bandwidth 60 "$G3" python3 -c "
import cupy as cp
n = 1 << 30  # 4 GiB of float32, far past the 60 MB L2
a = cp.random.random(n, dtype=cp.float32); b = cp.empty_like(a)
for _ in range(3): b[...] = a
start, stop = cp.cuda.Event(), cp.cuda.Event()
start.record()
for _ in range(10): b[...] = a
stop.record(); stop.synchronize()
print(f'copy bandwidth (read + write): {2 * 4 * n * 10 / (cp.cuda.get_elapsed_time(start, stop) * 1e-3) / 1e9:.0f} GB/s')
" &
fi
wait

# --- phase B: all GPUs ----------------------------------------------------------------------
DEADLINE=$PHASE_B_END
step tvbhpc_fig2_c 120 "$GPUS_ALL" $BS reproduce --config "$HPC" --out-dir "$S/tvbhpc-fig2" --panels c
step bench_scaling 90 "$GPUS_ALL" $BS bench --target "$TARGET" ${QUICK:+--device $OCL} --sizes $SCALE_SIZES \
    --steps "$SCALE_STEPS" --gpus 1 2 4 --json "$S/bench_scaling.json"

# --- summary --------------------------------------------------------------------------------
echo; cat "$S/steps.txt"
for name in bench_cuda bench_opencl bench_scaling; do
    echo "-- $name"; grep -v "Warning\|warn(" "$S/$name.log" | tail -12
done
echo "-- gpu_tests"; tail -4 "$S/gpu_tests.log" 2>/dev/null
[ -f "$S/copy_bandwidth.log" ] && { echo "-- copy_bandwidth"; tail -1 "$S/copy_bandwidth.log"; }
python3 - "$S" <<'PY'
import sys, pandas as pd
root = sys.argv[1]
pd.set_option("display.width", 200); pd.set_option("display.max_columns", 30)
for study, cols in (("rateml-fig1", ["model", "n_sims", "n_steps", "run_s", "sim_steps_per_s",
                                     "planned_bytes", "peak_used_bytes", "diverged", "status"]),
                    ("tvbhpc-fig2", ["panel", "n_sims", "n_steps", "run_s", "sim_steps_per_s",
                                     "parts", "registers", "occupancy", "n_gpus", "wall_s",
                                     "speedup", "status"])):
    try:
        rows = pd.read_csv(f"{root}/{study}/{study}.csv")
    except OSError as error:
        print(f"-- {study}: no CSV ({error})"); continue
    rows["model"] = rows.get("model", pd.Series(dtype=str)).astype(str).str.slice(0, 14)
    for c in ("sim_steps_per_s",):
        if c in rows: rows[c] = (rows[c] / 1e6).round(2)
    for c in ("planned_bytes", "peak_used_bytes"):
        if c in rows: rows[c] = (rows[c] / 2**30).round(2)
    print(f"-- {study} (M sim-steps/s, GiB)")
    print(rows[[c for c in cols if c in rows]].to_string(index=False))
    notes = rows[rows["status"] != "ok"]
    for _, r in notes.iterrows():
        print("   ", r["status"], str(r.get("note"))[:300])
PY
pack
