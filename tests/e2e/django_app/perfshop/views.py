"""The shop's views. Each does what its name says through the ORM; nothing here knows about Sentry."""

from django.db import connection
from django.db.models import Count
from django.http import JsonResponse

from .models import Author, Book

# Counting to this in a recursive CTE takes SQLite well over a second: one genuinely slow query.
REPORT_ROWS = 8_000_000


def books(request):
    """The N+1: one query for the page of books, then one review count per book."""
    page = Book.objects.order_by("id")[:10]
    listing = [{"id": book.id, "title": book.title, "reviews": book.reviews.count()} for book in page]
    return JsonResponse({"books": listing})


def book_detail(request, book_id):
    book = Book.objects.get(pk=book_id)
    return JsonResponse({"id": book.id, "title": book.title, "price_cents": book.price_cents})


def authors(request):
    """What `books` should do: one query, counts included."""
    rows = Author.objects.annotate(book_count=Count("books")).order_by("name")
    return JsonResponse({"authors": [{"name": a.name, "books": a.book_count} for a in rows]})


def health(request):
    return JsonResponse({"ok": True})


def ratings_report(request):
    with connection.cursor() as cursor:
        cursor.execute(
            "WITH RECURSIVE counter(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM counter WHERE n < %s) "
            "SELECT COUNT(*) FROM counter",
            [REPORT_ROWS],
        )
        (rows,) = cursor.fetchone()
    return JsonResponse({"rows": rows})


def price_per_page(request, book_id):
    """Divides by the page count, which the e-book edition leaves at zero."""
    book = Book.objects.get(pk=book_id)
    return JsonResponse({"id": book.id, "cents_per_page": book.price_cents / book.pages})
