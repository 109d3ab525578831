from django.apps import AppConfig


class TelephonyConfig(AppConfig):
    name = "ringround.telephony"
    verbose_name = "Telephony"
