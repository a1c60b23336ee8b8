# Two commands do all the set-up:  `make run`  and  `make test`.
# Both create .venv on first use and install the pinned packages into it.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
PIP    := $(BIN)/python -m pip --disable-pip-version-check
# Pins every package; in particular torch==2.13.0, the CPU build (a looser spec pulls CUDA).
CONSTRAINTS := requirements/constraints.txt
# Browser assets (MathJax, reveal.js, require.js, jQuery), pinned in site/package-lock.json.
NPM_STAMP := site/node_modules/.installed-stamp

# `make run LANG=ko` runs the Korean edition into build/ko. LANG is also the shell's locale
# (C.UTF-8, en_GB.UTF-8, ...): any value but "ko" means English. The Korean run gets a real
# locale, since "ko" is not one.
EDITION := $(if $(filter ko,$(LANG)),--lang ko,)
LOCALE  := $(if $(EDITION),LANG=C.UTF-8,)

.DEFAULT_GOAL := help
.PHONY: help env run run-ko run-fast seeds test unit lint lab strip clean translations

help:  ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-20s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml $(CONSTRAINTS)
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet -c $(CONSTRAINTS) -e '.[notebooks,test]'
	@touch $@

# JupyterLab's settings that keep it off the network (no news prompt, no update check).
LAB_SETTINGS := $(VENV)/etc/jupyter/jupyter_lab_config.json

$(LAB_SETTINGS): scripts/jupyter/lab/overrides.json scripts/jupyter/lab/jupyter_lab_config.json \
		scripts/offline_lab.py | $(STAMP)
	$(BIN)/python -m scripts.offline_lab

env: $(STAMP) $(LAB_SETTINGS)  ## create .venv, install the pinned dependencies and aelib (editable)

run: $(STAMP) $(NPM_STAMP)  ## execute every notebook; build/ gets HTML, slides, plans, handouts, index.html (LANG=ko: build/ko/)
	$(LOCALE) $(BIN)/python -m scripts.run_notebooks $(EDITION) $(NOTEBOOKS)

run-ko:  ## the Korean edition into build/ko (the same as make run LANG=ko)
	$(MAKE) run LANG=ko

translations: $(STAMP)  ## what the Korean catalogues need: missing, stale (fuzzy) or untranslated entries
	$(BIN)/python -m scripts.translations status

run-fast: $(STAMP) $(NPM_STAMP)  ## the same in fast mode (smaller data, fewer epochs)
	$(LOCALE) $(BIN)/python -m scripts.run_notebooks --fast $(EDITION)

seeds: $(STAMP)  ## full mode with SEED 0, 1 and 2: every claim the notebooks assert must hold
	$(BIN)/python -m scripts.run_notebooks $(NOTEBOOKS) --seeds 0 1 2

test: $(STAMP) $(NPM_STAMP) $(LAB_SETTINGS)  ## the whole test suite (notebooks in fast mode) and the linter
	$(BIN)/python -m pytest
	$(BIN)/ruff check .

unit: $(STAMP) $(LAB_SETTINGS)  ## quick: the unit tests of aelib only, no notebooks or benchmark scripts
	$(BIN)/python -m pytest -m "not notebook and not benchmark" -q

lint: $(STAMP)  ## ruff over the package, tests, scripts and notebooks
	$(BIN)/ruff check .

lab: $(STAMP) $(LAB_SETTINGS)  ## open JupyterLab on the notebooks (offline: no news, no update checks)
	$(BIN)/jupyter lab notebooks/

# --keep-id: the committed cell ids stay (nbstripout would renumber them); cell tags, slide
# types and collapsed solutions (jupyter.source_hidden) are metadata nbstripout keeps.
strip: $(STAMP)  ## remove outputs and run-time metadata from the notebooks before a commit
	$(BIN)/nbstripout --keep-id notebooks/[0-9][0-9]_*.ipynb

clean:  ## remove build/ (executed notebooks, HTML, cached models)
	rm -rf build

.PHONY: vendor slides site screenshots-site

$(NPM_STAMP): site/package.json site/package-lock.json
	cd site && npm ci --no-audit --no-fund --loglevel=error
	@touch $@

vendor: $(NPM_STAMP)  ## install the pinned browser assets into site/node_modules

slides: $(STAMP) $(NPM_STAMP)  ## reveal.js slides of every notebook into build/slides
	$(BIN)/python -m scripts.build_site --slides-only $(NOTEBOOKS)

site: $(STAMP) $(NPM_STAMP)  ## rebuild build/index.html, HTML and slides from executed notebooks
	$(BIN)/python -m scripts.build_site $(NOTEBOOKS)

screenshots-site: $(STAMP) $(NPM_STAMP)  ## docs/index.png and docs/slide.png from build/
	$(BIN)/python -m scripts.build_site --screenshots docs $(NOTEBOOKS)

.PHONY: explorer screenshots-explorer

explorer: $(STAMP)  ## notebook 06 as an app (Voilà, code hidden, offline) on http://127.0.0.1:8866
	$(BIN)/python -m scripts.explorer_app serve

screenshots-explorer: $(STAMP)  ## docs/explorer.png: the explorer app photographed in chromium
	$(BIN)/python -m scripts.explorer_app screenshot docs/explorer.png
