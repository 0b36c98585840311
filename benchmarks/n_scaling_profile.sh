#!/usr/bin/env bash
# Nsight Compute profiles of the N-scaling kernels (benchmarks/n_scaling.py): N = 68 at
# P = 32 768 (lanes) and N = 1 000 at P = 2 048 (split, and lanes forced), the first launch
# (50 steps) of each. Run on a GPU host with pycuda and Nsight Compute; reports under $OUT.
OUT=${OUT:-results/benchmarks/n_scaling_profile}; mkdir -p "$OUT"
mkdir -p /tmp/prof
NCU=(ncu --clock-control none --section SpeedOfLight --section WarpStateStats --section Occupancy --section LaunchStats --section MemoryWorkloadAnalysis -c 1 -f)
for spec in "n68 68 32768 auto" "n1000 1000 2048 auto" "n1000lanes 1000 2048 lanes"; do
  set -- $spec
  timeout 100 "${NCU[@]}" -k "regex:simulate_(shard|split)" -o /tmp/prof/$1 python3 benchmarks/n_scaling.py --sizes $2 --sims $3 --steps 50 --mappings $4 --skip-check > $OUT/$1.run.txt 2>&1
  ncu -i /tmp/prof/$1.ncu-rep --page details > $OUT/$1.details.txt 2>&1
  grep -E "Duration|DRAM Throughput|Memory Throughput|L1/TEX Hit|L2 Hit|Achieved Occupancy|Theoretical Occupancy|Registers Per|Block Size|Grid Size|Warp Cycles Per Issued|Issued Ipc|Mem Busy|Max Bandwidth|Compute \(SM\)" $OUT/$1.details.txt | sed "s/^/$1: /"
done
