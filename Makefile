# locoreg — set-up and the main jobs in one command each.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
PY     := $(BIN)/python

.PHONY: run test lint layers typecheck unit bench bench-quick clean

$(BIN)/activate:
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip

# Runtime install (stamp re-made whenever pyproject.toml changes).
$(VENV)/.installed: pyproject.toml | $(BIN)/activate
	$(PY) -m pip install -q -e .
	touch $@

# Runtime + test tooling (EXTRAS=test,spark adds PySpark for the Spark extraction test).
EXTRAS ?= test
$(VENV)/.installed-test: pyproject.toml | $(BIN)/activate
	$(PY) -m pip install -q -e '.[$(EXTRAS)]'
	touch $(VENV)/.installed $@

## make run: install, then start the web app on the embedded database.
run: $(VENV)/.installed
	$(BIN)/locoreg serve

## make test: install with test dependencies; lint, layer contract, type-check, whole test suite.
test: $(VENV)/.installed-test lint layers typecheck unit

lint: $(VENV)/.installed-test
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks

# The import contract of the layers ([tool.importlinter] in pyproject.toml; docs/DEVELOPING.md).
layers: $(VENV)/.installed-test
	$(BIN)/lint-imports --no-cache

typecheck: $(VENV)/.installed-test
	$(BIN)/mypy

unit: $(VENV)/.installed-test
	$(BIN)/pytest -q -n 2 --dist loadgroup

## make bench: peers side by side at the sizes the issues name, printed as ratios (about
## 20 minutes with lifelines and R installed); make bench-quick: the same at small sizes.
bench: $(VENV)/.installed-test
	$(PY) -m pip install -q -e '.[test,bench]'
	$(PY) benchmarks/run_all.py

bench-quick: $(VENV)/.installed-test
	$(PY) -m pip install -q -e '.[test,bench]'
	$(PY) benchmarks/run_all.py --quick

clean:
	rm -rf $(VENV) build dist .pytest_cache .mypy_cache .ruff_cache
