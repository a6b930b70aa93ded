#!/usr/bin/env bash
# Real PostgreSQL, Redis, Kafka (KRaft) and MinIO on a bare Debian machine, no Docker,
# for the "services" adapters (DESIGN.md section 2), tests and CI. `up` also installs Prometheus
# and promtool (Debian package prometheus), which the services suite starts itself, and Chromium
# (Debian package chromium), which it drives headless.
#
#   scripts/services.sh up     [postgres|redis|kafka|minio ...]   install what is missing, start, wait
#   scripts/services.sh down   [postgres|redis|kafka|minio ...]   stop what this script started
#   scripts/services.sh status [postgres|redis|kafka|minio ...]   state, address and pid of each
#   scripts/services.sh env                                        the app's env vars (eval-able)
#   scripts/services.sh reset  [postgres|redis|kafka|minio ...]   down, then delete the data
#   scripts/services.sh tools                                      only install those programs (prometheus, chromium)
#
# Everything listens on 127.0.0.1 only. State (data, pid files, logs) lives in
# ${RECSYS_SERVICES_DIR:-<repo>/.services}; downloads and builds (Maven jars, the Go build,
# the MinIO binary) in ${RECSYS_SERVICES_CACHE:-$HOME/.cache/recsys-services}, so a second
# `up` takes seconds. Servers already running (live pid file) are left alone.
#
# Env: PG_PORT (5432) REDIS_PORT (6379) KAFKA_PORT (9092) KAFKA_CONTROLLER_PORT (9093)
#      KAFKA_FAULTS_PORT (9094) KAFKA_FAULTS_PROXY_PORT (19094): a second Kafka listener for the
#      fault tests, advertised at the port where those tests run a TCP proxy to it
#      MINIO_PORT (9000) MINIO_CONSOLE_PORT (9001) S3_ACCESS_KEY (recsys)
#      S3_SECRET_KEY (recsys-secret) S3_BUCKET (recsys) PG_USER/PG_PASSWORD/PG_DB (recsys)
#      SERVICES_TIMEOUT (seconds to wait for each server to answer, 120)
#      KAFKA_HEAP_OPTS (-Xms256m -Xmx512m)
#      MINIO_VERSION (v0.0.0-20260212201848-7aac2a2c5b7c: the pinned `go install` version)
#      MINIO_BIN (use this minio binary instead of building one) PG_FSYNC (on)
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
STATE="${RECSYS_SERVICES_DIR:-$REPO/.services}"
CACHE="${RECSYS_SERVICES_CACHE:-${HOME:-/root}/.cache/recsys-services}"
mkdir -p "$STATE" "$CACHE"
STATE="$(cd "$STATE" && pwd)"
CACHE="$(cd "$CACHE" && pwd)"

HOST=127.0.0.1
PG_PORT="${PG_PORT:-5432}"
REDIS_PORT="${REDIS_PORT:-6379}"
KAFKA_PORT="${KAFKA_PORT:-9092}"
KAFKA_CONTROLLER_PORT="${KAFKA_CONTROLLER_PORT:-9093}"
KAFKA_FAULTS_PORT="${KAFKA_FAULTS_PORT:-9094}"
KAFKA_FAULTS_PROXY_PORT="${KAFKA_FAULTS_PROXY_PORT:-19094}"
MINIO_PORT="${MINIO_PORT:-9000}"
MINIO_CONSOLE_PORT="${MINIO_CONSOLE_PORT:-9001}"
PG_USER="${PG_USER:-recsys}"
PG_PASSWORD="${PG_PASSWORD:-recsys}"
PG_DB="${PG_DB:-recsys}"
PG_TEST_DB="${PG_TEST_DB:-${PG_DB}_test}"
S3_ACCESS_KEY="${S3_ACCESS_KEY:-recsys}"
S3_SECRET_KEY="${S3_SECRET_KEY:-recsys-secret}"
S3_BUCKET="${S3_BUCKET:-recsys}"
TIMEOUT="${SERVICES_TIMEOUT:-120}"
KAFKA_HEAP_OPTS="${KAFKA_HEAP_OPTS:--Xms256m -Xmx512m}"
MINIO_VERSION="${MINIO_VERSION:-v0.0.0-20260212201848-7aac2a2c5b7c}"

ALL=(postgres redis kafka minio)

# ---------------------------------------------------------------- helpers
log() { printf '[services] %s\n' "$*" >&2; }
die() { printf '[services] ERROR: %s\n' "$*" >&2; exit 1; }
now() { date +%s; }
is_root() { [ "$(id -u)" = 0 ]; }

# Run as root: directly, with sudo, or fail.
as_root() {
  if is_root; then "$@"
  elif command -v sudo >/dev/null 2>&1; then sudo "$@"
  else die "need root (or sudo) for: $*"
  fi
}

