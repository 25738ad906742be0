#!/usr/bin/env bash
# Performance-monitoring ingest benchmark (issue 13, deliverable 8): transactions rolled up per second flat out,
# and error ingest alone against error ingest with transactions at five times its rate, on SQLite or Postgres.
# See README "Transaction benchmark".
#
#   bench/performance.sh [throughput|mixed|all]...     (default: both)
#
# Settings (environment, defaults in brackets):
#   DB            sqlite | postgres [sqlite]
#   BIN           folder with the release `faultline` and `faultline-bench` [${CARGO_TARGET_DIR:-target}/release]
#   OUT           work folder: SQLite files, server logs, loader output, profiles, summaries [/tmp/faultline-performance]
#   PG_URL        Postgres server, without database; databases faultline_perf_{throughput,baseline,mixed} are
#                 recreated [postgres://postgres@127.0.0.1:5432]
#   PORT          the server's port [8040]
#   TX_CORPUS     a folder of transaction envelopes to replay instead of the 14 recorded Django transactions
#                 (e.g. only the fast requests, without the N+1 and slow-query ones that make performance issues)
# throughput (the recorded Django transactions, flat out):
#   TX_SECS [60] seconds of load; TX_EVENTS [400000] transactions prepared, about 50 s of the loader's work
#   before the load (the load ends at TX_SECS or when they run out); TX_CONCURRENCY [256] requests in flight
#   (10,000 transactions/s come from many app processes at once, each waiting for its own answer)
#   PERF [0]: 1 profiles the server with `perf record -g` for PERF_SECS [20] s in the middle of the load; the
#   top costs go to $OUT/throughput.$DB.perf.txt
# mixed (the Python SDK's errors at RATE, alone and then with transactions at RATIO x RATE beside them):
#   RATE [500] errors/s; RATIO [5]; MIXED_SECS [60]; CONCURRENCY [32] requests in flight per stream
# targets: TARGET_TX_PER_S [10000], MAX_SLOWDOWN [1.10] (error p50 and p99 with transactions / alone),
#   MAX_RSS_MB [100] (the server's peak)
set -euo pipefail

DB=${DB:-sqlite}
BIN=${BIN:-${CARGO_TARGET_DIR:-target}/release}
OUT=${OUT:-/tmp/faultline-performance}
PG_URL=${PG_URL:-postgres://postgres@127.0.0.1:5432}
PORT=${PORT:-8040}
TX_CORPUS=${TX_CORPUS:-}
TX_SECS=${TX_SECS:-60}
TX_EVENTS=${TX_EVENTS:-400000}
TX_CONCURRENCY=${TX_CONCURRENCY:-256}
PERF=${PERF:-0}
PERF_SECS=${PERF_SECS:-20}
RATE=${RATE:-500}
RATIO=${RATIO:-5}
MIXED_SECS=${MIXED_SECS:-60}
CONCURRENCY=${CONCURRENCY:-32}
TARGET_TX_PER_S=${TARGET_TX_PER_S:-10000}
MAX_SLOWDOWN=${MAX_SLOWDOWN:-1.10}
MAX_RSS_MB=${MAX_RSS_MB:-100}

case $DB in sqlite | postgres) ;; *) echo "DB must be sqlite or postgres" >&2; exit 2 ;; esac
for tool in "$BIN/faultline" "$BIN/faultline-bench"; do
    [[ -x $tool ]] || { echo "no $tool: cargo build --release --bins (or set BIN)" >&2; exit 2; }
done
for tool in curl awk; do command -v $tool >/dev/null || { echo "needs $tool" >&2; exit 2; }; done
if [[ $DB == sqlite ]]; then command -v sqlite3 >/dev/null || { echo "needs sqlite3" >&2; exit 2; }
else command -v psql >/dev/null || { echo "needs psql" >&2; exit 2; }; fi
if [[ $PERF == 1 ]]; then command -v perf >/dev/null || { echo "PERF=1 needs perf (apt-get install linux-perf)" >&2; exit 2; }; fi
mkdir -p "$OUT"
BASE=http://127.0.0.1:$PORT
SERVER_PID= LOADER_PID= PERF_PID= ERRORS_STORED=

