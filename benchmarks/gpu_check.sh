#!/usr/bin/env bash
# Check minigan's GPU path on an NVIDIA GPU, in one go, from a checkout:
#
#     bash benchmarks/gpu_check.sh OUT MNIST_DIR [STAGES]
#
# MNIST_DIR holds t10k-images-idx3-ubyte.gz and t10k-labels-idx1-ubyte.gz, the test split
# on which the runs train and are scored (the folder `minigan train` downloads to, by
# default ~/.cache/minigan/mnist, does). OUT gets env.txt (the GPU, the versions, whether
# minigan sees a usable GPU, and why not: then the script stops there, as the tests would
# run on the NumPy stand-in and every --device gpu command fail), and one log per stage.
# STAGES (default "bench tests train each") picks
#
#   bench  benchmarks/bench_gpu.py: mlp, vanilla and DCGAN at batch 64, 128 and 512 against
#          PyTorch CUDA (also reading the iteration's statistics, as minigan's does), with
#          every GPU body replaced by its plain formula as a third row; the GPU memory; then
#          each library timed alone, in a process of its own (ALONE=0 leaves that out).
#          bench.log, bench_gpu.csv
#   tests  python -m pytest -m gpu (every kernel and layer against the CPU, on CuPy), and the
#          kernels' sources compiled by NVRTC. tests.log
#   train  the default model (MLP_EPOCHS, 20 of its 180 epochs) and the DCGAN (DCGAN_EPOCHS,
#          its 5) trained with --device gpu and scored with minigan eval --device gpu; each
#          seeded run made again (DET_EPOCHS: two shorter runs instead) and the checkpoints
#          compared bit for bit; a GPU run continued on the CPU and a CPU run on the GPU
#          (RESUME=0 leaves them out). train.log, runs.tar.gz (the run folders without
#          their checkpoints)
#   each   each GPU body the model's iteration runs alone replaced by its plain formula, for
#          mlp and DCGAN at the batches EACH_BATCHES (default 64,512): what each kernel
#          saves (the bodies an iteration never runs are named, not timed). each.log, each.csv
#
# Each command has a time limit of STAGE_LIMIT seconds (default 170; the NVRTC tests 60),
# and the next one starts whatever the last one did: on an H200 the whole check took about
# 7 minutes. ROUNDS (default 5) sets the benchmarks' rounds, BENCH_FLAGS (default "--plain
# --torch-stats"; empty: neither) the bench stage's extra rows, EVAL_N the digits scored.
# DEVICE=cpu MLP_EPOCHS=1 DCGAN_EPOCHS=1 EVAL_N=500 dry-runs the train stage without a GPU
# (its continuations then run CPU to CPU).
# Python is $PYTHON (default python3); the checkout is on PYTHONPATH, so nothing needs
# installing beyond numpy, cupy, matplotlib, tqdm, pytest, hypothesis (and torch for the
# benchmark's PyTorch rows).
set -u
out=${1:?usage: gpu_check.sh OUT MNIST_DIR [STAGES]}
data=${2:?usage: gpu_check.sh OUT MNIST_DIR [STAGES]}
stages=${3:-bench tests train each}
py=${PYTHON:-python3}
limit=${STAGE_LIMIT:-170}
device=${DEVICE:-gpu}   # the runs' device; their continuations run on the CPU
other=cpu
here=$(cd "$(dirname "$0")/.." && pwd)
mkdir -p "$out" && out=$(cd "$out" && pwd) || exit 1        # absolute: the script moves
data=$(cd "$data" && pwd) || { echo "no folder $2"; exit 1; }
export PYTHONPATH="$here${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1 HYPOTHESIS_PROFILE=ci
runs=$(mktemp -d)
trap 'rm -rf "$runs"' EXIT
cd "$here" || exit 1

stamp() { echo "== $(date -u +%H:%M:%S) $*"; }
run_minigan() { timeout "$limit" "$py" -m minigan "$@" || true; }   # the next command runs anyway

{
  stamp environment
  nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm --format=csv
  "$py" - <<'EOF'
import platform, numpy
print("python", platform.python_version(), "numpy", numpy.__version__)
try:
    import cupy
    print("cupy", cupy.__version__, "CUDA runtime", cupy.cuda.runtime.runtimeGetVersion())
except Exception as exc:
    print("cupy:", exc)
try:
    import torch
    print("torch", torch.__version__, "cuda", torch.version.cuda, torch.cuda.get_device_name(0))
except Exception as exc:
    print("torch:", exc)
from minigan import backend
try:
    backend.use("gpu")
    print("minigan sees a usable GPU: True")
except backend.BackendError as exc:
    print("minigan sees a usable GPU: False:", exc.reason)
EOF
  git -C "$here" log -1 --format='commit %h %cs' 2>/dev/null || echo "commit: not a git checkout"
  # the code itself, whatever git says: compare with the same line run in a checkout
  echo "minigan/*.py sha256 $(cd "$here" && find minigan -name '*.py' -print0 | sort -z \
    | xargs -0 cat | sha256sum | cut -c1-16)"
  nproc
} > "$out/env.txt" 2>&1
# without a GPU minigan can use, the tests would pass on the NumPy stand-in and every --device
# gpu command would stop at once: say so and stop (DEVICE=cpu, the dry run, goes on)
if [ "$device" = gpu ] && ! grep -q "^minigan sees a usable GPU: True" "$out/env.txt"; then
  grep "^minigan sees a usable GPU" "$out/env.txt" || tail -n 5 "$out/env.txt"
  echo "gpu_check.sh: stopping, no GPU minigan can use (env.txt says why; DEVICE=cpu dry-runs)"
  exit 1
