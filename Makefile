# The first two targets are the README's: `make run` and `make test` work on a fresh machine.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run feed test lint bench schema clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

run: $(STAMP)  ## the engine on the embedded default: paper broker, the real SPX week, rules/
	$(BIN)/rules lint rules/
	$(BIN)/rules run rules/ --replay spx --data-dir .rules-data/demo --fresh
	@echo "next: 'make feed' runs these rules continuously on a synthetic intraday market; edit rules/*.yaml while it runs (Ctrl-C stops)"

feed: $(STAMP)  ## a live paper engine on a synthetic intraday SPX market, 60x real time, hot reload on, dashboard on http://127.0.0.1:8765/
	$(BIN)/rules run rules/ --feed synthetic --speed 60 --data-dir .rules-data/feed --fresh --serve 8765

test: $(STAMP)  ## ruff, mypy, the example rules, and the whole test suite (layering contract included)
	$(BIN)/ruff check rulesengine brokers tests bench
	$(BIN)/mypy
	$(BIN)/rules lint --strict rules/ $(wildcard rules/packs/*/)
	$(BIN)/pytest

lint: $(STAMP)
	$(BIN)/ruff check rulesengine brokers tests bench
	$(BIN)/mypy
	$(BIN)/rules lint rules/

bench: $(STAMP)  ## benchmarks: figures go to the README, never asserted in tests
	$(BIN)/python bench/scan.py
	$(BIN)/python bench/lint.py
	$(BIN)/python bench/analytics.py
	$(BIN)/python bench/engine.py
	$(BIN)/python bench/backtest.py
	$(BIN)/python bench/intraday.py

schema: $(STAMP)  ## regenerate the committed JSON Schema and names reference
	$(BIN)/rules schema --output schema/rules.schema.json
	$(BIN)/rules names --format markdown > docs/names.md

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
