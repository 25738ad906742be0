#!/usr/bin/env bash
# Data lifecycle benchmark (issue 12, deliverable 7): retention expiry under load, a storage budget under a steady
# load, and bytes per stored event, on SQLite or Postgres. See README "Data lifecycle benchmark".
#
#   bench/lifecycle.sh [expiry|budget|bytes|all|seed]...     (default: all three; seed: only the expiry seed, kept)
#
# Settings (environment, defaults in brackets):
#   DB            sqlite | postgres [sqlite]
#   BIN           folder with the release `faultline` and `faultline-bench` [${CARGO_TARGET_DIR:-target}/release]
#   OUT           work folder: SQLite files, server logs, loader output, samples, summaries [/tmp/faultline-lifecycle]
#   PG_URL        Postgres server, without database; databases faultline_life_{expiry,budget,bytes} are recreated
#                 [postgres://postgres@127.0.0.1:5432]
#   PORT          the server's port [8030]
#   RATE          loader events/s in expiry and budget [1000]     CONCURRENCY  requests in flight [32]
# expiry:
#   SEED_EVENTS [1000000] SEED_ISSUES [10000] SEED_DAYS [30] SEED_END_DAYS_AGO [100]: the old events
#   RETENTION_DAYS [90] SWEEP_EVERY [5] (FAULTLINE_RETENTION_EVERY_SECS)
#   SEED_CACHE [0]: 1 keeps the seeded database (a file copy, or a Postgres template) for later runs with the
#   same SEED_* settings, which then start from it instead of seeding again
#   EXPIRY_LOAD_SECS [300]: how long the loader runs; WARMUP [10]: seconds of load before the sweep is let loose
# budget:
#   DURATION [1800] seconds of load; MAX_STORAGE [200MB] (FAULTLINE_MAX_STORAGE); SAMPLE_EVERY [10] seconds
#   BUDGET_SEED_EVENTS [20000] BUDGET_SEED_ISSUES [2000]: recent events seeded first, so many issues must keep
#   their first and latest event (0: none)
# bytes:
#   BYTES_EVENTS [200000] events sent flat out through the loader
set -euo pipefail

DB=${DB:-sqlite}
BIN=${BIN:-${CARGO_TARGET_DIR:-target}/release}
OUT=${OUT:-/tmp/faultline-lifecycle}
PG_URL=${PG_URL:-postgres://postgres@127.0.0.1:5432}
PORT=${PORT:-8030}
RATE=${RATE:-1000}
CONCURRENCY=${CONCURRENCY:-32}
SEED_EVENTS=${SEED_EVENTS:-1000000}
SEED_ISSUES=${SEED_ISSUES:-10000}
SEED_DAYS=${SEED_DAYS:-30}
SEED_END_DAYS_AGO=${SEED_END_DAYS_AGO:-100}
RETENTION_DAYS=${RETENTION_DAYS:-90}
SWEEP_EVERY=${SWEEP_EVERY:-5}
EXPIRY_LOAD_SECS=${EXPIRY_LOAD_SECS:-300}
WARMUP=${WARMUP:-10}
DURATION=${DURATION:-1800}
MAX_STORAGE=${MAX_STORAGE:-200MB}
SAMPLE_EVERY=${SAMPLE_EVERY:-10}
BUDGET_SEED_EVENTS=${BUDGET_SEED_EVENTS:-20000}
BUDGET_SEED_ISSUES=${BUDGET_SEED_ISSUES:-2000}
BYTES_EVENTS=${BYTES_EVENTS:-200000}

case $DB in sqlite | postgres) ;; *) echo "DB must be sqlite or postgres" >&2; exit 2 ;; esac
for tool in "$BIN/faultline" "$BIN/faultline-bench"; do
    [[ -x $tool ]] || { echo "no $tool: cargo build --release --bins (or set BIN)" >&2; exit 2; }
done
for tool in curl jq awk sort; do command -v $tool >/dev/null || { echo "needs $tool" >&2; exit 2; }; done
if [[ $DB == sqlite ]]; then command -v sqlite3 >/dev/null || { echo "needs sqlite3" >&2; exit 2; }
else command -v psql >/dev/null || { echo "needs psql" >&2; exit 2; }; fi
mkdir -p "$OUT"
BASE=http://127.0.0.1:$PORT
SERVER_PID= LOADER_PID= SAMPLER_PID=

cleanup() {
    for pid in $SAMPLER_PID $LOADER_PID $SERVER_PID; do kill "$pid" 2>/dev/null || true; done
    wait 2>/dev/null || true
}
trap cleanup EXIT