cleanup() {
    for pid in $PERF_PID $LOADER_PID $SERVER_PID; do kill "$pid" 2>/dev/null || true; done
    wait 2>/dev/null || true
}
trap cleanup EXIT

log() { echo "[$(date +%T)] $*" >&2; }

# --- the database, the server and the loader ----------------------------------------------------------------------

db_file() { echo "$OUT/$1.$DB.db"; }

db_url() {
    if [[ $DB == sqlite ]]; then echo "sqlite://$(db_file "$1")"; else echo "$PG_URL/faultline_perf_$1"; fi
}

fresh_db() {
    if [[ $DB == sqlite ]]; then
        rm -f "$(db_file "$1")" "$(db_file "$1")-wal" "$(db_file "$1")-shm"
    else
        PGOPTIONS="-c client_min_messages=warning" psql -XAtq "$PG_URL/postgres" -c "DROP DATABASE IF EXISTS faultline_perf_$1 WITH (FORCE)"
        psql -XAtq "$PG_URL/postgres" -c "CREATE DATABASE faultline_perf_$1"
    fi
    "$BIN/faultline" --database-url "$(db_url "$1")" migrate >/dev/null
}

sql() {
    if [[ $DB == sqlite ]]; then sqlite3 -batch -noheader -cmd ".timeout 10000" "$(db_file "$1")" "$2"
    else psql -XAtq "$(db_url "$1")" -c "$2"; fi
}

# Spike protection is off: it would refuse part of a flat-out load (README "Benchmark").
start_server() {
    local name=$1
    env DATABASE_URL="$(db_url "$name")" FAULTLINE_BIND=127.0.0.1:$PORT FAULTLINE_URL=$BASE \
        FAULTLINE_SPIKE_PROTECTION=off RUST_LOG=warn \
        "$BIN/faultline" >"$OUT/$name.$DB.server.log" 2>&1 &
    SERVER_PID=$!
    for _ in $(seq 600); do
        curl -fsS -o /dev/null "$BASE/readyz" 2>/dev/null && return 0
        kill -0 "$SERVER_PID" 2>/dev/null || { cat "$OUT/$name.$DB.server.log" >&2; echo "the server died" >&2; exit 1; }
        sleep 0.1
    done
    echo "the server did not get ready" >&2
    exit 1
}

stop_server() {
    kill "$SERVER_PID"
    wait "$SERVER_PID" || true
    SERVER_PID=
}

dsn() {
    "$BIN/faultline" --database-url "$(db_url "$1")" --public-url "$BASE" project list | awk 'NR==2 {print $4}'
}

# loader NAME [faultline-bench args]...: in the background; output in $OUT/NAME.DB.loader.txt.
loader() {
    local name=$1
    shift
    rm -f "$OUT/$name.$DB.loader.txt"
    local corpus=()
    [[ -z $TX_CORPUS ]] || corpus=(--transaction-corpus "$TX_CORPUS")
    "$BIN/faultline-bench" --dsn "$(dsn "$name")" --server-pid "$SERVER_PID" "${corpus[@]}" "$@" \
        >"$OUT/$name.$DB.loader.txt" 2>&1 &
    LOADER_PID=$!
}

await_sending() {
    until grep -qs '^sending ' "$OUT/$1.$DB.loader.txt"; do
        kill -0 "$LOADER_PID" 2>/dev/null || { cat "$OUT/$1.$DB.loader.txt" >&2; exit 1; }
        sleep 0.2
    done
}

finish_loader() {
    wait "$LOADER_PID" || { cat "$OUT/$1.$DB.loader.txt" >&2; echo "the loader failed" >&2; exit 1; }
    LOADER_PID=
}

# result NAME [RESULT|RESULT_TX]: the loader's key=value line.
result() { grep "^${2:-RESULT} " "$OUT/$1.$DB.loader.txt"; }

