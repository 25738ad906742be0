"""Report a real exception with two attachments through the official Sentry Python SDK.

Usage: python attachment.py --dsn DSN

One attachment is given as bytes on the scope, the other as a path to a file on disk (the SDK reads it when it sends
the event). Prints one JSON line, {"event_id": "<32 hex>", "bytes": "<hex of the first attachment>"}, and exits
non-zero when the SDK captured no event.
"""

import argparse
import json
import sys
import tempfile
from pathlib import Path

import sentry_sdk

# Every byte value once, a NUL and a CRLF among them: what arrives must be exactly this.
REPORT = b"order 17 failed\r\n\x00" + bytes(range(256))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dsn", required=True, help="DSN of the Faultline project to report to")
    args = parser.parse_args()
    sentry_sdk.init(dsn=args.dsn, release="shop@1.0.0", environment="e2e", traces_sample_rate=0)
    with tempfile.TemporaryDirectory(prefix="faultline-e2e-") as directory:
        log = Path(directory) / "checkout.log"
        log.write_text("step 1: cart\nstep 2: total\n")
        scope = sentry_sdk.get_current_scope()
        scope.add_attachment(bytes=REPORT, filename="report.bin", content_type="application/octet-stream")
        scope.add_attachment(path=str(log), content_type="text/plain")
        try:
            1 / 0
        except ZeroDivisionError:
            event_id = sentry_sdk.capture_exception()
        sentry_sdk.flush(timeout=10)
    if not event_id:
        print("the SDK captured no event", file=sys.stderr)
        return 1
    print(json.dumps({"event_id": event_id, "bytes": REPORT.hex()}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
