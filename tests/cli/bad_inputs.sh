#!/usr/bin/env bash
# The bad-input catalogue: hostile weights, checkpoints, models, images, datasets, flags, a full disk
# (ulimit -f), a full standard output and SIGINT/SIGTERM during training, each driven through the
# real `ras` program under a timeout. Every case must end with exit code 1 or 2 and a line that says
# "error" (or "stopped by SIG...") and names the file or flag; never a signal, a hang, an
# "unexpected error", or a changed earlier output. Also checks that an interrupted run resumes to
# the same weights as an uninterrupted one.
#   bad_inputs.sh RAS_BINARY SHARED_DIR WORK_DIR
set -uo pipefail
ras=$1; shared=$2; work=$3
here=$(cd "$(dirname "$0")" && pwd)
weights="$shared/weights/mobilenet_v2_imagenet.safetensors"
[ -f "$weights" ] || { echo "missing $weights (the shared folder is required)"; exit 1; }
rm -rf "$work"; mkdir -p "$work"
cd "$work"
fails=0; cases=0

# ---- fixtures: a tiny plain-folder dataset, one trained run ------------------------------------
bottle="$shared/data/mvtec_bottle"
mkdir -p data/parts/train data/parts/normal data/parts/anomalous data/parts/masks
for i in 0 1 2 3 4 5; do cp "$bottle/train/good/00$i.png" "data/parts/train/$i.png"; done
cp "$bottle/test/good/000.png" data/parts/normal/n0.png
cp "$bottle/test/broken_large/000.png" data/parts/anomalous/a0.png
cp "$bottle/ground_truth/broken_large/000_mask.png" data/parts/masks/a0_mask.png
tiny=(--weights "$weights" --threads 1 --heatmaps 0 --encoder-layers 1 --decoder-layers 1 --batch 4)
if ! timeout 300 "$ras" train --data data/parts "${tiny[@]}" --epochs 1 --out run --cache cache > setup.log 2>&1; then
  echo "setup: training the reference run failed"; cat setup.log; exit 1
fi
img=data/parts/normal/n0.png

# Python helpers (standard library only): rewrite a safetensors file's metadata, poison a float.
cat > st.py <<'EOF'
import json, struct, sys
def load(p):
    b = open(p, 'rb').read(); n = struct.unpack('<Q', b[:8])[0]
    return json.loads(b[8:8 + n]), b[8 + n:]
def save(p, h, data):
    s = json.dumps(h, separators=(',', ':')).encode(); s += b' ' * ((8 - len(s) % 8) % 8)
    open(p, 'wb').write(struct.pack('<Q', len(s)) + s + data)
cmd, src, dst = sys.argv[1:4]
h, data = load(src)
if cmd == 'set':        # set KEY=VALUE ... (VALUE "__delete__" removes KEY)
    for kv in sys.argv[4:]:
        k, v = kv.split('=', 1)
        if v == '__delete__': h['__metadata__'].pop(k, None)
        else: h['__metadata__'][k] = v
    save(dst, h, data)
elif cmd == 'nan':      # NaN into the first element of the first F32 tensor whose name has sys.argv[4]
    k = next(k for k, v in h.items() if k != '__metadata__' and v['dtype'] == 'F32' and sys.argv[4] in k)
    o = h[k]['data_offsets'][0]; data = bytearray(data); data[o:o + 4] = struct.pack('<I', 0x7fc00000)
    save(dst, h, bytes(data))
EOF
st() { python3 st.py "$@"; }

# expect_fail NAME WORDS CMD...: exit 1 or 2, no signal / hang / unexpected error, a line with
# "error" (or "stopped by") that contains WORDS.
expect_fail() {
  local name=$1 words=$2; shift 2
  cases=$((cases + 1))
  local out rc
  out=$(timeout 120 "$@" 2>&1 < /dev/null); rc=$?
  local line
  line=$(printf '%s\n' "$out" | grep -E 'error|stopped by' | grep -F -- "$words" | head -1)
  if [ $rc -ne 1 ] && [ $rc -ne 2 ]; then
    echo "FAIL $name: exit code $rc (expected 1 or 2)"; printf '%s\n' "$out" | tail -5; fails=$((fails + 1)); return
  fi
  if printf '%s\n' "$out" | grep -qiE 'unexpected error|std::|basic_string|stoi|stoll|map::at|Segmentation|Aborted|AddressSanitizer|runtime error'; then
    echo "FAIL $name: leaked an internal error"; printf '%s\n' "$out" | tail -5; fails=$((fails + 1)); return
  fi
  if [ -z "$line" ]; then
    echo "FAIL $name: no error line naming '$words'"; printf '%s\n' "$out" | tail -5; fails=$((fails + 1)); return
  fi
  echo "ok   $name: $line" | cut -c1-220
}
# same_file NAME FILE SUM: FILE still has checksum SUM.
same_file() {
  cases=$((cases + 1))
  if [ "$(md5sum < "$2")" = "$3" ]; then echo "ok   $1: $2 unchanged"; else echo "FAIL $1: $2 was changed"; fails=$((fails + 1)); fi
}

