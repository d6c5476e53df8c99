# minewatch — the two commands a new machine needs are `make demo` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
MW     := $(BIN)/minewatch
DEMO   ?= .minewatch/demo
DEMO_MINES ?= 3
DEMO_DAYS  ?= 2
# the machine's own PostgreSQL, for `make test-db`
LOCAL_PG ?= postgresql://postgres@127.0.0.1:5432/postgres

.PHONY: help install demo test test-unit test-db bench clean-demo

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

$(BIN)/.installed: pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit("minewatch needs Python 3.11 or newer") if sys.version_info < (3, 11) else None'
	test -d $(VENV) || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e ".[test]"
	touch $@

install: $(BIN)/.installed ## create .venv and install minewatch with its test tools

demo: install ## sample province -> real Airflow DAGs -> warehouse (embedded unless MINEWATCH_WAREHOUSE_URL) -> findings
	rm -rf $(DEMO)
	$(MW) sample $(DEMO)/landing --mines $(DEMO_MINES) --days $(DEMO_DAYS) --seed 7 --malformed
	$(MW) db upgrade
	$(MW) airflow --landing $(DEMO)/landing
	$(MW) summary

test: install ## every test: parsers, a real PostgreSQL (embedded unless MINEWATCH_TEST_PG_URL), real Airflow
	$(BIN)/python -m pytest -q tests

test-unit: install ## the tests that need no database
	$(BIN)/python -m pytest -q tests/unit

test-db: install ## the database and DAG tests again, against the PostgreSQL at 127.0.0.1:5432 (LOCAL_PG)
	MINEWATCH_TEST_PG_URL=$(LOCAL_PG) $(BIN)/python -m pytest -q tests/integration tests/dags

bench: install ## ingest speed and memory against the PostgreSQL COPY floor, two sizes -> bench/results/latest.json
	$(BIN)/python bench/run.py

clean-demo: ## forget the demo's data (stops nothing; the embedded server stops by itself)
	rm -rf $(DEMO)
