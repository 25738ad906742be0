"""The shop's tables. `Review.book` has no index on purpose: counting one book's reviews scans the table, so
each query of the N+1 costs milliseconds, as it does in a real shop with a missing index."""

from django.db import models


class Author(models.Model):
    name = models.CharField(max_length=100)

    class Meta:
        app_label = "perfshop"


class Book(models.Model):
    title = models.CharField(max_length=200)
    author = models.ForeignKey(Author, on_delete=models.CASCADE, related_name="books")
    price_cents = models.IntegerField()
    pages = models.IntegerField()

    class Meta:
        app_label = "perfshop"


class Review(models.Model):
    book = models.ForeignKey(Book, on_delete=models.CASCADE, related_name="reviews", db_index=False)
    stars = models.IntegerField()

    class Meta:
        app_label = "perfshop"
