from django.urls import path

from . import views

urlpatterns = [
    path("books/", views.books),
    path("books/<int:book_id>/", views.book_detail),
    path("books/<int:book_id>/price-per-page/", views.price_per_page),
    path("authors/", views.authors),
    path("health/", views.health),
    path("reports/ratings/", views.ratings_report),
]
