#!/usr/bin/env bash
# `make run`: the local broker as the embedded default (unless KAFKA_BOOTSTRAP points at a
# cluster), the topics, a development pseudonym key file, then the worker in the foreground.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
bin=.venv/bin
if [[ -z "${KAFKA_BOOTSTRAP:-}" ]]; then
  deploy/kafka/kafka.sh up
  export KAFKA_BOOTSTRAP="127.0.0.1:${KAFKA_PORT:-9092}"
fi
if [[ -z "${PURPOSEGATE_PSEUDONYM_KEYS_FILE:-}" && -z "${PURPOSEGATE_PSEUDONYM_KEYS:-}" ]]; then
  export PURPOSEGATE_PSEUDONYM_KEYS_FILE="$PWD/.run/pseudonym-keys.json"
  [[ -f "$PURPOSEGATE_PSEUDONYM_KEYS_FILE" ]] || "$bin/purposegate" keys --init "$PURPOSEGATE_PSEUDONYM_KEYS_FILE"
fi
"$bin/purposegate" topics --create
exec "$bin/purposegate" worker
