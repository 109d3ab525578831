"""``ringround manage task_worker``: django-tasks' ``db_worker`` (same options), which also says
it is alive (``imports.workers.Heartbeat``), so the import pages can tell whether a queued
import will run. ``ringround serve`` starts this one; ``db_worker`` still works but the pages
cannot see it."""

import os

from django.utils.autoreload import DJANGO_AUTORELOAD_ENV
from django_tasks_db.management.commands import db_worker

from ringround.imports.workers import Heartbeat


class Command(db_worker.Command):
    help = "Run the background task worker (imports), saying every few seconds that it is alive"

    def handle(self, *args, **options):
        if options["reload"] and os.environ.get(DJANGO_AUTORELOAD_ENV) != "true":
            return super().handle(*args, **options)  # the reloader: its child does the work
        heartbeat = Heartbeat(options["worker_id"]).start()
        try:
            return super().handle(*args, **options)
        finally:
            heartbeat.stop()
