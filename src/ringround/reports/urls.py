from django.urls import path

from . import views

app_name = "reports"
urlpatterns = [
    path("<str:public_id>/results/", views.results, name="results"),
    path("<str:public_id>/live/", views.live, name="live"),
    path("<str:public_id>/results/answers/", views.answers, name="answers"),
    path("<str:public_id>/export/calls.csv", views.export_calls, name="export_calls"),
]

# Exports written in the background (export_views.py).
from . import export_views  # noqa: E402

urlpatterns += [
    path("<str:public_id>/exports/", export_views.exports_page, name="exports"),
    path(
        "<str:public_id>/exports/<str:export_id>/",
        export_views.export_status,
        name="export_status",
    ),
    path(
        "<str:public_id>/exports/<str:export_id>/download",
        export_views.export_download,
        name="export_download",
    ),
]
