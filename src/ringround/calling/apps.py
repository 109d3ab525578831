from django.apps import AppConfig


class CallingConfig(AppConfig):
    name = "ringround.calling"
    label = "calling"
