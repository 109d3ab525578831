from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "ringround.accounts"
    label = "accounts"

    def ready(self):
        # Django's way to connect signal receivers: the models must be loaded first.
        from . import signals  # noqa: F401
