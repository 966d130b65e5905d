# biolake — the README's commands. Everything installs into .venv.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
PIP    := $(PY) -m pip
BIOLAKE := $(VENV)/bin/biolake

.PHONY: demo test lint bench venv install install-test clean

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip

venv: $(PY)

install: $(PY)
	$(PIP) install --quiet -e .

# torch==2.13.0 first: pip takes the CPU wheel this machine keeps in /opt/wheels (find-links);
# a bare "torch" would pull a multi-GB CUDA build from PyPI
install-test: $(PY)
	$(PIP) install --quiet torch==2.13.0
	$(PIP) install --quiet -e '.[test,deep]'

demo: install
	$(BIOLAKE) demo --out-dir demo-report
	@echo "The demo report is demo-report/index.html"

test: install-test
	$(PY) -m pytest -q -p no:cacheprovider

lint: install-test
	$(VENV)/bin/ruff check src tests benchmarks
	$(VENV)/bin/ruff format --check src tests benchmarks

bench: install-test
	$(PY) -m benchmarks

clean:
	rm -rf demo-report biolake-lake .pytest_cache build *.egg-info src/*.egg-info
