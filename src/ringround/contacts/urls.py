from django.urls import path

from . import views

app_name = "contacts"
urlpatterns = [
    path("suppressions/", views.suppressions, name="suppressions"),
    path("suppressions/remove/", views.unsuppress, name="unsuppress"),
    path("suppressions/import/", views.suppression_import, name="suppression_import"),
    path("imports/", views.imports, name="imports"),
    path("imports/<str:import_id>/", views.import_detail, name="import"),
    path("imports/<str:import_id>/progress/", views.import_progress, name="import_progress"),
    path("imports/<str:import_id>/rejected.csv", views.import_rejected, name="import_rejected"),
    path("imports/<str:import_id>/resume/", views.import_resume, name="import_resume"),
    path("imports/<str:import_id>/targets/", views.import_targets, name="import_targets"),
]
