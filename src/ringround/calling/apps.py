from django.apps import AppConfig
from django.db.backends.signals import connection_created

from ringround import rawsql


class CallingConfig(AppConfig):
    name = "ringround.calling"
    label = "calling"

    def ready(self):
        # The calling loop's statements are prepared once per connection and run on that plan.
        connection_created.connect(rawsql.plan_once, dispatch_uid="rawsql.plan_once")