APT_UPDATED=0
# ensure_pkgs PKG... : apt-get install the Debian packages that are not installed yet.
ensure_pkgs() {
  local missing=() p
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  command -v apt-get >/dev/null 2>&1 || die "missing packages ${missing[*]} and no apt-get"
  log "installing Debian packages: ${missing[*]}"
  # Keep the packages' own init scripts from starting a system-wide server on our ports.
  local policy=/usr/sbin/policy-rc.d added_policy=0
  if [ ! -e "$policy" ]; then
    as_root sh -c "printf '#!/bin/sh\nexit 101\n' > $policy && chmod 755 $policy"
    added_policy=1
  fi
  local rc=0 apt_log="$CACHE/apt.log"
  if [ "$APT_UPDATED" = 0 ]; then
    as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq >"$apt_log" 2>&1 || rc=$?
    APT_UPDATED=1
  fi
  if [ "$rc" = 0 ]; then
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
      "${missing[@]}" >>"$apt_log" 2>&1 || rc=$?
  fi
  if [ "$added_policy" = 1 ]; then as_root rm -f "$policy"; fi
  if [ "$rc" != 0 ]; then
    tail -n 30 "$apt_log" >&2
    die "apt-get install ${missing[*]} failed (log: $apt_log)"
  fi
}

# port_open PORT : something accepts TCP connections on 127.0.0.1:PORT
port_open() { (exec 3<>"/dev/tcp/$HOST/$1") 2>/dev/null; }

# port_owner PORT : "pid cmd" of the listener, when ss can tell
port_owner() {
  command -v ss >/dev/null 2>&1 || return 0
  local pid
  pid="$(ss -ltnpH "sport = :$1" 2>/dev/null | grep -o 'pid=[0-9]*' | head -1 | cut -d= -f2 || true)"
  [ -n "$pid" ] && printf '%s %s' "$pid" "$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | cut -c1-120)"
  return 0
}

