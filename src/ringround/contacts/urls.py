from django.urls import path

from . import views

app_name = "contacts"
urlpatterns = [
    path("suppressions/", views.suppressions, name="suppressions"),
    path("suppressions/remove/", views.unsuppress, name="unsuppress"),
    path("suppressions/import/", views.suppression_import, name="suppression_import"),
]
