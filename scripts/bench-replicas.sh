#!/usr/bin/env bash
# Replica benchmarks (issue 12; a benchmark, not a test): peer creations per second and
# their latency (p50/p90/p99) through the API on SQLite (one ferryd) and on PostgreSQL with
# 1, 2 and 3 ferryd replicas, and how fast a long poll wakes after a change made on its own
# replica and on another one. Prints Markdown (docs/PERFORMANCE-RESULTS.md, "Replicas").
#
# Usage: scripts/bench-replicas.sh [--clients "8 32"] [--creations 2000] [--warmup 50]
#          [--wake-rounds 50] [--replicas "1 2 3"] [--markdown FILE] [--json FILE] [--smoke]
#   FERRYD=/path/to/ferryd skips the release build (`swift build -c release --product ferryd`).
#   --smoke: a few creations and wake rounds, to check that the script still runs.
# Runs PostgreSQL itself (Debian's postgresql; initdb into a temporary folder, as the
# unprivileged user `ferrytest` when run as root, on a free loopback port, durable defaults:
# fsync and synchronous_commit on, as SQLite's synchronous=FULL), and removes everything on
# exit. Every cell starts from an empty database and fresh ferryd processes with
# `--write-rate 0` (the per-token write limit off: one admin token does all the writes).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
CLIENTS="8 32" CREATIONS=2000 WARMUP=50 WAKE_ROUNDS=50 REPLICAS="1 2 3" MARKDOWN="" JSON=""
while [ $# -gt 0 ]; do
  case $1 in
    --clients) CLIENTS=$2; shift 2 ;;
    --creations) CREATIONS=$2; shift 2 ;;
    --warmup) WARMUP=$2; shift 2 ;;
    --wake-rounds) WAKE_ROUNDS=$2; shift 2 ;;
    --replicas) REPLICAS=$2; shift 2 ;;
    --markdown) MARKDOWN=$2; shift 2 ;;
    --json) JSON=$2; shift 2 ;;
    --smoke) CLIENTS="4" CREATIONS=20 WARMUP=5 WAKE_ROUNDS=3 REPLICAS="2"; shift ;;
    -h|--help) sed -n '2,16p' "$0"; exit 0 ;;
    *) echo "bench-replicas: unknown argument $1" >&2; exit 2 ;;
  esac
done
PY=${FERRY_TEST_PYTHON:-$(command -v python3)}
LOAD="$PY $ROOT/scripts/bench/replica_load.py"
PGBIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
[ -n "$PGBIN" ] || { echo "bench-replicas: PostgreSQL is not installed (scripts/install-test-deps.sh)" >&2; exit 1; }

if [ -z "${FERRYD:-}" ]; then
  echo "bench-replicas: building ferryd in release (the first build takes a long time)..." >&2
  (cd "$ROOT" && swift build -c release --product ferryd >&2)
  FERRYD=$(cd "$ROOT" && swift build -c release --show-bin-path)/ferryd
  BUILD="release (\`swift build -c release --product ferryd\`)"
else
  BUILD="given binary FERRYD=$FERRYD"
fi

