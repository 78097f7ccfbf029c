#!/usr/bin/env bash
# The README's main job: installs the dependencies, builds ras (Release), then trains ONE unified RAS
# model on ../shared/data/mvtec_bottle and ../shared/data/mpdd_metal_plate with the shared
# ImageNet MobileNetV2, evaluates it on both test sets (metrics table, metrics.json/.md) and writes
# heatmap overlays. Output folder: runs/main (override with RAS_RUN=...; epochs with RAS_EPOCHS=...).
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/install-deps.sh
shared=$(cd .. && pwd)/shared
if [ ! -d "$shared/data" ] || [ ! -f "$shared/weights/mobilenet_v2_imagenet.safetensors" ]; then
  echo "error: the shared folder is missing: expected $shared/data and $shared/weights (next to this repository)" >&2
  exit 1
fi
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release
cmake --build build -j "$(nproc)" --target ras_cli
run=${RAS_RUN:-runs/main}
rm -rf "$run"
./build/examples/ras train \
  --data "$shared/data/mvtec_bottle" --data "$shared/data/mpdd_metal_plate" \
  --backbone mobilenet_v2 --weights "$shared/weights/mobilenet_v2_imagenet.safetensors" \
  --epochs "${RAS_EPOCHS:-30}" --out "$run"