field() { sed -n "s/.*\b$1=\([^ ]*\).*/\1/p" <<<"$2"; }

# ratio A B: A / B with two decimals, n/a when either is unknown.
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a ~ /^[0-9.]+$/ && b + 0 > 0) printf "%.2f\n", a / b; else print "n/a" }'; }

# at_most VALUE LIMIT: true when VALUE is a number no greater than LIMIT.
at_most() { awk -v v="$1" -v l="$2" 'BEGIN { exit !(v ~ /^[0-9.]+$/ && v + 0 <= l + 0) }'; }

commit() { git -C "$(dirname "$0")" rev-parse --short HEAD 2>/dev/null || echo '?'; }

summary() { tee -a "$OUT/summary.$DB.md"; }

# --- (a) transactions flat out ------------------------------------------------------------------------------------

# profile NAME: `perf record` of the server for PERF_SECS, started halfway into what is left of the load.
profile() {
    local name=$1 data=$OUT/$1.$DB.perf.data
    sleep "$(awk -v t="$TX_SECS" -v p="$PERF_SECS" 'BEGIN { d = (t - p) / 2; print (d > 0 ? d : 0) }')"
    log "throughput: profiling the server for $PERF_SECS s"
    perf record -e cpu-clock -F 999 -g -p "$SERVER_PID" -o "$data" -- sleep "$PERF_SECS" >/dev/null 2>&1 &
    PERF_PID=$!
    wait "$PERF_PID" || true
    PERF_PID=
    perf report -i "$data" --no-children --sort dso,symbol --stdio -g none --percent-limit 0.7 2>/dev/null |
        grep -v '^#' | grep -v '^$' | sed -E 's/[ -]+$//; s/ {3,}/  /g' >"$OUT/$name.$DB.perf.txt" || true
}

run_throughput() {
    local name=throughput
    log "throughput: the recorded transactions flat out for $TX_SECS s, concurrency $TX_CONCURRENCY ($DB)"
    fresh_db $name
    start_server $name
    loader $name --transactions --events "$TX_EVENTS" --concurrency "$TX_CONCURRENCY" --duration "$TX_SECS"
    await_sending $name
    if [[ $PERF == 1 ]]; then profile $name; fi
    finish_loader $name
    local r rows
    r=$(result $name)
    stop_server
    rows=$(sql $name "SELECT coalesce(sum(count), 0) FROM transaction_minutes")
    local tx_per_s rss verdict=PASS
    tx_per_s=$(field stored_per_s "$r")
    rss=$(field peak_rss_mb "$r")
    at_most "$TARGET_TX_PER_S" "$tx_per_s" || verdict=FAIL
    at_most "$rss" "$MAX_RSS_MB" || verdict=FAIL
    local top=""
    [[ -s $OUT/$name.$DB.perf.txt ]] && top="
- server profile (perf, $PERF_SECS s, self time): $OUT/$name.$DB.perf.txt"
    summary <<EOF

#### Transactions flat out: $DB ($(date -u +%F), $(commit))

- load: ${TX_CORPUS:-the 14 recorded Django transactions} replayed for $TX_SECS s, concurrency $TX_CONCURRENCY
- **$tx_per_s transactions rolled up/s** (target $TARGET_TX_PER_S); acked $(field acked "$r") of $(field sent "$r") ($(field acked_per_s "$r")/s), 429: $(field rejected_429 "$r"), other: $(field other "$r"), errors: $(field errors "$r")
- latency p50 $(field p50_ms "$r") ms, p99 $(field p99_ms "$r") ms, max $(field max_ms "$r") ms
- performance-issue events stored meanwhile (N+1, slow query): $(field events_stored "$r"); rollups count $rows transactions
- server peak RSS **$rss MB** (target < $MAX_RSS_MB)$top
- verdict: $verdict
EOF
}

# --- (b) errors alone, then with transactions at RATIO x their rate -----------------------------------------------

