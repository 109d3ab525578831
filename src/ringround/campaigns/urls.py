from django.urls import path

from . import views

app_name = "campaigns"
urlpatterns = [
    path("", views.campaign_list, name="list"),
    path("new/", views.campaign_create, name="create"),
    path("<str:public_id>/", views.campaign_detail, name="detail"),
    path("<str:public_id>/settings/", views.campaign_edit, name="edit"),
    path("<str:public_id>/script/", views.campaign_script, name="script"),
    path("<str:public_id>/script/preview/", views.script_preview, name="script_preview"),
    path("<str:public_id>/survey/", views.campaign_survey, name="survey"),
    path("<str:public_id>/survey/<int:question_id>/", views.question_edit, name="question"),
    path("<str:public_id>/outcomes/", views.campaign_outcomes, name="outcomes"),
    path("<str:public_id>/outcomes/<int:outcome_id>/", views.outcome_edit, name="outcome"),
    path("<str:public_id>/invite/", views.campaign_invite, name="invite"),
    path(
        "<str:public_id>/volunteers/suspend/",
        views.suspend_volunteers,
        name="suspend_volunteers",
    ),
    path(
        "<str:public_id>/volunteers/<str:user_public_id>/",
        views.volunteer_status,
        name="volunteer_status",
    ),
    path("<str:public_id>/status/", views.campaign_status, name="status"),
    path("<str:public_id>/targets/", views.campaign_add_targets, name="add_targets"),
]
