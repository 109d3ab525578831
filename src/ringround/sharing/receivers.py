"""Listening to ``ringround.events``: once a call is committed, its time is added and the
badges it earned are given (``momentum.call_counted``). A failure here is logged, never
raised into the volunteer's request (``robust``)."""

from functools import partial

from django.db import transaction

from ringround import events

from . import momentum


def connect() -> None:
    events.call_recorded.connect(call_recorded, dispatch_uid="sharing.call_recorded")


def call_recorded(sender, call, **kwargs):
    transaction.on_commit(partial(momentum.call_counted, call), robust=True)
