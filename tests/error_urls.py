"""The site's URLs and error handlers, plus one view that fails: the 500 page needs a fault."""

from django.urls import path

from ringround.urls import handler400, handler403, handler404, handler500, urlpatterns

__all__ = ["handler400", "handler403", "handler404", "handler500", "urlpatterns"]


def fails(request):
    raise RuntimeError("a fault for the 500 page")


urlpatterns = [path("fails/", fails), *urlpatterns]
