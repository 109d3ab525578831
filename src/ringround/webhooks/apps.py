from django.apps import AppConfig


class WebhooksConfig(AppConfig):
    name = "ringround.webhooks"
    verbose_name = "Webhooks"

    def ready(self):
        # Connects the listeners to ringround.events; importing it at load time would be early.
        from . import receivers

        receivers.connect()
