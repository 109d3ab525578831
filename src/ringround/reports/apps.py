from django.apps import AppConfig


class ReportsConfig(AppConfig):
    name = "ringround.reports"
    label = "reports"

    def ready(self):
        from ringround import events

        from . import exports

        # Erasure reaches the exports: a kept file may name the person.
        events.contact_erased.connect(exports.contact_erased, dispatch_uid="reports.exports")
