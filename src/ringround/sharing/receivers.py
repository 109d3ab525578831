"""Listening to ``ringround.events``: once a call is committed, its time is added and the
badges it earned are given (``momentum.call_counted``). A failure here is logged, never
raised into the volunteer's request (``robust``)."""

from django.db import transaction

from ringround import events

from . import momentum


def connect() -> None:
    events.call_recorded.connect(call_recorded, dispatch_uid="sharing.call_recorded")


def call_recorded(sender, call, **kwargs):
    # A named function, not functools.partial: Django logs a robust callback's failure by its
    # __qualname__, which a partial lacks, and that turned a failed badge into a 500.
    def count_it():
        momentum.call_counted(call)

    transaction.on_commit(count_it, robust=True)
