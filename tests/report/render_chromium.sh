#!/usr/bin/env bash
# The report as a person sees it: headless Chromium loads WORK/run/report.html (made by
# make_run.sh), prints its DOM and renders a PNG screenshot. Fails on any console message or
# network/load error in Chromium's log, on a missing plot or gallery id, on an embedded PNG that
# does not decode to a 224x224 image, or on an empty screenshot. Exits 77 (ctest: skipped) only
# when no chromium binary is installed (apt-get install chromium; scripts/install-deps.sh does it).
#   render_chromium.sh WORK_DIR
set -euo pipefail
work=$1
html="$work/run/report.html"
chrome=$(command -v chromium || command -v chromium-browser || command -v google-chrome || true)
if [ -z "$chrome" ]; then
  echo "SKIP: chromium not found (apt-get install chromium); the report was not rendered"
  exit 77
fi
[ -s "$html" ] || { echo "missing $html (the report_fixture test makes it)"; exit 1; }
out="$work/chromium"; rm -rf "$out"; mkdir -p "$out"
flags=(--headless --no-sandbox --disable-gpu --hide-scrollbars --no-first-run --user-data-dir="$out/profile"
       --enable-logging=stderr --v=0)
timeout 120 "$chrome" "${flags[@]}" --dump-dom "file://$(realpath "$html")" > "$out/dom.html" 2> "$out/dom.log"
timeout 120 "$chrome" "${flags[@]}" --window-size=1400,2400 --screenshot="$out/report.png" \
  "file://$(realpath "$html")" > /dev/null 2> "$out/shot.log"
fail=0
# Console messages (errors, warnings, logs) and failed loads; dbus/GPU chatter of a headless box is not about the page.
if grep -hE 'CONSOLE|Uncaught|net::ERR|Failed to load|Not allowed to load' "$out/dom.log" "$out/shot.log"; then
  echo "FAIL: the page logged console messages or load errors (above)"; fail=1
fi
for id in metrics-table summary-image-roc summary-pixel-roc summary-pro summary-pr train-loss train-auroc \
          c0-image-roc c0-pixel-roc c0-pro c0-pr c0-hist c0-gallery; do
  grep -q "id=\"$id\"" "$out/dom.html" || { echo "FAIL: no element with id=\"$id\" in the rendered DOM"; fail=1; }
done
svgs=$(grep -o '<svg' "$out/dom.html" | wc -l)
imgs=$(grep -o '<img[^>]*src="data:image/png;base64,' "$out/dom.html" | wc -l)
[ "$svgs" -eq 11 ] || { echo "FAIL: expected 11 plots (4 summary, 2 training, 5 class) but the DOM has $svgs"; fail=1; }
[ "$imgs" -eq 4 ] || { echo "FAIL: expected 4 gallery images (--report-heatmaps 4) but the DOM has $imgs"; fail=1; }
grep -q 'src="http\|href="http\|<script' "$html" && { echo "FAIL: the report references the network or has scripts"; fail=1; }
# every embedded PNG decodes: signature and a 224x224 IHDR
python3 - "$html" <<'PY' || fail=1
import base64, re, struct, sys
html = open(sys.argv[1]).read()
pngs = re.findall(r'src="data:image/png;base64,([A-Za-z0-9+/=]+)"', html)
assert pngs, "no embedded PNG"
for i, b in enumerate(pngs):
    d = base64.b64decode(b, validate=True)
    assert d[:8] == b"\x89PNG\r\n\x1a\n", f"image {i}: not a PNG"
    w, h = struct.unpack(">II", d[16:24])
    assert (w, h) == (224, 224), f"image {i}: expected 224x224 but got {w}x{h}"
print(f"{len(pngs)} embedded PNGs decode to 224x224")
PY
size=$(stat -c %s "$out/report.png" 2>/dev/null || echo 0)
[ "$size" -gt 100000 ] || { echo "FAIL: screenshot $out/report.png has $size bytes (blank page?)"; fail=1; }
[ $fail -eq 0 ] && echo "report renders: $svgs plots, $imgs heatmaps, no console errors; screenshot $out/report.png ($size bytes)"
exit $fail