log() { echo "[$(date +%T)] $*" >&2; }

# --- the database -------------------------------------------------------------------------------------------------

db_file() { echo "$OUT/$1.$DB.db"; }

db_url() {
    if [[ $DB == sqlite ]]; then echo "sqlite://$(db_file "$1")"; else echo "$PG_URL/faultline_life_$1"; fi
}

fresh_db() {
    if [[ $DB == sqlite ]]; then
        rm -f "$(db_file "$1")" "$(db_file "$1")-wal" "$(db_file "$1")-shm"
    else
        PGOPTIONS="-c client_min_messages=warning" psql -XAtq "$PG_URL/postgres" -c "DROP DATABASE IF EXISTS faultline_life_$1 WITH (FORCE)"
        psql -XAtq "$PG_URL/postgres" -c "CREATE DATABASE faultline_life_$1"
    fi
    "$BIN/faultline" --database-url "$(db_url "$1")" migrate >/dev/null
}

# One value (or row, `|`-separated) from a query.
sql() {
    if [[ $DB == sqlite ]]; then sqlite3 -batch -noheader -cmd ".timeout 10000" "$(db_file "$1")" "$2"
    else psql -XAtq "$(db_url "$1")" -c "$2"; fi
}

# The database's size, one `name=bytes` per word:
#   SQLite:   file (main file + WAL), used ((page_count - freelist_count) * page_size), events (the events table
#             and its indexes, from dbstat when the sqlite3 shell has it, else n/a)
#   Postgres: file (pg_database_size), used (the same: Postgres gives back no space without VACUUM FULL),
#             events (pg_total_relation_size of every partition of events: tables, TOAST and indexes)
sizes() {
    if [[ $DB == sqlite ]]; then
        local f wal=0 used events
        f=$(db_file "$1")
        [[ -f $f-wal ]] && wal=$(stat -c %s "$f-wal")
        used=$(sql "$1" "SELECT (page_count - freelist_count) * page_size FROM pragma_page_count(), pragma_freelist_count(), pragma_page_size()")
        # Page by page: dbstat's aggregated rows (`dbstat('main', 1)`) overflow a 32-bit size past 2 GB.
        events=$(sql "$1" "SELECT sum(d.pgsize) FROM dbstat('main') d JOIN sqlite_master m ON m.name = d.name WHERE m.tbl_name = 'events'" 2>/dev/null || echo n/a)
        echo "file=$(($(stat -c %s "$f") + wal)) used=$used events=${events:-0}"
    else
        local row
        row=$(sql "$1" "SELECT pg_database_size(current_database()), (SELECT COALESCE(SUM(pg_total_relation_size(relid)), 0) FROM pg_partition_tree('events'))")
        echo "file=${row%%|*} used=${row%%|*} events=${row##*|}"
    fi
}

field() { sed -n "s/.*\b$1=\([^ ]*\).*/\1/p" <<<"$2"; }

mb() { [[ $1 =~ ^[0-9]+$ ]] && awk -v b="$1" 'BEGIN { printf "%.1f MB\n", b / 1e6 }' || echo "$1"; }

# `200MB` -> 200000000 (KB/MB/GB are powers of 1000, KiB/MiB/GiB of 1024, as FAULTLINE_MIN_FREE_DISK reads them).
bytes_of() {
    local n=${1%%[!0-9.]*} unit=${1##*[0-9.]}
    local mult
    case ${unit^^} in
    "" | B) mult=1 ;; KB) mult=1e3 ;; MB) mult=1e6 ;; GB) mult=1e9 ;;
    KIB) mult=1024 ;; MIB) mult=1048576 ;; GIB) mult=1073741824 ;;
    *) echo "bad size $1" >&2; return 1 ;;
    esac
    awk -v n="$n" -v m="$mult" 'BEGIN { printf "%d\n", n * m }'
}

count_events() { sql "$1" "SELECT count(*) FROM events"; }

# --- the server and the loader ------------------------------------------------------------------------------------

