# Two commands on a fresh clone: `make run` and `make test`. Both bootstrap .venv once;
# a second run installs nothing (the stamp file is newer than pyproject.toml and the lock).
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
BENCH_STAMP := $(VENV)/.installed-bench

.PHONY: run test bench lint lock clean

$(STAMP): pyproject.toml requirements.lock
	@test -n "$(PYTHON)" || { echo "error: Python 3.11 is required (python3.11 not found on PATH)"; exit 1; }
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info[:2] == (3, 11) else 1)' || \
		{ echo "error: Python 3.11 is required, $(PYTHON) is $$($(PYTHON) --version)"; exit 1; }
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c requirements.lock -e '.[dev]'
	@touch $(STAMP)

run: $(STAMP)  ## The main job: the paper-trading agent (live Delta candles, else a synthetic replay; DATA=file.csv.gz to replay a file)
	$(BIN)/trading-agent run $(if $(DATA),--replay $(DATA))

test: $(STAMP)  ## The whole suite (lint, types, layer contracts, unit, integration, e2e)
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/mypy
	$(BIN)/lint-imports
	$(BIN)/python -m pytest

# The reference libraries of the benchmarks (the `bench` extra) install only for `make bench`.
$(BENCH_STAMP): $(STAMP)
	$(BIN)/python -m pip install --quiet -c requirements.lock -e '.[dev,bench]'
	@touch $(BENCH_STAMP)

bench: $(BENCH_STAMP)  ## Benchmarks, side by side with the reference libraries
	$(BIN)/python -m benchmarks

lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks
	$(BIN)/mypy

lock: $(STAMP)  ## Re-pin every transitive dependency after changing pyproject.toml
	$(BIN)/python -m pip freeze --exclude-editable | grep -v '^-e' > requirements.lock

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache
