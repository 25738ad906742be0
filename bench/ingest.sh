#!/usr/bin/env bash
# Error ingest at the machine's limit, with one or several Faultline processes over one database (issue 16).
# See README "Ingest at the machine's limit" and "Scaling out".
#
#   bench/ingest.sh [throughput|latency|all]...     (default: both)
#
# Settings (environment, defaults in brackets):
#   DB            sqlite | postgres [sqlite]
#   PROCS         Faultline processes serving the one database, each with a loader of its own [1]; more than
#                 one needs DB=postgres
#   BIN           folder with the release `faultline` and `faultline-bench` [${CARGO_TARGET_DIR:-target}/release]
#   OUT           work folder: SQLite file, server logs, loader output, profiles, summary [/tmp/faultline-ingest]
#   PG_URL        Postgres server without database; faultline_ingest is recreated [postgres://postgres@127.0.0.1:5432]
#   PORT          the first server's port; the others take the next ones [8050]
#   EVENTS [60000] corpus envelopes (gzip, as the Python SDK sends them) in all, flat out;
#   CONCURRENCY [64] requests in flight in all (split between the loaders)
#   RATE [1000] events/s and RATE_SECS [30] for `latency`
#   PERF [0]: 1 profiles the first server with `perf record -g` for PERF_SECS [10] s during `throughput`
#   SERVER_ENV    extra `NAME=value` settings for the servers, space-separated (e.g. FAULTLINE_BATCH_SIZE=500)
# Lock waits (Postgres): pg_stat_activity is sampled every 100 ms during the load; the summary gives the share of
# samples in which some backend waited for a lock and the mean number waiting.
set -euo pipefail

DB=${DB:-sqlite}
PROCS=${PROCS:-1}
BIN=${BIN:-${CARGO_TARGET_DIR:-target}/release}
OUT=${OUT:-/tmp/faultline-ingest}
PG_URL=${PG_URL:-postgres://postgres@127.0.0.1:5432}
PORT=${PORT:-8050}
EVENTS=${EVENTS:-60000}
CONCURRENCY=${CONCURRENCY:-64}
RATE=${RATE:-1000}
RATE_SECS=${RATE_SECS:-30}
PERF=${PERF:-0}
PERF_SECS=${PERF_SECS:-10}
SERVER_ENV=${SERVER_ENV:-}

case $DB in sqlite | postgres) ;; *) echo "DB must be sqlite or postgres" >&2; exit 2 ;; esac
if [[ $DB == sqlite && $PROCS != 1 ]]; then echo "several processes need DB=postgres" >&2; exit 2; fi
for tool in "$BIN/faultline" "$BIN/faultline-bench"; do
    [[ -x $tool ]] || { echo "no $tool: cargo build --release --bins (or set BIN)" >&2; exit 2; }
done
mkdir -p "$OUT"
SERVERS=() LOADERS=() SAMPLER=

cleanup() {
    for pid in $SAMPLER "${LOADERS[@]}" "${SERVERS[@]}"; do kill "$pid" 2>/dev/null || true; done
    wait 2>/dev/null || true
}
trap cleanup EXIT
log() { echo "[$(date +%T)] $*" >&2; }

db_url() {
    if [[ $DB == sqlite ]]; then echo "sqlite://$OUT/ingest.db"; else echo "$PG_URL/faultline_ingest"; fi
}

fresh_db() {
    if [[ $DB == sqlite ]]; then
        rm -f "$OUT"/ingest.db*
    else
        PGOPTIONS="-c client_min_messages=warning" psql -XAtq "$PG_URL/postgres" \
            -c "DROP DATABASE IF EXISTS faultline_ingest WITH (FORCE)"
        psql -XAtq "$PG_URL/postgres" -c "CREATE DATABASE faultline_ingest"
    fi
    "$BIN/faultline" --database-url "$(db_url)" migrate >/dev/null
}

stored_events() {
    local sql="SELECT count(*) FROM events"
    if [[ $DB == sqlite ]]; then sqlite3 -batch -noheader -cmd ".timeout 10000" "$OUT/ingest.db" "$sql"
    else psql -XAtq "$(db_url)" -c "$sql"; fi
}

