from django.apps import AppConfig


class ReportsConfig(AppConfig):
    name = "ringround.reports"
    label = "reports"

    def ready(self):
        # Erasure reaches the exports (a kept file may name the person): the listener is
        # connected here, since importing the models at load time would be too early.
        from ringround import events

        from . import exports  # the models are ready only now

        events.contact_erased.connect(exports.contact_erased, dispatch_uid="reports.exports")