# pid_alive PIDFILE PATTERN : the pid in PIDFILE runs and its command line matches PATTERN
pid_alive() {
  local pid
  [ -s "$1" ] || return 1
  pid="$(head -1 "$1" | tr -dc 0-9)"
  [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null || return 1
  tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q -- "$2"
}
pid_of() { head -1 "$1" 2>/dev/null | tr -dc 0-9; }

# wait_until NAME PIDFILE PATTERN LOG CMD... : poll CMD until it succeeds, the process dies,
# or TIMEOUT passes; on failure print the log tail and fail.
wait_until() {
  local name="$1" pidfile="$2" pattern="$3" logf="$4"
  shift 4
  local deadline=$(($(now) + TIMEOUT))
  until "$@" >/dev/null 2>&1; do
    if [ -n "$pidfile" ] && ! pid_alive "$pidfile" "$pattern"; then
      fail_with_log "$name" "$logf" "exited during start-up"
    fi
    [ "$(now)" -ge "$deadline" ] && fail_with_log "$name" "$logf" "did not answer within ${TIMEOUT}s"
    sleep 0.5
  done
}
fail_with_log() {
  log "$1 $3; last lines of $2:"
  tail -n 40 "$2" >&2 2>/dev/null || true
  if [ "$1" = kafka ] && [ "$2" != "$KAFKA_OUT" ] && [ -s "$KAFKA_OUT" ]; then
    log "last lines of $KAFKA_OUT (JVM output):"
    tail -n 20 "$KAFKA_OUT" >&2
  fi
  die "$1 failed to start (log: $2)"
}

# check_port NAME PORT VAR : fail if a process that is not ours listens on PORT
check_port() {
  if port_open "$2"; then
    local owner
    owner="$(port_owner "$2")"
    die "$1: port $HOST:$2 is already in use${owner:+ by pid $owner}; stop it or set another $3"
  fi
}

# Detached start in DIR: new session, no terminal, output to a file; the pid (the server's
# own: each step execs the next) is written to PIDFILE.
# start_detached DIR PIDFILE OUTFILE CMD...
start_detached() {
  local dir="$1" pidfile="$2" out="$3"
  shift 3
  # 8>&- 9>&-: servers must not inherit (and so hold) this script's lock files.
  (cd "$dir" && exec nohup setsid "$@" >>"$out" 2>&1 </dev/null 8>&- 9>&-) &
  echo $! >"$pidfile"
}

# stop_pid NAME PIDFILE PATTERN GRACE_S
stop_pid() {
  local name="$1" pidfile="$2" pattern="$3" grace="$4" pid i
  if ! pid_alive "$pidfile" "$pattern"; then
    rm -f "$pidfile"
    log "$name: not running"
    return 0
  fi
  pid="$(pid_of "$pidfile")"
  kill -TERM "$pid" 2>/dev/null || true
  for ((i = 0; i < grace * 4; i++)); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.25
  done
  if kill -0 "$pid" 2>/dev/null; then
    log "$name: still running after ${grace}s, killing pid $pid"
    kill -KILL "$pid" 2>/dev/null || true
  fi
  rm -f "$pidfile"
  log "$name: stopped (pid $pid)"
}

# ---------------------------------------------------------------- PostgreSQL
pg_bindir() {
  local d
  d="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1 || true)"
  [ -n "$d" ] && [ -x "$d/initdb" ] && echo "$d"
}

# The server cannot run as root: as root we run it as the `postgres` user.
pg_user() { if is_root; then echo postgres; else id -un; fi; }
as_pg() {
  if is_root; then (cd / && runuser -u postgres -- "$@"); else "$@"; fi
}

PG_HOME="$STATE/postgres"
pg_datadir() {
  # The `postgres` user must reach the data dir; a repo under /root is out of its reach, so
  # the data then lives under /var/lib/postgresql/recsys-services/<hash>/ and
  # $STATE/postgres/data links to it. Socket dir and log sit beside the data dir.
  if [ -L "$PG_HOME/data" ]; then readlink "$PG_HOME/data"; else echo "$PG_HOME/data"; fi
}
pg_root() { dirname "$(pg_datadir)"; }
pg_log() { echo "$(pg_root)/postgres.log"; }

pg_pidfile() { echo "$(pg_datadir)/postmaster.pid"; }

postgres_running() { pid_alive "$(pg_pidfile)" postgres; }

postgres_answers() {
  PGPASSWORD="$PG_PASSWORD" PGCONNECT_TIMEOUT=3 "$(pg_bindir)/psql" -h "$HOST" -p "$PG_PORT" \
    -U "$PG_USER" -d "$PG_DB" -tAc 'select 1' 2>/dev/null | grep -q 1
}

# The Debian package's own cluster (e.g. 15/main on 5432): stop it and keep it from auto-starting.
pg_stop_system_cluster() {
  command -v pg_lsclusters >/dev/null 2>&1 || return 0
  local ver name port status
  while read -r ver name port status _; do
    if [ "$port" != "$PG_PORT" ] || [ "$status" != online ]; then continue; fi
    log "postgres: stopping the Debian system cluster $ver/$name on port $port (start.conf -> manual)"
    as_root pg_ctlcluster "$ver" "$name" stop || true
    [ -f "/etc/postgresql/$ver/$name/start.conf" ] &&
      as_root sh -c "echo manual > /etc/postgresql/$ver/$name/start.conf"
  done < <(pg_lsclusters -h 2>/dev/null || true)
}

postgres_up() {
  [ -n "$(pg_bindir)" ] || ensure_pkgs postgresql postgresql-client
  local bin
  bin="$(pg_bindir)" || die "postgres: no /usr/lib/postgresql/*/bin after install"
  mkdir -p "$PG_HOME"
  if postgres_running; then
    log "postgres: already running (pid $(pid_of "$(pg_pidfile)"))"
  else
    pg_stop_system_cluster
    check_port postgres "$PG_PORT" PG_PORT
    local data run user
    user="$(pg_user)"
    if [ ! -e "$PG_HOME/data" ]; then
      if is_root && ! runuser -u postgres -- test -x "$PG_HOME" 2>/dev/null; then
        data="/var/lib/postgresql/recsys-services/$(printf '%s' "$STATE" | md5sum | cut -c1-12)/data"
        mkdir -p "$data"
        chown postgres: "$data" "$(dirname "$data")" "$(dirname "$(dirname "$data")")"
        ln -s "$data" "$PG_HOME/data"
        ln -sfn "$(dirname "$data")/postgres.log" "$PG_HOME/postgres.log"
        log "postgres: $PG_HOME is out of the postgres user's reach; data in $data"
      else
        mkdir -p "$PG_HOME/data"
      fi
    fi
    data="$(pg_datadir)"
    run="$(pg_root)/run"
    mkdir -p "$run"
    touch "$(pg_log)"
    if is_root; then chown "$user": "$data" "$run" "$(pg_log)"; chmod 700 "$data"; fi
    if [ ! -s "$data/PG_VERSION" ]; then
      log "postgres: initdb $data"
      as_pg "$bin/initdb" -D "$data" -U postgres -E UTF8 --locale=C \
        --auth-local=trust --auth-host=scram-sha-256 >>"$(pg_log)" 2>&1 ||
        fail_with_log postgres "$(pg_log)" "initdb failed"
      echo "include_if_exists = 'recsys-services.conf'" >>"$data/postgresql.conf"
    fi
    # Rewritten on every start so that PG_PORT changes apply.
    cat >"$data/recsys-services.conf" <<EOF
# written by scripts/services.sh
listen_addresses = '$HOST'
port = $PG_PORT
unix_socket_directories = '$run'
max_connections = 200
shared_buffers = 128MB
fsync = ${PG_FSYNC:-on}
log_line_prefix = '%m [%p] %q%u@%d '
EOF
    is_root && chown "$user": "$data/recsys-services.conf"
    log "postgres: starting $("$bin/postgres" --version | awk '{print $3}') on $HOST:$PG_PORT"
    as_pg "$bin/pg_ctl" -D "$data" -l "$(pg_log)" -w -t "$TIMEOUT" start >/dev/null 2>&1 </dev/null 8>&- 9>&- ||
      fail_with_log postgres "$(pg_log)" "pg_ctl start failed"
  fi
  # Role and databases (idempotent), as the superuser over the private socket.
  local sock
  sock="$(awk -F"'" '/^unix_socket_directories/{print $2}' "$(pg_datadir)/recsys-services.conf")"
  wait_until postgres "$(pg_pidfile)" postgres "$(pg_log)" \
    "$(pg_bindir)/pg_isready" -q -h "$HOST" -p "$PG_PORT"
  as_pg "$(pg_bindir)/psql" -q -h "$sock" -p "$PG_PORT" -U postgres -d postgres -v ON_ERROR_STOP=1 \
    >/dev/null <<SQL || fail_with_log postgres "$(pg_log)" "creating role/databases failed"
DO \$\$ BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '$PG_USER') THEN
    CREATE ROLE "$PG_USER" LOGIN CREATEDB PASSWORD '$PG_PASSWORD';
  ELSE
    ALTER ROLE "$PG_USER" LOGIN CREATEDB PASSWORD '$PG_PASSWORD';
  END IF;
END \$\$;
SELECT format('CREATE DATABASE %I OWNER %I', d, '$PG_USER') FROM unnest(ARRAY['$PG_DB', '$PG_TEST_DB']) d
 WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = d) \gexec