# Spike protection is off: it would refuse part of a flat-out load (README "Benchmark").
start_servers() {
    SERVERS=()
    for i in $(seq 0 $((PROCS - 1))); do
        # shellcheck disable=SC2086 # SERVER_ENV is a list of NAME=value words
        env DATABASE_URL="$(db_url)" FAULTLINE_BIND=127.0.0.1:$((PORT + i)) FAULTLINE_URL=http://127.0.0.1:$PORT \
            FAULTLINE_SPIKE_PROTECTION=off RUST_LOG=warn $SERVER_ENV \
            "$BIN/faultline" >"$OUT/server$i.$DB.log" 2>&1 &
        SERVERS+=($!)
    done
    for i in $(seq 0 $((PROCS - 1))); do
        for _ in $(seq 600); do
            curl -fsS -o /dev/null "http://127.0.0.1:$((PORT + i))/readyz" 2>/dev/null && break
            kill -0 "${SERVERS[$i]}" 2>/dev/null || { cat "$OUT/server$i.$DB.log" >&2; exit 1; }
            sleep 0.1
        done
    done
}

stop_servers() {
    for pid in "${SERVERS[@]}"; do kill "$pid"; wait "$pid" || true; done
    SERVERS=()
}

# dsn I: the project's DSN at server I.
dsn() {
    "$BIN/faultline" --database-url "$(db_url)" --public-url "http://127.0.0.1:$((PORT + $1))" project list |
        awk 'NR==2 {print $4}'
}

# Lock waits on Postgres, one line per 100 ms sample: how many backends wait for a lock.
sample_lock_waits() {
    [[ $DB == postgres ]] || return 0
    (while true; do
        psql -XAtq "$(db_url)" -c "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'"
        sleep 0.1
    done) >"$OUT/lock_waits.txt" 2>/dev/null &
    SAMPLER=$!
}

lock_wait_summary() {
    [[ -n $SAMPLER ]] || { echo "n/a (SQLite)"; return; }
    kill "$SAMPLER" 2>/dev/null || true
    wait "$SAMPLER" 2>/dev/null || true
    SAMPLER=
    awk '{ n++; if ($1 > 0) w++; s += $1 } END { if (n) printf "%.1f %% of %d samples, %.2f waiting on average", 100 * w / n, n, s / n }' \
        "$OUT/lock_waits.txt"
}

# run_loaders NAME [faultline-bench args]...: one loader per server, in parallel; waits for them.
run_loaders() {
    local name=$1
    shift
    LOADERS=()
    rm -f "$OUT/$name"*".$DB.loader.txt" # an earlier run's with more processes would be summed too
    for i in $(seq 0 $((PROCS - 1))); do
        "$BIN/faultline-bench" --dsn "$(dsn "$i")" --server-pid "${SERVERS[$i]}" "$@" \
            >"$OUT/$name$i.$DB.loader.txt" 2>&1 &
        LOADERS+=($!)
    done
    for i in "${!LOADERS[@]}"; do
        wait "${LOADERS[$i]}" || { cat "$OUT/$name$i.$DB.loader.txt" >&2; exit 1; }
    done
    LOADERS=()
}

# CPU seconds (user + system) the servers have used so far, summed.
servers_cpu() {
    local pid
    for pid in "${SERVERS[@]}"; do awk '{ print $14 + $15 }' "/proc/$pid/stat"; done |
        awk -v hz="$(getconf CLK_TCK)" '{ s += $1 } END { printf "%.2f", s / hz }'
}

field() { sed -n "s/.*\b$1=\([^ ]*\).*/\1/p" "$2"; }

# loaders_sum NAME FIELD / loaders_max NAME FIELD over the loaders' RESULT lines.
loaders_sum() { for f in "$OUT/$1"*".$DB.loader.txt"; do grep '^RESULT ' "$f" | sed -n "s/.*\b$2=\([^ ]*\).*/\1/p"; done | awk '{ s += $1 } END { printf "%.0f", s }'; }
loaders_max() { for f in "$OUT/$1"*".$DB.loader.txt"; do grep '^RESULT ' "$f" | sed -n "s/.*\b$2=\([^ ]*\).*/\1/p"; done | sort -g | tail -1; }

