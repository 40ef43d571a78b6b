#!/usr/bin/env bash
# Local Apache Kafka 4.1.1 broker (KRaft, combined broker+controller), no Docker.
#
#   deploy/local/kafka.sh fetch    download the broker jars from Maven Central (once, shared cache)
#   deploy/local/kafka.sh start    fetch, configure, format storage (first time), start, wait ready
#   deploy/local/kafka.sh stop     controlled shutdown (SIGTERM, then SIGKILL after 30 s)
#   deploy/local/kafka.sh status   exit 0 if running, 3 if stopped
#
# Settings (ports, instance, directories): see env.sh.
# Instance layout: $CONSENT_LOCAL_DIR/$CONSENT_INSTANCE/kafka/
#   server.properties, log4j2.properties, kafka.pid, data/ (log.dirs), logs/ (server.log, kafka.out)
set -euo pipefail

# shellcheck source-path=SCRIPTDIR source=env.sh
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
LOCAL_TAG="kafka"

MARKER_JAR="kafka_2.13-$KAFKA_VERSION.jar"
POM="$LOCAL_SCRIPTS_DIR/kafka/pom.xml"
WAIT_KAFKA="$LOCAL_SCRIPTS_DIR/wait_kafka.py"
PYTHON="${CONSENT_PYTHON:-python3}"
JAVA="${JAVA_HOME:+$JAVA_HOME/bin/}java"
READY_TIMEOUT=90
STOP_TIMEOUT=30

PROPS="$LOCAL_KAFKA_DIR/server.properties"
LOG4J_CONF="$LOCAL_KAFKA_DIR/log4j2.properties"
TOOLS_LOG4J_CONF="$LOCAL_KAFKA_DIR/tools-log4j2.properties"
PID_FILE="$LOCAL_KAFKA_DIR/kafka.pid"
DATA_DIR="$LOCAL_KAFKA_DIR/data"
LOG_DIR="$LOCAL_KAFKA_DIR/logs"
SERVER_LOG="$LOG_DIR/server.log"
OUT_LOG="$LOG_DIR/kafka.out"

usage() {
  echo "usage: $0 {fetch|start|stop|status}" >&2
  exit 2
}

# Serialise start/stop of one instance (and fetches of the shared cache) so that
# parallel callers (e.g. test workers) do not race. The fd must not leak into
# the broker, or the lock would be held for the broker's lifetime.
# fd 9: instance lock, fd 8: download cache lock.
take_lock() { # take_lock FD FILE
  eval "exec $1>>\"\$2\"" 2>/dev/null || local_die "cannot open lock file $2 (permissions?)"
  if ! flock -n "$1"; then
    local_say "waiting for another kafka.sh working on the same files ($2) ..."
    flock -w 600 "$1" || local_die "could not get lock $2 within 600 s"
  fi
}

# ----------------------------------------------------------------------------- fetch

fetch() {
  if [[ -f "$KAFKA_LIBS/$MARKER_JAR" ]]; then
    return 0
  fi
  command -v mvn >/dev/null || local_die "Maven (mvn) is needed to download Kafka; install it (apt-get install maven)"
  local cache_root
  cache_root="$(dirname "$KAFKA_LIBS")"
  mkdir -p "$cache_root"
  take_lock 8 "$cache_root/.fetch.lock"
  if [[ -f "$KAFKA_LIBS/$MARKER_JAR" ]]; then # fetched by whoever held the lock
    exec 8>&-
    return 0
  fi
  rm -rf "$cache_root"/.libs.tmp.* # left over by interrupted downloads (we hold the lock)
  local tmp
  tmp="$(mktemp -d "$cache_root/.libs.tmp.XXXXXX")"
  chmod 755 "$tmp"
  # shellcheck disable=SC2064  # expand $tmp now: it is local
  trap "rm -rf '$tmp'" EXIT
  local_say "fetching Apache Kafka $KAFKA_VERSION broker jars from Maven Central into $KAFKA_LIBS ..."
  local started=$SECONDS
  if ! mvn -q -B -f "$POM" dependency:copy-dependencies \
    -DoutputDirectory="$tmp" -DincludeScope=runtime >"$tmp.mvn.log" 2>&1; then
    tail -n 40 "$tmp.mvn.log" >&2 || true
    rm -f "$tmp.mvn.log"
    local_die "Maven could not download the Kafka jars (see above; is Maven Central reachable?)"
  fi
  rm -f "$tmp.mvn.log"
  [[ -f "$tmp/$MARKER_JAR" ]] || local_die "Maven finished but $MARKER_JAR is missing; check $POM"
  # The directory appears complete or not at all: an interrupted download leaves
  # only a .libs.tmp.* directory behind (removed by the trap when possible).
  if [[ -e "$KAFKA_LIBS" ]]; then
    local_say "removing incomplete $KAFKA_LIBS (no $MARKER_JAR in it)"
    rm -rf "$KAFKA_LIBS"
  fi
  mv -T "$tmp" "$KAFKA_LIBS"
  trap - EXIT
  exec 8>&-
  local_say "fetched $(find "$KAFKA_LIBS" -name '*.jar' | wc -l) jars in $((SECONDS - started))s"
}