# ---- flags ----------------------------------------------------------------------------------
t=(train --data data/parts --weights "$weights" --out flagrun)
expect_fail "epochs 2^32" "--epochs" "$ras" "${t[@]}" --epochs 4294967296
expect_fail "epochs 0" "--epochs" "$ras" "${t[@]}" --epochs 0
expect_fail "epochs text" "--epochs" "$ras" "${t[@]}" --epochs ten
expect_fail "batch -1" "--batch" "$ras" train --data data/parts --weights "$weights" --batch -1 --out flagrun
expect_fail "neighbor-size -3" "--neighbor-size" "$ras" "${t[@]}" --neighbor-size -3
expect_fail "neighbor-size 99" "--neighbor-size" "$ras" "${t[@]}" --neighbor-size 99
expect_fail "heatmaps -1" "--heatmaps" "$ras" "${t[@]}" --heatmaps -1
expect_fail "threads 2^32+1" "--threads" "$ras" "${t[@]}" --threads 4294967297
expect_fail "threads 0" "--threads" "$ras" "${t[@]}" --threads 0
expect_fail "lr nan" "--lr" "$ras" "${t[@]}" --lr nan
expect_fail "jitter inf" "--jitter" "$ras" "${t[@]}" --jitter inf
expect_fail "encoder-layers 10^6" "--encoder-layers" "$ras" "${t[@]}" --encoder-layers 1000000
expect_fail "decoder-layers 0" "--decoder-layers" "$ras" "${t[@]}" --decoder-layers 0
expect_fail "seed -1" "--seed" "$ras" "${t[@]}" --seed -1
expect_fail "unknown flag" "--frobnicate" "$ras" "${t[@]}" --frobnicate 3
expect_fail "missing value" "--epochs" "$ras" "${t[@]}" --epochs
expect_fail "best-on-test without eval" "--eval-every" "$ras" "${t[@]}" --select best-on-test
expect_fail "classify top -1" "--top" "$ras" classify --weights "$weights" --top -1 "$img"
expect_fail "classify top 5000" "--top" "$ras" classify --weights "$weights" --top 5000 "$img"
expect_fail "score threshold nan" "--threshold" "$ras" score --model run --threshold nan "$img"
expect_fail "eval heatmaps-per-class -1" "--heatmaps-per-class" "$ras" eval --model run --data data/parts --heatmaps-per-class -1
expect_fail "train --out exists" "checkpoint.safetensors" "$ras" train --data data/parts "${tiny[@]}" --epochs 1 --out run
[ -d flagrun ] && { echo "FAIL flags: a refused command created its run folder"; fails=$((fails + 1)); }

# ---- backbone weights -----------------------------------------------------------------------
: > empty.safetensors
head -c 5000 /dev/urandom > noise.safetensors
head -c 100000 "$weights" > cut.safetensors
st nan "$weights" nan_weights.safetensors .
w=(train --data data/parts --threads 1 --epochs 1 --out wrun)
expect_fail "weights missing" "nope.safetensors" "$ras" "${w[@]}" --weights nope.safetensors
expect_fail "weights empty" "empty.safetensors" "$ras" "${w[@]}" --weights empty.safetensors
expect_fail "weights noise" "noise.safetensors" "$ras" "${w[@]}" --weights noise.safetensors
expect_fail "weights truncated" "cut.safetensors" "$ras" "${w[@]}" --weights cut.safetensors
expect_fail "weights NaN" "non-finite" "$ras" "${w[@]}" --weights nan_weights.safetensors
expect_fail "weights of another model" "run/model.safetensors" "$ras" "${w[@]}" --weights run/model.safetensors
expect_fail "classify NaN weights" "nan_weights.safetensors" "$ras" classify --weights nan_weights.safetensors "$img"

