# The two commands a new user needs: `make demo` and `make test`. Both create .venv on first use.
# `make docs` builds the documentation site into site/ (strict: any warning fails); `make docs-serve` serves it.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# Dev/CI versions are pinned here; pyproject.toml keeps normal ranges for library users.
PIP_INSTALL := $(BIN)/python -m pip install --quiet --disable-pip-version-check -c constraints.txt

.PHONY: demo test lint bench clean docs docs-serve

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.demo-installed: $(BIN)/python pyproject.toml constraints.txt
	$(PIP_INSTALL) -e '.[demo]'
	touch $@

$(VENV)/.test-installed: $(BIN)/python pyproject.toml constraints.txt
	$(PIP_INSTALL) -e '.[test]'
	touch $@ $(VENV)/.demo-installed

$(VENV)/.docs-installed: $(BIN)/python pyproject.toml constraints.txt
	$(PIP_INSTALL) -e '.[docs]'
	touch $@ $(VENV)/.demo-installed

demo: $(VENV)/.demo-installed
	$(BIN)/rnnkit demo

test: $(VENV)/.test-installed
	$(BIN)/python -m pytest

lint: $(VENV)/.test-installed
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks
	$(BIN)/mypy

bench: $(VENV)/.test-installed
	$(BIN)/python benchmarks/layers.py

docs: $(VENV)/.docs-installed
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict

docs-serve: $(VENV)/.docs-installed
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs serve

clean:
	rm -rf $(VENV) runs build site src/*.egg-info
