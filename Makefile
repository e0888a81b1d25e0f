# Two commands do all set-up on a fresh machine (Python 3.11 + pip):
#   make demo   - create .venv, install juanji, train on the embedded sample
#   make test   - create .venv, install juanji with the test extra (torch as the oracle), run the tests
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: demo test bench clean

$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip

$(STAMP): pyproject.toml $(VENV)/bin/python
	$(PY) -m pip install --quiet -e ".[test]"
	touch $(STAMP)

demo: $(STAMP)
	$(PY) -m juanji.demo

test: $(STAMP)
	$(PY) -m pytest -q -n 2 -p no:cacheprovider

bench: $(STAMP)
	$(PY) -m benchmarks.run --all

clean:
	rm -rf $(VENV) .pytest_cache
