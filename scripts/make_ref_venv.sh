#!/usr/bin/env bash
# Create .venv-ref: a separate virtualenv holding the released thinc 8.3.14,
# used only as a behavioural oracle (tests/test_thinc83_compat.py, fixture script,
# and its own shipped test suite: tests/test_thinc83_suite.py).
# Safe to re-run: an existing environment with the right version is left alone.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${ROOT}/.venv-ref"
PYTHON="${PYTHON:-python3}"
VERSION="8.3.14"

# Run the check from outside the checkout so our own thinc/ cannot shadow it.
installed_version() {
    (cd / && "${VENV}/bin/python" -c "import thinc.about; print(thinc.about.__version__)" 2>/dev/null) || true
}

# pytest, hypothesis and mock run thinc 8.3.14's own test suite there
# (tests/test_thinc83_suite.py).
has_test_tools() {
    (cd / && "${VENV}/bin/python" -c "import pytest, hypothesis, mock" 2>/dev/null)
}

if [ -x "${VENV}/bin/python" ] && [ "$(installed_version)" = "${VERSION}" ]; then
    if ! has_test_tools; then
        "${VENV}/bin/python" -m pip install --quiet pytest hypothesis mock
    fi
    echo "${VENV} already has thinc ${VERSION}"
    exit 0
fi

if [ ! -x "${VENV}/bin/python" ]; then
    "${PYTHON}" -m venv "${VENV}"
fi
"${VENV}/bin/python" -m pip install --quiet --upgrade pip
"${VENV}/bin/python" -m pip install --quiet "thinc==${VERSION}" numpy pytest hypothesis mock
echo "installed thinc $(installed_version) into ${VENV}"
