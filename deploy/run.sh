#!/usr/bin/env bash
# `make run`: the embedded default — the local broker (unless KAFKA_BOOTSTRAP points at a
# cluster) and the local schema registry next to it (unless SCHEMA_REGISTRY_URL points at one, or
# PURPOSEGATE_WIRE_FORMAT=single-object asks for no registry), the topics, a development
# pseudonym key file, then the worker in the foreground, writing the Confluent wire format.
# `make kafka-down registry-down` stops broker and registry when they outlive the worker.
# Access control is off unless PURPOSEGATE_ACLS=apply (then `topics --create` creates the
# policy's ACLs, and fails on a broker without an authorizer, as the local one is).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
bin=.venv/bin
if [[ -z "${KAFKA_BOOTSTRAP:-}" ]]; then
  deploy/kafka/kafka.sh up
  export KAFKA_BOOTSTRAP="127.0.0.1:${KAFKA_PORT:-9092}"
fi
if [[ -z "${SCHEMA_REGISTRY_URL:-}" && "${PURPOSEGATE_WIRE_FORMAT:-confluent}" == confluent ]]; then
  deploy/registry/registry.sh up
  SCHEMA_REGISTRY_URL="$(deploy/registry/registry.sh url)"
  export SCHEMA_REGISTRY_URL
fi
if [[ -z "${PURPOSEGATE_PSEUDONYM_KEYS_FILE:-}" && -z "${PURPOSEGATE_PSEUDONYM_KEYS:-}" ]]; then
  export PURPOSEGATE_PSEUDONYM_KEYS_FILE="$PWD/.run/pseudonym-keys.json"
  [[ -f "$PURPOSEGATE_PSEUDONYM_KEYS_FILE" ]] || "$bin/purposegate" keys --init "$PURPOSEGATE_PSEUDONYM_KEYS_FILE"
fi
if [[ "${PURPOSEGATE_ACLS:-off}" == apply ]]; then
  echo "run.sh: PURPOSEGATE_ACLS=apply: topics --create also creates the policy's ACLs" >&2
else
  echo "run.sh: no ACLs: every client of this broker may read every topic (a local sandbox);" \
    "PURPOSEGATE_ACLS=apply creates the policy's (see: purposegate acls --plan)" >&2
fi
"$bin/purposegate" topics --create
exec "$bin/purposegate" worker
