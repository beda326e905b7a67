#!/usr/bin/env bash
# `make bench`: benchmarks on a local broker; writes bench/results.json.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
bin=.venv/bin
if [[ -z "${KAFKA_BOOTSTRAP:-}" ]]; then
  export KAFKA_PORT="${KAFKA_PORT:-29092}"
  deploy/kafka/kafka.sh up
  trap 'deploy/kafka/kafka.sh down' EXIT
  export KAFKA_BOOTSTRAP="127.0.0.1:$KAFKA_PORT"
fi
# BENCH_MODULE=bench.report: `make bench-report` (the report on a million audit records).
"$bin/python" -m "${BENCH_MODULE:-bench.run}" "$@"
