#!/usr/bin/env bash
# Local Confluent-compatible schema registry: Apicurio Registry 2.4 on 127.0.0.1, built once from
# its Maven Central jars (see pom.xml beside this script for why 2.4 and what is patched). The
# Confluent API is at http://127.0.0.1:$REGISTRY_PORT/apis/ccompat/v7. `make run` starts it next
# to the broker; `make test` starts one for the test session.
#
#   deploy/registry/registry.sh up      build (once), start, wait until it answers
#   deploy/registry/registry.sh down    stop it (SIGTERM, then SIGKILL after a grace period)
#   deploy/registry/registry.sh status  exit 0 when the registry answers
#   deploy/registry/registry.sh url     print SCHEMA_REGISTRY_URL for this port
#   deploy/registry/registry.sh clean   stop and remove the run folder (data: every schema id)
#
# Env: REGISTRY_PORT (default 8081), PURPOSEGATE_RUN_DIR (default <repo>/.run). The build lives in
# $RUN_DIR/registry-build and is reused; pid, log and data in $RUN_DIR/registry-$REGISTRY_PORT.
#
# Storage survives a restart, so schema ids never change under consumers: an H2 database file
# in $RUN_DIR/registry-$REGISTRY_PORT/data (WRITE_DELAY=0: a registration is on disk before the
# registry answers; checked with a SIGKILL right after one). Why not Apicurio's KafkaSQL storage
# on our broker: for 2.4.2.Final it is a separate artifact (apicurio-registry-storage-kafkasql),
# and so is the PostgreSQL one (apicurio-registry-storage-sql); Maven Central serves neither.
# The app jar holds only the H2 SQL storage, whose JDBC URL is a run-time setting
# (REGISTRY_DATASOURCE_URL), so the durable option here is H2 in a file instead of in memory.
# `clean` deletes that data (every id with it).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
port="${REGISTRY_PORT:-8081}"
run_dir="${PURPOSEGATE_RUN_DIR:-$repo/.run}"
build_dir="$run_dir/registry-build"
runner="$build_dir/purposegate-local-registry-1-runner.jar"
home="$run_dir/registry-$port"
pid_file="$home/registry.pid"
log_file="$home/registry.log"
data_dir="$home/data"
start_timeout="${REGISTRY_START_TIMEOUT:-90}"
url="http://127.0.0.1:$port/apis/ccompat/v7"

say() { printf 'registry.sh: %s\n' "$*" >&2; }

is_running() {
  [[ -f "$pid_file" ]] && kill -0 "$(cat "$pid_file")" 2>/dev/null
}

answers() {
  curl -fsS -m 2 "$url/subjects" >/dev/null 2>&1
}

build() {
  if [[ -f "$build_dir/.complete" && -f "$runner" ]]; then return 0; fi
  command -v mvn >/dev/null || { say "Maven (mvn) is required to build the registry"; exit 1; }
  say "building Apicurio Registry from Maven Central jars into $build_dir (once)"
  rm -rf "$build_dir"
  mkdir -p "$build_dir"
  local started=$SECONDS
  if ! mvn -q -B -s "$here/maven-settings.xml" -f "$here/pom.xml" package \
      -Dregistry.out.dir="$build_dir" > "$run_dir/registry-build.log" 2>&1; then
    say "build failed; see $run_dir/registry-build.log"
    tail -n 20 "$run_dir/registry-build.log" >&2 || true
    exit 1
  fi
  touch "$build_dir/.complete"
  say "built in $((SECONDS - started)) s"
}

up() {
  if is_running && answers; then
    say "already running at $url (pid $(cat "$pid_file"))"
    return 0
  fi
  command -v java >/dev/null || { say "Java 17 is required (java not found)"; exit 1; }
  build
  mkdir -p "$home" "$data_dir"
  local started=$SECONDS
  # C1 only (TieredStopAtLevel=1): less JIT work during start-up on two shared cores; a
  # registry that answers a few hundred requests never needs C2's peak speed.
  HTTP_PORT="$port" REGISTRY_DATASOURCE_URL="jdbc:h2:file:$data_dir/registry;WRITE_DELAY=0" \
    nohup java -Xms128m -Xmx512m -XX:TieredStopAtLevel=1 -Dquarkus.http.host=127.0.0.1 \
    -jar "$runner" > "$log_file" 2>&1 &
  echo $! > "$pid_file"
  local deadline=$((SECONDS + start_timeout))
  while ((SECONDS < deadline)); do
    if ! is_running; then
      say "registry exited during start-up; last log lines:"
      tail -n 30 "$log_file" >&2 || true
      exit 1
    fi
    if answers; then
      say "up at $url in $((SECONDS - started)) s (pid $(cat "$pid_file"))"
      return 0
    fi
    sleep 0.5
  done
  say "registry did not answer at $url within ${start_timeout}s (log: $log_file)"
  exit 1
}

down() {
  if ! is_running; then
    rm -f "$pid_file"
    say "not running on port $port"
    return 0
  fi
  local pid
  pid="$(cat "$pid_file")"
  kill -TERM "$pid"
  for _ in $(seq 1 40); do
    kill -0 "$pid" 2>/dev/null || { rm -f "$pid_file"; say "stopped"; return 0; }
    sleep 0.5
  done
  say "registry did not stop within 20 s; killing it"
  kill -KILL "$pid" 2>/dev/null || true
  rm -f "$pid_file"
}

case "${1:-}" in
  up) up ;;
  down) down ;;
  status) is_running && answers ;;
  url) echo "$url" ;;
  clean) down; rm -rf "$home" ;;
  *) say "usage: registry.sh up|down|status|url|clean"; exit 2 ;;
esac
