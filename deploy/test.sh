#!/usr/bin/env bash
# `make test`: lint, type-check and run every test against a real local broker and schema
# registry, started once for the session and stopped afterwards even when a test fails. With the
# registry the workers write the Confluent wire format (the default); tests that need
# single-object set it themselves. REGISTRY_PORT defaults to 18081 (never `make run`'s 8081).
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
bin=.venv/bin
export KAFKA_PORT="${KAFKA_PORT:-19092}"
export PURPOSEGATE_RUN_DIR="${PURPOSEGATE_RUN_DIR:-$PWD/.run}"

started=$SECONDS
stop=()
trap 'for command in "${stop[@]}"; do $command; done' EXIT
if [[ -x deploy/prometheus/install.sh ]]; then
  deploy/prometheus/install.sh || { echo "test.sh: could not install Prometheus"; exit 1; }
fi
# The `slow` soak variants (50k events, 30 s outages) and the `backlog` days (250k events and
# more) do not fit CI's time: `make soak` and `make backlog` run them.
ci_marks="not slow and not backlog"
# The unit tests need no broker: without arguments (make test, CI) they run on two processes
# (pytest-xdist), promtool installed, while the code is linted and the broker and registry
# start; the integration tests after them.
unit_log="" unit_pid=""
stop_unit() { [[ -z "$unit_pid" ]] || kill "$unit_pid" 2>/dev/null || true; }
if [[ $# -eq 0 && -z "${PURPOSEGATE_BACKLOG:-}${PURPOSEGATE_SOAK:-}" ]]; then
  mkdir -p "$PURPOSEGATE_RUN_DIR"
  unit_log="$PURPOSEGATE_RUN_DIR/unit-tests.log"
  "$bin/pytest" tests/unit -n 2 -m "$ci_marks" --durations=10 >"$unit_log" 2>&1 &
  unit_pid=$!
  stop+=(stop_unit)  # nothing left to stop once waited for, unless set-up failed
fi

status=0
"$bin/ruff" check . || status=1
"$bin/ruff" format --check . || status=1
"$bin/mypy" || status=1

if [[ -z "${KAFKA_BOOTSTRAP:-}" ]]; then
  deploy/kafka/kafka.sh up || exit 1
  stop+=("deploy/kafka/kafka.sh down")
  export KAFKA_BOOTSTRAP="127.0.0.1:$KAFKA_PORT"
fi
if [[ -z "${SCHEMA_REGISTRY_URL:-}" ]]; then
  export REGISTRY_PORT="${REGISTRY_PORT:-18081}"
  if ! deploy/registry/registry.sh status; then
    deploy/registry/registry.sh up || exit 1
    stop+=("deploy/registry/registry.sh down")
  fi
  SCHEMA_REGISTRY_URL="$(deploy/registry/registry.sh url)"
  export SCHEMA_REGISTRY_URL
fi

if [[ -n "${PURPOSEGATE_BACKLOG:-}" ]]; then
  set -- -m backlog -s "$@"
elif [[ -z "${PURPOSEGATE_SOAK:-}" ]]; then
  set -- -m "$ci_marks" "$@"
fi
# --durations: the slowest tests in every log, so the suite's time can be kept in view.
if [[ -n "$unit_log" ]]; then
  wait "$unit_pid"
  rc=$?
  unit_pid=""
  cat "$unit_log"
  [[ $rc -eq 0 ]] || status=$rc
  echo "test.sh: unit tests done at $((SECONDS - started)) s (status $rc)"
  set -- tests/integration "$@"
else
  set -- tests "$@"
fi
"$bin/pytest" --durations=40 "$@"
rc=$?
[[ $rc -eq 0 ]] || status=$rc
echo "test.sh: finished in $((SECONDS - started)) s with status $status"
exit $status
