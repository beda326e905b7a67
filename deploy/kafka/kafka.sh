#!/usr/bin/env bash
# Local single-node Apache Kafka (KRaft, broker+controller in one JVM) on 127.0.0.1.
#
#   deploy/kafka/kafka.sh up      fetch jars (once), format storage (once), start, wait until it answers
#   deploy/kafka/kafka.sh down    stop it cleanly (SIGTERM, then SIGKILL after a grace period)
#   deploy/kafka/kafka.sh status  exit 0 when a broker answers on the port
#   deploy/kafka/kafka.sh consume TOPIC [console consumer options...]
#                                 Kafka's console consumer from the beginning of TOPIC, printing
#                                 timestamp, key and headers (values are Avro bytes: decode them
#                                 with `purposegate dump` or a registry-aware tool)
#
# Env: KAFKA_PORT (default 9092; the controller uses KAFKA_PORT+1), PURPOSEGATE_RUN_DIR
# (default <repo>/.run). Jars live in $RUN_DIR/kafka-lib and are reused; pid, log and data live
# in $RUN_DIR/kafka-$KAFKA_PORT. Extra listener settings (e.g. SASL) may be appended from
# KAFKA_EXTRA_PROPERTIES (a file), used by the security tests; SCRAM users are created when the
# storage is formatted from KAFKA_SCRAM_USERS (a file, one `--add-scram` value a line, e.g.
# `SCRAM-SHA-512=[name=pipeline,password=...]`): KRaft has no ZooKeeper to hold them before start.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
port="${KAFKA_PORT:-9092}"
controller_port="$((port + 1))"
run_dir="${PURPOSEGATE_RUN_DIR:-$repo/.run}"
lib_dir="$run_dir/kafka-lib"
home="$run_dir/kafka-$port"
pid_file="$home/kafka.pid"
log_dir="$home/logs"
data_dir="$home/data"
props="$home/server.properties"
start_timeout="${KAFKA_START_TIMEOUT:-90}"

say() { printf 'kafka.sh: %s\n' "$*" >&2; }

is_running() {
  [[ -f "$pid_file" ]] && kill -0 "$(cat "$pid_file")" 2>/dev/null
}

fetch_jars() {
  # .complete holds the pom's hash: a changed pom (e.g. a new artifact) fetches again.
  local pom_hash
  pom_hash="$(sha256sum "$here/pom.xml" | cut -c1-16)"
  if [[ -f "$lib_dir/.complete" && "$(cat "$lib_dir/.complete")" == "$pom_hash" ]]; then
    return 0
  fi
  command -v mvn >/dev/null || { say "Maven (mvn) is required to fetch the broker's jars"; exit 1; }
  say "fetching Apache Kafka jars from Maven Central into $lib_dir (once)"
  rm -rf "$lib_dir"
  mkdir -p "$lib_dir"
  local started=$SECONDS
  mvn -q -B -f "$here/pom.xml" package -Dkafka.lib.dir="$lib_dir"
  echo "$pom_hash" > "$lib_dir/.complete"
  say "jars fetched in $((SECONDS - started)) s"
}

write_properties() {
  mkdir -p "$log_dir" "$data_dir"
  cat > "$props" <<PROPS
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:$controller_port
listeners=PLAINTEXT://127.0.0.1:$port,CONTROLLER://127.0.0.1:$controller_port
advertised.listeners=PLAINTEXT://127.0.0.1:$port
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
log.dirs=$data_dir
num.partitions=1
default.replication.factor=1
offsets.topic.replication.factor=1
offsets.topic.num.partitions=6
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
min.insync.replicas=1
auto.create.topics.enable=false
group.initial.rebalance.delay.ms=0
log.retention.check.interval.ms=5000
PROPS
  if [[ -n "${KAFKA_EXTRA_PROPERTIES:-}" ]]; then
    cat "$KAFKA_EXTRA_PROPERTIES" >> "$props"
  fi
}

java_cmd() {
  java -Xms256m -Xmx1g -XX:+UseG1GC \
    -Dlog4j2.configurationFile="$here/log4j2.properties" -Dkafka.logs.dir="$log_dir" \
    -cp "$lib_dir/*" "$@"
}

format_storage() {
  if [[ -f "$data_dir/meta.properties" ]]; then return 0; fi
  local cluster_id line
  local -a scram=()
  if [[ -n "${KAFKA_SCRAM_USERS:-}" ]]; then
    while IFS= read -r line; do
      [[ -n "$line" ]] && scram+=(--add-scram "$line")
    done < "$KAFKA_SCRAM_USERS"
  fi
  cluster_id="$(java_cmd kafka.tools.StorageTool random-uuid)"
  java_cmd kafka.tools.StorageTool format -t "$cluster_id" -c "$props" "${scram[@]}" >/dev/null
}

wait_until_ready() {
  local deadline=$((SECONDS + start_timeout))
  while ((SECONDS < deadline)); do
    if ! is_running; then
      say "broker exited during start-up; last log lines:"
      tail -n 30 "$log_dir/server.log" >&2 2>/dev/null || true
      tail -n 30 "$home/stdout.log" >&2 2>/dev/null || true
      exit 1
    fi
    if grep -q "Kafka Server started" "$log_dir/server.log" 2>/dev/null &&
       (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
      return 0
    fi
    sleep 0.5
  done
  say "broker did not answer on 127.0.0.1:$port within ${start_timeout}s (log: $log_dir/server.log)"
  exit 1
}

up() {
  if is_running; then
    say "already running on 127.0.0.1:$port (pid $(cat "$pid_file"))"
    return 0
  fi
  command -v java >/dev/null || { say "Java 17 is required (java not found)"; exit 1; }
  fetch_jars
  write_properties
  format_storage
  : > "$log_dir/server.log"
  local started=$SECONDS
  nohup bash -c "exec java -Xms256m -Xmx1g -XX:+UseG1GC \
    -Dlog4j2.configurationFile='$here/log4j2.properties' -Dkafka.logs.dir='$log_dir' \
    -cp '$lib_dir/*' kafka.Kafka '$props'" > "$home/stdout.log" 2>&1 &
  echo $! > "$pid_file"
  wait_until_ready
  say "up on 127.0.0.1:$port in $((SECONDS - started)) s (pid $(cat "$pid_file"), run folder $home)"
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
  for _ in $(seq 1 60); do
    kill -0 "$pid" 2>/dev/null || { rm -f "$pid_file"; say "stopped"; return 0; }
    sleep 0.5
  done
  say "broker did not stop within 30 s; killing it"
  kill -KILL "$pid" 2>/dev/null || true
  rm -f "$pid_file"
}

consume() {
  local topic="${1:?usage: kafka.sh consume TOPIC [console consumer options...]}"
  shift
  fetch_jars
  java -Xms64m -Xmx256m -Dlog4j2.configurationFile="$here/log4j2.properties" \
    -Dkafka.logs.dir="$run_dir/kafka-tools-logs" -cp "$lib_dir/*" \
    org.apache.kafka.tools.consumer.ConsoleConsumer \
    --bootstrap-server "127.0.0.1:$port" --topic "$topic" --from-beginning \
    --property print.timestamp=true --property print.key=true --property print.headers=true \
    "$@"
}

case "${1:-}" in
  up) up ;;
  consume) shift; consume "$@" ;;
  down) down ;;
  status) is_running && (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null ;;
  clean) down; rm -rf "$home" ;;
  *) say "usage: kafka.sh up|down|status|clean|consume TOPIC"; exit 2 ;;
esac
