# Everyday commands. `make demo` and `make test` work on a fresh checkout: they
# create .venv, install the dependencies and compile the Cython modules first.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.deps-installed

.PHONY: venv build test test-quick fuzz demo bench wheel docs clean lint format

$(STAMP): requirements.txt requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements-dev.txt
	touch $(STAMP)

venv: $(STAMP)

# flock serialises concurrent in-place builds of the same extension files.
build: $(STAMP)
	flock /tmp/thinc-build.lock $(PY) setup.py --quiet build_ext --inplace -j 2

test: build
	$(PY) -m pytest tests -q -p no:cacheprovider

test-quick: build
	$(PY) -m pytest tests -q -m "not slow" -x

# The long run of the crash-and-hang fuzzer in tests/fuzz; prints a table of outcomes.
fuzz: build
	$(PY) scripts/fuzz_long.py --kernel-calls 100000 --model-files 20000

demo: build
	PYTHONPATH=$(CURDIR) $(PY) examples/train_demo.py

bench: build
	$(PY) bench/kernels.py
	$(PY) bench/tagger.py

# A manylinux wheel: built, then repaired by auditwheel (dist/thinc-*manylinux*.whl).
wheel: $(STAMP)
	rm -rf dist/raw
	$(PY) -m pip wheel . --no-deps -w dist/raw
	PATH="$(CURDIR)/$(VENV)/bin:$$PATH" $(PY) -m auditwheel repair -w dist dist/raw/thinc-*.whl
	ls -l dist/*.whl

# The guide (README.md) and the API reference from the docstrings, warnings as errors.
docs: build
	PYTHONPATH=$(CURDIR) $(PY) -m mkdocs build --strict --site-dir site

# One formatter for Python (ruff format) and one for C++ (clang-format, .clang-format).
FORMATTED_PY := thinc tests bench scripts examples setup.py
FORMATTED_CXX := include/*.hh thinc/backends/*.cu
lint: $(STAMP)
	$(VENV)/bin/ruff check $(FORMATTED_PY)
	$(VENV)/bin/ruff format --check $(FORMATTED_PY)
	$(VENV)/bin/clang-format --dry-run --Werror $(FORMATTED_CXX)

format: $(STAMP)
	$(VENV)/bin/ruff format $(FORMATTED_PY)
	$(VENV)/bin/clang-format -i $(FORMATTED_CXX)

clean:
	rm -rf build dist *.egg-info
	find thinc -name "*.so" -delete
	find thinc -name "*.pyx" | sed 's/\.pyx$$/.cpp/' | xargs rm -f
