#!/usr/bin/env bash
# The GPU checks, as one short script for a session that is lent a GPU (the device tool), e.g.
#   run(command="bash scripts/gpu_check.sh", timeout_s=540)
# Needs only what that machine's image has (torch with CUDA, pandas, pyarrow, scipy, h5py, tqdm, pytest): the
# package runs from lib/ without installing. It
#   1. runs the tests that need a GPU (CUDA-graph replay = eager launches; selectivity on the GPU);
#   2. measures `bench train` at paper 000's shapes with eager launches and with CUDA graphs, and projects
#      experiment 1 per hidden size from the measured rates;
#   3. runs experiment 1's sweep at the paper's settings (6 hidden sizes x 10 repeats) for EXP1_EPOCHS and
#      twice that, one ensemble after another and all six at once, and projects 45,000 epochs from the
#      difference (the target: at most 10 minutes on one GPU).
# Everything lands in $OUT (the device tool's folder that comes back; ./gpu_check otherwise). Copy the JSON
# files to results/bench/ and put the numbers in README.md's Performance section.
# DEVICE=cpu with small settings runs the same steps on a CPU (the test suite does, to keep this script working):
#   DEVICE=cpu NETWORKS=2 EPOCHS=1 EXP1_EPOCHS=1 EXP1_WIDTHS="8 16" PROJECT= bash scripts/gpu_check.sh
set -uo pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:-gpu_check}
DEVICE=${DEVICE:-cuda}
NETWORKS=${NETWORKS:-10}
EPOCHS=${EPOCHS:-20}
EXP1_EPOCHS=${EXP1_EPOCHS:-200}
EXP1_WIDTHS=${EXP1_WIDTHS:-100 250 500 1000 2000 5000}
PROJECT=${PROJECT---project}
mkdir -p "$OUT"
export PYTHONPATH="$PWD/lib${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1
PY=${PYTHON:-python3}
rc=0

if [ "$DEVICE" = cuda ]; then
  GRAPHS=on
  $PY -c "import torch; assert torch.cuda.is_available(), 'no CUDA device'; \
print(torch.__version__, torch.cuda.get_device_name())" 2>&1 | tee "$OUT/device.txt" || exit 1
else
  GRAPHS=off  # CUDA graphs exist on CUDA devices only
fi

# the engine's tests and the selectivity tests (in their folder, or still at the top of tests/)
gpu_tests=(tests/engine)
for t in tests/selectivity tests/test_selectivity.py; do [ -e "$t" ] && gpu_tests+=("$t"); done
timeout 150 $PY -m pytest -q -p no:cacheprovider "${gpu_tests[@]}" -k "cuda or gpu" \
  2>&1 | tee "$OUT/gpu_tests.log" || rc=1

bench=(-m localcodes bench train --device "$DEVICE" --networks "$NETWORKS" --rounds 3 --epochs "$EPOCHS" --plain-networks 1)
timeout 90 $PY "${bench[@]}" --graphs off --json "$OUT/bench_train_${DEVICE}_eager.json" \
  2>&1 | tee "$OUT/bench_train_${DEVICE}_eager.txt" || rc=1

# shellcheck disable=SC2086  # PROJECT and EXP1_WIDTHS are word lists on purpose
timeout 240 $PY "${bench[@]}" --graphs "$GRAPHS" $PROJECT --exp1 "$EXP1_EPOCHS" --exp1-widths $EXP1_WIDTHS \
  --json "$OUT/bench_train_${DEVICE}_graphs_${GRAPHS}.json" 2>&1 | tee "$OUT/bench_train_${DEVICE}_graphs_${GRAPHS}.txt" || rc=1

exit $rc
