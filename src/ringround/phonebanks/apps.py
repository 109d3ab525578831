from django.apps import AppConfig


class PhonebanksConfig(AppConfig):
    name = "ringround.phonebanks"
    label = "phonebanks"
    verbose_name = "Phone-bank sessions"