SQL
  wait_until postgres "$(pg_pidfile)" postgres "$(pg_log)" postgres_answers
}

postgres_down() {
  local bin data
  bin="$(pg_bindir || true)"
  data="$(pg_datadir)"
  if ! postgres_running; then log "postgres: not running"; return 0; fi
  local pid
  pid="$(pid_of "$(pg_pidfile)")"
  as_pg "$bin/pg_ctl" -D "$data" -m fast -w -t 60 stop >/dev/null 2>&1 ||
    stop_pid postgres "$(pg_pidfile)" postgres 30
  log "postgres: stopped (pid $pid)"
}

# ---------------------------------------------------------------- Redis
REDIS_HOME="$STATE/redis"
REDIS_PID="$REDIS_HOME/redis.pid"
REDIS_LOG="$REDIS_HOME/redis.log"

redis_running() { pid_alive "$REDIS_PID" redis-server; }
redis_answers() { [ "$(redis-cli -h "$HOST" -p "$REDIS_PORT" ping 2>/dev/null)" = PONG ]; }

redis_up() {
  if ! command -v redis-server >/dev/null 2>&1 || ! command -v redis-cli >/dev/null 2>&1; then
    ensure_pkgs redis-server redis-tools
  fi
  mkdir -p "$REDIS_HOME/data"
  if redis_running; then
    log "redis: already running (pid $(pid_of "$REDIS_PID"))"
  else
    # A system-wide redis from the Debian package (init script) on our port: stop it.
    if port_open "$REDIS_PORT" && [ -x /etc/init.d/redis-server ] &&
      port_owner "$REDIS_PORT" | grep -q '/usr/bin/redis-server'; then
      log "redis: stopping the Debian system redis-server on port $REDIS_PORT"
      as_root /etc/init.d/redis-server stop >/dev/null 2>&1 || true
      sleep 1
    fi
    check_port redis "$REDIS_PORT" REDIS_PORT
    cat >"$REDIS_HOME/redis.conf" <<EOF
# written by scripts/services.sh
bind $HOST
port $REDIS_PORT
protected-mode yes
daemonize yes
pidfile $REDIS_PID
logfile $REDIS_LOG
dir $REDIS_HOME/data
dbfilename dump.rdb
save 3600 1 300 100 60 10000
appendonly no
maxmemory-policy noeviction
EOF
    log "redis: starting $(redis-server --version | grep -o 'v=[0-9.]*' | cut -d= -f2) on $HOST:$REDIS_PORT"
    : >>"$REDIS_LOG"
    (cd "$REDIS_HOME/data" && exec "$(command -v redis-server)" "$REDIS_HOME/redis.conf") \
      >>"$REDIS_LOG" 2>&1 </dev/null 8>&- 9>&- ||
      fail_with_log redis "$REDIS_LOG" "redis-server failed"
    local i
    for ((i = 0; i < 40; i++)); do [ -s "$REDIS_PID" ] && break; sleep 0.25; done
  fi
  wait_until redis "$REDIS_PID" redis-server "$REDIS_LOG" redis_answers
}

