from django.urls import path

from . import views

app_name = "calling"
urlpatterns = [
    path("", views.my_campaigns, name="my_campaigns"),
    path("<str:public_id>/", views.brief, name="brief"),
    path("<str:public_id>/start/", views.start, name="start"),
    path("<str:public_id>/card/", views.card, name="card"),
    path("<str:public_id>/record/", views.record, name="record"),
    path("<str:public_id>/next/", views.next_contact, name="next"),
    path("<str:public_id>/heartbeat/", views.heartbeat, name="heartbeat"),
    path("<str:public_id>/stop/", views.stop, name="stop"),
    path("<str:public_id>/summary/", views.summary, name="summary"),
    path("<str:public_id>/practise/", views.practise, name="practise"),
    path("<str:public_id>/practise/save/", views.practise_save, name="practise_save"),
    path("<str:public_id>/room/", views.room, name="room"),
    path("<str:public_id>/help/", views.ask_for_help, name="help"),
    path("<str:public_id>/room/organisers/", views.room_controls, name="room_controls"),
]
