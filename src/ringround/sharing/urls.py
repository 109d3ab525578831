from django.urls import path

from . import views

app_name = "sharing"
urlpatterns = [
    path("s/<str:code>", views.follow, name="follow"),
    path("s/<str:code>/share/<str:network>", views.share, name="share"),
    path("media/sharing/<str:name>", views.image, name="image"),
    path("join/<str:public_id>/", views.page, name="page"),
    path("join/<str:public_id>/sign-up/", views.sign_up, name="sign_up"),
    path("join/<str:public_id>/join/", views.join, name="join"),
    path("call/<str:public_id>/share/", views.volunteer, name="volunteer"),
    path("call/<str:public_id>/share/name/", views.hide_name, name="hide_name"),
    path("call/<str:public_id>/share/invite/", views.invite_contact, name="invite_contact"),
    path("campaigns/<str:public_id>/sharing/", views.organiser, name="organiser"),
    path("campaigns/<str:public_id>/sharing/recruits/", views.recruits, name="recruits"),
    path(
        "campaigns/<str:public_id>/sharing/kits/<str:kit_id>/withdraw/",
        views.withdraw,
        name="withdraw",
    ),
]
