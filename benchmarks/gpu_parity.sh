#!/usr/bin/env bash
# GPU parity tests of the cuda and opencl targets, for the device machine.
#
# Usage (from the repository root):  bash benchmarks/gpu_parity.sh
# Wheels that the machine lacks (pycuda and its needs: pytools, platformdirs, siphash24;
# pyopencl for the OpenCL tests) are installed from .whl/ when that folder exists; the tests
# skip, with the reason, whatever is still missing. Results go to $OUT when it is set.
set -euo pipefail
cd "$(dirname "$0")/.."
if compgen -G ".whl/*.whl" > /dev/null; then
    python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
        --target /tmp/site .whl/*.whl
    export PYTHONPATH="/tmp/site:${PYTHONPATH:-}"
fi
export PYTHONPATH="$PWD/workflow:${PYTHONPATH:-}" PYTHONUNBUFFERED=1
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv || true
python3 -c "from brainsweep.backends import get_target as g; \
print('cuda', g('cuda').available()); print('opencl', g('opencl').available())"
report="${OUT:-/tmp}/gpu_parity.log"
python3 -m pytest -m gpu -q -rs tests/gpu 2>&1 | tee "$report"
