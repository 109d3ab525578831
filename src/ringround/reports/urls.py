from django.urls import path

from . import views

app_name = "reports"
urlpatterns = [
    path("<str:public_id>/results/", views.results, name="results"),
    path("<str:public_id>/live/", views.live, name="live"),
    path("<str:public_id>/results/answers/", views.answers, name="answers"),
    path("<str:public_id>/export/calls.csv", views.export_calls, name="export_calls"),
]