redis_down() { stop_pid redis "$REDIS_PID" redis-server 20; }

# ---------------------------------------------------------------- Kafka (KRaft)
KAFKA_HOME="$STATE/kafka"
KAFKA_PID="$KAFKA_HOME/kafka.pid"
KAFKA_OUT="$KAFKA_HOME/kafka.out"
KAFKA_LOG="$KAFKA_HOME/logs/server.log"
KAFKA_POM="$REPO/scripts/kafka/pom.xml"

kafka_version() { sed -n 's:.*<kafka.version>\(.*\)</kafka.version>.*:\1:p' "$KAFKA_POM" | head -1; }
kafka_libs() { echo "$CACHE/kafka-$(kafka_version)/libs"; }
kafka_running() { pid_alive "$KAFKA_PID" kafka.Kafka; }

java_major() {
  java -version 2>&1 | sed -n 's/.*version "\([0-9]*\)\(\.[0-9]*\)*.*".*/\1/p' | head -1
}

kafka_answers() {
  if command -v node >/dev/null 2>&1 && [ -d "$REPO/node_modules/kafkajs" ]; then
    KAFKA_BROKERS="$HOST:$KAFKA_PORT" WAIT_S=5 node "$REPO/scripts/services/kafka-check.mjs"
  else
    java -cp "$(kafka_libs)/*" org.apache.kafka.tools.TopicCommand \
      --bootstrap-server "$HOST:$KAFKA_PORT" --list
  fi
}

kafka_install() {
  local want=17
  if ! command -v java >/dev/null 2>&1 || [ "$(java_major)" -lt "$want" ]; then
    ensure_pkgs openjdk-17-jre-headless
  fi
  [ "$(java_major)" -ge "$want" ] || die "kafka: needs Java >= $want (java -version: $(java_major))"
  local libs
  libs="$(kafka_libs)"
  [ -f "$libs/.complete" ] && return 0
  command -v mvn >/dev/null 2>&1 || ensure_pkgs maven
  log "kafka: resolving Apache Kafka $(kafka_version) jars with Maven into $libs"
  rm -rf "$libs" && mkdir -p "$libs" "$CACHE/m2"
  mvn -q -B -f "$KAFKA_POM" -Dmaven.repo.local="$CACHE/m2" dependency:copy-dependencies \
    -DincludeScope=runtime -DoutputDirectory="$libs" >"$CACHE/kafka-mvn.log" 2>&1 || {
    tail -n 40 "$CACHE/kafka-mvn.log" >&2
    die "kafka: mvn dependency:copy-dependencies failed (log: $CACHE/kafka-mvn.log)"
  }
  touch "$libs/.complete"
}

kafka_write_config() {
  mkdir -p "$KAFKA_HOME/data" "$KAFKA_HOME/logs"
  cat >"$KAFKA_HOME/server.properties" <<EOF
# written by scripts/services.sh: single node, combined broker + controller (KRaft)
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@$HOST:$KAFKA_CONTROLLER_PORT
# FAULTS: clients that bootstrap through the fault tests' proxy are told to keep using it, so
# a test can take Kafka away from its own clients alone (the proxy forwards to this listener).
listeners=PLAINTEXT://$HOST:$KAFKA_PORT,CONTROLLER://$HOST:$KAFKA_CONTROLLER_PORT,FAULTS://$HOST:$KAFKA_FAULTS_PORT
advertised.listeners=PLAINTEXT://$HOST:$KAFKA_PORT,FAULTS://$HOST:$KAFKA_FAULTS_PROXY_PORT
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT,FAULTS:PLAINTEXT
log.dirs=$KAFKA_HOME/data
num.partitions=4
default.replication.factor=1
min.insync.replicas=1
offsets.topic.replication.factor=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
group.initial.rebalance.delay.ms=0
auto.create.topics.enable=true
log.retention.hours=168
log.segment.bytes=104857600
EOF
  cat >"$KAFKA_HOME/log4j2.properties" <<EOF
# written by scripts/services.sh
status = warn
appender.file.type = RollingFile
appender.file.name = FILE
appender.file.fileName = $KAFKA_LOG
appender.file.filePattern = $KAFKA_LOG.%i
appender.file.layout.type = PatternLayout
appender.file.layout.pattern = [%d] %p %m (%c)%n
appender.file.policies.type = Policies
appender.file.policies.size.type = SizeBasedTriggeringPolicy
appender.file.policies.size.size = 20MB
appender.file.strategy.type = DefaultRolloverStrategy
appender.file.strategy.max = 3
rootLogger.level = INFO
rootLogger.appenderRef.file.ref = FILE
logger.config.name = org.apache.kafka.common.config.AbstractConfig
logger.config.level = WARN
EOF
}

