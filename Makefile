# The project's commands. Everything runs from the repository root.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: setup setup-spark setup-duckdb1 run test test-cluster lint bench bench-curve bench-cluster bench-nodes docs clean destroy-billing-state

setup: $(STAMP)

$(STAMP): requirements.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements.txt
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps -e .
	touch $(STAMP)

# What the `spark` dbt target needs (dbt-spark, pyspark), into the same .venv.
SPARK_STAMP := $(VENV)/.installed-spark
setup-spark: $(SPARK_STAMP)

$(SPARK_STAMP): $(STAMP) requirements-spark.txt
	@command -v java >/dev/null || { echo "make setup-spark: Java 17 is needed for Spark (no 'java' on PATH)"; exit 2; }
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements-spark.txt
	touch $(SPARK_STAMP)

# A DuckDB 1.x client beside the project (its own venv): the tests open the published
# file with it, as BI drivers pinned to duckdb<2 do.
DUCKDB1_VENV := .venv-duckdb1
DUCKDB1_STAMP := $(DUCKDB1_VENV)/.installed
setup-duckdb1: $(DUCKDB1_STAMP)

$(DUCKDB1_STAMP): requirements-duckdb1.txt
	$(PYTHON) -m venv $(DUCKDB1_VENV)
	$(DUCKDB1_VENV)/bin/python -m pip install --quiet --disable-pip-version-check -r requirements-duckdb1.txt
	touch $(DUCKDB1_STAMP)

# Sample usage if there is none, the daily build, and a summary of the latest bills.
run: setup
	$(BIN)/billing demo

# The whole suite: lint (Python and SQL), then pytest, which also runs dbt build
# (unit tests, data tests, contracts) on hand-made fixtures, on DuckDB and on Spark.
test: setup setup-spark setup-duckdb1 lint
	$(BIN)/pytest

# The equivalence scenario on a standalone Spark cluster (master, worker, Thrift server
# on 127.0.0.1, started and stopped by the test) through the spark_thrift target.
test-cluster: setup setup-spark
	$(BIN)/pytest -n 0 -p no:randomly tests/cluster

lint: setup
	$(BIN)/ruff check src tests models
	$(BIN)/ruff format --check src tests models
	# an empty warehouse of its own, so that the result never depends on local state
	rm -f target/lint.duckdb
	BILLING_DB_PATH=target/lint.duckdb $(BIN)/sqlfluff lint --processes 2 models tests/singular

# Speed at scale (not a test): synthetic usage, the pipeline against a hand-written
# query; appends the figures to BENCHMARKS.md. SCALE=default|medium|small.
SCALE ?= default
bench: setup
	$(BIN)/python -m agent_billing.bench --scale $(SCALE) --report BENCHMARKS.md

# The catch-up and a daily run through the spark_thrift target, on a standalone Spark
# cluster (one worker) started on this machine: wall time, Spark's share, dbt's share.
CLUSTER_SCALE ?= medium
bench-cluster: setup setup-spark
	$(BIN)/python -m agent_billing.bench --cluster --scale $(CLUSTER_SCALE) --report BENCHMARKS.md

# How time and memory grow with the events caught up in one run (1M to 100M).
bench-curve: setup
	$(BIN)/python -m agent_billing.bench --curve --report BENCHMARKS.md

# What dbt-duckdb charges per node (table, view, seed, test) that does no work, and dbt's
# floor: throwaway projects of 0 and 40 nodes; prints a table (BENCHMARKS.md weighs it).
bench-nodes: setup
	$(BIN)/python -m agent_billing.bench_nodes

# The dbt docs site (every model, column, test and exposure) from the warehouse
# BILLING_DB_PATH, as one self-contained page.
docs: setup
	@test -f "$${BILLING_DB_PATH:-warehouse/billing.duckdb}" || { echo "make docs: no warehouse at $${BILLING_DB_PATH:-warehouse/billing.duckdb} yet; run 'make run' first (the docs read the tables' columns from it)"; exit 2; }
	$(BIN)/dbt docs generate --static --quiet
	@echo "Docs site: target/static_index.html (open it in a browser; or run $(BIN)/dbt docs serve)"

# Build outputs only: never the warehouse, its published file or the outcome beside
# them (the billing state: issued bills cannot be issued again from nothing).
clean:
	rm -rf target logs bench_data

# Deletes the billing state under warehouse/ (the default BILLING_DB_PATH and
# BILLING_PUBLISH_PATH, the Spark tables) and the sample usage: every issued bill
# there is gone. Asks for CONFIRM=yes.
destroy-billing-state:
	@test "$(CONFIRM)" = yes || { echo "make destroy-billing-state deletes every issued bill under warehouse/ (and sample_data/): run it with CONFIRM=yes"; exit 2; }
	rm -rf warehouse/*.duckdb* warehouse/.*.work warehouse/.*.new warehouse/spark sample_data
