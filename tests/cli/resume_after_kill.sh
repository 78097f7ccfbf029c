#!/usr/bin/env bash
# Kills `ras train` (SIGKILL) mid-epoch, resumes it with --resume, and checks that the final model
# equals, byte for byte, the one of an uninterrupted run with the same settings.
#   resume_after_kill.sh RAS_BINARY SHARED_DIR WORK_DIR
set -euo pipefail
ras=$1; shared=$2; work=$3
weights="$shared/weights/mobilenet_v2_imagenet.safetensors"
[ -f "$weights" ] || { echo "missing $weights (the shared folder is required)"; exit 1; }
rm -rf "$work"; mkdir -p "$work/data/parts/train" "$work/data/parts/normal" "$work/data/parts/anomalous"
# A small plain-folder dataset from the shared bottle images.
i=0
for f in "$shared"/data/mvtec_bottle/train/good/00{0..9}.png; do cp "$f" "$work/data/parts/train/$i.png"; i=$((i+1)); done
cp "$shared"/data/mvtec_bottle/test/good/000.png "$work/data/parts/normal/"
cp "$shared"/data/mvtec_bottle/test/broken_large/000.png "$work/data/parts/anomalous/"
common=(--data "$work/data/parts" --weights "$weights" --epochs 3 --batch 4 --threads 1 --heatmaps 0
        --decoder-layers 2 --encoder-layers 1 --checkpoint-every 1 --cache "$work/cache")

"$ras" train "${common[@]}" --out "$work/full" > "$work/full.log" 2>&1

# Interrupted run: kill as soon as the first mid-epoch checkpoint exists.
"$ras" train "${common[@]}" --out "$work/killed" > "$work/killed.log" 2>&1 &
pid=$!
for _ in $(seq 1 600); do
  [ -f "$work/killed/checkpoint.safetensors" ] && break
  sleep 0.1
done
kill -9 "$pid" 2>/dev/null || true
wait "$pid" 2>/dev/null || true
[ -f "$work/killed/checkpoint.safetensors" ] || { echo "no checkpoint was written"; cat "$work/killed.log"; exit 1; }
[ ! -f "$work/killed/model.safetensors" ] || { echo "the run finished before it could be killed"; exit 1; }
"$ras" train "${common[@]}" --out "$work/killed" --resume > "$work/resumed.log" 2>&1
grep -q "resuming at epoch" "$work/resumed.log" || { echo "resume did not report where it continued"; exit 1; }
if cmp -s "$work/full/model.safetensors" "$work/killed/model.safetensors"; then
  echo "resume after SIGKILL: final model identical to the uninterrupted run"
else
  echo "resume after SIGKILL: final models differ"; exit 1
fi
