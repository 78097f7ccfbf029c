#!/usr/bin/env bash
# Calibration kept with the model, end to end on the report fixture's run: `ras score` before
# calibration prints path,score; `ras calibrate` (F1-max on the fixture's labelled images, then the
# normal-only quantile) rewrites model.safetensors; `ras score` then prints
# path,score,normalised,label with the stored threshold, --threshold overrides it; a damaged
# calibration field is refused with a clear error; the xtensor example gives the same score.
#   calibrate_score.sh RAS_BINARY XTENSOR_EXAMPLE WORK_DIR
set -euo pipefail
ras=$1; xtex=$2; work=$3
run="$work/run"; data="$work/data/parts"
cp "$run/model.safetensors" "$work/model-uncalibrated.safetensors"
fail=0
"$ras" score --model "$work/model-uncalibrated.safetensors" "$data/normal/n0.png" > "$work/s0.csv" 2> "$work/s0.err"
[ "$(head -1 "$work/s0.csv")" = "path,score" ] || { echo "FAIL: uncalibrated header: $(head -1 "$work/s0.csv")"; fail=1; }
grep -q "not calibrated" "$work/s0.err" || { echo "FAIL: no note that the model is not calibrated"; fail=1; }

"$ras" calibrate --model "$run" --data "$data" > "$work/cal.log" 2>&1 || { cat "$work/cal.log"; exit 1; }
grep -q "image threshold .*f1-max" "$work/cal.log" || { echo "FAIL: F1-max calibration not reported"; cat "$work/cal.log"; fail=1; }
"$ras" score --model "$run" "$data/normal" "$data/anomalous" > "$work/s1.csv"
[ "$(head -1 "$work/s1.csv")" = "path,score,normalised,label" ] || { echo "FAIL: calibrated header: $(head -1 "$work/s1.csv")"; fail=1; }
[ "$(tail -n +2 "$work/s1.csv" | wc -l)" -eq 8 ] || { echo "FAIL: expected 8 rows"; fail=1; }
# normalised in [0, 1], > 0.5 exactly for the rows labelled anomalous
awk -F, 'NR > 1 { if ($3 < 0 || $3 > 1 || (($3 > 0.5) != ($4 == "anomalous"))) { print "FAIL: row " NR ": " $0; bad = 1 } }
         END { exit bad }' "$work/s1.csv" || fail=1
"$ras" score --model "$run" --threshold -1 "$data/normal/n0.png" > "$work/s2.csv"
[ "$(tail -1 "$work/s2.csv" | cut -d, -f4)" = "anomalous" ] || { echo "FAIL: --threshold -1 did not label anomalous"; fail=1; }
"$ras" score --model "$run" --threshold 1e9 "$data/anomalous/a0.png" > "$work/s3.csv"
[ "$(tail -1 "$work/s3.csv" | cut -d, -f4)" = "normal" ] || { echo "FAIL: --threshold 1e9 did not label normal"; fail=1; }
"$ras" score --model "$run" --scale calibrated --maps "$work/maps" "$data/anomalous/a0.png" > /dev/null 2> "$work/s4.err"
grep -q "calibrated" "$work/s4.err" && [ -s "$work/maps/a0_0.png" ] || { echo "FAIL: --scale calibrated wrote no map"; fail=1; }

# normal images only: the quantile threshold
"$ras" calibrate --model "$run" --normal "$data/normal" --quantile 0.9 > "$work/cal2.log" 2>&1 || { cat "$work/cal2.log"; exit 1; }
grep -q "quantile 0.9 of 4 normal image scores" "$work/cal2.log" || { echo "FAIL: quantile calibration not reported"; cat "$work/cal2.log"; fail=1; }

# a damaged field (same length, so the header stays valid): clear error naming the key
python3 - "$run/model.safetensors" "$work/bad.safetensors" <<'PY'
import json, struct, sys
raw = open(sys.argv[1], "rb").read()
n = struct.unpack("<Q", raw[:8])[0]
head = json.loads(raw[8:8 + n])
head["__metadata__"]["calibration.image_max"] = "-inf"
h = json.dumps(head).encode()
h += b" " * ((8 - len(h) % 8) % 8)
open(sys.argv[2], "wb").write(struct.pack("<Q", len(h)) + h + raw[8 + n:])
PY
if "$ras" score --model "$work/bad.safetensors" "$data/normal/n0.png" > /dev/null 2> "$work/bad.err"; then
  echo "FAIL: a model with calibration.image_max = -inf was accepted"; fail=1
fi
grep -q "calibration.image_max' must be a finite number but is '-inf'" "$work/bad.err" || { echo "FAIL: unclear error:"; cat "$work/bad.err"; fail=1; }
# ras calibrate replaces a damaged calibration
"$ras" calibrate --model "$work/bad.safetensors" --normal "$data/normal" > "$work/cal3.log" 2>&1 || { echo "FAIL: could not recalibrate"; cat "$work/cal3.log"; fail=1; }
"$ras" score --model "$work/bad.safetensors" "$data/normal/n0.png" > /dev/null || { echo "FAIL: the recalibrated model is refused"; fail=1; }

# the xtensor example: same image, same score as ras score
"$xtex" "$run" "$data/anomalous/a0.png" > "$work/xt.log" || { cat "$work/xt.log"; exit 1; }
grep -q "map 224 x 224 (xtensor)" "$work/xt.log" || { echo "FAIL: xtensor example output:"; cat "$work/xt.log"; fail=1; }
xs=$(sed -n 's/.*score \([0-9.e+-]*\)$/\1/p' "$work/xt.log")
ss=$(tail -1 "$work/s3.csv" | cut -d, -f2)
python3 -c "import sys; a, b = float('$xs'), float('$ss'); sys.exit(0 if abs(a - b) <= 1e-5 * max(1, abs(b)) else 1)" \
  || { echo "FAIL: xtensor example score $xs differs from ras score $ss"; fail=1; }
[ $fail -eq 0 ] && echo "calibration stored and used by ras score; xtensor example score $xs = ras score $ss"
exit $fail
