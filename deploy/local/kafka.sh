#!/usr/bin/env bash
# Local Apache Kafka 4.1.1 broker (KRaft, combined broker+controller), no Docker.
#
#   deploy/local/kafka.sh fetch    download the broker jars from Maven Central (once, shared cache)
#   deploy/local/kafka.sh start    fetch, configure, format storage (first time), start, wait ready
#   deploy/local/kafka.sh stop     controlled shutdown (SIGTERM, then SIGKILL after 30 s)
#   deploy/local/kafka.sh status   exit 0 if running, 3 if stopped
#   deploy/local/kafka.sh stop-node N / start-node N   one node of a LOCAL_KAFKA_BROKERS=3
#                                  cluster (fault drills: `consent chaos`)
#
# Settings (ports, instance, directories, LOCAL_KAFKA_SECURITY): see env.sh.
# Instance layout: $CONSENT_LOCAL_DIR/$CONSENT_INSTANCE/kafka/
#   server.properties, log4j2.properties, kafka.pid, data/ (log.dirs), logs/ (server.log, kafka.out)
#   (with LOCAL_KAFKA_BROKERS=3 each node has those in node1/, node2/, node3/, and cluster.id
#   holds the id all three were formatted with)
#   security      the mode the storage was formatted in (plaintext or sasl_ssl)
#   tls/          (sasl_ssl) ca.crt, broker.crt, broker.pem (key + chain, mode 600)
#   secrets/      (sasl_ssl) admin.password, broker.password (mode 600)
# and ../clients/admin.properties (sasl_ssl): the admin's librdkafka settings, mode 600.
#
# Who authenticates how with LOCAL_KAFKA_SECURITY=sasl_ssl:
#   clients -> CLIENT listener (SASL_SSL): SCRAM-SHA-512 over TLS; the principal is the SCRAM
#       user, held to ACLs. Credentials live in the cluster metadata (`ops.access` adds users).
#   broker -> CLIENT listener (inter-broker): SCRAM-SHA-512 as the super user `broker`. Its
#       credentials and the admin's are written into the metadata log when the storage is
#       formatted (`kafka-storage format --add-scram`), so the very first start can
#       authenticate without any unauthenticated window to create them.
#   broker -> CONTROLLER listener (SSL): mutual TLS. SCRAM cannot serve here: a controller
#       would need the metadata log to check a password, and the broker needs the controller
#       to get that log (KAFKA-15513). The controller requires a client certificate signed by
#       the instance's CA; its subject CN=broker maps to the principal `broker`. The CA's key is
#       destroyed as soon as it has signed the broker certificate, so no other certificate,
#       hence no other principal, can ever reach the controller.
set -euo pipefail

# shellcheck source-path=SCRIPTDIR source=env.sh
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
LOCAL_TAG="kafka"

MARKER_JAR="kafka_2.13-$KAFKA_VERSION.jar"
POM="$LOCAL_SCRIPTS_DIR/kafka/pom.xml"
WAIT_KAFKA="$LOCAL_SCRIPTS_DIR/wait_kafka.py"
PYTHON="${CONSENT_PYTHON:-python3}"
JAVA="${JAVA_HOME:+$JAVA_HOME/bin/}java"
READY_TIMEOUT="${LOCAL_KAFKA_READY_TIMEOUT:-180}" # a node joining a loaded cluster can take minutes
STOP_TIMEOUT=30

LOG4J_CONF="$LOCAL_KAFKA_DIR/log4j2.properties"
TOOLS_LOG4J_CONF="$LOCAL_KAFKA_DIR/tools-log4j2.properties"
CLUSTER_ID_FILE="$LOCAL_KAFKA_DIR/cluster.id"

# select_node N : point the per-node globals at node N (1-based). A single broker keeps the
# layout it always had; a cluster puts each node in a folder of its own.
select_node() {
  NODE="$1"
  if ((LOCAL_KAFKA_BROKERS == 1)); then
    NODE_DIR="$LOCAL_KAFKA_DIR"
  else
    NODE_DIR="$LOCAL_KAFKA_DIR/node$NODE"
  fi
  NODE_PORT=$((LOCAL_KAFKA_PORT + 10 * (NODE - 1)))
  NODE_CONTROLLER_PORT=$((LOCAL_KAFKA_CONTROLLER_PORT + 10 * (NODE - 1)))
  NODE_ADDRESS="127.0.0.1:$NODE_PORT"
  PROPS="$NODE_DIR/server.properties"
  PID_FILE="$NODE_DIR/kafka.pid"
  DATA_DIR="$NODE_DIR/data"
  LOG_DIR="$NODE_DIR/logs"
  SERVER_LOG="$LOG_DIR/server.log"
  OUT_LOG="$LOG_DIR/kafka.out"
}
select_node 1

