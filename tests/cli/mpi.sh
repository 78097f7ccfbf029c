#!/usr/bin/env bash
# The MPI layer end to end with the real `ras` binary (RAS_WITH_MPI builds), loopback only:
#  1. ras train over 2 ranks (features sharded into a fresh cache) gives byte for byte the model and
#     the metrics of one process; ras eval and ras features over ranks give the one-process output.
#  2. A rank killed (SIGKILL) mid-run ends the job: mpirun exits non-zero within seconds, the other
#     rank says why, the checkpoint stays valid and one process resumes it to the uninterrupted model.
#  3. A one-process run killed mid-run resumes over 3 ranks (one of them without micro-batches in
#     the short last batch) to the same model.
#  4. SIGUSR1 to mpirun stops training on every rank at the same step with a checkpoint.
#   mpi.sh RAS_BINARY SHARED_DIR WORK_DIR MPIRUN
set -euo pipefail
ras=$1; shared=$2; work=$3; mpirun=$4
mpi() { local n=$1; shift; "$mpirun" --allow-run-as-root --oversubscribe -np "$n" "$@"; }
# in the background: mpirun itself (not a subshell) must be $!
mpi_args=(--allow-run-as-root --oversubscribe -np 2)
weights="$shared/weights/mobilenet_v2_imagenet.safetensors"
[ -f "$weights" ] || { echo "missing $weights (the shared folder is required)"; exit 1; }
rm -rf "$work"; mkdir -p "$work/data/parts/train" "$work/data/parts/normal" "$work/data/parts/anomalous"
i=0
for f in "$shared"/data/mvtec_bottle/train/good/0{00..19}.png; do cp "$f" "$work/data/parts/train/$i.png"; i=$((i+1)); done
cp "$shared"/data/mvtec_bottle/test/good/00{0,1,2}.png "$work/data/parts/normal/"
cp "$shared"/data/mvtec_bottle/test/broken_large/00{0,1}.png "$work/data/parts/anomalous/"
# 20 images, batch 16: steps of 2 micro-batches (8 + 8) and 1 (4); 5 test images: map chunks 4 + 1.
# One thread per process: the pixel metrics depend on the thread count (not on the ranks).
base=(--data "$work/data/parts" --weights "$weights" --batch 16 --threads 1 --heatmaps 0
      --report-heatmaps 0 --decoder-layers 2 --encoder-layers 1 --checkpoint-every 1)
common=("${base[@]}" --epochs 2)
fail() { echo "FAIL: $*"; exit 1; }
same_metrics() { cmp -s <(grep -v train_wall_seconds "$1") <(grep -v train_wall_seconds "$2"); }

# 1. 2 ranks vs one process
"$ras" train "${common[@]}" --cache "$work/cache1" --out "$work/one" > "$work/one.log" 2>&1 || { cat "$work/one.log"; fail "one-process training"; }
mpi 2 "$ras" train "${common[@]}" --cache "$work/cache2" --out "$work/two" > "$work/two.log" 2>&1 || { cat "$work/two.log"; fail "2-rank training"; }
[ "$(ls "$work"/cache2/*/ | wc -l)" = 25 ] || fail "the 2 ranks did not fill the feature cache with 25 entries"
cmp "$work/one/model.safetensors" "$work/two/model.safetensors" || fail "2 ranks and one process trained different models"
same_metrics "$work/one/metrics.json" "$work/two/metrics.json" || fail "2 ranks and one process report different metrics"
[ "$(grep -c "^class parts" "$work/two.log")" = 1 ] || fail "rank 1 printed to standard output too"
echo "ok: 2 ranks train byte for byte the model and metrics of one process"
"$ras" eval --model "$work/one" --data "$work/data/parts" --threads 1 --json "$work/eval1.json" > /dev/null 2>&1 || fail "ras eval"
mpi 2 "$ras" eval --model "$work/one" --data "$work/data/parts" --threads 1 --json "$work/eval2.json" > "$work/eval2.log" 2>&1 || { cat "$work/eval2.log"; fail "ras eval over 2 ranks"; }
cmp "$work/eval1.json" "$work/eval2.json" || fail "ras eval over 2 ranks gives other metrics"
"$ras" features --weights "$weights" --threads 1 --out "$work/f1.npy" "$work/data/parts/train" > /dev/null 2>&1 || fail "ras features"
mpi 3 "$ras" features --weights "$weights" --threads 1 --out "$work/f3.npy" "$work/data/parts/train" > "$work/f3.log" 2>&1 || { cat "$work/f3.log"; fail "ras features over 3 ranks"; }
cmp "$work/f1.npy" "$work/f3.npy" || fail "ras features over 3 ranks gives other features"
echo "ok: ras eval over 2 ranks and ras features over 3 ranks equal one process"

