"""Listening to ``ringround.events``: after the sender's transaction commits, and only if some
endpoint takes the event, a task is queued to build and send it. All the volunteer's request
pays is a cached look-up and, when someone listens, one queued task; a slow, failing or
unreachable endpoint is met only in the worker."""

from django.db import transaction

from ringround import events
from ringround.campaigns.models import Membership

from . import services, tasks


def connect() -> None:
    events.call_recorded.connect(call_recorded, dispatch_uid="webhooks.call_recorded")
    events.contact_suppressed.connect(contact_suppressed, dispatch_uid="webhooks.suppressed")
    events.volunteer_joined.connect(volunteer_joined, dispatch_uid="webhooks.volunteer_joined")
    events.import_finished.connect(import_finished, dispatch_uid="webhooks.import_finished")
    events.contact_erased.connect(contact_erased, dispatch_uid="webhooks.contact_erased")


def announce(kind: str, team_id: int | None, ref: int) -> None:
    """Queue the event once the sender's work is committed (never if it rolls back). A failure
    here is logged, never raised into the request that did the work."""

    # A named function, not functools.partial: Django logs a robust callback's failure by its
    # __qualname__, which a partial lacks (the logging itself then raised).
    def queue_it():
        _queue_if_wanted(kind, team_id, ref)

    transaction.on_commit(queue_it, robust=True)


def _queue_if_wanted(kind, team_id, ref) -> None:
    if kind in services.subscribed_events(team_id):
        tasks.publish_event.enqueue(kind, ref)


def call_recorded(sender, call, **kwargs):
    announce("call.recorded", call.campaign.team_id, call.pk)


def contact_suppressed(sender, suppression, created=True, **kwargs):
    if created:
        announce("contact.suppressed", suppression.team_id, suppression.pk)


def volunteer_joined(sender, membership, **kwargs):
    if membership.status == Membership.Status.ACTIVE:
        announce("volunteer.joined", membership.campaign.team_id, membership.pk)


def import_finished(sender, job, **kwargs):
    if job.team_id is not None:
        announce("import.finished", job.team_id, job.pk)


def contact_erased(sender, public_id, **kwargs):
    """Erasure reaches the events kept for the delivery log (an external id, answers)."""
    services.forget_contact(public_id)
