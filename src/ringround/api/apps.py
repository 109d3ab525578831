from django.apps import AppConfig


class ApiConfig(AppConfig):
    name = "ringround.api"
    label = "api"
    verbose_name = "JSON API"
