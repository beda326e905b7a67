# purposegate — the two commands that matter: `make run` and `make test`.
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
# Tests get their own broker port so that they never stop a broker `make run` started.
TEST_KAFKA_PORT ?= 19092
# Events per benchmark stream (`make bench BENCH_EVENTS=50000`).
BENCH_EVENTS ?= 200000

.PHONY: help venv run demo kafka-up kafka-down lint test test-unit bench soak clean check-schemas release-schemas

help:
	@echo "make run        set up, start the local broker (unless KAFKA_BOOTSTRAP is set), create topics, run the worker"
	@echo "make test       set up, start a test broker, ruff + mypy + pytest (unit + integration), stop the broker"
	@echo "make demo       produce a sample stream into the running pipeline"
	@echo "make kafka-up / kafka-down   the local single-node Kafka on 127.0.0.1:\$${KAFKA_PORT:-9092}"
	@echo "make bench      benchmarks on the local broker (never part of make test)"
	@echo "make check-schemas / release-schemas   compare schemas/ with schemas/released/ / release them (ALLOW_BREAKING=1 for a deliberate break)"

venv: $(STAMP)

$(STAMP): pyproject.toml
	@command -v $(PYTHON) >/dev/null || { echo "Python 3.11 ($(PYTHON)) is required"; exit 1; }
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@$(BIN)/python -m pip install -q --upgrade pip
	@$(BIN)/pip install -q -e '.[dev]'
	@touch $(STAMP)

kafka-up:
	@deploy/kafka/kafka.sh up

kafka-down:
	@deploy/kafka/kafka.sh down

run: venv
	@bash deploy/run.sh

demo: venv
	@$(BIN)/purposegate sample --seed 7 --customers 200 --events 2000 --out .run/demo.jsonl
	@$(BIN)/purposegate produce .run/demo.jsonl

lint: venv
	@$(BIN)/ruff check .
	@$(BIN)/ruff format --check .
	@$(BIN)/mypy

test-unit: venv
	@$(BIN)/pytest tests/unit -q

test: venv
	@KAFKA_PORT=$(TEST_KAFKA_PORT) bash deploy/test.sh

# Schema compatibility against the released set (make test checks it too; docs/design.md).
check-schemas: venv
	@$(BIN)/python -m tests.unit.wire.compat

release-schemas: venv
	@$(BIN)/python -m tests.unit.wire.compat --release $(if $(ALLOW_BREAKING),--allow-breaking)

bench: venv
	@BENCH_EVENTS=$(BENCH_EVENTS) bash deploy/bench.sh

soak: venv
	@KAFKA_PORT=$(TEST_KAFKA_PORT) PURPOSEGATE_SOAK=1 bash deploy/test.sh -m slow

clean:
	@deploy/kafka/kafka.sh clean || true
	@KAFKA_PORT=$(TEST_KAFKA_PORT) deploy/kafka/kafka.sh clean || true
	rm -rf .run/worker-data
