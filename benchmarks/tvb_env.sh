#!/usr/bin/env bash
# Makes benchmarks/.venv-tvb (git-ignored): The Virtual Brain's simulator (tvb-library), its
# data (tvb-data: the default 76-region connectivity) and brainsweep's own dependencies, so that
# benchmarks/tvb_side_by_side.py can run both simulators in one process. brainsweep itself is
# not installed there; the script puts workflow/ on its path.
#
#   bash benchmarks/tvb_env.sh [python]     # default python3; then
#   benchmarks/.venv-tvb/bin/python benchmarks/tvb_side_by_side.py
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
python="${1:-python3}"
venv="$here/.venv-tvb"
"$python" -m venv "$venv"
"$venv/bin/pip" install --quiet --upgrade pip
# brainsweep's runtime dependencies that the kernels and the oracle need (not the workflow's
# snakemake, nor the figures' matplotlib), then TVB, which pins its own numpy range.
"$venv/bin/pip" install --quiet "numpy>=1.26" "scipy>=1.11" "numba>=0.59" "jinja2>=3.1" \
    "pyyaml>=6.0" "jsonschema>=4.0" "pandas>=2.0" "nibabel>=5.0" tvb-library tvb-data
"$venv/bin/python" -c "import tvb.simulator, tvb_data, numba; print('tvb-library', \
__import__('importlib.metadata').metadata.version('tvb-library'), 'numba', numba.__version__)"
