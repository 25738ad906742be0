"""A small bookshop on SQLite, for recording what the Sentry Python SDK sends about real requests.

Its views are ordinary Django, each with one performance character: `books` is an N+1 (one review count per
listed book), `book_detail` and `authors` are fast, `health` runs no query, `ratings_report` runs one genuinely
slow query, and `price_per_page` raises inside a traced request.
"""
