#!/usr/bin/env bash
# Kiln on an NVIDIA GPU, against PyTorch on the same GPU: the numerics of
# the zoo's models (forward, loss, every gradient), a short cnn training run
# and a benchmark of train steps beside PyTorch eager and torch.compile.
#
# The GPU machine needs the NVIDIA driver and Python with PyTorch (CUDA);
# it needs no LLVM, MLIR or oneDNN: the artefacts are compiled here first.
#
#   scripts/gpu-check.sh prepare [DIR]  compile the artefacts (kilnc from
#                                       build/, the CUDA toolkit) and copy
#                                       the data into DIR (default
#                                       build/gpu-check; about 54 MiB)
#   scripts/gpu-check.sh run [DIR]      on the GPU machine: run the checks
#   scripts/gpu-check.sh [DIR]          both, on a machine that has both
#
# Sized to finish in under 8 minutes on an H100.
set -euo pipefail
cd "$(dirname "$0")/.."
mode=all
case "${1:-}" in prepare | run) mode=$1; shift ;; esac
DIR="${1:-build/gpu-check}"
KILNC="${KILNC:-build/bin/kilnc}"
DATA=/usr/share/datasets/fashion-mnist

# What runs: kind, model, batch. Every op case of the reference suite in
# float32 and float64; numerics at batch 8 (forward, loss,
# grad);
# the bandwidth of a fused elementwise kernel and a softmax on [ROWS, 4096]
# float32 (128 MiB); the benchmark's train steps at the batch of each
# model's training.
PLAN="ops all f32
ops all f64
numerics mlp 8
numerics cnn 8
numerics resnet 8
numerics vit 8
numerics gpt 8
numerics bert 8
numerics lstm 8
train cnn 128
bandwidth rows 8192
bench cnn 128
bench resnet 64
bench vit 64
bench gpt 32"

prepare() {
  rm -rf "$DIR" && mkdir -p "$DIR"
  echo "$PLAN" >"$DIR/models.txt"
  echo "$PLAN" | while read -r kind model batch; do
    case $kind in
    ops)
      /usr/bin/python3 tests/gpu/ops_module.py "$batch" "$DIR/ops_$batch.mlir"
      "$KILNC" "$DIR/ops_$batch.mlir" --target=cuda --emit=so \
        -o "$DIR/ops_$batch.so"
      rm "$DIR/ops_$batch.mlir" ;;
    numerics)
      "$KILNC" --model="$model" --batch="$batch" --target=cuda --emit=so \
        --entries=forward,loss,grad -o "$DIR/$model.so" ;;
    bandwidth)
      /usr/bin/python3 tests/gpu/bandwidth_module.py "$batch" 4096 \
        >"$DIR/bandwidth.mlir"
      "$KILNC" "$DIR/bandwidth.mlir" --target=cuda --emit=so \
        -o "$DIR/bandwidth.so"
      rm "$DIR/bandwidth.mlir" ;;
    bench)
      "$KILNC" --model="$model" --batch="$batch" --target=cuda --emit=so \
        --entries=train_step,forward -o "$DIR/bench_$model.so" ;;
    esac
  done
  # A third of Fashion-MNIST's training images for the training run, the
  # test set whole.
  /usr/bin/python3 - "$DATA" "$DIR" <<'PY'
import gzip, sys
import numpy as np
data, out = sys.argv[1], sys.argv[2]
def idx(name):
    raw = gzip.open(f"{data}/{name}", "rb").read()
    dims = raw[3]
    shape = [int.from_bytes(raw[4 + 4 * i:8 + 4 * i], "big") for i in range(dims)]
    return np.frombuffer(raw, np.uint8, offset=4 + 4 * dims).reshape(shape)
np.savez_compressed(f"{out}/fashion_train.npz",
                    x=idx("train-images-idx3-ubyte.gz")[:20000],
                    y=idx("train-labels-idx1-ubyte.gz")[:20000])
PY
  cp "$DATA/t10k-images-idx3-ubyte.gz" "$DATA/t10k-labels-idx1-ubyte.gz" "$DIR/"
  echo "prepared $DIR: $(du -sm "$DIR" | cut -f1) MiB"
}

run() {
  python3 tests/gpu/gpu_check.py "$DIR"
}

case $mode in
prepare) prepare ;;
run) run ;;
all) prepare && run ;;
esac
