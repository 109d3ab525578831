"""Under /accounts/teams/<team_id>/webhooks/ (``ringround.urls``), beside the team's page."""

from django.urls import path

from . import views

app_name = "webhooks"
urlpatterns = [
    path("", views.endpoints, name="endpoints"),
    path("<str:endpoint_id>/", views.endpoint, name="endpoint"),
    path("<str:endpoint_id>/delete/", views.endpoint_delete, name="endpoint_delete"),
    path("<str:endpoint_id>/secret/", views.endpoint_secret, name="endpoint_secret"),
    path("<str:endpoint_id>/test/", views.endpoint_ping, name="endpoint_ping"),
    path("<str:endpoint_id>/deliveries/<str:delivery_id>/", views.delivery, name="delivery"),
    path(
        "<str:endpoint_id>/deliveries/<str:delivery_id>/replay/",
        views.delivery_replay,
        name="delivery_replay",
    ),
]
