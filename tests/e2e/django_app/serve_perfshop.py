"""Serves the `perfshop` app, traced by the official Sentry Python SDK, for a test that makes the requests itself.

Usage: python serve_perfshop.py --dsn DSN

The SDK is set up as the issue's Django apps do it: `sentry_sdk.init(dsn=…, integrations=[DjangoIntegration()],
traces_sample_rate=1.0)`. The shop (see `perfshop_site.py`) gets a fresh SQLite database and a real WSGI server
(wsgiref) on a free port of 127.0.0.1; once it serves, one JSON line `{"port": N}` is printed. The server runs until
standard input says `flush` or closes: then the SDK is flushed, which waits until Faultline has answered every
envelope sent so far, one JSON line `{"flushed": true}` is printed, and the process exits.
"""

import argparse
import json
import sys
import tempfile
from pathlib import Path

sys.dont_write_bytecode = True

import sentry_sdk  # noqa: E402
from sentry_sdk.integrations.django import DjangoIntegration  # noqa: E402

from perfshop_site import HERE, configure_django, create_and_fill_tables, start_shop  # noqa: E402


def say(line):
    print(json.dumps(line), flush=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dsn", required=True, help="DSN of the Faultline project to report to")
    args = parser.parse_args()
    sentry_sdk.init(
        dsn=args.dsn,
        integrations=[DjangoIntegration()],
        traces_sample_rate=1.0,
        release="perfshop@1.0.0",
        environment="e2e",
        project_root=str(HERE),
    )
    with tempfile.TemporaryDirectory(prefix="faultline-perfshop-") as directory:
        configure_django(Path(directory) / "shop.sqlite3")
        create_and_fill_tables()
        shop = start_shop()
        say({"port": shop.server_address[1]})
        for line in sys.stdin:
            if line.strip() == "flush":
                break
        shop.shutdown()
        sentry_sdk.flush(timeout=10)
    say({"flushed": True})
    return 0


if __name__ == "__main__":
    sys.exit(main())
