#!/usr/bin/env bash
# The GPU checks, as one short script for a session that is lent a GPU (the device tool), e.g.
#   run(command="bash scripts/gpu_check.sh", timeout_s=540)
# Needs only what that machine's image has (torch with CUDA, pandas, pyarrow, scipy, h5py, tqdm, pytest): the
# package runs from lib/ without installing. It
#   1. runs the tests that need a GPU (CUDA-graph replay = eager launches; selectivity on the GPU);
#   2. measures `bench train` at paper 000's shapes with eager launches and with CUDA graphs;
#   3. runs experiment 1's sweep at the paper's settings (6 hidden sizes x 10 repeats) for EXP1_EPOCHS and
#      twice that, one ensemble after another and all six at once, and projects 45,000 epochs from the
#      difference (the issue's <= 10 min target).
# Everything lands in $OUT (the device tool's folder that comes back; ./gpu_check otherwise). Copy the JSON
# files to results/bench/ and put the numbers in README.md's Performance section.
set -uo pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:-gpu_check}
EXP1_EPOCHS=${EXP1_EPOCHS:-200}
mkdir -p "$OUT"
export PYTHONPATH="$PWD/lib${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1
PY=${PYTHON:-python3}

$PY -c "import torch; assert torch.cuda.is_available(), 'no CUDA device'; \
print(torch.__version__, torch.cuda.get_device_name())" 2>&1 | tee "$OUT/device.txt" || exit 1

timeout 150 $PY -m pytest -q -p no:cacheprovider tests/test_train.py tests/test_selectivity.py -k "cuda or gpu" \
  2>&1 | tee "$OUT/gpu_tests.log"

timeout 90 $PY -m localcodes bench train --device cuda --graphs off --rounds 3 --epochs 20 --plain-networks 1 \
  --json "$OUT/bench_train_cuda_eager.json" 2>&1 | tee "$OUT/bench_train_cuda_eager.txt"

timeout 240 $PY -m localcodes bench train --device cuda --graphs on --rounds 3 --epochs 20 --plain-networks 1 \
  --project --exp1 "$EXP1_EPOCHS" --json "$OUT/bench_train_cuda_graphs.json" 2>&1 | tee "$OUT/bench_train_cuda_graphs.txt"
