"""Make a tiny Django shop raise a real ZeroDivisionError and report it through the official Sentry Python SDK.

Usage: python run.py --dsn DSN --padding N [--release R]

The views module `shopviews.py` is written to a fresh temporary directory with N comment lines on top, so the failing
code sits at different line numbers for different N while its source lines stay identical. Prints one JSON line,
{"event_id": "<32 hex>", "padding": N}, and exits non-zero when the SDK captured no event.
"""

import argparse
import json
import sys
import tempfile
from pathlib import Path

import django
import sentry_sdk
from django.conf import settings
from django.test import Client

VIEWS_MODULE = "shopviews"

# The code under test. Identical for every padding; only the comment lines above it change.
VIEWS_SOURCE = '''\
"""A shop's order views."""
from django.http import JsonResponse
from django.urls import path

ORDERS = {
    17: [{"sku": "TEA-01", "unit_price": 450, "quantity": 0}],
}


def price_per_item(lines):
    total = sum(line["unit_price"] * line["quantity"] for line in lines)
    quantity = sum(line["quantity"] for line in lines)
    return total / quantity


def order_total(request, order_id):
    lines = ORDERS[order_id]
    total = sum(line["unit_price"] * line["quantity"] for line in lines)
    return JsonResponse({"order": order_id, "total": total, "per_item": price_per_item(lines)})


urlpatterns = [path("orders/<int:order_id>/total/", order_total)]
'''


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dsn", required=True, help="DSN of the Faultline project to report to")
    parser.add_argument("--padding", type=int, required=True, help="comment lines above the views code")
    parser.add_argument("--release", default="shop@1.0.0", help="release reported with the event")
    return parser.parse_args()


def write_views_module(directory, padding):
    padding_lines = "".join(f"# padding line {number}\n" for number in range(1, padding + 1))
    (Path(directory) / f"{VIEWS_MODULE}.py").write_text(padding_lines + VIEWS_SOURCE)
    sys.path.insert(0, directory)


def init_sentry(dsn, release, project_root):
    # project_root marks the shopviews frames in_app, as running from a real project directory would.
    sentry_sdk.init(
        dsn=dsn,
        release=release,
        environment="e2e",
        traces_sample_rate=0,
        send_default_pii=True,
        project_root=project_root,
    )
    sentry_sdk.set_user({"id": "42", "email": "buyer@example.com"})
    sentry_sdk.set_tag("checkout_step", "total")


def configure_django():
    settings.configure(
        DEBUG=False,
        SECRET_KEY="e2e-only-not-secret",
        ROOT_URLCONF=VIEWS_MODULE,
        ALLOWED_HOSTS=["*"],
        INSTALLED_APPS=[],
        MIDDLEWARE=[],
        DATABASES={},
    )
    django.setup()


def request_order_total():
    # With raise_request_exception=False the test client behaves like a server: Django turns the exception into a
    # 500 response, and the SDK reports it from Django's got_request_exception signal.
    response = Client(raise_request_exception=False).get("/orders/17/total/", {"currency": "EUR"})
    return response.status_code


def main():
    args = parse_args()
    with tempfile.TemporaryDirectory(prefix="faultline-e2e-") as directory:
        write_views_module(directory, args.padding)
        init_sentry(args.dsn, args.release, directory)
        configure_django()
        status = request_order_total()
        event_id = sentry_sdk.last_event_id()
        sentry_sdk.flush(timeout=10)
    if status != 500 or not event_id:
        print(f"expected a 500 and a captured event, got {status} and {event_id!r}", file=sys.stderr)
        return 1
    print(json.dumps({"event_id": event_id, "padding": args.padding}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
