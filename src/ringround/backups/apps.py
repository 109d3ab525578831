from django.apps import AppConfig


class BackupsConfig(AppConfig):
    name = "ringround.backups"
    label = "backups"
    verbose_name = "Backups"
