#!/usr/bin/env bash
# Ingest of minified browser errors whose source maps are uploaded (issue 15's target: above 2,000 events/s on
# this machine). Builds the shop bundle of tests/e2e/node_app with esbuild, injects debug ids and uploads it with
# sentry-cli to a fresh release server on SQLite, then replays generated browser error envelopes whose frames point
# into the bundle (each is mapped before it is grouped) with faultline-bench, and checks a stored event's top frame
# is mapped. Also prints the resolution micro-benchmark (a 5 MB map, cold and warm).
#
# Needs: a release build (cargo build --release), node with tests/e2e/node_app/node_modules (npm ci), and sentry-cli
# (FAULTLINE_SENTRY_CLI, e.g. .venv-e2e/bin/sentry-cli as .ci/run installs it).
#
# Usage: bench/source_maps.sh            (EVENTS=60000 CONCURRENCY=64 PORT=8077 BIN=target/release by default)
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${BIN:-target/release}
EVENTS=${EVENTS:-60000}
CONCURRENCY=${CONCURRENCY:-64}
PORT=${PORT:-8077}
SENTRY_CLI=${FAULTLINE_SENTRY_CLI:-.venv-e2e/bin/sentry-cli}
MODULES=${FAULTLINE_NODE_MODULES:-$PWD/tests/e2e/node_app/node_modules}
work=$(mktemp -d)
trap 'kill "${server:-0}" 2>/dev/null || true; rm -rf "$work"' EXIT
export DATABASE_URL="sqlite://$work/faultline.db" FAULTLINE_BIND="127.0.0.1:$PORT"

echo "== resolution of a frame of a 5 MB map"
"$BIN/faultline-sourcemap-bench" --megabytes 5

echo "== server, user, token"
"$BIN/faultline" migrate >/dev/null
echo "bench-password-123" | "$BIN/faultline" user create --email bench@example.com --admin >/dev/null
token=$("$BIN/faultline" token create --user bench@example.com 2>/dev/null | tail -1)
"$BIN/faultline" serve >"$work/server.log" 2>&1 &
server=$!
for _ in $(seq 50); do curl -sf "http://127.0.0.1:$PORT/healthz" >/dev/null && break; sleep 0.2; done
# The server makes the default project on its first start.
dsn=$("$BIN/faultline" project list 2>/dev/null | grep -o 'http://[^ ]*' | head -1)

echo "== bundle, inject, upload"
NODE_PATH="$MODULES" node tests/e2e/node_app/build_shop.cjs "$work/dist" >/dev/null
export SENTRY_URL="http://127.0.0.1:$PORT" SENTRY_AUTH_TOKEN="$token" SENTRY_ORG=default SENTRY_PROJECT=default \
  SENTRY_DISABLE_UPDATE_CHECK=1 SENTRY_LOAD_DOTENV=0 SENTRY_NO_PROGRESS_BAR=1
(cd "$work" && "$OLDPWD/$SENTRY_CLI" sourcemaps inject dist >/dev/null && "$OLDPWD/$SENTRY_CLI" sourcemaps upload dist >/dev/null)

echo "== corpus: browser errors pointing into the bundle"
python3 - "$work/dist/app.min.js" "$work/corpus" <<'PY'
import json, os, re, sys, uuid
bundle, out = sys.argv[1], sys.argv[2]
source = open(bundle).read()
debug_id = re.search(r"debugId=([0-9a-fA-F-]{36})", source).group(1)
# The bundle's own line (inject puts its snippet on a line before it).
lineno, code = next((i + 1, l) for i, l in enumerate(source.split("\n")) if "no price for" in l)
url = "https://shop.example.com/static/app.min.js"
throw = code.index("throw new Error(`no price") + 1
calls = [m.start() + 1 for m in re.finditer(r"\w\(\w\)", code)][:40]
os.makedirs(out)
for n in range(20):
    frames = [{"filename": url, "abs_path": url, "function": "x", "lineno": lineno, "colno": c, "in_app": True}
              for c in calls[n:n + 4]] + [{"filename": url, "abs_path": url, "function": "c", "lineno": lineno, "colno": throw, "in_app": True}]
    event = {"event_id": uuid.uuid4().hex, "platform": "javascript", "level": "error", "release": "shop@1.0.0",
             "exception": {"values": [{"type": "Error", "value": f"no price for book-{n}", "stacktrace": {"frames": frames}}]},
             "debug_meta": {"images": [{"type": "sourcemap", "code_file": url, "debug_id": debug_id}]},
             "request": {"url": "https://shop.example.com/shop/", "headers": {"User-Agent": "Mozilla/5.0 Chrome/131.0"}}}
    body = json.dumps(event)
    with open(os.path.join(out, f"{n:02}.envelope"), "w") as f:
        f.write(json.dumps({"event_id": event["event_id"]}) + "\n" + json.dumps({"type": "event", "length": len(body.encode())}) + "\n" + body + "\n")
PY

echo "== ingest: $EVENTS events, $CONCURRENCY in flight"
"$BIN/faultline-bench" --dsn "$dsn" --corpus "$work/corpus" --events "$EVENTS" --concurrency "$CONCURRENCY" --server-pid "$server"

echo "== a stored event's top frame"
curl -sf -H "Authorization: Bearer $token" "http://127.0.0.1:$PORT/api/0/projects/default/default/events/?full=true" \
  | python3 -c 'import json,sys; e=json.load(sys.stdin)[0]; x=[x for x in e["entries"] if x["type"]=="exception"][0]; f=x["data"]["values"][0]["stacktrace"]["frames"][-1]; print(f["function"], f["filename"], f["lineNo"], (f.get("data") or {}).get("sourcemap_error",""))'
