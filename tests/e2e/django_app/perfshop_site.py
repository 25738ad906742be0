"""The `perfshop` app (beside this file) set up as a small deployment runs it: Django configured in code over a
fresh SQLite database filled with the shop's rows, served by a real WSGI server (wsgiref) on 127.0.0.1.

Shared by `record_transactions.py` (records the transaction corpus) and `serve_perfshop.py` (the live end-to-end
test's server). Neither initializes the SDK here: each calls `sentry_sdk.init` first, as an app's settings would.
"""

import sys
import threading
import urllib.error
import urllib.request
from pathlib import Path
from wsgiref.simple_server import WSGIRequestHandler, make_server

import django
from django.conf import settings

HERE = Path(__file__).resolve().parent


def configure_django(database_path):
    sys.path.insert(0, str(HERE))
    settings.configure(
        DEBUG=False,
        SECRET_KEY="e2e-only-not-secret",
        ROOT_URLCONF="perfshop.urls",
        ALLOWED_HOSTS=["*"],
        INSTALLED_APPS=["perfshop"],
        MIDDLEWARE=[
            "django.middleware.security.SecurityMiddleware",
            "django.middleware.common.CommonMiddleware",
        ],
        DATABASES={"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": str(database_path)}},
        USE_TZ=True,
    )
    django.setup()


def create_and_fill_tables():
    """Five authors, twelve books (the last an e-book with zero pages), 600,000 reviews."""
    from django.db import connection

    from perfshop.models import Author, Book, Review

    with connection.schema_editor() as editor:
        for model in (Author, Book, Review):
            editor.create_model(model)
    authors = [Author.objects.create(name=name) for name in ["Austen", "Borges", "Calvino", "Dickens", "Eco"]]
    for number in range(1, 13):
        Book.objects.create(
            title=f"Volume {number}",
            author=authors[number % len(authors)],
            price_cents=900 + 50 * number,
            pages=0 if number == 12 else 120 + 10 * number,
        )
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO perfshop_review (book_id, stars) "
            "WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r WHERE n < 600000) "
            "SELECT 1 + n % 12, 1 + n % 5 FROM r"
        )


class QuietHandler(WSGIRequestHandler):
    def log_message(self, *args):
        pass


def start_shop():
    """The shop on a free port of 127.0.0.1, served from a background thread; returns the server."""
    from django.core.wsgi import get_wsgi_application

    server = make_server("127.0.0.1", 0, get_wsgi_application(), handler_class=QuietHandler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def request(port, path):
    """GETs `path` from the shop; returns the status code."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=60) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code
