# purposegate — the two commands that matter: `make run` and `make test`.
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
# Tests get their own broker port so that they never stop a broker `make run` started.
TEST_KAFKA_PORT ?= 19092
# The test registry: REGISTRY_PORT when the environment sets it (each engineer's own port),
# otherwise 18081, never `make run`'s 8081.
ifeq ($(origin REGISTRY_PORT),environment)
TEST_REGISTRY_PORT ?= $(REGISTRY_PORT)
else
TEST_REGISTRY_PORT ?= 18081
endif
# Events per benchmark stream (`make bench BENCH_EVENTS=50000`); more options of bench/run.py
# in BENCH_ARGS (`make bench BENCH_ARGS="--only worker,replay --subjects 10000,100000"`).
BENCH_EVENTS ?= 200000
BENCH_ARGS ?=

.PHONY: help venv run demo peek kafka-up kafka-down registry-up registry-down lint test test-unit bench bench-report soak backlog clean check-schemas release-schemas

help:
	@echo "make run        set up, start the local broker and schema registry (unless KAFKA_BOOTSTRAP / SCHEMA_REGISTRY_URL are set), create topics, run the worker"
	@echo "make test       set up, start a test broker and registry, ruff + mypy + pytest (unit + integration), stop them"
	@echo "make demo       produce a sample stream into the running pipeline"
	@echo "make peek       decoded records of a topic: make peek TOPIC=shared.septem-cargo.fulfilment N=5"
	@echo "make kafka-up / kafka-down   the local single-node Kafka on 127.0.0.1:\$${KAFKA_PORT:-9092}"
	@echo "make registry-up / registry-down   the local schema registry on 127.0.0.1:\$${REGISTRY_PORT:-8081}"
	@echo "make bench      benchmarks on the local broker, bench/results.json (never part of make test; ~15-25 min)"
	@echo "make bench-report   the time of purposegate report on a million audit records; dry-run and diff-policy peak RSS and time on 200k and 1M events; purposegate linkability on 200k sample events"
	@echo "make backlog    a day's backlog (BACKLOG_EVENTS=250000, BACKLOG_RUNS=5) decided by one worker, checked against dry-run (~10 min a run)"
	@echo "make check-schemas / release-schemas   compare schemas/ with schemas/released/ / release them (ALLOW_BREAKING=1 for a deliberate break)"

venv: $(STAMP)

$(STAMP): pyproject.toml
	@command -v $(PYTHON) >/dev/null || { echo "Python 3.11 ($(PYTHON)) is required"; exit 1; }
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@$(BIN)/python -m pip install -q --upgrade pip
	@$(BIN)/pip install -q -e '.[dev]'
	@touch $(STAMP)

# What a group company receives, decoded (purposegate dump against the local broker and registry).
peek: venv
	@KAFKA_BOOTSTRAP="$${KAFKA_BOOTSTRAP:-127.0.0.1:$${KAFKA_PORT:-9092}}" \
	  SCHEMA_REGISTRY_URL="$${SCHEMA_REGISTRY_URL:-$$(deploy/registry/registry.sh url)}" \
	  $(BIN)/purposegate dump $(or $(TOPIC),shared.septem-cargo.fulfilment) --max $(or $(N),5)

kafka-up:
	@deploy/kafka/kafka.sh up

kafka-down:
	@deploy/kafka/kafka.sh down

registry-up:
	@deploy/registry/registry.sh up

registry-down:
	@deploy/registry/registry.sh down

run: venv
	@bash deploy/run.sh

demo: venv
	@$(BIN)/purposegate sample --seed 7 --customers 200 --events 2000 --out .run/demo.jsonl
	@KAFKA_BOOTSTRAP="$${KAFKA_BOOTSTRAP:-127.0.0.1:$${KAFKA_PORT:-9092}}" \
	  SCHEMA_REGISTRY_URL="$${SCHEMA_REGISTRY_URL:-$$(deploy/registry/registry.sh url)}" \
	  $(BIN)/purposegate produce .run/demo.jsonl

lint: venv
	@$(BIN)/ruff check .
	@$(BIN)/ruff format --check .
	@$(BIN)/mypy

test-unit: venv
	@$(BIN)/pytest tests/unit -q

test: venv
	@KAFKA_PORT=$(TEST_KAFKA_PORT) REGISTRY_PORT=$(TEST_REGISTRY_PORT) bash deploy/test.sh

# Schema compatibility against the released set (make test checks it too; docs/design.md).
check-schemas: venv
	@$(BIN)/purposegate schemas --check

release-schemas: venv
	@$(BIN)/purposegate schemas --release $(if $(ALLOW_BREAKING),--allow-breaking)

bench: venv
	@BENCH_EVENTS=$(BENCH_EVENTS) bash deploy/bench.sh $(BENCH_ARGS)

# `purposegate report` on an audit topic of REPORT_RECORDS records (never part of make test).
REPORT_RECORDS ?= 1000000
# ... and `purposegate linkability` on LINKABILITY_EVENTS sample events (no broker).
LINKABILITY_EVENTS ?= 200000
bench-report: venv
	@BENCH_MODULE=bench.report bash deploy/bench.sh --records $(REPORT_RECORDS)
	@$(BIN)/python -m bench.offline --events 200000 1000000
	@mkdir -p .run
	@$(VENV)/bin/purposegate sample --seed 1 --customers $$(($(LINKABILITY_EVENTS) / 10)) \
	  --events $(LINKABILITY_EVENTS) --out .run/linkability-sample.jsonl
	@$(VENV)/bin/purposegate linkability --input .run/linkability-sample.jsonl

# A day's backlog on the broker before one worker starts (issue 21; never part of make test):
# BACKLOG_EVENTS events, BACKLOG_RUNS runs; figures in .run/backlog-results.jsonl.
BACKLOG_EVENTS ?= 250000
BACKLOG_RUNS ?= 5
backlog: venv
	@KAFKA_PORT=$(TEST_KAFKA_PORT) REGISTRY_PORT=$(TEST_REGISTRY_PORT) PURPOSEGATE_BACKLOG=1 \
	  PURPOSEGATE_BACKLOG_EVENTS=$(BACKLOG_EVENTS) PURPOSEGATE_BACKLOG_RUNS=$(BACKLOG_RUNS) \
	  bash deploy/test.sh tests/integration/test_backlog.py

soak: venv
	@KAFKA_PORT=$(TEST_KAFKA_PORT) REGISTRY_PORT=$(TEST_REGISTRY_PORT) PURPOSEGATE_SOAK=1 bash deploy/test.sh -m slow

clean:
	@deploy/kafka/kafka.sh clean || true
	@deploy/registry/registry.sh clean || true
	@KAFKA_PORT=$(TEST_KAFKA_PORT) deploy/kafka/kafka.sh clean || true
	rm -rf .run/worker-data