WORK=$(mktemp -d /var/tmp/ferry-bench-replicas.XXXXXX)
chmod 711 "$WORK"   # PostgreSQL's user reaches its own folder inside
PIDS=() PG="" PGPID=""
stop_ferryd() {
  local p; for p in "${PIDS[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
  PIDS=()
}
cleanup() {
  stop_ferryd
  # SIGINT to the postmaster: fast shutdown.
  if [ -n "$PG" ]; then kill -INT "${PGPID:-$PG}" 2>/dev/null || true; wait "$PG" 2>/dev/null || true; fi
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

free_port() { "$PY" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
as_pg() { if [ "$(id -u)" -eq 0 ]; then setpriv --reuid=ferrytest --regid=ferrytest --clear-groups -- "$@"; else "$@"; fi; }

# PostgreSQL: clients connect over TCP as `ferry` with a password (SCRAM), as in production.
PGDIR=$WORK/pg PGPORT=$(free_port) PGPW=$("$PY" -c 'import secrets; print(secrets.token_hex(16))')
if [ "$(id -u)" -eq 0 ] && ! id -u ferrytest >/dev/null 2>&1; then
  useradd --system --no-create-home --shell /usr/sbin/nologin ferrytest
fi
mkdir -m 700 "$PGDIR"; echo "$PGPW" > "$PGDIR/pw"
[ "$(id -u)" -eq 0 ] && chown -R ferrytest: "$PGDIR"
as_pg "$PGBIN/initdb" -D "$PGDIR/data" -U ferry --pwfile="$PGDIR/pw" -E UTF8 --auth-local=trust \
  --auth-host=scram-sha-256 --no-instructions >"$WORK/initdb.log" 2>&1 || { cat "$WORK/initdb.log" >&2; exit 1; }
as_pg "$PGBIN/postgres" -D "$PGDIR/data" -k "$PGDIR" -p "$PGPORT" -c listen_addresses=127.0.0.1 \
  -c max_connections=200 -c shared_preload_libraries=pg_stat_statements -c pg_stat_statements.track=all \
  -c track_wal_io_timing=on >"$WORK/postgres.log" 2>&1 &
PG=$!
for _ in $(seq 300); do "$PGBIN/pg_isready" -q -h 127.0.0.1 -p "$PGPORT" && break; sleep 0.1; done
"$PGBIN/pg_isready" -q -h 127.0.0.1 -p "$PGPORT" || { cat "$WORK/postgres.log" >&2; exit 1; }
PGPID=$(head -n 1 "$PGDIR/data/postmaster.pid")   # its CPU time and its backends' are measured
psql_do() { as_pg "$PGBIN/psql" -X -q -t -A -v ON_ERROR_STOP=1 -h "$PGDIR" -p "$PGPORT" -U ferry -d "${2:-postgres}" -c "$1"; }
# Where a creation's time goes on the server, from pg_stat_statements and pg_stat_wal: the
# time statements waited for the write lock (pg_advisory_xact_lock), the other statements'
# execution, and the WAL syncs (the commits' fsyncs), per creation.
# A backend sends its WAL counters to pg_stat_wal when idle, at most once a second: both
# calls first give the backends 2 s, so the counters hold this cell's work and all of it
# (pg_stat_statements counts at once).
pg_reset() { sleep 2; psql_do "SELECT pg_stat_statements_reset(); SELECT pg_stat_reset_shared('wal');" "$1" >/dev/null; }
pg_stats() {
  sleep 2
  psql_do "SELECT json_build_object('kind', 'pgstat', 'replicas', $2, 'clients', $3, 'creations', $4,
      'statements', SUM(calls),
      'lock_wait_ms', COALESCE(SUM(total_exec_time) FILTER (WHERE query LIKE '%pg_advisory_xact_lock%'), 0),
      'other_ms', COALESCE(SUM(total_exec_time) FILTER (WHERE query NOT LIKE '%pg_advisory_xact_lock%'), 0),
      'wal_syncs', (SELECT wal_sync FROM pg_stat_wal), 'wal_sync_ms', (SELECT wal_sync_time FROM pg_stat_wal),
      'wal_bytes', (SELECT wal_bytes FROM pg_stat_wal))
    FROM pg_stat_statements WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database())" "$1"
}

# start_ferryd NAME [DATABASE]: one ferryd with its own --data, on the database when given;
# sets URL and FPID once it listens.
start_ferryd() {
  local name=$1 db=${2:-} port log
  port=$(free_port); log=$WORK/$name.log
  : >"$log"   # there before the loop below reads it
  if [ -n "$db" ]; then
    FERRY_DATABASE_URL="postgres://ferry:$PGPW@127.0.0.1:$PGPORT/$db?sslmode=disable" \
      "$FERRYD" serve --data "$WORK/$name" --listen "127.0.0.1:$port" --write-rate 0 >"$log" 2>&1 &
  else
    "$FERRYD" serve --data "$WORK/$name" --listen "127.0.0.1:$port" --write-rate 0 >"$log" 2>&1 &
  fi
  local pid=$!
  PIDS+=("$pid")
  for _ in $(seq 600); do
    grep -q "ferryd: listening on" "$log" && { URL="http://127.0.0.1:$port" FPID=$pid; return 0; }
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  echo "bench-replicas: ferryd $name did not start:" >&2; cat "$log" >&2; return 1
}

