from django.apps import AppConfig


class PrivacyConfig(AppConfig):
    name = "ringround.privacy"
    label = "privacy"
    verbose_name = "Data-protection rights"
