#!/usr/bin/env bash
# Fixture of the report tests: a small plain-folder dataset from the shared bottle images (10 train,
# 4 normal + 4 anomalous test images with masks) and a 2-epoch `ras train` run on it with
# --eval-every 1, which writes WORK/run/report.html (with the training log and test AUROC curves).
#   make_run.sh RAS_BINARY SHARED_DIR WORK_DIR
set -euo pipefail
ras=$1; shared=$2; work=$3
weights="$shared/weights/mobilenet_v2_imagenet.safetensors"
[ -f "$weights" ] || { echo "missing $weights (the shared folder is required)"; exit 1; }
rm -rf "$work"; mkdir -p "$work/data/parts/train" "$work/data/parts/normal" "$work/data/parts/anomalous" "$work/data/parts/masks"
b="$shared/data/mvtec_bottle"
for i in 0 1 2 3 4 5 6 7 8 9; do cp "$b/train/good/00$i.png" "$work/data/parts/train/t$i.png"; done
for i in 0 1 2 3; do
  cp "$b/test/good/00$i.png" "$work/data/parts/normal/n$i.png"
  cp "$b/test/broken_large/00$i.png" "$work/data/parts/anomalous/a$i.png"
  cp "$b/ground_truth/broken_large/00${i}_mask.png" "$work/data/parts/masks/a${i}_mask.png"
done
"$ras" train --data "$work/data/parts" --weights "$weights" --epochs 2 --eval-every 1 --batch 4 --threads 2 \
  --heatmaps 0 --report-heatmaps 4 --decoder-layers 2 --encoder-layers 1 --cache "$work/cache" --out "$work/run" \
  > "$work/train.log" 2>&1 || { cat "$work/train.log"; exit 1; }
[ -s "$work/run/report.html" ] || { echo "ras train wrote no $work/run/report.html"; cat "$work/train.log"; exit 1; }
grep -q "^report: $work/run/report.html" "$work/train.log" || { echo "ras train did not announce the report"; exit 1; }
echo "fixture: $work/run (report $(stat -c %s "$work/run/report.html") bytes)"
