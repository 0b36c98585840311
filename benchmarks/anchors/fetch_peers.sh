#!/usr/bin/env bash
# Fill benchmarks/anchors/.peers/ (git-ignored) with the peers' wheels the anchor run reads:
# tvb-contrib (RateML's generated CUDA kernels and its driver), vbjax and tqdm (which vbjax
# imports; both pure Python). The GPU host reaches no package index, so this runs on a
# machine that does, before the device run.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$here/.peers"
python3 -m pip download -q --no-deps -d "$here/.peers" tvb-contrib vbjax tqdm
ls -l "$here/.peers"
