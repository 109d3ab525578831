from django.urls import path

from . import views

app_name = "privacy"
urlpatterns = [
    path("", views.search, name="search"),
    path("contacts/<str:public_id>/access/", views.subject_access, name="subject_access"),
    path("contacts/<str:public_id>/erase/", views.erase, name="erase"),
    path("object/", views.objection, name="object"),
]
