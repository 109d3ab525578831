from django.apps import AppConfig


class TelephonyConfig(AppConfig):
    name = "ringround.telephony"
    verbose_name = "Telephony"

    def ready(self):
        # Connects the listeners to ringround.events; importing them at load time would be early.
        from ringround import events

        from . import services  # (as above: models load after this module)

        events.contact_erased.connect(services.contact_erased, dispatch_uid="telephony.erased")
