from django.apps import AppConfig


class PhonebanksConfig(AppConfig):
    name = "ringround.phonebanks"
    label = "phonebanks"
    verbose_name = "Phone-bank sessions"

    def ready(self):
        # Imported here: models cannot be imported before the apps are loaded.
        from ringround.reports.exports import register_export

        from .exports import sessions_table  # models cannot be imported before the apps are loaded

        register_export(
            "sessions",
            "Sessions",
            "One row per phone-bank session: when, host, places, who is coming.",
            sessions_table,
        )
