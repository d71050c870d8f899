# The two set-up commands of the README: `make demo` and `make test`. Both create the virtual
# environment on first use (Python 3.11+), so they work on a fresh machine.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: demo test lint

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

# run-only install: the engine, the runtime and the reporting stack (no torch)
$(VENV)/.run-installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[serve]'
	touch $@

# everything the tests need: dev tools, the metric references, the training extra (torch), the Ray backend and
# the analysis service (their tests start a local Ray runtime and a real HTTP server)
$(VENV)/.dev-installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[dev,train,ray,serve]'
	touch $@ $(VENV)/.run-installed

# the demo's exit code is its last verdict: 1 (the newest checkpoint misses goals) is a demo that ran, 2 is not
demo: $(VENV)/.run-installed
	$(BIN)/visionspec demo || [ $$? -eq 1 ]

test: $(VENV)/.dev-installed
	$(BIN)/python -m pytest

lint: $(VENV)/.dev-installed
	$(BIN)/ruff check src tests bench
	$(BIN)/mypy