# ---- checkpoints (--resume on a copy of the reference run) ----------------------------------
ckpt_case() {  # ckpt_case NAME WORDS SET-ARGS...
  local name=$1 words=$2; shift 2
  rm -rf ck; mkdir ck; cp run/checkpoint.safetensors ck/
  st set run/checkpoint.safetensors ck/checkpoint.safetensors "$@"
  local sum; sum=$(md5sum < ck/checkpoint.safetensors)
  expect_fail "checkpoint $name" "$words" "$ras" train --data data/parts "${tiny[@]}" --epochs 2 --cache cache --out ck --resume
  same_file "checkpoint $name kept" ck/checkpoint.safetensors "$sum"
}
ckpt_case "negative step" "train.step_in_epoch" train.step_in_epoch=-1
ckpt_case "negative epoch" "train.epoch" train.epoch=-5
ckpt_case "epoch text" "train.epoch" train.epoch=abc
ckpt_case "epoch huge" "train.epoch" train.epoch=99999999999999999999
ckpt_case "batch 1e3" "train.batch_size" train.batch_size=1e3
ckpt_case "rng zero" "train.rng" "train.rng=0 0 0 0"
ckpt_case "history garbage" "train.history" "train.history=x:y:z;"
ckpt_case "loss nan" "train.loss_sum" train.loss_sum=nan
ckpt_case "no format" "format" format=__delete__
ckpt_case "hidden -1" "ras.hidden" ras.hidden=-1
rm -rf ck; mkdir ck; st nan run/checkpoint.safetensors ck/checkpoint.safetensors reconstruction
expect_fail "checkpoint NaN weight" "non-finite" "$ras" train --data data/parts "${tiny[@]}" --epochs 2 --cache cache --out ck --resume
rm -rf ck; mkdir ck; head -c 3000 run/checkpoint.safetensors > ck/checkpoint.safetensors
expect_fail "checkpoint truncated" "checkpoint.safetensors" "$ras" train --data data/parts "${tiny[@]}" --epochs 2 --cache cache --out ck --resume

# ---- models (ras score / eval) --------------------------------------------------------------
st set run/model.safetensors m_nobackbone.safetensors backbone.name=__delete__
st set run/model.safetensors m_channels.safetensors ras.channels=abc
st set run/model.safetensors m_huge.safetensors ras.hidden=16384 ras.ffn=65536 ras.heads=8
st nan run/model.safetensors m_nan.safetensors reconstruction
mkdir -p emptydir
expect_fail "model without backbone.name" "backbone.name" "$ras" score --model m_nobackbone.safetensors "$img"
expect_fail "model channels text" "ras.channels" "$ras" score --model m_channels.safetensors "$img"
expect_fail "model forged size" "m_huge.safetensors" "$ras" score --model m_huge.safetensors "$img"
expect_fail "model NaN weight" "non-finite" "$ras" score --model m_nan.safetensors --threshold 1 "$img"
expect_fail "model noise" "noise.safetensors" "$ras" score --model noise.safetensors "$img"
expect_fail "model folder without model" "emptydir" "$ras" score --model emptydir "$img"
expect_fail "eval NaN model" "non-finite" "$ras" eval --model m_nan.safetensors --data data/parts

# ---- images ---------------------------------------------------------------------------------
printf 'P5\n8192 8192\n65535\n' > big16.pgm; head -c 64 /dev/zero >> big16.pgm
head -c 20000 "$img" > cut.png
jpg=$here/../fixtures/images/photo.jpg
head -c 500 "$jpg" > cut.jpg
echo "not an image" > text.png
: > empty.png
python3 - "$img" "$jpg" <<'EOF'
import struct, sys, zlib
png = open(sys.argv[1], 'rb').read()
ihdr = bytearray(png[12:29]); ihdr[4:12] = struct.pack('>II', 100000, 100000)
open('huge.png', 'wb').write(png[:12] + bytes(ihdr) + struct.pack('>I', zlib.crc32(bytes(ihdr))) + png[33:])
jpg = bytearray(open(sys.argv[2], 'rb').read())
i = jpg.index(b'\xff\xc4')                 # first DHT: counts summing past 256 (the stb_image crash)
for k in range(16): jpg[i + 5 + k] = 0xff
open('dht.jpg', 'wb').write(bytes(jpg))
bmp = bytearray(54 + 1024 + 64); bmp[0:2] = b'BM'
struct.pack_into('<IIiiHHI', bmp, 10, 54 + 1024, 40, 8, 8, 1, 8, 1)   # 8x8, 8-bit, BI_RLE8
open('rle.bmp', 'wb').write(bytes(bmp))
EOF
expect_fail "PGM 16-bit 8192^2 claim" "big16.pgm" "$ras" score --model run big16.pgm
expect_fail "PNG truncated" "cut.png" "$ras" score --model run cut.png
expect_fail "JPEG truncated" "cut.jpg" "$ras" score --model run cut.jpg
expect_fail "JPEG bad Huffman table" "dht.jpg" "$ras" score --model run dht.jpg
expect_fail "text as PNG" "text.png" "$ras" score --model run text.png
expect_fail "empty PNG" "empty.png" "$ras" score --model run empty.png
expect_fail "PNG 100000^2 claim" "huge.png" "$ras" score --model run huge.png
expect_fail "BMP RLE" "rle.bmp" "$ras" score --model run rle.bmp
expect_fail "image missing" "missing.png" "$ras" score --model run missing.png
expect_fail "classify truncated JPEG" "cut.jpg" "$ras" classify --weights "$weights" cut.jpg

