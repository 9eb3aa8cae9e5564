#!/usr/bin/env bash
# Create the virtualenvs that run the TensorFlow and MXNet wrapper tests against
# this checkout: .venv-tf (tensorflow-cpu + torch) and .venv-mxnet (mxnet 1.9.1).
#
# Both use the checkout in place: run `make build` first, then from the repo root
#   .venv-tf/bin/python -m pytest tests/shims/test_tensorflow.py tests/layers/test_tensorflowwrapper.py
#   .venv-mxnet/bin/python -m pytest tests/shims/test_mxnet.py tests/layers/test_mxnetwrapper.py
# MXNet 1.9.1 still uses numpy aliases removed in numpy 1.24, hence its own venv.
# `ref-tf` also creates .venv-ref-tf: released thinc 8.3.14 with tf-keras (Keras 2,
# which it needs), an oracle whose saved bytes one test loads; it skips without it.
# Safe to re-run: an environment whose packages already import is left alone.
# Usage: scripts/make_framework_venvs.sh [tf|mxnet|ref-tf|all]   (default: all = tf + mxnet)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PYTHON="${PYTHON:-python3}"
WHICH="${1:-all}"
TORCH_VERSION="${TORCH_VERSION:-2.13.0}"
export PIP_DISABLE_PIP_VERSION_CHECK=1

# Import checks run from / so that the checkout's thinc/ is not what gets tested.
venv_imports() {
    local venv="$1" modules="$2"
    [ -x "${venv}/bin/python" ] && (cd / && "${venv}/bin/python" -c "import ${modules}" >/dev/null 2>&1)
}

make_venv() {
    local venv="$1"
    if [ ! -x "${venv}/bin/python" ]; then
        "${PYTHON}" -m venv "${venv}"
    fi
    "${venv}/bin/python" -m pip install --quiet --upgrade pip
}

make_tf_venv() {
    local venv="${ROOT}/.venv-tf"
    if venv_imports "${venv}" "tensorflow, torch, blis, confection, pytest"; then
        echo "${venv} already has tensorflow and torch"
        return 0
    fi
    make_venv "${venv}"
    "${venv}/bin/python" -m pip install --quiet -r "${ROOT}/requirements.txt" pytest hypothesis mock \
        tensorflow-cpu "torch==${TORCH_VERSION}"
    echo "created ${venv}: $(cd / && "${venv}/bin/python" -c 'import tensorflow as t, torch; print("tensorflow", t.__version__, "torch", torch.__version__)')"
}

make_mxnet_venv() {
    local venv="${ROOT}/.venv-mxnet"
    if venv_imports "${venv}" "mxnet, blis, confection, pytest"; then
        echo "${venv} already has mxnet"
        return 0
    fi
    make_venv "${venv}"
    "${venv}/bin/python" -m pip install --quiet -r "${ROOT}/requirements.txt" pytest hypothesis mock \
        "numpy>=1.23,<1.24" "mxnet==1.9.1"
    echo "created ${venv}: $(cd / && "${venv}/bin/python" -c 'import mxnet, numpy; print("mxnet", mxnet.__version__, "numpy", numpy.__version__)')"
}

make_ref_tf_venv() {
    local venv="${ROOT}/.venv-ref-tf"
    if venv_imports "${venv}" "thinc.api, tensorflow, tf_keras, h5py"; then
        echo "${venv} already has thinc 8.3.14 and tf-keras"
        return 0
    fi
    make_venv "${venv}"
    "${venv}/bin/python" -m pip install --quiet "thinc==8.3.14" tensorflow-cpu tf-keras h5py
    echo "created ${venv}"
}

case "${WHICH}" in
    tf) make_tf_venv ;;
    mxnet) make_mxnet_venv ;;
    ref-tf) make_ref_tf_venv ;;
    all) make_tf_venv; make_mxnet_venv ;;
    *) echo "usage: $0 [tf|mxnet|ref-tf|all]" >&2; exit 2 ;;
esac
