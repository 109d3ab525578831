from django.urls import path

from . import views

app_name = "telephony"
urlpatterns = [
    # The provider's callbacks (signed).
    path("telephony/seat/<str:public_id>/answer/", views.seat_answer, name="seat_answer"),
    path("telephony/seat/<str:public_id>/status/", views.seat_status, name="seat_status"),
    path("telephony/leg/<str:public_id>/answer/", views.leg_answer, name="leg_answer"),
    path("telephony/leg/<str:public_id>/status/", views.leg_status, name="leg_status"),
    path("telephony/line/<str:public_id>/inbound/", views.inbound, name="inbound"),
    path("telephony/inbound/<str:public_id>/key/", views.inbound_key, name="inbound_key"),
    path(
        "telephony/inbound/<str:public_id>/message/", views.inbound_message, name="inbound_message"
    ),
    # The volunteer's card.
    path("call/<str:public_id>/line/join/", views.join, name="join"),
    path("call/<str:public_id>/line/leave/", views.leave, name="leave"),
    path("call/<str:public_id>/line/dial/", views.dial, name="dial"),
    path("call/<str:public_id>/line/hang-up/", views.hang_up, name="hang_up"),
    path("call/<str:public_id>/line/", views.line_status, name="line_status"),
    # Organisers.
    path("accounts/teams/<str:team_id>/line/", views.team_line, name="team_line"),
    path("campaigns/<str:public_id>/dialing/", views.campaign_dialing, name="campaign_dialing"),
]
