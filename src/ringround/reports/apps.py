from django.apps import AppConfig


class ReportsConfig(AppConfig):
    name = "ringround.reports"
    label = "reports"