# api METHOD URL BODY: one request with the admin token; prints the body, fails on >= 300.
api() { curl -sS --fail-with-body -X "$1" -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' \
          ${3:+--data "$3"} "$2"; }

RESULTS=$WORK/results.jsonl
: >"$RESULTS"
LOAD_BEFORE=$(cut -d' ' -f1 /proc/loadavg)
CELL=0
# cell ENGINE REPLICAS CLIENTS WAKE: fresh store and ferryd(s), CREATIONS timed creations
# spread round robin over the replicas; with WAKE=1 the wake rounds after them.
cell() {
  local engine=$1 n=$2 clients=$3 wake=$4 db="" urls=() pids=() i
  TOKEN=""
  CELL=$((CELL + 1))
  if [ "$engine" = postgres ]; then
    db=bench$CELL; psql_do "CREATE DATABASE $db" >/dev/null; psql_do "CREATE EXTENSION pg_stat_statements" "$db" >/dev/null
  fi
  for i in $(seq 0 $((n - 1))); do
    start_ferryd "c$CELL-r$i" "$db"
    urls+=("$URL"); pids+=("$FPID")
    # The first start bootstraps the store and prints the admin token; the others find it.
    [ "$i" -eq 0 ] && TOKEN=$(grep -o 'ferry_[A-Za-z0-9_-]\{43\}' "$WORK/c$CELL-r0.log" | head -n 1)
  done
  [ -n "$TOKEN" ] || { echo "bench-replicas: no admin token in the first ferryd's output" >&2; exit 1; }
  api POST "${urls[0]}/v1/segments" '{"name":"bench","prefixLength":20}' >/dev/null
  echo "bench-replicas: $engine, $n replica(s), $clients clients: $CREATIONS creations..." >&2
  [ -n "$db" ] && pg_reset "$db"
  $LOAD create --urls "$(IFS=,; echo "${urls[*]}")" --token "$TOKEN" --segment bench --clients "$clients" \
    --count "$CREATIONS" --warmup "$WARMUP" --engine "$engine" --pids "$(IFS=,; echo "${pids[*]}")" \
    --pg-pid "$([ "$engine" = postgres ] && echo "$PGPID" || echo 0)" | tee -a "$RESULTS" >&2
  # (the warm-up creations included)
  [ -n "$db" ] && pg_stats "$db" "$n" "$clients" $((CREATIONS + WARMUP)) | tee -a "$RESULTS" >&2
  if [ "$wake" = 1 ]; then
    local peer; peer=$(api POST "${urls[0]}/v1/peers" \
      "{\"name\":\"wake\",\"segment\":\"bench\",\"publicKey\":\"$("$PY" -c 'import base64, os; print(base64.b64encode(os.urandom(32)).decode())')\"}" |
      "$PY" -c 'import json, sys; print(json.load(sys.stdin)["peer"]["id"])')
    # The poll on the last replica; the change on the first (another replica) or on the
    # poll's own (the reference).
    echo "bench-replicas: $engine, $n replica(s): $WAKE_ROUNDS wake rounds..." >&2
    $LOAD wake --poll-url "${urls[$((n - 1))]}" --write-url "${urls[0]}" --token "$TOKEN" --peer "$peer" \
      --rounds "$WAKE_ROUNDS" --engine "$engine" --peers $((CREATIONS + WARMUP + 1)) | tee -a "$RESULTS" >&2
  fi
  stop_ferryd
  [ -n "$db" ] && psql_do "DROP DATABASE $db" >/dev/null
  return 0
}

last_clients=${CLIENTS##* }
for c in $CLIENTS; do cell sqlite 1 "$c" "$([ "$c" = "$last_clients" ] && echo 1 || echo 0)"; done
last_replicas=${REPLICAS##* }
for n in $REPLICAS; do
  for c in $CLIENTS; do
    cell postgres "$n" "$c" "$([ "$n" = "$last_replicas" ] && [ "$c" = "$last_clients" ] && [ "$n" -gt 1 ] && echo 1 || echo 0)"
  done
done

commit=$(git -C "$ROOT" rev-parse --short=12 HEAD 2>/dev/null || echo unknown)
git -C "$ROOT" diff --quiet HEAD -- Sources Package.swift 2>/dev/null || commit="$commit (with uncommitted changes)"
{
  echo "Date: $(date -u '+%Y-%m-%d %H:%M UTC')  "
  echo "Machine: $(hostname -s), $(nproc) CPUs, $(awk '/MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo), Linux $(uname -r)  "
  echo "ferryd: tree $commit, $BUILD  "
  echo "PostgreSQL: $("$PGBIN/postgres" --version | sed 's/^postgres //'), durable defaults (fsync, synchronous_commit on); SQLite: WAL, synchronous=FULL; same disk  "
  echo "Load average (1 min) before: $LOAD_BEFORE, after: $(cut -d' ' -f1 /proc/loadavg)  "
  echo "Command: \`scripts/bench-replicas.sh --clients \"$CLIENTS\" --creations $CREATIONS --warmup $WARMUP --wake-rounds $WAKE_ROUNDS --replicas \"$REPLICAS\"\`"
  echo
  $LOAD report "$RESULTS"
} >"$WORK/report.md"
cat "$WORK/report.md"
[ -z "$MARKDOWN" ] || cp "$WORK/report.md" "$MARKDOWN"
[ -z "$JSON" ] || cp "$RESULTS" "$JSON"
