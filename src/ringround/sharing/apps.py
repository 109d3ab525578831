from django.apps import AppConfig


class SharingConfig(AppConfig):
    name = "ringround.sharing"
    verbose_name = "Sharing"

    def ready(self):
        # Connects the badge listener to ringround.events; importing it at load time is early.
        from . import receivers

        receivers.connect()
