"""Records what the official Sentry Python SDK sends about real Django requests, as the transaction corpus.

Usage: python record_transactions.py [--out DIR]   (default DIR: tests/fixtures/transactions of this repository)

The `perfshop` app (beside this script) runs on a real WSGI server (wsgiref) over a fresh SQLite database,
with `sentry_sdk.init(dsn=…, integrations=[DjangoIntegration()], traces_sample_rate=1.0)`. The DSN points at a
tiny receiver (stdlib http.server) on 127.0.0.1 that keeps every envelope the SDK posts, gunzipped. Each request
below is made over HTTP, then the SDK is flushed, so the envelopes that arrive belong to that request; those
holding an `event` or `transaction` item are written to DIR as `NNN_<request>[_<item type>].envelope`. Old
`*.envelope` files in DIR are removed first. The public key is the error corpus's (`0123…cdef`), project id 1.

It checks what the corpus is for and exits non-zero when the SDK did not deliver it: the N+1 request has
1 + 10 queries (db spans besides `connect`), the slow report one db span over a second, the error and its transaction one trace id.
"""

import argparse
import gzip
import json
import sys
import tempfile
import threading
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

sys.dont_write_bytecode = True

import django  # noqa: E402
import sentry_sdk  # noqa: E402
from sentry_sdk.integrations.django import DjangoIntegration  # noqa: E402

from perfshop_site import HERE, configure_django, create_and_fill_tables, request, start_shop  # noqa: E402

REPO = HERE.parents[2]
PUBLIC_KEY = "0123456789abcdef0123456789abcdef"

# (file name part, path, expected status). The order is the corpus's order.
REQUESTS = [
    ("n_plus_one_books", "/books/", 200),
    ("n_plus_one_books", "/books/", 200),
    ("n_plus_one_books", "/books/", 200),
    ("fast_book_detail", "/books/3/", 200),
    ("fast_book_detail", "/books/7/", 200),
    ("fast_book_detail", "/books/11/", 200),
    ("fast_authors", "/authors/", 200),
    ("fast_authors", "/authors/", 200),
    ("fast_health", "/health/", 200),
    ("fast_health", "/health/", 200),
    ("slow_ratings_report", "/reports/ratings/", 200),
    ("slow_ratings_report", "/reports/ratings/", 200),
    ("error_price_per_page", "/books/12/price-per-page/", 500),
    ("error_price_per_page", "/books/12/price-per-page/", 500),
]


class Received:
    """Envelopes the receiver got, in arrival order."""

    def __init__(self):
        self.lock = threading.Lock()
        self.envelopes = []

    def add(self, body):
        with self.lock:
            self.envelopes.append(body)

    def taken_since(self, count):
        with self.lock:
            return self.envelopes[count:]

    def __len__(self):
        with self.lock:
            return len(self.envelopes)


def start_receiver(received):
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            if self.headers.get("Content-Encoding") == "gzip":
                body = gzip.decompress(body)
            received.add(body)
            answer = b"{}"
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def items_of(envelope):
    """(item header, payload) pairs of an envelope (items with and without an explicit length)."""
    lines = envelope.split(b"\n", 1)
    rest = lines[1] if len(lines) > 1 else b""
    items = []
    while rest.strip():
        header_line, _, rest = rest.partition(b"\n")
        header = json.loads(header_line)
        if "length" in header:
            payload, rest = rest[: header["length"]], rest[header["length"] + 1 :]
        else:
            payload, _, rest = rest.partition(b"\n")
        items.append((header, payload))
    return items


def record():
    received = Received()
    receiver = start_receiver(received)
    dsn = f"http://{PUBLIC_KEY}@127.0.0.1:{receiver.server_address[1]}/1"
    sentry_sdk.init(
        dsn=dsn,
        integrations=[DjangoIntegration()],
        traces_sample_rate=1.0,
        release="perfshop@1.0.0",
        environment="e2e",
        project_root=str(HERE),
    )
    recorded = []
    with tempfile.TemporaryDirectory(prefix="faultline-perfshop-") as directory:
        configure_django(Path(directory) / "shop.sqlite3")
        create_and_fill_tables()
        shop = start_shop()
        port = shop.server_address[1]
        for name, path, expected in REQUESTS:
            before = len(received)
            status = request(port, path)
            if status != expected:
                raise SystemExit(f"GET {path} answered {status}, expected {expected}")
            sentry_sdk.flush(timeout=10)
            for envelope in received.taken_since(before):
                types = [header.get("type") for header, _ in items_of(envelope)]
                if "event" in types or "transaction" in types:
                    recorded.append((name, envelope))
        shop.shutdown()
    receiver.shutdown()
    return recorded


def write(out, recorded):
    out.mkdir(parents=True, exist_ok=True)
    for old in out.glob("*.envelope"):
        old.unlink()
    for index, (name, envelope) in enumerate(recorded):
        kind = "event" if any(h.get("type") == "event" for h, _ in items_of(envelope)) else "transaction"
        suffix = f"_{kind}" if name.startswith("error_") else ""
        (out / f"{index:03}_{name}{suffix}.envelope").write_bytes(envelope)


def payloads(recorded, name, item_type):
    found = []
    for recorded_name, envelope in recorded:
        if recorded_name != name:
            continue
        for header, payload in items_of(envelope):
            if header.get("type") == item_type:
                found.append(json.loads(payload))
    return found


def db_spans(transaction):
    return [s for s in transaction.get("spans", []) if s.get("op", "").startswith("db")]


def ms(span):
    """A span's duration; the SDK sends its times as RFC 3339 text."""
    start, end = (datetime.fromisoformat(span[key]) for key in ("start_timestamp", "timestamp"))
    return (end - start).total_seconds() * 1000


def check(recorded):
    """What the corpus is for, checked; returns a one-line summary or raises SystemExit."""
    n_plus_one = payloads(recorded, "n_plus_one_books", "transaction")
    slow = payloads(recorded, "slow_ratings_report", "transaction")
    errors = payloads(recorded, "error_price_per_page", "event")
    failed = payloads(recorded, "error_price_per_page", "transaction")
    if len(n_plus_one) != 3 or len(slow) != 2 or len(errors) != 2 or len(failed) != 2:
        raise SystemExit("the SDK did not deliver one transaction per request and one event per error")
    repeated = [[s for s in db_spans(t) if "COUNT(*)" in s.get("description", "")] for t in n_plus_one]
    queries = [[s for s in db_spans(t) if s.get("description", "").startswith("SELECT")] for t in n_plus_one]
    if any(len(q) != 11 or len(r) != 10 for q, r in zip(queries, repeated)):
        raise SystemExit("the N+1 request should run 1 + 10 queries")
    slowest = [max(ms(s) for s in db_spans(t)) for t in slow]
    if min(slowest) < 1000:
        raise SystemExit(f"the slow query took only {min(slowest):.0f} ms")
    for event, transaction in zip(errors, failed):
        if event["contexts"]["trace"]["trace_id"] != transaction["contexts"]["trace"]["trace_id"]:
            raise SystemExit("the error and its transaction have different trace ids")
    repeated_ms = [round(sum(ms(s) for s in r)) for r in repeated]
    return (
        f"{len(recorded)} envelopes; N+1 repeated queries took {repeated_ms} ms together, "
        f"the slow query {[round(m) for m in slowest]} ms"
    )


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=REPO / "tests" / "fixtures" / "transactions")
    args = parser.parse_args()
    recorded = record()
    summary = check(recorded)
    write(args.out, recorded)
    print(f"sentry-sdk {sentry_sdk.VERSION}, Django {django.__version__}: {summary}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