# the controller quorum: every node is a voter
quorum_voters() {
  local n voters=""
  for ((n = 1; n <= LOCAL_KAFKA_BROKERS; n++)); do
    voters+="${voters:+,}$n@127.0.0.1:$((LOCAL_KAFKA_CONTROLLER_PORT + 10 * (n - 1)))"
  done
  echo "$voters"
}

MODE_FILE="$LOCAL_KAFKA_DIR/security"
LAYOUT_FILE="$LOCAL_KAFKA_DIR/brokers" # how many nodes the instance was last started with
TLS_DIR="$LOCAL_KAFKA_TLS_DIR"
SECRETS_DIR="$LOCAL_KAFKA_DIR/secrets"
CERT_DAYS=825 # regenerated (CA too) when less than a day is left

usage() {
  echo "usage: $0 {fetch|start|stop|status|stop-node N|start-node N}" >&2
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

secured() { [[ "$LOCAL_KAFKA_SECURITY" == sasl_ssl ]]; }

# An instance keeps the mode it was formatted in: a plaintext instance has no credentials to
# authenticate with, and a secured one must not be reopened to everyone by a missing variable.
check_mode() {
  [[ -f "$DATA_DIR/meta.properties" ]] || return 0
  local formatted=plaintext # instances formatted before the switch existed
  [[ -f "$MODE_FILE" ]] && formatted="$(<"$MODE_FILE")"
  [[ "$formatted" == "$LOCAL_KAFKA_SECURITY" ]] \
    || local_die "instance '$CONSENT_INSTANCE' was created with LOCAL_KAFKA_SECURITY=$formatted, not $LOCAL_KAFKA_SECURITY; use another CONSENT_INSTANCE (or stop it and delete $LOCAL_KAFKA_DIR)"
}

# recorded_brokers : the node count the instance last started with (stop and status follow it,
# so `make down` stops a cluster without being told it is one).
recorded_brokers() {
  local recorded=""
  [[ -f "$LAYOUT_FILE" ]] && recorded="$(<"$LAYOUT_FILE")"
  [[ "$recorded" == 1 || "$recorded" == 3 ]] && echo "$recorded" || echo "$LOCAL_KAFKA_BROKERS"
}

# check_layout : refuse to start N nodes while the instance runs with another count.
check_layout() {
  local recorded wanted="$LOCAL_KAFKA_BROKERS" n
  recorded="$(recorded_brokers)"
  if [[ "$recorded" != "$wanted" ]]; then
    LOCAL_KAFKA_BROKERS="$recorded"
    for ((n = 1; n <= recorded; n++)); do
      select_node "$n"
      running_pid >/dev/null \
        && local_die "instance '$CONSENT_INSTANCE' runs with $recorded broker(s), not $wanted; stop it first (make down)"
    done
    LOCAL_KAFKA_BROKERS="$wanted"
    select_node 1
  fi
  echo "$wanted" >"$LAYOUT_FILE"
}

# A CA and the broker's certificate (SAN 127.0.0.1 and localhost), made once per instance and
# again when the certificate is about to expire. EC P-256 keys: quick to make and to use.
ensure_tls() {
  if [[ -s "$TLS_DIR/ca.crt" && -s "$TLS_DIR/broker.pem" ]] \
    && openssl x509 -checkend 86400 -noout -in "$TLS_DIR/broker.crt" >/dev/null 2>&1; then
    return 0
  fi
  local_private_dir "$TLS_DIR"
  local work
  work="$(mktemp -d "$TLS_DIR/.new.XXXXXX")"
  # shellcheck disable=SC2064  # expand $work now: it is local
  trap "rm -rf '$work'" EXIT
  local_say "generating a CA and the broker certificate in $TLS_DIR ..."
  local ec=(-newkey ec -pkeyopt ec_paramgen_curve:P-256 -noenc)
  {
    openssl req -x509 "${ec[@]}" -keyout "$work/ca.key" -out "$work/ca.crt" -days "$CERT_DAYS" \
      -subj "/O=consent-local/CN=consent local CA $CONSENT_INSTANCE" \
      -addext "basicConstraints=critical,CA:TRUE,pathlen:0" \
      -addext "keyUsage=critical,keyCertSign,cRLSign" \
      && openssl req -new "${ec[@]}" -keyout "$work/broker.key" -out "$work/broker.csr" \
        -subj "/CN=broker" \
      && printf '%s\n' "subjectAltName=IP:127.0.0.1,DNS:localhost" \
        "basicConstraints=critical,CA:FALSE" "keyUsage=critical,digitalSignature" \
        "extendedKeyUsage=serverAuth,clientAuth" >"$work/broker.ext" \
      && openssl x509 -req -in "$work/broker.csr" -CA "$work/ca.crt" -CAkey "$work/ca.key" \
        -set_serial "0x$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')" -days "$CERT_DAYS" \
        -extfile "$work/broker.ext" -out "$work/broker.crt"
  } >"$work/openssl.log" 2>&1 || {
    cat "$work/openssl.log" >&2
    local_die "openssl could not make the certificates (see above)"
  }
  # The CA signs this one certificate and is never needed again: without its key nobody can
  # mint a certificate the controller listener would accept.
  rm -f "$work/ca.key" "$work/broker.csr" "$work/broker.ext" "$work/openssl.log"
  # Kafka's PEM keystore: the private key (PKCS#8) followed by the certificate chain.
  local_private_file "$work/broker.pem"
  cat "$work/broker.key" "$work/broker.crt" "$work/ca.crt" >>"$work/broker.pem"
  rm -f "$work/broker.key"
  chmod 644 "$work/ca.crt" "$work/broker.crt"
  mv -f "$work/broker.pem" "$work/broker.crt" "$TLS_DIR/"
  mv -f "$work/ca.crt" "$TLS_DIR/ca.crt" # last: its presence marks a complete set
  rm -rf "$work"
  trap - EXIT
}

# Passwords of the two super users, and the admin's client settings for setup tools.
ensure_secrets() {
  local_private_dir "$SECRETS_DIR"
  local_password "$SECRETS_DIR/admin.password"
  local_password "$SECRETS_DIR/broker.password"
  local_private_dir "$LOCAL_CLIENTS_DIR"
  local tmp="$LOCAL_KAFKA_ADMIN_CONFIG.tmp"
  local_private_file "$tmp"
  cat >>"$tmp" <<EOF
# Written by deploy/local/kafka.sh on every start: the super user, for setup only
# (topics, users, ACLs). No running component may use it.
bootstrap.servers=$LOCAL_KAFKA_BOOTSTRAP
security.protocol=SASL_SSL
sasl.mechanisms=SCRAM-SHA-512
sasl.username=admin
sasl.password=$(<"$SECRETS_DIR/admin.password")
ssl.ca.location=$TLS_DIR/ca.crt
ssl.endpoint.identification.algorithm=https
EOF
  mv -f "$tmp" "$LOCAL_KAFKA_ADMIN_CONFIG"
}

listener_config() {
  if ! secured; then
    cat <<EOF
listeners=PLAINTEXT://127.0.0.1:$NODE_PORT,CONTROLLER://127.0.0.1:$NODE_CONTROLLER_PORT
advertised.listeners=PLAINTEXT://127.0.0.1:$NODE_PORT
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
EOF
    return 0
  fi
  cat <<EOF
# LOCAL_KAFKA_SECURITY=sasl_ssl: see the header of kafka.sh for who authenticates how.
listeners=CLIENT://127.0.0.1:$NODE_PORT,CONTROLLER://127.0.0.1:$NODE_CONTROLLER_PORT
advertised.listeners=CLIENT://127.0.0.1:$NODE_PORT
controller.listener.names=CONTROLLER
inter.broker.listener.name=CLIENT
listener.security.protocol.map=CLIENT:SASL_SSL,CONTROLLER:SSL

sasl.enabled.mechanisms=SCRAM-SHA-512
sasl.mechanism.inter.broker.protocol=SCRAM-SHA-512
listener.name.client.scram-sha-512.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required username="broker" password="$(<"$SECRETS_DIR/broker.password")";
listener.name.client.ssl.client.auth=none
listener.name.controller.ssl.client.auth=required
ssl.principal.mapping.rules=RULE:^CN=broker\$/broker/,DEFAULT
ssl.keystore.type=PEM
ssl.keystore.location=$TLS_DIR/broker.pem
ssl.truststore.type=PEM
ssl.truststore.location=$TLS_DIR/ca.crt
ssl.endpoint.identification.algorithm=https

authorizer.class.name=org.apache.kafka.metadata.authorizer.StandardAuthorizer
allow.everyone.if.no.acl.found=false
super.users=User:admin;User:broker
EOF
}

# One broker: internal topics cannot be replicated. Three: every topic on all three, and a
# write acknowledged only once two have it (acks=all), so losing one broker loses nothing.
replication_config() {
  if ((LOCAL_KAFKA_BROKERS == 1)); then
    printf '%s\n' offsets.topic.replication.factor=1 transaction.state.log.replication.factor=1 \
      transaction.state.log.min.isr=1 share.coordinator.state.topic.replication.factor=1 \
      share.coordinator.state.topic.min.isr=1
  else
    printf '%s\n' offsets.topic.replication.factor=3 transaction.state.log.replication.factor=3 \
      transaction.state.log.min.isr=2 share.coordinator.state.topic.replication.factor=3 \
      share.coordinator.state.topic.min.isr=2 default.replication.factor=3 min.insync.replicas=2
  fi
}

write_config() {
  mkdir -p "$DATA_DIR" "$LOG_DIR"
  local tmp="$PROPS.tmp"
  local_private_file "$tmp" # it holds the broker's password when secured
  cat >>"$tmp" <<EOF
# Written by deploy/local/kafka.sh on every start; edit env.sh settings, not this file.
# KRaft, combined: this process is both a broker and a controller (node $NODE of $LOCAL_KAFKA_BROKERS).
process.roles=broker,controller
node.id=$NODE
controller.quorum.voters=$(quorum_voters)
$(listener_config)
log.dirs=$DATA_DIR

$(replication_config)
group.initial.rebalance.delay.ms=0

# Topics are created explicitly by the project (like in production).
auto.create.topics.enable=false
num.partitions=6
# Compacted topics (consent state) need the cleaner.
log.cleaner.enable=true
# Local only: check for compactable logs every 2 s (default 15 s) so erasure is visible quickly.
log.cleaner.backoff.ms=2000
# Local only: look for segments past their retention every 10 s (default 5 min), so a short
# retention (CONSENT_RAW_RETENTION_DAYS in the retention test) is seen to delete quickly.
log.retention.check.interval.ms=10000
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
  if [[ -s "$CLUSTER_ID_FILE" ]]; then # the other nodes of this instance were formatted with it
    cluster_id="$(<"$CLUSTER_ID_FILE")"
  else
    cluster_id="$("$JAVA" "${tools_opts[@]}" kafka.tools.StorageTool random-uuid)"
    [[ -n "$cluster_id" ]] || local_die "could not generate a cluster id"
    echo "$cluster_id" >"$CLUSTER_ID_FILE"
  fi
  local_say "formatting KRaft storage in $DATA_DIR (cluster id $cluster_id, $LOCAL_KAFKA_SECURITY) ..."
  # The arguments go through a java @argfile (mode 600, removed at once) so the super users'
  # passwords never appear on a command line, which every local user can read in /proc.
  local argfile="$NODE_DIR/.format.args"
  local_private_file "$argfile"
  # shellcheck disable=SC2064  # expand $argfile now: it is local
  trap "rm -f '$argfile'" EXIT
  printf '%s\n' kafka.tools.StorageTool format -t "$cluster_id" -c "$PROPS" >>"$argfile"
  if secured; then
    local user
    for user in admin broker; do
      printf '%s\n' --add-scram \
        "SCRAM-SHA-512=[name=$user,iterations=8192,password=$(<"$SECRETS_DIR/$user.password")]" \
        >>"$argfile"
    done
  fi
  local status=0
  "$JAVA" "${tools_opts[@]}" "@$argfile" >&2 || status=$?
  rm -f "$argfile"
  trap - EXIT
  ((status == 0)) || local_die "formatting the KRaft storage failed (see above)"
  echo "$LOCAL_KAFKA_SECURITY" >"$MODE_FILE"
}

# Extra arguments for wait_kafka.py: when secured, it proves readiness as the admin over TLS.
wait_args() {
  if secured; then
    printf '%s\n' --client-config "$LOCAL_KAFKA_ADMIN_CONFIG"
  fi
}

wait_ready() { # wait_ready PID
  local extra
  mapfile -t extra < <(wait_args)
  "$PYTHON" "$WAIT_KAFKA" "$NODE_ADDRESS" --timeout "$READY_TIMEOUT" --pid "$1" \
    "${extra[@]}" >&2
}

# ----------------------------------------------------------------------------- commands

# launch_node : start the selected node's java process in the background (no waiting).
launch_node() {
  local_say "starting node $NODE on $NODE_ADDRESS (controller 127.0.0.1:$NODE_CONTROLLER_PORT), logs in $LOG_DIR"
  local java_opts=(
    -Xms256m -Xmx1g
    -server -XX:+UseG1GC -XX:MaxGCPauseMillis=20 -XX:InitiatingHeapOccupancyPercent=35
    -XX:+ExplicitGCInvokesConcurrent -Djava.awt.headless=true
    "-Xlog:gc*:file=$LOG_DIR/gc.log:time,tags:filecount=3,filesize=20M"
    -Dlog4j2.configurationFile="$LOG4J_CONF"
    -Dkafka.logs.dir="$LOG_DIR"
    -cp "$KAFKA_LIBS/*"
  )
  echo "===== $(date '+%Y-%m-%d %H:%M:%S') starting broker (kafka.sh) =====" >>"$OUT_LOG"
  # Double fork + setsid: the broker is re-parented to init and gets its own
  # session, so it survives this script and Ctrl-C in the caller's terminal.
  # `bash -c 'echo $$ ...; exec ...'` records the pid of the process that becomes java.
  (
    cd "$NODE_DIR"
    # shellcheck disable=SC2016  # $$ and $@ are for the inner shell
    setsid nohup bash -c 'echo $$ >"$0"; exec "$@"' "$PID_FILE" \
      "$JAVA" "${java_opts[@]}" kafka.Kafka "$PROPS" \
      </dev/null >>"$OUT_LOG" 2>&1 8>&- 9>&- &
  )
  local i
  for ((i = 0; i < 50; i++)); do
    [[ -s "$PID_FILE" ]] && return 0
    sleep 0.1
  done
  local_die "node $NODE did not start (no pid file); see $OUT_LOG"
}

# prepare_node : configure and format the selected node; 1 if it is already running.
prepare_node() {
  local pid
  if pid="$(running_pid)"; then
    return 1
  fi
  rm -f "$PID_FILE"
  local port
  for port in "$NODE_PORT" "$NODE_CONTROLLER_PORT"; do
    if local_port_in_use "$port"; then
      local_die "port $port (node $NODE) is already in use by another process; stop it or set LOCAL_KAFKA_PORT / LOCAL_KAFKA_CONTROLLER_PORT to free ports"
    fi
  done
  write_config
  format_storage
}

start_common() {
  local_check_settings
  check_python
  mkdir -p "$LOCAL_KAFKA_DIR"
  take_lock 9 "$LOCAL_KAFKA_DIR/.lock"
  select_node 1
  check_mode
  check_layout
  if secured; then
    command -v openssl >/dev/null \
      || local_die "openssl is needed for LOCAL_KAFKA_SECURITY=sasl_ssl (the broker's TLS certificates); install it (apt-get install openssl)"
    ensure_secrets
  fi
  check_java
  fetch
  if secured; then
    ensure_tls
  fi
}

# start NODES... : launch every node that is not running, then wait for each to be ready. A
# cluster's nodes are all launched before any is awaited: none is ready without a quorum.
start_nodes() {
  local started=$SECONDS n launched=()
  for n in "$@"; do
    select_node "$n"
    if prepare_node; then
      launch_node
      launched+=("$n")
    fi
  done
  for n in "$@"; do
    select_node "$n"
    local pid
    pid="$(<"$PID_FILE")"
    if ! wait_ready "$pid"; then
      show_log_tail
      for n in "${launched[@]}"; do
        select_node "$n"
        stop_node >/dev/null 2>&1 || true
      done
      local_die "node $NODE did not become ready on $NODE_ADDRESS (full logs in $LOG_DIR)"
    fi
  done
  if ((${#launched[@]} == 0)); then
    local_say "already running on $LOCAL_KAFKA_BOOTSTRAP"
  else
    local_say "running on $LOCAL_KAFKA_BOOTSTRAP ($LOCAL_KAFKA_SECURITY, $LOCAL_KAFKA_BROKERS node(s)); started in $((SECONDS - started))s"
  fi
}

start() {
  start_common
  local nodes=() n
  for ((n = 1; n <= LOCAL_KAFKA_BROKERS; n++)); do nodes+=("$n"); done
  start_nodes "${nodes[@]}"
}

# stop_node : controlled shutdown of the selected node (SIGTERM, then SIGKILL).
stop_node() {
  local pid
  if ! pid="$(running_pid)"; then
    rm -f "$PID_FILE"
    return 0
  fi
  local_say "stopping node $NODE (pid $pid, controlled shutdown, up to ${STOP_TIMEOUT}s) ..."
  kill -TERM "$pid" 2>/dev/null || true
  local i
  for ((i = 0; i < STOP_TIMEOUT * 10; i++)); do
    running_pid >/dev/null || break
    sleep 0.1
  done
  if running_pid >/dev/null; then
    local_say "node $NODE did not exit within ${STOP_TIMEOUT}s; sending SIGKILL"
    kill -KILL "$pid" 2>/dev/null || true
    for ((i = 0; i < 50; i++)); do
      running_pid >/dev/null || break
      sleep 0.1
    done
    if running_pid >/dev/null; then
      local_die "could not kill node $NODE (pid $pid)"
    fi
  fi
  rm -f "$PID_FILE"
}

stop() {
  if [[ ! -d "$LOCAL_KAFKA_DIR" ]]; then
    local_say "not running (no instance directory $LOCAL_KAFKA_DIR)"
    return 0
  fi
  take_lock 9 "$LOCAL_KAFKA_DIR/.lock"
  LOCAL_KAFKA_BROKERS="$(recorded_brokers)"
  local n
  for ((n = LOCAL_KAFKA_BROKERS; n >= 1; n--)); do
    select_node "$n"
    stop_node
  done
  local_say "stopped"
}

check_node_arg() { # check_node_arg N
  [[ "${1:-}" =~ ^[0-9]+$ ]] && (($1 >= 1 && $1 <= LOCAL_KAFKA_BROKERS)) \
    || local_die "node must be 1..$LOCAL_KAFKA_BROKERS (LOCAL_KAFKA_BROKERS), not '${1:-}'"
}

status() {
  LOCAL_KAFKA_BROKERS="$(recorded_brokers)"
  local n pid extra rc=0 states=()
  mapfile -t extra < <(wait_args)
  for ((n = 1; n <= LOCAL_KAFKA_BROKERS; n++)); do
    select_node "$n"
    if pid="$(running_pid)"; then
      if "$PYTHON" "$WAIT_KAFKA" "$NODE_ADDRESS" --timeout 2 --pid "$pid" "${extra[@]}" \
        >/dev/null 2>&1; then
        states+=("node $n running (pid $pid) on $NODE_ADDRESS")
      else
        states+=("node $n running (pid $pid) but not answering on $NODE_ADDRESS (starting up or stuck; see $LOG_DIR)")
      fi
    else
      states+=("node $n stopped")
      rc=3
    fi
  done
  if ((LOCAL_KAFKA_BROKERS == 1)); then
    if ((rc == 0)); then
      echo "kafka ($CONSENT_INSTANCE): running on $LOCAL_KAFKA_BOOTSTRAP"
    else
      echo "kafka ($CONSENT_INSTANCE): stopped"
    fi
  else
    local IFS=';'
    echo "kafka ($CONSENT_INSTANCE, $LOCAL_KAFKA_BROKERS nodes): ${states[*]}"
  fi
  return "$rc"
}

[[ $# -ge 1 ]] || usage
case "$1" in
  fetch) fetch ;;
  start) start ;;
  stop) stop ;;
  status) status ;;
  stop-node)
    LOCAL_KAFKA_BROKERS="$(recorded_brokers)"
    check_node_arg "${2:-}"
    take_lock 9 "$LOCAL_KAFKA_DIR/.lock"
    select_node "$2"
    stop_node
    local_say "node $2 stopped"
    ;;
  start-node)
    check_node_arg "${2:-}"
    start_common
    start_nodes "$2"
    ;;
  *) usage ;;
esac