# ---- datasets -------------------------------------------------------------------------------
mkdir -p ds/empty/train ds/empty/normal
mkdir -p ds/twomasks/train ds/twomasks/normal ds/twomasks/anomalous ds/twomasks/masks
cp "$img" ds/twomasks/train/t.png; cp "$img" ds/twomasks/normal/n.png; cp "$img" ds/twomasks/anomalous/a.png
cp data/parts/masks/a0_mask.png ds/twomasks/masks/a_mask.png; cp data/parts/masks/a0_mask.png ds/twomasks/masks/a.png
mkdir -p ds/badimg/train ds/badimg/normal; cp "$img" ds/badimg/train/ok.png; cp cut.png ds/badimg/train/bad.png; cp "$img" ds/badimg/normal/n.png
d=(train --weights "$weights" --threads 1 --epochs 1 --heatmaps 0)
expect_fail "dataset missing" "no_such_class" "$ras" "${d[@]}" --data ds/no_such_class --out drun
expect_fail "dataset without images" "ds/empty" "$ras" "${d[@]}" --data ds/empty --out drun
expect_fail "dataset two masks" "a_mask.png" "$ras" "${d[@]}" --data ds/twomasks --out drun2
expect_fail "dataset corrupt image" "bad.png" "$ras" "${d[@]}" --data ds/badimg --out drun3
expect_fail "dataset bad layout" "bogus" "$ras" "${d[@]}" --data data/parts --layout bogus --out drun4
expect_fail "eval dataset missing" "no_such_class" "$ras" eval --model run --data ds/no_such_class

# ---- writes: full disk (ulimit -f), unwritable paths, full stdout -----------------------------
echo '{"earlier": "metrics"}' > earlier.json; sum=$(md5sum < earlier.json)
expect_fail "eval --json, file-size limit 0" "earlier.json" bash -c "ulimit -f 0; exec \"\$0\" eval --model run --data data/parts --json earlier.json" "$ras"
same_file "eval --json earlier output kept" earlier.json "$sum"
echo '# earlier' > earlier.md; sum=$(md5sum < earlier.md)
expect_fail "eval --markdown, file-size limit 0" "earlier.md" bash -c "ulimit -f 0; exec \"\$0\" eval --model run --data data/parts --markdown earlier.md" "$ras"
same_file "eval --markdown earlier output kept" earlier.md "$sum"
expect_fail "train, file-size limit 8 KiB" "cannot write" bash -c "ulimit -f 8; exec \"\$0\" train --data data/parts --weights \"\$1\" --threads 1 --epochs 1 --heatmaps 0 --out fullrun" "$ras" "$weights"
echo x > notadir
expect_fail "eval --json under a file" "notadir" "$ras" eval --model run --data data/parts --json notadir/m.json
expect_fail "score to a full stdout" "standard output" bash -c "exec \"\$0\" score --model run \"\$1\" > /dev/full" "$ras" "$img"
expect_fail "score --raw-maps under a file" "notadir" "$ras" score --model run --raw-maps notadir/maps "$img"
[ -z "$(ls fullrun 2>/dev/null | grep -E '\.tmp-')" ] || { echo "FAIL full disk: temporary files left in fullrun"; fails=$((fails + 1)); }

