from django.urls import path

from . import views

app_name = "imports"
urlpatterns = [
    path("", views.imports, name="imports"),
    path("<str:import_id>/", views.import_detail, name="import"),
    path("<str:import_id>/check/", views.import_check, name="import_check"),
    path("<str:import_id>/progress/", views.import_progress, name="import_progress"),
    path("<str:import_id>/rejected.csv", views.import_rejected, name="import_rejected"),
    path("<str:import_id>/resume/", views.import_resume, name="import_resume"),
    path("<str:import_id>/targets/", views.import_targets, name="import_targets"),
]
