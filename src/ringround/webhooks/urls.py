"""Under /accounts/teams/<team_id>/webhooks/, beside the team's page (``ringround.urls``)."""

from django.urls import path

from . import views

app_name = "webhooks"
urlpatterns = [
    path("<str:team_id>/webhooks/", views.endpoints, name="endpoints"),
    path("<str:team_id>/webhooks/<str:endpoint_id>/", views.endpoint, name="endpoint"),
    path(
        "<str:team_id>/webhooks/<str:endpoint_id>/delete/",
        views.endpoint_delete,
        name="endpoint_delete",
    ),
    path(
        "<str:team_id>/webhooks/<str:endpoint_id>/secret/",
        views.endpoint_secret,
        name="endpoint_secret",
    ),
    path(
        "<str:team_id>/webhooks/<str:endpoint_id>/test/", views.endpoint_ping, name="endpoint_ping"
    ),
    path(
        "<str:team_id>/webhooks/<str:endpoint_id>/deliveries/<str:delivery_id>/",
        views.delivery,
        name="delivery",
    ),
    path(
        "<str:team_id>/webhooks/<str:endpoint_id>/deliveries/<str:delivery_id>/replay/",
        views.delivery_replay,
        name="delivery_replay",
    ),
]
