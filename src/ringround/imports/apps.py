from django.apps import AppConfig


class ImportsConfig(AppConfig):
    name = "ringround.imports"
    label = "imports"