kafka_up() {
  kafka_install
  if kafka_running; then
    log "kafka: already running (pid $(pid_of "$KAFKA_PID"))"
  else
    check_port kafka "$KAFKA_PORT" KAFKA_PORT
    check_port kafka "$KAFKA_CONTROLLER_PORT" KAFKA_CONTROLLER_PORT
    check_port kafka "$KAFKA_FAULTS_PORT" KAFKA_FAULTS_PORT
    kafka_write_config
    local libs
    libs="$(kafka_libs)"
    if [ ! -s "$KAFKA_HOME/data/meta.properties" ]; then
      local id
      [ -s "$KAFKA_HOME/cluster.id" ] ||
        java -cp "$libs/*" kafka.tools.StorageTool random-uuid 2>/dev/null | tail -1 >"$KAFKA_HOME/cluster.id"
      id="$(cat "$KAFKA_HOME/cluster.id")"
      [ -n "$id" ] || die "kafka: could not make a cluster id"
      log "kafka: formatting storage $KAFKA_HOME/data (cluster $id)"
      java -Dlog4j2.configurationFile="$KAFKA_HOME/log4j2.properties" -cp "$libs/*" \
        kafka.tools.StorageTool format --ignore-formatted -t "$id" -c "$KAFKA_HOME/server.properties" \
        >>"$KAFKA_OUT" 2>&1 || fail_with_log kafka "$KAFKA_OUT" "storage format failed"
    fi
    log "kafka: starting Apache Kafka $(kafka_version) (KRaft) on $HOST:$KAFKA_PORT, controller $HOST:$KAFKA_CONTROLLER_PORT"
    # shellcheck disable=SC2086 # KAFKA_HEAP_OPTS holds several JVM flags
    start_detached "$KAFKA_HOME" "$KAFKA_PID" "$KAFKA_OUT" java $KAFKA_HEAP_OPTS -server -XX:+UseG1GC \
      -XX:MaxGCPauseMillis=20 -XX:+ExitOnOutOfMemoryError -Djava.awt.headless=true \
      -Dkafka.logs.dir="$KAFKA_HOME/logs" -Dlog4j2.configurationFile="$KAFKA_HOME/log4j2.properties" \
      -cp "$libs/*" kafka.Kafka "$KAFKA_HOME/server.properties"
  fi
  wait_until kafka "$KAFKA_PID" kafka.Kafka "$KAFKA_LOG" port_open "$KAFKA_PORT"
  wait_until kafka "$KAFKA_PID" kafka.Kafka "$KAFKA_LOG" kafka_answers
  kafka_answers 2>/dev/null | sed 's/^/[services] /' >&2 || true
}

kafka_down() { stop_pid kafka "$KAFKA_PID" kafka.Kafka 60; }

# ---------------------------------------------------------------- MinIO
MINIO_HOME="$STATE/minio"
MINIO_PID="$MINIO_HOME/minio.pid"
MINIO_LOG="$MINIO_HOME/minio.log"

minio_bin() {
  if [ -n "${MINIO_BIN:-}" ]; then echo "$MINIO_BIN"; return; fi
  echo "$CACHE/go/bin/minio"
}
# go-installed builds say DEVELOPMENT.GOGET; the module version tells which commit it is.
minio_version() {
  local v=""
  command -v go >/dev/null 2>&1 && v="$(go version -m "$(minio_bin)" 2>/dev/null | awk '$1 == "mod" {print $3}')"
  [ -n "$v" ] || v="$("$(minio_bin)" --version 2>/dev/null | head -1 | awk '{print $3}')"
  echo "${v:-unknown}"
}
minio_running() { pid_alive "$MINIO_PID" minio; }
minio_answers() {
  if command -v curl >/dev/null 2>&1; then
    curl -fsS -m 3 "http://$HOST:$MINIO_PORT/minio/health/live" >/dev/null
  else
    node -e "fetch('http://$HOST:$MINIO_PORT/minio/health/live').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"
  fi
}

minio_install() {
  local bin
  bin="$(minio_bin)"
  [ -x "$bin" ] && return 0
  [ -n "${MINIO_BIN:-}" ] && die "minio: MINIO_BIN=$MINIO_BIN is not an executable"
  command -v go >/dev/null 2>&1 || die "minio: needs Go (>= 1.24) to build MinIO: install it, or set MINIO_BIN"
  mkdir -p "$CACHE/go/bin"
  # One build at a time, even across concurrent `up`s.
  exec 8>"$CACHE/minio-build.lock"
  flock 8
  if [ ! -x "$bin" ]; then
    log "minio: building github.com/minio/minio@$MINIO_VERSION with $(go env GOVERSION) (first time only;" \
      "10-30 min on 2 cores; log: $CACHE/minio-build.log)"
    local t0
    t0=$(now)
    GOBIN="$CACHE/go/bin" GOPATH="$CACHE/gopath" GOCACHE="$CACHE/gocache" GOFLAGS=-trimpath \
      go install "github.com/minio/minio@$MINIO_VERSION" >"$CACHE/minio-build.log" 2>&1 || {
      tail -n 40 "$CACHE/minio-build.log" >&2
      die "minio: go install failed (log: $CACHE/minio-build.log)"
    }
    log "minio: built in $(($(now) - t0))s"
  fi
  flock -u 8
  exec 8>&-
}

