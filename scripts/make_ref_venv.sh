#!/usr/bin/env bash
# Create .venv-ref: a separate virtualenv holding the released thinc 8.3.14,
# used only as a behavioural oracle (tests/test_thinc83_compat.py, fixture script).
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

if [ -x "${VENV}/bin/python" ] && [ "$(installed_version)" = "${VERSION}" ]; then
    echo "${VENV} already has thinc ${VERSION}"
    exit 0
fi

if [ ! -x "${VENV}/bin/python" ]; then
    "${PYTHON}" -m venv "${VENV}"
fi
"${VENV}/bin/python" -m pip install --quiet --upgrade pip
"${VENV}/bin/python" -m pip install --quiet "thinc==${VERSION}" numpy
echo "installed thinc $(installed_version) into ${VENV}"