# error_load NAME [faultline-bench args]...: RATE errors/s for MIXED_SECS on a fresh database and server; sets
# ERRORS_STORED to the error events stored (the events of performance issues left out).
error_load() {
    local name=$1
    shift
    fresh_db "$name"
    start_server "$name"
    # A server that cannot keep up would stretch the load without end: it stops 10 s after its planned end, and
    # the summary shows how much was sent.
    loader "$name" --events $((RATE * MIXED_SECS)) --rate "$RATE" --concurrency "$CONCURRENCY" \
        --duration $((MIXED_SECS + 10)) "$@"
    finish_loader "$name"
    stop_server
    ERRORS_STORED=$(sql "$name" "SELECT count(*) FROM events e JOIN issues i ON i.id = e.issue_id
        WHERE i.issue_type NOT LIKE 'performance%'")
}

run_mixed() {
    log "mixed: $RATE errors/s for $MIXED_SECS s alone, then with $RATIO x as many transactions ($DB)"
    local alone_stored mixed_stored
    error_load baseline
    alone_stored=$ERRORS_STORED
    error_load mixed --transaction-ratio "$RATIO"
    mixed_stored=$ERRORS_STORED
    local a m t
    a=$(result baseline)
    m=$(result mixed)
    t=$(result mixed RESULT_TX)
    local p50_ratio p99_ratio verdict=PASS
    p50_ratio=$(ratio "$(field p50_ms "$m")" "$(field p50_ms "$a")")
    p99_ratio=$(ratio "$(field p99_ms "$m")" "$(field p99_ms "$a")")
    at_most "$p50_ratio" "$MAX_SLOWDOWN" || verdict=FAIL
    at_most "$p99_ratio" "$MAX_SLOWDOWN" || verdict=FAIL
    [[ $alone_stored == "$(field sent "$a")" && $mixed_stored == "$(field sent "$m")" ]] || verdict=FAIL
    at_most "$(field peak_rss_mb "$m")" "$MAX_RSS_MB" || verdict=FAIL
    summary <<EOF

#### Errors with transactions beside them: $DB ($(date -u +%F), $(commit))

| | errors sent / stored | error p50 | error p99 | error max | transactions acked (/s) | transaction p99 | server peak RSS |
|---|---|---|---|---|---|---|---|
| errors alone at $RATE/s | $(field sent "$a") / $alone_stored | $(field p50_ms "$a") ms | $(field p99_ms "$a") ms | $(field max_ms "$a") ms | – | – | $(field peak_rss_mb "$a") MB |
| with transactions at $RATIO x (${TX_CORPUS:-recorded Django}) | $(field sent "$m") / $mixed_stored | $(field p50_ms "$m") ms | $(field p99_ms "$m") ms | $(field max_ms "$m") ms | $(field acked "$t") ($(field acked_per_s "$t")) | $(field p99_ms "$t") ms | $(field peak_rss_mb "$m") MB |

- error latency with transactions / alone: p50 **${p50_ratio}x**, p99 **${p99_ratio}x** (target < ${MAX_SLOWDOWN}x); 429 alone / mixed: $(field rejected_429 "$a") / $(field rejected_429 "$m"), transactions: $(field rejected_429 "$t")
- transactions rolled up during the mixed run: $(field tx_rolled_up "$t"); performance-issue events among the stored events: $(awk -v s="$(field events_stored "$m")" -v e="$mixed_stored" 'BEGIN { print (s ~ /^[0-9]+$/ ? s - e : "n/a") }')
- verdict (p50 and p99 within ${MAX_SLOWDOWN}x, every error sent stored, RSS < $MAX_RSS_MB MB): $verdict
EOF
}

steps=("$@")
((${#steps[@]})) || steps=(throughput mixed)
for step in "${steps[@]}"; do
    case $step in
    throughput) run_throughput ;;
    mixed) run_mixed ;;
    all) run_throughput; run_mixed ;;
    *) echo "unknown step $step (throughput, mixed, all)" >&2; exit 2 ;;
    esac
done
log "summaries appended to $OUT/summary.$DB.md"