minio_up() {
  [ ${#S3_SECRET_KEY} -ge 8 ] || die "minio: S3_SECRET_KEY must be at least 8 characters"
  [ ${#S3_ACCESS_KEY} -ge 3 ] || die "minio: S3_ACCESS_KEY must be at least 3 characters"
  minio_install
  mkdir -p "$MINIO_HOME/data"
  if minio_running; then
    log "minio: already running (pid $(pid_of "$MINIO_PID"))"
  else
    check_port minio "$MINIO_PORT" MINIO_PORT
    check_port minio "$MINIO_CONSOLE_PORT" MINIO_CONSOLE_PORT
    log "minio: starting $(minio_version) on" \
      "$HOST:$MINIO_PORT, console $HOST:$MINIO_CONSOLE_PORT"
    MINIO_ROOT_USER="$S3_ACCESS_KEY" MINIO_ROOT_PASSWORD="$S3_SECRET_KEY" MINIO_UPDATE=off \
      start_detached "$MINIO_HOME" "$MINIO_PID" "$MINIO_LOG" "$(minio_bin)" server \
      "$MINIO_HOME/data" --address "$HOST:$MINIO_PORT" --console-address "$HOST:$MINIO_CONSOLE_PORT"
  fi
  wait_until minio "$MINIO_PID" minio "$MINIO_LOG" minio_answers
  if command -v node >/dev/null 2>&1 && [ -d "$REPO/node_modules/minio" ]; then
    S3_ENDPOINT="http://$HOST:$MINIO_PORT" S3_ACCESS_KEY="$S3_ACCESS_KEY" S3_SECRET_KEY="$S3_SECRET_KEY" \
      S3_BUCKET="$S3_BUCKET" WAIT_S=30 node "$REPO/scripts/services/create-bucket.mjs" 2>&1 |
      sed 's/^/[services] minio: /' >&2 || die "minio: could not create bucket $S3_BUCKET"
  else
    log "minio: node_modules/minio missing (run npm ci); bucket $S3_BUCKET not created"
  fi
}

minio_down() { stop_pid minio "$MINIO_PID" minio 20; }

# ---------------------------------------------------------------- tools
# Not servers of ours, but programs the services suite drives: Prometheus and promtool (it starts
# its own Prometheus, temp config, free port, to run the Grafana dashboard's PromQL, and runs
# promtool on /metrics), and Chromium (headless, renders /dashboard in dashboard.test.ts).
tools_up() {
  if ! command -v prometheus >/dev/null 2>&1 || ! command -v promtool >/dev/null 2>&1; then
    ensure_pkgs prometheus
  fi
  ensure_pkgs chromium
  log "chromium: $(chromium --version 2>/dev/null || echo 'installed, but does not start')"
}

# ---------------------------------------------------------------- commands
print_env() {
  cat <<EOF
export DATABASE_URL=postgres://$PG_USER:$PG_PASSWORD@$HOST:$PG_PORT/$PG_DB
export TEST_DATABASE_URL=postgres://$PG_USER:$PG_PASSWORD@$HOST:$PG_PORT/$PG_TEST_DB
export REDIS_URL=redis://$HOST:$REDIS_PORT
export KAFKA_BROKERS=$HOST:$KAFKA_PORT
export S3_ENDPOINT=http://$HOST:$MINIO_PORT
export S3_ACCESS_KEY=$S3_ACCESS_KEY
export S3_SECRET_KEY=$S3_SECRET_KEY
export S3_BUCKET=$S3_BUCKET
export KAFKA_FAULTS_PORT=$KAFKA_FAULTS_PORT
export KAFKA_FAULTS_PROXY_PORT=$KAFKA_FAULTS_PROXY_PORT
# with RECSYS_MODE=services the app uses these servers instead of the embedded stores
EOF
  # The instance's own settings: a test that stops and starts a server through this script
  # (test/services/restarts.test.ts) then reaches this instance, not the default one.
  cat <<EOF
export RECSYS_SERVICES_DIR=$STATE
export PG_PORT=$PG_PORT REDIS_PORT=$REDIS_PORT KAFKA_PORT=$KAFKA_PORT KAFKA_CONTROLLER_PORT=$KAFKA_CONTROLLER_PORT
export MINIO_PORT=$MINIO_PORT MINIO_CONSOLE_PORT=$MINIO_CONSOLE_PORT
EOF
}

log_of() {
  case "$1" in
    postgres) pg_log ;;
    redis) echo "$REDIS_LOG" ;;
    kafka) echo "$KAFKA_LOG" ;;
    minio) echo "$MINIO_LOG" ;;
  esac
}