# start_server NAME [VAR=value]...: the release server on PORT, JSON logs in $OUT/NAME.DB.server.log.
start_server() {
    local name=$1
    shift
    env DATABASE_URL="$(db_url "$name")" FAULTLINE_BIND=127.0.0.1:$PORT FAULTLINE_URL=$BASE LOG_FORMAT=json \
        RUST_LOG="warn,faultline::core::retention=info" "$@" \
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

metric() { curl -fsS "$BASE/metrics" | awk -v m="$1" '$1 == m {print $2}'; }

# loader NAME EVENTS [faultline-bench args]...: in the background; output in $OUT/NAME.DB.loader.txt.
loader() {
    local name=$1 events=$2
    shift 2
    # A previous run's output would read as this loader already sending.
    rm -f "$OUT/$name.$DB.loader.txt"
    "$BIN/faultline-bench" --dsn "$(dsn "$name")" --events "$events" --concurrency "$CONCURRENCY" \
        --server-pid "$SERVER_PID" "$@" >"$OUT/$name.$DB.loader.txt" 2>&1 &
    LOADER_PID=$!
}

# Waits until the loader has built its bodies and starts sending.
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

loader_result() { grep '^RESULT ' "$OUT/$1.$DB.loader.txt"; }

# Status counts of the loader, e.g. `429=0 503=0 other=0 errors=0`.
status_counts() {
    local text=$OUT/$1.$DB.loader.txt
    local other
    other=$(sed -n 's/^other statuses  {\(.*\)}$/\1/p' "$text")
    local s503
    s503=$(grep -o '503: [0-9]*' <<<"$other" | awk '{print $2}')
    local rest
    rest=$(tr ',' '\n' <<<"$other" | grep -v '503:' | awk -F': ' 'NF == 2 {n += $2} END {print n + 0}')
    echo "429=$(sed -n 's/^rejected (429)  //p' "$text") 503=${s503:-0} other=$rest errors=$(sed -n 's/^errors          \([0-9]*\).*/\1/p' "$text")"
}

# window_stats TIMELINE FROM_MS TO_MS: requests that began in the window: count, 2xx p50/p99/max, 429, 503.
window_stats() {
    awk -F, -v a="$2" -v b="$3" -v lat="$1.window" '$1 >= a && $1 <= b {
        n++; if ($3 >= 200 && $3 < 300) print $2 > lat; else if ($3 == 429) r++; else if ($3 == 503) u++; else o++
    } END { printf "%d %d %d %d\n", n, r, u, o; close(lat) }' "$1" >"$1.counts"
    touch "$1.window"
    local n r u o
    read -r n r u o <"$1.counts"
    sort -n "$1.window" | awk -v n="$n" -v r="$r" -v u="$u" -v o="$o" '
        function rank(f,   k) { k = int(f * NR); if (k < f * NR) k++; if (k < 1) k = 1; return l[k] }
        { l[NR] = $1 }
        END { if (NR == 0) { printf "requests=%d p50_ms=n/a p99_ms=n/a max_ms=n/a 429=%d 503=%d other=%d\n", n, r, u, o; exit }
              printf "requests=%d p50_ms=%.2f p99_ms=%.2f max_ms=%.2f 429=%d 503=%d other=%d\n", n, rank(0.5), rank(0.99), l[NR], r, u, o }'
    rm -f "$1.window" "$1.counts"
}