commit() { git -C "$(dirname "$0")" rev-parse --short HEAD 2>/dev/null || echo '?'; }

profile() {
    sleep 3
    perf record -e cpu-clock -F 999 -g -p "${SERVERS[0]}" -o "$OUT/ingest.$DB.perf.data" -- sleep "$PERF_SECS" \
        >/dev/null 2>&1 || true
    perf report -i "$OUT/ingest.$DB.perf.data" --no-children --sort dso,symbol --stdio -g none --percent-limit 0.7 \
        2>/dev/null | grep -v '^#' | grep -v '^$' | sed -E 's/[ -]+$//; s/ {3,}/  /g' >"$OUT/ingest.$DB.perf.txt" || true
}

run_throughput() {
    log "throughput: $EVENTS envelopes flat out, concurrency $CONCURRENCY, $PROCS process(es) ($DB)"
    fresh_db
    rm -f "$OUT/ingest.$DB.perf.txt" # an earlier run's profile is not this one's
    start_servers
    sample_lock_waits
    local started=$SECONDS profiler=
    if [[ $PERF == 1 ]]; then profile & profiler=$!; fi
    local cpu_before cpu_after
    cpu_before=$(servers_cpu)
    run_loaders throughput --events $((EVENTS / PROCS)) --concurrency $((CONCURRENCY / PROCS))
    cpu_after=$(servers_cpu)
    [[ -z $profiler ]] || wait "$profiler" || true
    local waits
    waits=$(lock_wait_summary)
    stop_servers
    local stored sent
    stored=$(stored_events)
    sent=$(loaders_sum throughput sent)
    tee -a "$OUT/summary.$DB.md" <<EOF

#### Errors flat out: $DB, $PROCS process(es) ($(date -u +%F), $(commit))

- load: $EVENTS corpus envelopes (gzip), $CONCURRENCY in flight in all, $PROCS loader(s); wall $((SECONDS - started)) s
- **$(loaders_sum throughput stored_per_s) events stored/s** (sum over the servers); acked $(loaders_sum throughput acked) of $sent, 429: $(loaders_sum throughput rejected_429), errors: $(loaders_sum throughput errors)
- stored in the database: **$stored** (sent $sent; every envelope is a distinct event)
- latency p50 $(loaders_max throughput p50_ms) ms, p99 $(loaders_max throughput p99_ms) ms (worst loader)
- server peak RSS $(loaders_max throughput peak_rss_mb) MB (largest process)
- server CPU $(awk -v a="$cpu_before" -v b="$cpu_after" -v n="$stored" 'BEGIN { printf "%.0f", (b - a) * 1e6 / n }') µs per stored event (all servers, while the loaders ran; their bodies are built before)
- lock waits: $waits$([[ -s $OUT/ingest.$DB.perf.txt ]] && echo "
- profile: $OUT/ingest.$DB.perf.txt")
EOF
}

run_latency() {
    log "latency: $RATE events/s for $RATE_SECS s, $PROCS process(es) ($DB)"
    fresh_db
    start_servers
    run_loaders latency --events $((RATE * RATE_SECS / PROCS)) --rate $((RATE / PROCS)) --concurrency 32
    stop_servers
    tee -a "$OUT/summary.$DB.md" <<EOF

#### Errors at $RATE/s: $DB, $PROCS process(es) ($(date -u +%F), $(commit))

- latency p50 $(loaders_max latency p50_ms) ms, **p99 $(loaders_max latency p99_ms) ms** (worst loader; target < 20 ms)
- 429: $(loaders_sum latency rejected_429), errors: $(loaders_sum latency errors); server peak RSS $(loaders_max latency peak_rss_mb) MB
EOF
}

modes=("$@")
[[ ${#modes[@]} -gt 0 ]] || modes=(all)
for mode in "${modes[@]}"; do
    case $mode in
        throughput) run_throughput ;;
        latency) run_latency ;;
        all) run_throughput; run_latency ;;
        *) echo "unknown mode $mode" >&2; exit 2 ;;
    esac
done
