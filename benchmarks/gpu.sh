#!/usr/bin/env bash
# Every GPU benchmark the issues name, in one run of under 10 minutes on one GPU, with random
# weights at the real sizes (no checkpoint needed). For a lent GPU machine that has torch but
# not the rest: download the wheels here first, carry the folder, and the script installs them.
#
#   .venv/bin/pip download --no-deps -d wheels -r benchmarks/gpu-requirements.txt   # here
#   bash benchmarks/gpu.sh [wheels] > "$OUT/gpu.md"                                   # there
#
# DEVICE=cpu TINY=1 bash benchmarks/gpu.sh runs the same steps on tiny shapes (how it is tested).
set -uo pipefail
cd "$(dirname "$0")/.."
wheels="${1:-}"
if [ -n "$wheels" ]; then
  python -m pip install -q --no-deps "$wheels"/*.whl || exit 1
fi
PY="${PYTHON:-python}"
DEVICE="${DEVICE:-cuda}"
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"

step() {  # a budget per step: one slow step must not eat the others' time
  local budget="$1"; shift
  echo; echo "## $*"; echo
  timeout "$budget" "$PY" "$@" 2>&1 | grep -v "Warning\|warn(" || echo "(step ended: status ${PIPESTATUS[0]})"
}

if [ -n "${TINY:-}" ]; then
  step 300 -m benchmarks.dmdl --config small --device "$DEVICE" --posters balloon --repeats 1
  step 300 -m benchmarks.dmdl_train --gpu --tiny --repeats 1
else
  # #11 / Table 3: packed motion boxes vs one full-canvas I2V, 13B bf16, s/step, memory, MFU.
  step 270 -m benchmarks.dmdl --config full --device "$DEVICE" --repeats 3 --full-repeats 1 --sample-steps 10
  # #12: 13B LoRA step and peak memory at 49 frames, 2-4 layers <= 512^2; inference s/step, MFU.
  step 270 -m benchmarks.dmdl_train --gpu --repeats 2
fi