# ----------------------------------------------------------------------------- helpers

# Pid of this instance's broker if it is alive, else nothing (and status 1).
running_pid() {
  [[ -f "$PID_FILE" ]] || return 1
  local pid state cmdline
  pid="$(<"$PID_FILE")"
  [[ "$pid" =~ ^[0-9]+$ ]] || return 1
  state="$(sed -n 's/^.*) \([A-Z]\).*$/\1/p' "/proc/$pid/stat" 2>/dev/null)" || return 1
  [[ -n "$state" && "$state" != Z && "$state" != X ]] || return 1
  # Guard against pid reuse: it must be a Kafka broker using this instance's config.
  cmdline="$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null)" || return 1
  [[ "$cmdline" == *kafka.Kafka*"$PROPS"* ]] || return 1
  echo "$pid"
}

show_log_tail() {
  local f
  for f in "$SERVER_LOG" "$OUT_LOG"; do
    if [[ -s "$f" ]]; then
      echo "----- last 40 lines of $f -----" >&2
      tail -n 40 "$f" >&2
    fi
  done
  echo "----- end of log -----" >&2
}

check_java() {
  command -v "$JAVA" >/dev/null || local_die "java not found; Kafka $KAFKA_VERSION needs Java 17+ (apt-get install openjdk-17-jre-headless)"
  local version major
  version="$("$JAVA" -version 2>&1 | sed -n 's/.*version "\([^"]*\)".*/\1/p' | head -n 1)"
  major="${version%%.*}"
  [[ "$major" =~ ^[0-9]+$ && "$major" -ge 17 ]] \
    || local_die "Kafka $KAFKA_VERSION needs Java 17+, but '$JAVA' is version '${version:-unknown}'"
}

check_python() {
  command -v "$PYTHON" >/dev/null \
    || local_die "'$PYTHON' not found (needed for wait_kafka.py); set CONSENT_PYTHON to a Python 3 interpreter"
}

write_config() {
  mkdir -p "$DATA_DIR" "$LOG_DIR"
  local tmp="$PROPS.tmp"
  cat >"$tmp" <<EOF
# Written by deploy/local/kafka.sh on every start; edit env.sh settings, not this file.
# Single-node KRaft: this process is both broker and controller.
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:$LOCAL_KAFKA_CONTROLLER_PORT
listeners=PLAINTEXT://127.0.0.1:$LOCAL_KAFKA_PORT,CONTROLLER://127.0.0.1:$LOCAL_KAFKA_CONTROLLER_PORT
advertised.listeners=PLAINTEXT://127.0.0.1:$LOCAL_KAFKA_PORT
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
log.dirs=$DATA_DIR

# One broker: internal topics cannot be replicated.
offsets.topic.replication.factor=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
group.initial.rebalance.delay.ms=0

# Topics are created explicitly by the project (like in production).
auto.create.topics.enable=false
num.partitions=6
# Compacted topics (consent state) need the cleaner.
log.cleaner.enable=true
# Local only: check for compactable logs every 2 s (default 15 s) so erasure is visible quickly.
log.cleaner.backoff.ms=2000
EOF
  mv -f "$tmp" "$PROPS"

  cat >"$LOG4J_CONF.tmp" <<'EOF'
# Broker logs: ${sys:kafka.logs.dir}/server.log at INFO, rolled at 50 MB (5 kept).
name = consent-local-kafka
status = warn
appender.file.type = RollingFile
appender.file.name = FILE
appender.file.fileName = ${sys:kafka.logs.dir}/server.log
appender.file.filePattern = ${sys:kafka.logs.dir}/server.log.%i
appender.file.layout.type = PatternLayout
appender.file.layout.pattern = [%d] %p %m (%c)%n
appender.file.policies.type = Policies
appender.file.policies.size.type = SizeBasedTriggeringPolicy
appender.file.policies.size.size = 50MB
appender.file.strategy.type = DefaultRolloverStrategy
appender.file.strategy.max = 5
rootLogger.level = INFO
rootLogger.appenderRef.file.ref = FILE
# Per-request logging is far too chatty for a dev broker.
logger.request.name = kafka.request.logger
logger.request.level = WARN
EOF
  mv -f "$LOG4J_CONF.tmp" "$LOG4J_CONF"

  cat >"$TOOLS_LOG4J_CONF.tmp" <<'EOF'
# Command-line tools (storage format): warnings and errors to stderr only.
name = consent-local-kafka-tools
status = warn
appender.err.type = Console
appender.err.name = STDERR
appender.err.target = SYSTEM_ERR
appender.err.layout.type = PatternLayout
appender.err.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = WARN
rootLogger.appenderRef.err.ref = STDERR
EOF
  mv -f "$TOOLS_LOG4J_CONF.tmp" "$TOOLS_LOG4J_CONF"
}

format_storage() {
  if [[ -f "$DATA_DIR/meta.properties" ]]; then
    return 0
  fi
  local tools_opts=(-Xmx256m -Dlog4j2.configurationFile="$TOOLS_LOG4J_CONF" -cp "$KAFKA_LIBS/*")
  local cluster_id
  cluster_id="$("$JAVA" "${tools_opts[@]}" kafka.tools.StorageTool random-uuid)"
  [[ -n "$cluster_id" ]] || local_die "could not generate a cluster id"
  local_say "formatting KRaft storage in $DATA_DIR (cluster id $cluster_id) ..."
  "$JAVA" "${tools_opts[@]}" kafka.tools.StorageTool format -t "$cluster_id" -c "$PROPS" >&2 \
    || local_die "formatting the KRaft storage failed (see above)"
}

wait_ready() { # wait_ready PID
  "$PYTHON" "$WAIT_KAFKA" "$LOCAL_KAFKA_BOOTSTRAP" --timeout "$READY_TIMEOUT" --pid "$1" >&2
}

# ----------------------------------------------------------------------------- commands

start() {
  local_check_settings
  check_python
  mkdir -p "$LOCAL_KAFKA_DIR"
  take_lock 9 "$LOCAL_KAFKA_DIR/.lock"

  local pid
  if pid="$(running_pid)"; then
    if wait_ready "$pid" 2>/dev/null; then
      local_say "already running (pid $pid) on $LOCAL_KAFKA_BOOTSTRAP"
      return 0
    fi
    show_log_tail
    local_die "broker process $pid is running but does not answer on $LOCAL_KAFKA_BOOTSTRAP; try: $0 stop"
  fi
  rm -f "$PID_FILE"

  local port var
  for var in LOCAL_KAFKA_PORT LOCAL_KAFKA_CONTROLLER_PORT; do
    port="${!var}"
    if local_port_in_use "$port"; then
      local_die "port $port ($var) is already in use by another process; stop it or set $var to a free port"
    fi
  done

  local started=$SECONDS
  check_java
  fetch
  write_config
  format_storage

  local_say "starting broker on $LOCAL_KAFKA_BOOTSTRAP (controller 127.0.0.1:$LOCAL_KAFKA_CONTROLLER_PORT), logs in $LOG_DIR"
  local java_opts=(
    -Xms256m -Xmx1g
    -server -XX:+UseG1GC -XX:MaxGCPauseMillis=20 -XX:InitiatingHeapOccupancyPercent=35
    -XX:+ExplicitGCInvokesConcurrent -Djava.awt.headless=true
    "-Xlog:gc*:file=$LOG_DIR/gc.log:time,tags:filecount=3,filesize=20M"
    -Dlog4j2.configurationFile="$LOG4J_CONF"
    -Dkafka.logs.dir="$LOG_DIR"
    -cp "$KAFKA_LIBS/*"
  )
  {
    echo "===== $(date '+%Y-%m-%d %H:%M:%S') starting broker (kafka.sh) ====="
  } >>"$OUT_LOG"
  # Double fork + setsid: the broker is re-parented to init and gets its own
  # session, so it survives this script and Ctrl-C in the caller's terminal.
  # `bash -c 'echo $$ ...; exec ...'` records the pid of the process that becomes java.
  (
    cd "$LOCAL_KAFKA_DIR"
    # shellcheck disable=SC2016  # $$ and $@ are for the inner shell
    setsid nohup bash -c 'echo $$ >"$0"; exec "$@"' "$PID_FILE" \
      "$JAVA" "${java_opts[@]}" kafka.Kafka "$PROPS" \
      </dev/null >>"$OUT_LOG" 2>&1 8>&- 9>&- &
  )
  local i
  for ((i = 0; i < 50; i++)); do
    [[ -s "$PID_FILE" ]] && break
    sleep 0.1
  done
  [[ -s "$PID_FILE" ]] || local_die "the broker did not start (no pid file); see $OUT_LOG"
  pid="$(<"$PID_FILE")"

  if ! wait_ready "$pid"; then
    show_log_tail
    if running_pid >/dev/null; then
      local_say "stopping the broker that did not become ready"
      stop >/dev/null 2>&1 || true
    fi
    rm -f "$PID_FILE"
    local_die "the broker did not become ready on $LOCAL_KAFKA_BOOTSTRAP (full logs in $LOG_DIR)"
  fi
  local_say "running (pid $pid) on $LOCAL_KAFKA_BOOTSTRAP; started in $((SECONDS - started))s"
}

stop() {
  if [[ ! -d "$LOCAL_KAFKA_DIR" ]]; then
    local_say "not running (no instance directory $LOCAL_KAFKA_DIR)"
    return 0
  fi
  take_lock 9 "$LOCAL_KAFKA_DIR/.lock"
  local pid
  if ! pid="$(running_pid)"; then
    rm -f "$PID_FILE"
    local_say "not running"
    return 0
  fi
  local_say "stopping broker (pid $pid, controlled shutdown, up to ${STOP_TIMEOUT}s) ..."
  kill -TERM "$pid" 2>/dev/null || true
  local i
  for ((i = 0; i < STOP_TIMEOUT * 10; i++)); do
    running_pid >/dev/null || break
    sleep 0.1
  done
  if running_pid >/dev/null; then
    local_say "broker did not exit within ${STOP_TIMEOUT}s; sending SIGKILL"
    kill -KILL "$pid" 2>/dev/null || true
    for ((i = 0; i < 50; i++)); do
      running_pid >/dev/null || break
      sleep 0.1
    done
    if running_pid >/dev/null; then
      local_die "could not kill broker pid $pid"
    fi
  fi
  rm -f "$PID_FILE"
  local_say "stopped"
}

status() {
  local pid
  if pid="$(running_pid)"; then
    if "$PYTHON" "$WAIT_KAFKA" "$LOCAL_KAFKA_BOOTSTRAP" --timeout 2 --pid "$pid" >/dev/null 2>&1; then
      echo "kafka ($CONSENT_INSTANCE): running (pid $pid) on $LOCAL_KAFKA_BOOTSTRAP"
    else
      echo "kafka ($CONSENT_INSTANCE): running (pid $pid) but not answering on $LOCAL_KAFKA_BOOTSTRAP (starting up or stuck; see $LOG_DIR)"
    fi
    return 0
  fi
  echo "kafka ($CONSENT_INSTANCE): stopped"
  return 3
}

[[ $# -eq 1 ]] || usage
case "$1" in
  fetch) fetch ;;
  start) start ;;
  stop) stop ;;
  status) status ;;
  *) usage ;;
esac
