# benchmarks/torch_blas.sh — sourced by the side-by-side benchmark scripts. Debian's torch here links
# the reference BLAS (about 1.5 GFLOP/s); for a fair comparison the torch side gets OpenBLAS from the
# apt cache (unpacked into $dir, nothing installed) first on LD_LIBRARY_PATH. Needs $blas (openblas or
# system) and $dir; sets the array torch_env and prints which BLAS torch loaded.
torch_env=()
if [ "$blas" = openblas ]; then
  blas_dir=${RAS_TORCH_BLAS_DIR:-}
  deb=$(ls /var/cache/apt/archives/libopenblas0-pthread_*.deb 2>/dev/null | head -1 || true)
  if [ -z "$blas_dir" ] && [ -n "$deb" ]; then
    [ -d "$dir/openblas" ] || dpkg-deb -x "$deb" "$dir/openblas"
    blas_dir=$dir/openblas/usr/lib/x86_64-linux-gnu/openblas-pthread
  fi
  if [ -n "$blas_dir" ] && [ -e "$blas_dir/libblas.so.3" ]; then
    torch_env=(LD_LIBRARY_PATH="$blas_dir${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}")
  else
    echo "warning: no OpenBLAS found (set RAS_TORCH_BLAS_DIR); PyTorch uses the system BLAS"
  fi
fi
# OpenBLAS picks its kernels at run time from the CPU model; 0.3.21 (bookworm) does not know every CPU
# it meets in a VM and then falls back to its generic "Prescott" SSE3 kernels: ~25 GFLOP/s instead of
# ~130 on an AVX-512 Xeon here (PyTorch's Linear layers 4-5x slower than they should be). The torch
# side gets the best kernel family the CPU supports (OPENBLAS_CORETYPE) when the detection failed;
# a caller's OPENBLAS_CORETYPE is kept. RAS_TORCH_BLAS_CORE=auto keeps OpenBLAS's own choice.
openblas_core() {  # the kernel family OpenBLAS chooses for the torch processes
  env "${torch_env[@]}" OPENBLAS_VERBOSE=2 /usr/bin/python3 -c '
import torch
torch.nn.functional.linear(torch.ones(8, 8), torch.ones(8, 8))' 2>&1 | sed -n 's/^Core: //p' | tail -1
}
if [ -z "${OPENBLAS_CORETYPE:-}" ] && [ "${RAS_TORCH_BLAS_CORE:-fix}" != auto ]; then
  detected=$(openblas_core)
  case "$detected" in
    Prescott|Core2|Penryn|Dunnington|Nehalem|Atom|Katmai|Coppermine|Northwood|Banias|"")
      flags=$(grep -m1 '^flags' /proc/cpuinfo)
      core=
      if grep -qw avx512_bf16 <<<"$flags"; then core=Cooperlake
      elif grep -qw avx512f <<<"$flags"; then core=SkylakeX
      elif grep -qw avx2 <<<"$flags"; then core=Haswell
      fi
      if [ -n "$core" ]; then
        torch_env+=(OPENBLAS_CORETYPE=$core)
        echo "OpenBLAS detected core '${detected:-none}' on this CPU; the torch side uses OPENBLAS_CORETYPE=$core"
      fi ;;
  esac
fi
echo "PyTorch BLAS kernels: $(openblas_core)"
echo "PyTorch BLAS: $(env "${torch_env[@]}" /usr/bin/python3 -c '
import torch
torch.nn.functional.linear(torch.ones(8, 8), torch.ones(8, 8))
print(sorted({l.split()[-1] for l in open("/proc/self/maps") if "blas" in l.lower()}))')"