# The server log's retention line as `end_ms events issues elapsed_ms` (empty until it is written).
sweep_line() {
    jq -rR 'fromjson? | select(.message? == "retention expired old events")
        | (.timestamp | capture("^(?<s>[^.Z]+)(\\.(?<f>[0-9]+))?Z$")) as $t
        | (($t.s + "Z" | fromdateiso8601) * 1000 + (("0." + ($t.f // "0") | tonumber) * 1000 | floor)) as $at
        | [$at, .events, .issues, (.elapsed_ms // "n/a")] | map(tostring) | join(" ")' \
        "$OUT/$1.$DB.server.log" 2>/dev/null | head -1
}

summary() { tee -a "$OUT/summary.$DB.md"; }

# --- (a) expiry under load ----------------------------------------------------------------------------------------

# The expiry step's seeded database, kept (SEED_CACHE=1) as a file copy or a template database so that a later
# run with the same seed settings starts from it instead of seeding again.
seed_copy() { echo "expiry_seed_${SEED_EVENTS}_${SEED_ISSUES}_${SEED_DAYS}_${SEED_END_DAYS_AGO}"; }

seed_expiry() {
    local name=expiry copy
    copy=$(seed_copy)
    if [[ $DB == sqlite && -f $(db_file "$copy") ]]; then
        log "expiry: the seeded database from $(db_file "$copy")"
        # Not fresh_db: its migrated empty database may leave a write-ahead log behind, which SQLite would
        # replay over the copy (the server then saw an empty database).
        rm -f "$(db_file $name)" "$(db_file $name)-wal" "$(db_file $name)-shm"
        cp "$(db_file "$copy")" "$(db_file $name)"
        return
    fi
    if [[ $DB == postgres ]] && [[ $(psql -XAtq "$PG_URL/postgres" -c "SELECT 1 FROM pg_database WHERE datname = 'faultline_life_$copy'") == 1 ]]; then
        log "expiry: the seeded database from faultline_life_$copy"
        psql -XAtq "$PG_URL/postgres" -c "DROP DATABASE IF EXISTS faultline_life_$name WITH (FORCE)"
        psql -XAtq "$PG_URL/postgres" -c "CREATE DATABASE faultline_life_$name TEMPLATE faultline_life_$copy"
        return
    fi
    log "expiry: seeding $SEED_EVENTS events in $SEED_ISSUES issues over $SEED_DAYS days ending $SEED_END_DAYS_AGO days ago ($DB)"
    fresh_db $name
    "$BIN/faultline" --database-url "$(db_url $name)" seed --events "$SEED_EVENTS" --issues "$SEED_ISSUES" \
        --days "$SEED_DAYS" --end-days-ago "$SEED_END_DAYS_AGO" >"$OUT/$name.$DB.seed.txt" 2>&1
    tail -1 "$OUT/$name.$DB.seed.txt" >&2
    [[ ${SEED_CACHE:-0} == 1 ]] || return 0
    if [[ $DB == sqlite ]]; then
        sqlite3 "$(db_file $name)" "PRAGMA wal_checkpoint(TRUNCATE)" >/dev/null
        cp "$(db_file $name)" "$(db_file "$copy")"
    else
        psql -XAtq "$PG_URL/postgres" -c "CREATE DATABASE faultline_life_$copy TEMPLATE faultline_life_$name"
    fi
    log "expiry: seeded database kept for the next run with these settings"
}

run_expiry() {
    local name=expiry
    seed_expiry
    # The project keeps everything until the load runs; then it falls back to the server's default retention.
    sql $name "UPDATE projects SET retention_days = 3650" >/dev/null
    local before events_before issues_before
    before=$(sizes $name)
    events_before=$(count_events $name)
    issues_before=$(sql $name "SELECT count(*) FROM issues")
    start_server $name FAULTLINE_RETENTION_DAYS="$RETENTION_DAYS" FAULTLINE_RETENTION_EVERY_SECS="$SWEEP_EVERY"
    log "expiry: server up; loader: $((EXPIRY_LOAD_SECS * RATE)) events at $RATE/s"
    loader $name $((EXPIRY_LOAD_SECS * RATE)) --rate "$RATE" --timeline "$OUT/$name.$DB.timeline.csv"
    await_sending $name
    sleep "$WARMUP"
    sql $name "UPDATE projects SET retention_days = NULL" >/dev/null
    log "expiry: retention back to the server's $RETENTION_DAYS days; waiting for the sweep"
    local line= during_load=yes
    until line=$(sweep_line $name) && [[ -n $line ]]; do
        if ! kill -0 "$LOADER_PID" 2>/dev/null; then during_load=no; fi
        if [[ $during_load == no ]] && ((SECONDS > ${deadline:=$((SECONDS + 600))})); then break; fi
        sleep 0.5
    done
    kill -0 "$LOADER_PID" 2>/dev/null || during_load=no
    log "expiry: sweep: ${line:-none}; waiting for the loader"
    local result
    finish_loader $name
    result=$(loader_result $name)
    local expired_metric issues_expired_metric stored
    expired_metric=$(metric faultline_events_expired_total)
    issues_expired_metric=$(metric faultline_issues_expired_total)
    stored=$(metric faultline_events_stored_total)
    stop_server
    local after events_after
    after=$(sizes $name)
    events_after=$(count_events $name)
    local end_ms=n/a ev=n/a is=n/a elapsed=n/a window="(no sweep seen)"
    if [[ -n $line ]]; then
        read -r end_ms ev is elapsed <<<"$line"
        [[ $elapsed == n/a ]] || window=$(window_stats "$OUT/$name.$DB.timeline.csv" $((end_ms - elapsed)) "$end_ms")
    fi
    local p99 w99 w429 w503 counts
    p99=$(field p99_ms "$result")
    w99=$(field p99_ms "$window")
    counts=$(status_counts $name)
    w429=$(field 429 "$window")
    w503=$(field 503 "$window")
    local verdict=PASS
    awk -v p="$p99" -v w="${w99:-0}" 'BEGIN { exit !(p + 0 < 50 && w + 0 < 50) }' || verdict=FAIL
    [[ $(field 429 "$counts") == 0 && $(field 503 "$counts") == 0 ]] || verdict=FAIL
    [[ -n $line && $during_load == yes ]] || verdict="FAIL (the sweep did not finish while the load ran: raise EXPIRY_LOAD_SECS)"
    summary <<EOF

#### Expiry under load: $DB ($(date -u +%F), $(git -C "$(dirname "$0")" rev-parse --short HEAD 2>/dev/null || echo '?'))

- seeded: $events_before events in $issues_before issues, $SEED_DAYS days ending $SEED_END_DAYS_AGO days ago; retention $RETENTION_DAYS days, sweep every $SWEEP_EVERY s
- load: $RATE events/s for $EXPIRY_LOAD_SECS s, concurrency $CONCURRENCY; the sweep let loose after $WARMUP s of load
- sweep: **${elapsed} ms**, expired $ev events and $is issues (metrics: $expired_metric events, $issues_expired_metric issues); finished during the load: $during_load
- ingest, whole load: p50 $(field p50_ms "$result") ms, **p99 $p99 ms**, acked $(field acked "$result") of $(field sent "$result"), stored $stored; $counts
- ingest, while the sweep ran: $window
- database: before $(mb "$(field file "$before")") on disk / $(mb "$(field used "$before")") used / events $(mb "$(field events "$before")"); after $(mb "$(field file "$after")") / $(mb "$(field used "$after")") / $(mb "$(field events "$after")"); events $events_before -> $events_after
- verdict (p99 < 50 ms, no 429/503): $verdict
EOF
}

# --- (b) storage budget -------------------------------------------------------------------------------------------

run_budget() {
    local name=budget budget
    budget=$(bytes_of "$MAX_STORAGE")
    log "budget: $DURATION s at $RATE/s with FAULTLINE_MAX_STORAGE=$MAX_STORAGE ($DB)"
    fresh_db $name
    local seeded=0
    if ((BUDGET_SEED_EVENTS > 0)); then
        "$BIN/faultline" --database-url "$(db_url $name)" seed --events "$BUDGET_SEED_EVENTS" \
            --issues "$BUDGET_SEED_ISSUES" --days 7 >"$OUT/$name.$DB.seed.txt" 2>&1
        seeded=$(count_events $name)
    fi
    start_server $name FAULTLINE_MAX_STORAGE="$MAX_STORAGE"
    loader $name $((DURATION * RATE)) --rate "$RATE"
    await_sending $name
    local samples=$OUT/$name.$DB.samples.csv t0=$SECONDS
    echo "seconds,file_bytes,used_bytes,events_bytes,events" >"$samples"
    (
        while true; do
            if s=$(sizes $name) && n=$(count_events $name); then
                echo "$((SECONDS - t0)),$(field file "$s"),$(field used "$s"),$(field events "$s"),$n" >>"$samples"
            fi
            sleep "$SAMPLE_EVERY"
        done
    ) &
    SAMPLER_PID=$!
    local result
    finish_loader $name
    result=$(loader_result $name)
    local stored
    stored=$(metric faultline_events_stored_total)
    kill "$SAMPLER_PID"
    wait "$SAMPLER_PID" 2>/dev/null || true
    SAMPLER_PID=
    stop_server
    local s
    s=$(sizes $name)
    echo "end,$(field file "$s"),$(field used "$s"),$(field events "$s"),$(count_events $name)" >>"$samples"
    local max_file max_used max_events
    max_file=$(awk -F, 'NR > 1 && $2 > m {m = $2} END {print m + 0}' "$samples")
    max_used=$(awk -F, 'NR > 1 && $3 > m {m = $3} END {print m + 0}' "$samples")
    max_events=$(awk -F, 'NR > 1 && $4 ~ /^[0-9]+$/ && $4 > m {m = $4} END {print m + 0}' "$samples")
    local ratio_used ratio_events
    ratio_used=$(awk -v m="$max_used" -v b="$budget" 'BEGIN { printf "%.2f", m / b }')
    ratio_events=$(awk -v m="$max_events" -v b="$budget" 'BEGIN { printf "%.2f", m / b }')
    local issues no_first no_last times_seen events_now
    issues=$(sql $name "SELECT count(*) FROM issues")
    no_first=$(sql $name "SELECT count(*) FROM issues i WHERE NOT EXISTS (SELECT 1 FROM events e WHERE e.issue_id = i.id AND e.timestamp = i.first_seen)")
    no_last=$(sql $name "SELECT count(*) FROM issues i WHERE NOT EXISTS (SELECT 1 FROM events e WHERE e.issue_id = i.id AND e.timestamp = i.last_seen)")
    times_seen=$(sql $name "SELECT coalesce(sum(times_seen), 0) FROM issues")
    events_now=$(count_events $name)
    local accepted=$((seeded + ${stored%.*}))
    local v1=PASS v1e=PASS v2=PASS v3=PASS
    awk -v r="$ratio_used" 'BEGIN { exit !(r <= 1.10) }' || v1=FAIL
    awk -v r="$ratio_events" 'BEGIN { exit !(r <= 1.10) }' || v1e=FAIL
    [[ $no_first == 0 && $no_last == 0 ]] || v2=FAIL
    [[ $times_seen == "$accepted" ]] || v3=FAIL
    local counts
    counts=$(status_counts $name)
    summary <<EOF

#### Storage budget: $DB ($(date -u +%F), $(git -C "$(dirname "$0")" rev-parse --short HEAD 2>/dev/null || echo '?'))

- load: $RATE events/s for $DURATION s, concurrency $CONCURRENCY, FAULTLINE_MAX_STORAGE=$MAX_STORAGE ($(mb "$budget")); seeded first: $seeded events in $BUDGET_SEED_ISSUES issues
- ingest: p50 $(field p50_ms "$result") ms, p99 $(field p99_ms "$result") ms, acked $(field acked "$result") of $(field sent "$result"), stored $stored; $counts
- size, max of $(($(wc -l <"$samples") - 1)) samples every $SAMPLE_EVERY s: used $(mb "$max_used") (**${ratio_used}x** the budget), events table $(mb "$max_events") (${ratio_events}x), on disk $(mb "$max_file"); at the end $(mb "$(field used "$s")") used, $events_now events stored
- (1) max size within 10 % of the budget: used $v1, events table $v1e
- (2) every issue keeps its first and latest event: $v2 ($issues issues; $no_first without their first, $no_last without their latest)
- (3) counts exact: sum(times_seen) $times_seen = seeded $seeded + stored $stored: $v3 (loader acked $(field acked "$result"))
- samples: $samples
EOF
}

# --- (c) bytes per stored event -----------------------------------------------------------------------------------

run_bytes() {
    local name=bytes
    log "bytes: $BYTES_EVENTS events flat out ($DB)"
    fresh_db $name
    local empty
    empty=$(sizes $name)
    start_server $name
    loader $name "$BYTES_EVENTS"
    local result
    finish_loader $name
    result=$(loader_result $name)
    stop_server
    local s events
    s=$(sizes $name)
    events=$(count_events $name)
    local per_used per_events per_file
    per_used=$(awk -v a="$(field used "$s")" -v b="$(field used "$empty")" -v n="$events" 'BEGIN { printf "%.0f", (a - b) / n }')
    per_file=$(awk -v a="$(field file "$s")" -v b="$(field file "$empty")" -v n="$events" 'BEGIN { printf "%.0f", (a - b) / n }')
    per_events=$(awk -v a="$(field events "$s")" -v n="$events" 'BEGIN { if (a ~ /^[0-9]+$/) printf "%.0f", a / n; else print "n/a" }')
    summary <<EOF

#### Bytes per stored event: $DB ($(date -u +%F), $(git -C "$(dirname "$0")" rev-parse --short HEAD 2>/dev/null || echo '?'))

| database | events stored | database growth | bytes / event (used) | bytes / event (on disk) | events table bytes / event |
|---|---|---|---|---|---|
| $DB | $events | $(mb $(($(field used "$s") - $(field used "$empty")))) | **$per_used** | $per_file | $per_events |

(loader: $(field acked "$result") acked at $(field acked_per_s "$result") events/s; $(status_counts $name))
EOF
}

steps=("$@")
((${#steps[@]})) || steps=(expiry budget bytes)
for step in "${steps[@]}"; do
    case $step in
    expiry) run_expiry ;;
    seed) SEED_CACHE=1 seed_expiry ;;
    budget) run_budget ;;
    bytes) run_bytes ;;
    all) run_expiry; run_budget; run_bytes ;;
    *) echo "unknown step $step (expiry, budget, bytes, all)" >&2; exit 2 ;;
    esac
done
log "summaries appended to $OUT/summary.$DB.md"
