# The README's two commands: `make demo` (whole pipeline on the shipped sample) and
# `make test` (the test suite; .ci/run calls it). Both install from pinned constraints;
# `make test` also installs the system Chromium the browser tests drive
# (scripts/ensure_browser.sh: apt-get, skipped when /usr/bin/chromium is there).
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: install demo test lint bench mutation

$(VENV)/.installed: pyproject.toml constraints.txt
	$(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -c constraints.txt -e ".[dev]"
	touch $@

install: $(VENV)/.installed

demo: install
	$(BIN)/ciblage run

test: install
	scripts/ensure_browser.sh
	$(BIN)/ruff check .
	$(BIN)/python -m pytest

lint: install
	$(BIN)/ruff check . && $(BIN)/ruff format --check .

# Mutation testing of the critical modules, one at a time on their fast tests (minutes;
# README "Tests"). MODULES="siret ranking" to run some of them.
mutation: install
	$(BIN)/python bench/mutation.py $(MODULES)
