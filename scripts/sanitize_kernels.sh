#!/usr/bin/env bash
# Runs thinc's compiled kernels under AddressSanitizer and UBSan: builds every
# extension with -fsanitize=address,undefined in a copy of the checkout's tracked files, then runs
# tests there in-process with the ASan runtime preloaded into .venv's Python,
# so that a kernel's read or write past an array stops the run with a report.
# (tests/backends/test_gemm_sanitized.py does this in CI for the gemm kernels
# alone, through native drivers; this covers every op the tests call.)
#
# Run by hand, not in CI (on 2 cores: ~10 min to build, ~6 min for the
# default selection):
#   scripts/sanitize_kernels.sh                       # tests/backends, tests/layers,
#                                                     # tests/test_model.py, test_serialization.py
#   scripts/sanitize_kernels.sh tests/backends/test_numpy_ops.py -x   # any pytest arguments
#
# What passes for a clean run: no "ERROR: AddressSanitizer" and no UBSan
# "runtime error:" in the output.
# Subprocesses that a test starts with its own environment lack LD_PRELOAD:
# verify_asan_link_order=0 lets them start (with weaker checks, malloc not
# intercepted), and tests that compare such a subprocess's output exactly, or
# run nvcc under the preloaded runtime, may fail for that alone. The
# allocator-tuning and native-driver tests are left out: ASan replaces malloc,
# and the drivers have their own sanitizer build; so are the CUDA sources'
# tests (their CPU emulation of the .cu kernels, compiled without the
# sanitizers and loaded through ctypes, dies silently under them) and
# tests/fuzz, whose workers run under an address-space limit that ASan's
# shadow memory exceeds. A run that ends before pytest's summary line fails.
#
# Environment: THINC_ASAN_DIR (the copy; default /tmp/thinc-asan, rebuilt
# only where sources changed), PYTHON (default .venv/bin/python).
set -euo pipefail

REPO=$(cd "$(dirname "$0")/.." && pwd)
DIR=${THINC_ASAN_DIR:-/tmp/thinc-asan}
PYTHON=${PYTHON:-$REPO/.venv/bin/python}
LIBASAN=$(gcc -print-file-name=libasan.so)
if [ ! -e "$LIBASAN" ]; then
    echo "no libasan.so for gcc here ($LIBASAN): install gcc's sanitizer runtime" >&2
    exit 2
fi

echo "==> copying the tracked files to $DIR"
mkdir -p "$DIR"
(cd "$REPO" && git ls-files -z | tar --null -T - -cf -) | tar -xf - -C "$DIR"

echo "==> building the extensions with AddressSanitizer and UBSan (THINC_DEBUG=1 keeps symbols)"
# CXXFLAGS: setuptools compiles C++ sources with it, not CFLAGS. UBSan's checks
# stop the process at the first finding (no recovery), as ASan's do.
SANITIZE="-fsanitize=address,undefined -fno-sanitize=vptr -fno-sanitize-recover=undefined -fno-omit-frame-pointer"
(cd "$DIR" && CFLAGS="$SANITIZE" CXXFLAGS="$SANITIZE" LDFLAGS="-fsanitize=address,undefined" \
    THINC_DEBUG=1 "$PYTHON" setup.py --quiet build_ext --inplace -j 2)
if [ "$(nm -D "$DIR"/thinc/backends/numpy_ops*.so | grep -c "__asan_report")" -eq 0 ]; then
    echo "the extensions were built without AddressSanitizer's checks" >&2
    exit 2
fi

if [ "$#" -eq 0 ]; then
    set -- tests/backends tests/layers tests/test_model.py tests/test_serialization.py \
        --deselect tests/backends/test_gemm_sanitized.py \
        --deselect tests/backends/test_allocator_tuning.py \
        --deselect tests/backends/test_cupy_ops.py \
        --deselect tests/backends/test_cuda_sources.py
fi
echo "==> pytest under AddressSanitizer: $*"
cd "$DIR"
set +e
# PYTHONMALLOC=malloc: Python's own allocator would hide overruns of its blocks.
LD_PRELOAD="$LIBASAN" ASAN_OPTIONS=detect_leaks=0:halt_on_error=1:verify_asan_link_order=0 \
    UBSAN_OPTIONS=print_stacktrace=1 PYTHONMALLOC=malloc \
    "$PYTHON" -m pytest -q -p no:cacheprovider "$@" 2>&1 | tee "$DIR/sanitize.log"
set -e
if ! tail -n 1 "$DIR/sanitize.log" | grep -Eq " in [0-9.]+s"; then
    echo "==> pytest ended before its summary (killed?): see $DIR/sanitize.log"
    exit 1
fi
if grep -q -e "ERROR: AddressSanitizer" -e "runtime error:" "$DIR/sanitize.log"; then
    echo "==> a sanitizer found an error (above; log: $DIR/sanitize.log)"
    exit 1
fi
echo "==> no AddressSanitizer or UBSan error (log: $DIR/sanitize.log)"