# ---- non-finite cached features are recomputed, never scored as normal -------------------------
cases=$((cases + 1))
python3 - cache <<'EOF'
import os, struct, sys
for root, _, files in os.walk(sys.argv[1]):
    for f in files:
        if f.endswith('.npy'):
            p = os.path.join(root, f); b = bytearray(open(p, 'rb').read())
            b[-4:] = struct.pack('<I', 0x7fc00000); open(p, 'wb').write(bytes(b))
EOF
out=$(timeout 120 "$ras" score --model run --cache cache --threshold 1e9 "$img" 2>&1); rc=$?
if [ $rc -eq 0 ] && printf '%s\n' "$out" | grep -q ',normal$' && ! printf '%s\n' "$out" | grep -qi 'nan'; then
  echo "ok   NaN feature cache: recomputed, finite score"
else
  echo "FAIL NaN feature cache: rc $rc"; printf '%s\n' "$out" | tail -3; fails=$((fails + 1))
fi

# ---- --device cuda where it cannot run: exit 1 and exactly one line ("CUDA was not compiled in" in
# a CPU-only build, "no CUDA device found" in a CUDA build without a GPU); skipped where a GPU is.
# expect_no_cuda NAME CMD...
expect_no_cuda() {
  local name=$1; shift
  cases=$((cases + 1))
  local out rc
  out=$(timeout 120 "$@" --device cuda 2>&1 < /dev/null); rc=$?
  if [ $rc -eq 1 ] && [ "$(printf '%s\n' "$out" | wc -l)" -eq 1 ] &&
     printf '%s\n' "$out" | grep -qE '^ras: (CUDA was not compiled in|no CUDA device found)'; then
    echo "ok   $name --device cuda: $out"
  else
    echo "FAIL $name --device cuda: exit code $rc, expected 1 and one line"; printf '%s\n' "$out" | tail -5
    fails=$((fails + 1))
  fi
}
if command -v nvidia-smi > /dev/null && nvidia-smi -L > /dev/null 2>&1; then
  echo "skip --device cuda checks: this machine has a GPU"
else
  expect_no_cuda features "$ras" features --weights "$weights" --out cuda.npy "$img"
  expect_no_cuda score "$ras" score --model run "$img"
  expect_no_cuda eval "$ras" eval --model run --data data/parts
  expect_no_cuda train "$ras" train --data data/parts "${tiny[@]}" --epochs 1 --out cudarun
fi

# ---- SIGINT / SIGTERM during training, then --resume == uninterrupted ---------------------------
long=(--data data/parts --weights "$weights" --threads 1 --heatmaps 0 --epochs 4 --batch 2 --checkpoint-every 1 --cache cache)
timeout 600 "$ras" train "${long[@]}" --out full > full.log 2>&1 || { echo "FAIL uninterrupted run"; tail -5 full.log; fails=$((fails + 1)); }
for sig in INT TERM; do
  cases=$((cases + 1))
  rm -rf "int$sig"
  "$ras" train "${long[@]}" --out "int$sig" > "int$sig.log" 2>&1 &
  pid=$!
  for _ in $(seq 1 1200); do [ -f "int$sig/checkpoint.safetensors" ] && break; sleep 0.05; done
  kill -s "$sig" "$pid" 2>/dev/null
  wait "$pid"; rc=$?
  if [ $rc -eq 0 ] && [ -f "int$sig/model.safetensors" ]; then
    echo "FAIL SIG$sig: the run finished before the signal arrived (inconclusive)"; fails=$((fails + 1)); continue
  fi
  if [ $rc -ne 1 ] || ! grep -q "stopped by SIG$sig" "int$sig.log"; then
    echo "FAIL SIG$sig: exit code $rc"; tail -3 "int$sig.log"; fails=$((fails + 1)); continue
  fi
  echo "ok   SIG$sig: $(grep "stopped by" "int$sig.log" | cut -c1-160)"
  cases=$((cases + 1))
  timeout 600 "$ras" train "${long[@]}" --out "int$sig" --resume > "res$sig.log" 2>&1
  if cmp -s full/model.safetensors "int$sig/model.safetensors"; then
    echo "ok   SIG$sig + --resume: final model identical to the uninterrupted run"
  else
    echo "FAIL SIG$sig + --resume: final models differ"; tail -3 "res$sig.log"; fails=$((fails + 1))
  fi
done

echo "bad_inputs: $cases checks, $fails failed"
[ $fails -eq 0 ]
