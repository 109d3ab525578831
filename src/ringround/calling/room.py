"""Talking to the room during a phone bank: an organiser's message on every calling
volunteer's card, a volunteer's "I need help" raised to the organisers, and an organiser
taking back the person a volunteer holds (ending their calling for now).

The cards ask for what is new every few seconds (``calling:room``): one indexed query for the
latest message, one for the volunteer's own help request."""

import datetime as dt

from django.db import IntegrityError, transaction
from django.utils import timezone

from ringround.audit.services import record_event
from ringround.campaigns.models import Campaign, Membership

from .models import HelpRequest, RoomMessage
from .rules import release

MESSAGE_SHOWN_FOR = dt.timedelta(hours=6)


class RoomError(Exception):
    """A refusal to show the organiser, in words."""


def broadcast(campaign: Campaign, text: str, *, by, request=None) -> RoomMessage:
    """Send a message to everyone calling; it replaces the one before."""
    text = " ".join((text or "").split())[:500]
    if not text:
        raise RoomError("Write the message first.")
    message = RoomMessage.objects.create(campaign=campaign, text=text, sent_by=by)
    record_event(by, "room.broadcast", message, campaign=campaign, request=request)
    return message


def withdraw(campaign: Campaign, *, by, request=None) -> int:
    """Take the current message off the cards."""
    withdrawn = RoomMessage.objects.filter(campaign=campaign, withdrawn_at=None).update(
        withdrawn_at=timezone.now()
    )
    if withdrawn:
        record_event(by, "room.withdrawn", campaign, campaign=campaign, request=request)
    return withdrawn


def current_message(campaign: Campaign, now: dt.datetime | None = None) -> RoomMessage | None:
    """What the cards show: the latest message, if it is not withdrawn and not stale."""
    now = now or timezone.now()
    latest = RoomMessage.objects.filter(campaign=campaign).order_by("-sent_at", "-id").first()
    if latest is None or latest.withdrawn_at or latest.sent_at < now - MESSAGE_SHOWN_FOR:
        return None
    return latest


def ask_for_help(campaign: Campaign, volunteer, *, request=None) -> HelpRequest:
    """Raise a hand (once: pressing again while waiting changes nothing)."""
    open_request = HelpRequest.objects.filter(
        campaign=campaign, volunteer=volunteer, answered_at=None
    ).first()
    if open_request is not None:
        return open_request
    try:
        with transaction.atomic():
            help_request = HelpRequest.objects.create(campaign=campaign, volunteer=volunteer)
    except IntegrityError:  # pressed twice at once
        return HelpRequest.objects.get(campaign=campaign, volunteer=volunteer, answered_at=None)
    record_event(volunteer, "room.help_asked", help_request, campaign=campaign, request=request)
    return help_request


def waiting_for_help(campaign: Campaign):
    return (
        HelpRequest.objects.filter(campaign=campaign, answered_at=None)
        .select_related("volunteer")
        .order_by("raised_at")
    )


def own_help_request(campaign: Campaign, volunteer) -> HelpRequest | None:
    return HelpRequest.objects.filter(
        campaign=campaign, volunteer=volunteer, answered_at=None
    ).first()


def answer_help(campaign: Campaign, help_id: int, *, by, request=None) -> HelpRequest:
    help_request = HelpRequest.objects.filter(campaign=campaign, pk=help_id).first()
    if help_request is None:
        raise RoomError("No such request for help.")
    if help_request.answered_at is None:
        help_request.answered_at, help_request.answered_by = timezone.now(), by
        help_request.save(update_fields=["answered_at", "answered_by"])
        record_event(by, "room.help_answered", help_request, campaign=campaign, request=request)
    return help_request


def take_back(campaign: Campaign, volunteer_public_id: str, *, by, request=None) -> int:
    """Free the person a volunteer holds and end their calling for now (they can start again
    from the brief); how many contacts were freed."""
    membership = (
        Membership.objects.filter(campaign=campaign, user__public_id=volunteer_public_id)
        .select_related("user")
        .first()
    )
    if membership is None:
        raise RoomError("No such volunteer in this campaign.")
    freed = release(campaign, membership.user)
    record_event(
        by,
        "room.taken_back",
        membership,
        campaign=campaign,
        request=request,
        volunteer=membership.user.public_id,
        freed=freed,
    )
    return freed
