"""Sends what `sentry_sdk.init(..., traces_sample_rate=1.0)` sends, in one of three modes.

Default: one error, then `--logs N` log records (`sentry_sdk.logger`) and `--transactions M` transactions
(route-named `/cart/{id}/`, as Django's integration names them). Faultline answers every envelope with
`X-Sentry-Rate-Limits` naming the categories it does not store (logs among them), so after the error's answer
the SDK must stop sending logs, count them as dropped (`ratelimit_backoff`) and report that in a client report on
flush; transactions are stored and keep flowing. Prints one JSON line with the error's id.

With `--errors N` it sends N error messages instead, one at a time (each flushed): once an answer is a 429
(a key's rate limit), the SDK must hold back the rest and report them as `ratelimit_backoff`.
"""

import argparse
import json
import sys

import sentry_sdk


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--dsn", required=True)
    parser.add_argument("--logs", type=int, default=0)
    parser.add_argument("--transactions", type=int, default=0)
    parser.add_argument("--errors", type=int, default=0)
    args = parser.parse_args()
    if args.errors:
        return send_errors(args.dsn, args.errors)
    sentry_sdk.init(
        dsn=args.dsn, traces_sample_rate=1.0, enable_logs=True, release="shop@1.0.0", environment="e2e"
    )
    event_id = sentry_sdk.capture_message("checkout is slow")
    # The answer to this envelope carries the rate-limit header; flushing waits for it.
    sentry_sdk.flush(timeout=10)
    for number in range(args.logs):
        sentry_sdk.logger.info("checkout step {number}", number=number)
    for number in range(args.transactions):
        with sentry_sdk.start_transaction(name="/cart/{id}/", op="http.server", source="route"):
            with sentry_sdk.start_span(op="db", description=f"SELECT * FROM cart WHERE id = {number}"):
                pass
    # Flushing also sends the client report of what the SDK dropped.
    sentry_sdk.flush(timeout=10)
    if not event_id:
        print("no event id from capture_message", file=sys.stderr)
        return 1
    print(json.dumps({"event_id": event_id}))
    return 0


def send_errors(dsn, count):
    sentry_sdk.init(dsn=dsn, release="shop@1.0.0", environment="e2e")
    for number in range(count):
        sentry_sdk.capture_message(f"checkout failed {number}")
        # One envelope at a time, so each answer is seen before the next message.
        sentry_sdk.flush(timeout=10)
    print(json.dumps({"asked": count}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
