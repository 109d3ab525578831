from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "ringround.accounts"
    label = "accounts"