# 2. kill rank 1 as soon as the first checkpoint exists
wait_for_checkpoint() { for _ in $(seq 1 600); do [ -f "$1/checkpoint.safetensors" ] && return 0; sleep 0.1; done; return 1; }
"$mpirun" "${mpi_args[@]}" "$ras" train "${common[@]}" --cache "$work/cache2" --out "$work/killed" > "$work/killed.log" 2>&1 &
mpirun_pid=$!
wait_for_checkpoint "$work/killed" || { cat "$work/killed.log"; fail "no checkpoint was written"; }
victim=""
for p in $(ps -o pid= --ppid "$mpirun_pid"); do
  grep -qz '^OMPI_COMM_WORLD_RANK=1$' "/proc/$p/environ" 2>/dev/null && victim=$p
done
[ -n "$victim" ] || fail "rank 1 not found among the children of mpirun"
kill -9 "$victim"
t0=$(date +%s)
# mpirun must end the job by itself: a watchdog kills it after 60 s (a hang)
( sleep 60; kill -9 "$mpirun_pid" 2>/dev/null ) & watchdog=$!
rc=0; wait "$mpirun_pid" || rc=$?
kill "$watchdog" 2>/dev/null || true
elapsed=$(( $(date +%s) - t0 ))
[ "$elapsed" -lt 60 ] || { cat "$work/killed.log"; fail "mpirun hung after a rank was killed"; }
[ "$rc" != 0 ] || fail "mpirun exited 0 after a rank was killed"
[ ! -f "$work/killed/model.safetensors" ] || fail "the run finished before rank 1 could be killed"
grep -q "exited on signal 9" "$work/killed.log" || { cat "$work/killed.log"; fail "mpirun did not say which rank died"; }
grep -q "rank 0 of 2: terminated by SIGTERM" "$work/killed.log" || { cat "$work/killed.log"; fail "rank 0 did not say why it ended"; }
echo "ok: killing rank 1 ended the job in ${elapsed} s (exit $rc) with a clear message"
"$ras" train "${common[@]}" --cache "$work/cache2" --out "$work/killed" --resume > "$work/resumed1.log" 2>&1 || { cat "$work/resumed1.log"; fail "resume in one process"; }
grep -q "resuming at epoch" "$work/resumed1.log" || fail "resume did not report where it continued"
cmp "$work/one/model.safetensors" "$work/killed/model.safetensors" || fail "2-rank checkpoint resumed in one process: other model"
echo "ok: the 2-rank checkpoint resumed in one process gives the uninterrupted model"

# 3. one process killed, resumed over 3 ranks
"$ras" train "${common[@]}" --cache "$work/cache1" --out "$work/killed1" > "$work/killed1.log" 2>&1 &
pid=$!
wait_for_checkpoint "$work/killed1" || { cat "$work/killed1.log"; fail "no checkpoint was written"; }
kill -9 "$pid"; wait "$pid" 2>/dev/null || true
[ ! -f "$work/killed1/model.safetensors" ] || fail "the one-process run finished before it could be killed"
mpi 3 "$ras" train "${common[@]}" --cache "$work/cache1" --out "$work/killed1" --resume > "$work/resumed3.log" 2>&1 || { cat "$work/resumed3.log"; fail "resume over 3 ranks"; }
cmp "$work/one/model.safetensors" "$work/killed1/model.safetensors" || fail "one-process checkpoint resumed over 3 ranks: other model"
echo "ok: a one-process checkpoint resumed over 3 ranks gives the uninterrupted model"

# 4. SIGUSR1 (passed on by mpirun to every rank): a clean stop with a checkpoint, then resume
"$mpirun" "${mpi_args[@]}" "$ras" train "${base[@]}" --epochs 50 --cache "$work/cache2" --out "$work/stopped" > "$work/stopped.log" 2>&1 &
mpirun_pid=$!
wait_for_checkpoint "$work/stopped" || { cat "$work/stopped.log"; fail "no checkpoint was written"; }
kill -USR1 "$mpirun_pid"
( sleep 60; kill -9 "$mpirun_pid" 2>/dev/null ) & watchdog=$!
rc=0; wait "$mpirun_pid" || rc=$?
kill "$watchdog" 2>/dev/null || true
[ "$rc" != 0 ] || fail "a run stopped by SIGUSR1 exited 0"
grep -q "stopped by SIGUSR1" "$work/stopped.log" || { cat "$work/stopped.log"; fail "no stop message after SIGUSR1"; }
echo "ok: SIGUSR1 stopped every rank at a step boundary with a checkpoint"
echo "all MPI checks passed"
