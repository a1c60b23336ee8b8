# Two commands do all the set-up:  `make run`  and  `make test`.
# Both create .venv on first use and install the pinned packages into it.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
PIP    := $(BIN)/python -m pip --disable-pip-version-check
# Pins every package; in particular torch==2.13.0, the CPU build (a looser spec pulls CUDA).
CONSTRAINTS := requirements/constraints.txt

.DEFAULT_GOAL := help
.PHONY: help env run run-fast test unit lint lab strip clean

help:  ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml $(CONSTRAINTS)
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet -c $(CONSTRAINTS) -e '.[notebooks,test]'
	@touch $@

env: $(STAMP)  ## create .venv and install the pinned dependencies and aelib (editable)

run: $(STAMP)  ## execute every notebook into build/notebooks and build/html (full mode)
	$(BIN)/python scripts/run_notebooks.py

run-fast: $(STAMP)  ## the same in fast mode (smaller data, fewer epochs)
	$(BIN)/python scripts/run_notebooks.py --fast

test: $(STAMP)  ## the whole test suite (notebooks in fast mode) and the linter
	$(BIN)/python -m pytest
	$(BIN)/ruff check .

unit: $(STAMP)  ## quick: the unit tests of aelib only, no notebooks
	$(BIN)/python -m pytest -m "not notebook" -q

lint: $(STAMP)  ## ruff over the package, tests, scripts and notebooks
	$(BIN)/ruff check .

lab: $(STAMP)  ## open JupyterLab on the notebooks
	$(BIN)/jupyter lab notebooks/

strip: $(STAMP)  ## remove outputs from the notebooks before a commit
	$(BIN)/python scripts/strip_notebooks.py

clean:  ## remove build/ (executed notebooks, HTML, cached models)
	rm -rf build