status_one() {
  local name="$1" addr pidfile pattern state pid=""
  case "$name" in
    postgres) addr="$HOST:$PG_PORT" pidfile="$(pg_pidfile)" pattern=postgres ;;
    redis) addr="$HOST:$REDIS_PORT" pidfile="$REDIS_PID" pattern=redis-server ;;
    kafka) addr="$HOST:$KAFKA_PORT" pidfile="$KAFKA_PID" pattern=kafka.Kafka ;;
    minio) addr="$HOST:$MINIO_PORT" pidfile="$MINIO_PID" pattern=minio ;;
  esac
  local port="${addr##*:}"
  if pid_alive "$pidfile" "$pattern"; then
    pid="$(pid_of "$pidfile")"
    if port_open "$port"; then state=running; else state=starting; fi
  elif port_open "$port"; then
    state="foreign"
    pid="$(port_owner "$port" | cut -d' ' -f1)"
  else
    state=stopped
  fi
  printf '%-9s %-9s %-16s pid %-8s log %s\n' "$name" "$state" "$addr" "${pid:--}" "$(log_of "$name")"
  [ "$state" = running ]
}

with_lock() {
  mkdir -p "$STATE"
  exec 9>"$STATE/.lock"
  flock -w 1800 9 || die "another services.sh holds $STATE/.lock"
}

select_services() {
  local s
  if [ $# -eq 0 ]; then printf '%s\n' "${ALL[@]}"; return; fi
  for s in "$@"; do
    case "$s" in
      postgres | pg | postgresql) echo postgres ;;
      redis) echo redis ;;
      kafka) echo kafka ;;
      minio | s3) echo minio ;;
      *) die "unknown service '$s' (postgres, redis, kafka, minio)" ;;
    esac
  done
}

main() {
  local cmd="${1:-}" s i svcs_list t_all t0 minio_bg rc
  local -a svcs
  [ $# -gt 0 ] && shift
  case "$cmd" in
    up)
      with_lock
      svcs_list="$(select_services "$@")"
      mapfile -t svcs <<<"$svcs_list"
      mkdir -p "$CACHE"
      t_all=$(now)
      # Build MinIO in the background while the others start (the first build is long).
      minio_bg=""
      if [[ " ${svcs[*]} " == *" minio "* ]] && [ ! -x "$(minio_bin)" ] && [ -z "${MINIO_BIN:-}" ] &&
        command -v go >/dev/null 2>&1; then
        (minio_install) 9>&- &
        minio_bg=$!
      fi
      tools_up
      for s in "${svcs[@]}"; do
        t0=$(now)
        if [ "$s" = minio ] && [ -n "$minio_bg" ]; then
          wait "$minio_bg" || die "minio: build failed (log: $CACHE/minio-build.log)"
        fi
        "${s}_up"
        log "$s: ready in $(($(now) - t0))s (log: $(log_of "$s"))"
      done
      log "all up in $(($(now) - t_all))s; state in $STATE, caches in $CACHE"
      echo
      for s in "${svcs[@]}"; do status_one "$s" || true; done
      echo
      print_env | tee "$STATE/env"
      echo "# (also in $STATE/env: source it, or eval \"\$($0 env)\")"
      ;;
    down)
      with_lock
      svcs_list="$(select_services "$@")"
      mapfile -t svcs <<<"$svcs_list"
      for ((i = ${#svcs[@]} - 1; i >= 0; i--)); do "${svcs[$i]}_down"; done
      ;;
    status)
      svcs_list="$(select_services "$@")"
      mapfile -t svcs <<<"$svcs_list"
      rc=0
      for s in "${svcs[@]}"; do status_one "$s" || rc=3; done
      exit "$rc"
      ;;
    env)
      print_env
      ;;
    tools)
      with_lock
      tools_up
      ;;
    reset)
      with_lock
      svcs_list="$(select_services "$@")"
      mapfile -t svcs <<<"$svcs_list"
      for ((i = ${#svcs[@]} - 1; i >= 0; i--)); do
        s="${svcs[$i]}"
        "${s}_down"
        if [ "$s" = postgres ] && [ -L "$PG_HOME/data" ]; then rm -rf "$(pg_root)"; fi
        rm -rf "${STATE:?}/$s"
        log "$s: data deleted"
      done
      ;;
    *)
      sed -n '2,27p' "$0" | sed 's/^# \{0,1\}//'
      [ -z "$cmd" ] || [ "$cmd" = help ] || [ "$cmd" = -h ] || [ "$cmd" = --help ] || exit 2
      ;;
  esac
}

# The whole file is read before main runs, so editing it during a long `up` is safe.
main "$@"
exit $?
