#!/usr/bin/env bash
# GPU parity tests of the cuda and opencl targets, for a machine with an NVIDIA GPU.
#
# Usage (from the repository root):  bash benchmarks/gpu_parity.sh
# Wheels that the machine lacks (pycuda and its needs: pytools, platformdirs, siphash24;
# pyopencl for the OpenCL tests) are installed from .whl/ into .gpu-site/ (both inside the
# repository, git-ignored) when .whl/ exists; the tests skip, with the reason, whatever is
# still missing. The log goes to $OUT (default results/benchmarks/gpu_parity).
set -euo pipefail
cd "$(dirname "$0")/.."
if compgen -G ".whl/*.whl" > /dev/null; then
    python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
        --target .gpu-site .whl/*.whl
    export PYTHONPATH="$PWD/.gpu-site:${PYTHONPATH:-}"
fi
export PYTHONPATH="$PWD/workflow:${PYTHONPATH:-}" PYTHONUNBUFFERED=1
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv || true
python3 -c "from brainsweep.backends import get_target as g; \
print('cuda', g('cuda').available()); print('opencl', g('opencl').available())"
OUT=${OUT:-results/benchmarks/gpu_parity}; mkdir -p "$OUT"
report="$OUT/gpu_parity.log"
python3 -m pytest -m gpu -q -rs tests/gpu 2>&1 | tee "$report"
