# Two commands do all set-up on a fresh machine (Python 3.11 + pip):
#   make demo   - create .venv, install juanji (runtime dependencies only), train on the embedded sample
#   make test   - create .venv, install juanji with the test extra (torch as the oracle), run the tests
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
RUNTIME := $(VENV)/.installed-runtime
TESTING := $(VENV)/.installed-test

.PHONY: demo test bench clean

$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip

# the demo needs juanji's runtime dependencies only (no torch: it is the tests' oracle); after installing,
# juanji.warmup compiles the common kernels into Numba's cache (about a minute of CPU, once), so that a
# first training step does not pay for it
$(RUNTIME): pyproject.toml $(VENV)/bin/python
	$(PY) -m pip install --quiet -e .
	$(PY) -m juanji.warmup
	touch $(RUNTIME)

$(TESTING): pyproject.toml $(VENV)/bin/python
	$(PY) -m pip install --quiet -e ".[test]"
	$(PY) -m pip install --quiet --no-deps d2l==1.0.3  # the d2l book's library; its own pins are for old numpy/pandas
	$(PY) -m juanji.warmup
	touch $(RUNTIME) $(TESTING)

demo: $(RUNTIME)
	$(PY) -m juanji.demo

test: $(TESTING)
	$(PY) -m pytest -q -n 2 -p no:cacheprovider

bench: $(TESTING)
	$(PY) -m benchmarks.run

clean:
	rm -rf $(VENV) .pytest_cache
