from django.urls import path

from . import views

app_name = "phonebanks"
urlpatterns = [
    path("campaigns/<str:public_id>/sessions/", views.sessions, name="sessions"),
    path(
        "campaigns/<str:public_id>/sessions/<str:phonebank_id>/",
        views.session_detail,
        name="session",
    ),
    path(
        "campaigns/<str:public_id>/sessions/<str:phonebank_id>/cancel/",
        views.session_cancel,
        name="session_cancel",
    ),
    path(
        "call/<str:public_id>/sessions/<str:phonebank_id>/sign-up/",
        views.sign_up,
        name="sign_up",
    ),
    path(
        "call/<str:public_id>/sessions/<str:phonebank_id>/cancel/",
        views.cancel_sign_up,
        name="cancel_sign_up",
    ),
]
