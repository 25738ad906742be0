"""Run two scheduled jobs under the official Sentry Python SDK's `@monitor` decorator, as a Celery beat or cron
entry point would: one succeeds, one raises. Each sends an `in_progress` check-in, then `ok` or `error`, with its
monitor_config, so the monitors are created on first run.

Usage: python cron_jobs.py --dsn DSN

Prints one JSON line, {"failed_event_id": "<32 hex>"} (the failing job's exception, captured after the decorator
re-raised it), and exits non-zero when the SDK captured no event.
"""

import argparse
import json
import sys
import time

import sentry_sdk
from sentry_sdk.crons import monitor

NIGHTLY = {
    "schedule": {"type": "crontab", "value": "0 3 * * *"},
    "timezone": "Europe/Vienna",
    "checkin_margin": 5,
    "max_runtime": 30,
    "failure_issue_threshold": 1,
    "recovery_threshold": 1,
}
EVERY_TEN_MINUTES = {"schedule": {"type": "interval", "value": 10, "unit": "minute"}, "checkin_margin": 2}


@monitor(monitor_slug="nightly-report", monitor_config=NIGHTLY)
def nightly_report():
    time.sleep(0.2)
    return "42 orders"


@monitor(monitor_slug="invoice-sync", monitor_config=EVERY_TEN_MINUTES)
def invoice_sync():
    raise ConnectionError("the invoicing service refused the connection")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dsn", required=True, help="DSN of the Faultline project to report to")
    args = parser.parse_args()
    sentry_sdk.init(dsn=args.dsn, release="shop@1.0.0", environment="production", traces_sample_rate=0)
    nightly_report()
    try:
        invoice_sync()
    except ConnectionError:
        event_id = sentry_sdk.capture_exception()
    sentry_sdk.flush(timeout=10)
    if not event_id:
        print("the SDK captured no event", file=sys.stderr)
        return 1
    print(json.dumps({"failed_event_id": event_id}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