fi

for stage in $stages; do
  case $stage in
  bench)
    stamp bench
    { timeout "$limit" "$py" benchmarks/bench_gpu.py ${BENCH_FLAGS---plain --torch-stats} \
        --rounds "${ROUNDS:-5}" --csv "$out/bench_gpu.csv"
      echo "rc=$?"
      if [ "${ALONE:-1}" = 1 ]; then   # each library in a process of its own, no alternation
        for only in --no-torch --no-minigan; do
          echo "== alone: $only"
          timeout "$limit" "$py" benchmarks/bench_gpu.py $only --rounds "${ROUNDS:-5}"
          echo "rc=$?"
        done
      fi; } > "$out/bench.log" 2>&1 ;;
  tests)
    stamp tests
    # setup.cfg's addopts ask for pytest-xdist (-n auto): where it is installed, 8 workers
    # for the GPU tests and one process for the few NVRTC ones; without it, setup.cfg's
    # options less -n
    if "$py" -c "import xdist" 2>/dev/null; then
      many=(-n 8); one=(-n 0)
    else
      many=(-o 'addopts=--import-mode=importlib -m "not slow"')
      one=("${many[@]}")
    fi
    { timeout "$limit" "$py" -m pytest -m gpu -q -rs -p no:cacheprovider "${many[@]}"
      echo "rc=$?"
      timeout 60 "$py" -m pytest -q -p no:cacheprovider "${one[@]}" tests/backend/test_kernels.py \
        -k nvrtc
      echo "rc=$?"; } > "$out/tests.log" 2>&1 ;;
  train)
    stamp train
    train=(train --split test --data-dir "$data" --no-download --seed 0 --quiet)
    mlp_epochs=${MLP_EPOCHS:-20}
    {
      set -x
      for model in mlp dcgan; do
        epochs=$mlp_epochs; [ "$model" = dcgan ] && epochs=${DCGAN_EPOCHS:-5}
        started=$SECONDS
        run_minigan "${train[@]}" --model $model --epochs $epochs --device $device \
          --out "$runs/$model-gpu"
        echo "wall $((SECONDS - started)) s"
        run_minigan eval "$runs/$model-gpu" --device $device --data-dir "$data" --no-download \
          --n "${EVAL_N:-10000}"
        # determinism: the same seeded run twice (DET_EPOCHS: two shorter runs instead)
        first="$runs/$model-gpu"
        if [ -n "${DET_EPOCHS:-}" ]; then
          first="$runs/$model-det-1"
          run_minigan "${train[@]}" --model $model --epochs "$DET_EPOCHS" --device $device \
            --out "$first"
          epochs=$DET_EPOCHS
        fi
        run_minigan "${train[@]}" --model $model --epochs $epochs --device $device \
          --out "$runs/$model-det-2"
        "$py" - "$first/checkpoint.npz" "$runs/$model-det-2/checkpoint.npz" <<'EOF'
import sys, numpy as np
a, b = (np.load(p, allow_pickle=False) for p in sys.argv[1:])
keys = sorted((set(a.files) | set(b.files)) - {"config", "extra"})  # the run's folder, times
differ = [k for k in keys if k not in a.files or k not in b.files
          or a[k].shape != b[k].shape or not np.array_equal(a[k], b[k])]
print(f"deterministic: {len(keys) - len(differ)} of {len(keys)} arrays equal bit for bit",
      "; differ:" if differ else "", ", ".join(differ[:10]))
EOF
      done
      if [ "${RESUME:-1}" = 1 ]; then
        # a GPU checkpoint continued on the CPU, a CPU checkpoint on the GPU (one epoch each)
        cp -r "$runs/mlp-gpu" "$runs/mlp-gpu-then-cpu"
        run_minigan train --resume "$runs/mlp-gpu-then-cpu" --epochs $((mlp_epochs + 1)) \
          --device $other --quiet --data-dir "$data" --no-download
        run_minigan "${train[@]}" --model mlp --epochs 1 --device $other \
          --out "$runs/mlp-cpu-then-gpu"
        run_minigan train --resume "$runs/mlp-cpu-then-gpu" --epochs 2 --device $device \
          --quiet --data-dir "$data" --no-download
        for run in mlp-gpu-then-cpu:$((mlp_epochs + 1)) mlp-cpu-then-gpu:2; do
          reached=$(tail -n 1 "$runs/${run%%:*}/metrics.csv" 2>/dev/null | cut -d, -f2)
          if [ "$reached" = "${run##*:}" ]; then echo "continued: ${run%%:*} reached epoch $reached"
          else echo "FAILED to continue: ${run%%:*} (epoch ${reached:-none}, not ${run##*:})"; fi
        done
      fi
      tail -n 2 "$runs"/*/metrics.csv
      set +x
    } > "$out/train.log" 2>&1
    tar -czf "$out/runs.tar.gz" -C "$runs" --exclude='*.npz' . ;;
  each)
    stamp each
    timeout "$limit" "$py" benchmarks/bench_gpu.py --no-torch --models mlp,dcgan \
      --batches "${EACH_BATCHES:-64,512}" --rounds "${ROUNDS:-5}" --iters 20 --plain-each \
      --csv "$out/each.csv" \
      > "$out/each.log" 2>&1
    echo "rc=$?" >> "$out/each.log" ;;
  *) echo "unknown stage $stage" ;;
  esac
done
stamp done
