from django.urls import path

from . import views

app_name = "compliance"
urlpatterns = [
    path("teams/<str:team_id>/", views.compliance_page, name="page"),
    path("teams/<str:team_id>/screening/", views.screening_upload, name="screening"),
    path("teams/<str:team_id>/no-objection/", views.no_objection, name="no_objection"),
    path("teams/<str:team_id>/settings/", views.policy_settings, name="settings"),
    path("teams/<str:team_id>/record.md", views.record_download, name="record"),
]
