#!/usr/bin/env bash
# Compiles every extension's C++ (the Cython output and include/) for aarch64
# with Debian's cross compiler, so code that only builds on x86-64 is caught
# on any machine. Needs the Cython output: run `make build` first.
# Usage: scripts/cross_compile_aarch64.sh [python]   (default .venv/bin/python)
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${1:-.venv/bin/python}
CXX=aarch64-linux-gnu-g++

if ! command -v "$CXX" >/dev/null; then
    echo "installing Debian's aarch64 cross compiler"
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
        apt-get update -qq >/dev/null
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq g++-aarch64-linux-gnu >/dev/null
    else
        echo "no $CXX, and no root apt-get to install g++-aarch64-linux-gnu" >&2
        exit 2
    fi
fi

mapfile -t sources < <(find thinc -name '*.cpp' | sort)
if [ "${#sources[@]}" -eq 0 ]; then
    echo "no Cython output under thinc/: run make build first" >&2
    exit 2
fi
# The host's Python and numpy headers serve: both are the same for every
# 64-bit little-endian Linux.
python_include=$("$PY" -c "import sysconfig; print(sysconfig.get_paths()['include'])")
numpy_include=$("$PY" -c "import numpy; print(numpy.get_include())")
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

failed=0
for source in "${sources[@]}"; do
    object="$out/$(echo "$source" | tr / _).o"
    if "$CXX" -std=c++17 -O1 -fPIC -pthread -Werror=implicit-function-declaration \
        -I"$python_include" -I"$numpy_include" -Iinclude \
        -DNPY_NO_DEPRECATED_API=NPY_1_7_API_VERSION -c "$source" -o "$object" 2>"$object.log"; then
        echo "aarch64 ok: $source"
    else
        echo "aarch64 FAILED: $source"
        grep -E "error" "$object.log" | head -20
        failed=1
    fi
done
exit $failed
