"""Scheduling sessions, signing up and cancelling, and the emails that go with them.

Capacity holds under concurrency: signing up locks the session's row, then takes a place with
one conditional UPDATE (``signed_up < capacity``), so of two people after the last place one
wins, on PostgreSQL (the row lock) and on SQLite (its write transaction) alike."""

import datetime as dt

from django.conf import settings
from django.core.mail import EmailMessage
from django.db import transaction
from django.db.models import F
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from ringround.audit.services import record_event

from .ics import session_calendar
from .models import PhoneBankSession, SignUp


class SessionError(Exception):
    """Why a sign-up or cancellation cannot be done, in words for the person."""


class SessionFull(SessionError):
    pass


EDITABLE = (
    "title",
    "starts_at",
    "ends_at",
    "time_zone",
    "capacity",
    "meeting_link",
    "host",
    "host_name",
)


def reminder_lead() -> dt.timedelta:
    return dt.timedelta(minutes=getattr(settings, "RINGROUND_SESSION_REMINDER_MINUTES", 120))


def site_url() -> str:
    """Where links in emails point (emails sent by a command have no request to ask)."""
    return getattr(settings, "RINGROUND_SITE_URL", "").rstrip("/")


def schedule_session(campaign, by, **fields) -> PhoneBankSession:
    session = PhoneBankSession.objects.create(campaign=campaign, created_by=by, **fields)
    record_event(by, "session.scheduled", session, campaign=campaign)
    return session


def update_session(session: PhoneBankSession, *, by=None, **fields) -> PhoneBankSession:
    for name in EDITABLE:
        if name in fields:
            setattr(session, name, fields[name])
    session.save()
    record_event(by, "session.changed", session, campaign=session.campaign)
    return session


def cancel_session(session: PhoneBankSession, *, now=None, by=None) -> int:
    """Cancel the session and email everyone signed up (after the commit, so nobody hears of a
    cancellation that did not happen). The number emailed."""
    now = now or timezone.now()
    with transaction.atomic():
        changed = PhoneBankSession.objects.filter(pk=session.pk, cancelled_at__isnull=True).update(
            cancelled_at=now
        )
        session.cancelled_at = now
        if not changed:
            return 0
        record_event(by, "session.cancelled", session, campaign=session.campaign)
        people = [s.user for s in _active(session).select_related("user")]
        transaction.on_commit(
            lambda: [_send(session, "cancelled", user, now=now) for user in people]
        )
    return len(people)


def sign_up(session: PhoneBankSession, user, *, now=None) -> SignUp:
    """A place at the session for ``user`` (their existing one if they have it), and the
    confirmation email with the calendar file. ``SessionFull`` if there is no place left."""
    now = now or timezone.now()
    with transaction.atomic():
        locked = PhoneBankSession.objects.select_for_update().get(pk=session.pk)
        if locked.cancelled_at is not None:
            raise SessionError("This session has been cancelled.")
        if locked.ends_at <= now:
            raise SessionError("This session is over.")
        existing = SignUp.objects.filter(session=locked, user=user).first()
        if existing is not None and existing.is_active:
            return existing
        taken = PhoneBankSession.objects.filter(pk=locked.pk, signed_up__lt=F("capacity")).update(
            signed_up=F("signed_up") + 1
        )
        if not taken:
            raise SessionFull("Sorry, this session is full.")
        if existing is None:
            place = SignUp.objects.create(session=locked, user=user)
        else:
            existing.cancelled_at = None
            existing.save(update_fields=["cancelled_at"])
            place = existing
        locked.refresh_from_db()
        transaction.on_commit(lambda: _send(locked, "confirmed", user, now=now))
    return place


def cancel_sign_up(session: PhoneBankSession, user, *, now=None) -> bool:
    """Give up the place; ``False`` if they had none."""
    now = now or timezone.now()
    with transaction.atomic():
        PhoneBankSession.objects.select_for_update().filter(pk=session.pk).first()
        changed = SignUp.objects.filter(
            session=session, user=user, cancelled_at__isnull=True
        ).update(cancelled_at=now)
        if changed:
            PhoneBankSession.objects.filter(pk=session.pk).update(signed_up=F("signed_up") - 1)
    return bool(changed)


def send_due_reminders(*, now=None) -> int:
    """One reminder to each person signed up to a session starting within the reminder lead.
    Each sign-up is marked sent by a conditional UPDATE before its email goes, so two runs at
    once (or a run after a crash) never send it twice. The number sent."""
    now = now or timezone.now()
    due = SignUp.objects.filter(
        cancelled_at__isnull=True,
        reminder_sent_at__isnull=True,
        session__cancelled_at__isnull=True,
        session__starts_at__gt=now,
        session__starts_at__lte=now + reminder_lead(),
    ).select_related("session__campaign", "user")
    sent = 0
    for place in due:
        claimed = SignUp.objects.filter(pk=place.pk, reminder_sent_at__isnull=True).update(
            reminder_sent_at=now
        )
        if claimed:
            _send(place.session, "reminder", place.user, now=now)
            sent += 1
    return sent


def upcoming_sessions(campaign, *, now=None):
    return campaign.phonebank_sessions.upcoming(now or timezone.now())


def places_of(user, sessions) -> set[int]:
    """The ids of those sessions ``user`` is signed up to."""
    return set(
        SignUp.objects.filter(
            user=user, session__in=sessions, cancelled_at__isnull=True
        ).values_list("session_id", flat=True)
    )


def coming(session: PhoneBankSession) -> list:
    """The people signed up, by name: organisers see who is coming, not their addresses."""
    return [s.user for s in _active(session).select_related("user").order_by("user__name")]


def _active(session):
    return SignUp.objects.filter(session=session, cancelled_at__isnull=True)


SUBJECTS = {
    "confirmed": "You are signed up: {name}",
    "reminder": "Starting soon: {name}",
    "cancelled": "Cancelled: {name}",
}


def _send(session, kind: str, user, *, now) -> None:
    context = {
        "session": session,
        "user": user,
        "kind": kind,
        "starts": session.local(session.starts_at),
        "ends": session.local(session.ends_at),
        "brief_url": site_url() + reverse("calling:brief", args=[session.campaign.public_id]),
    }
    message = EmailMessage(
        SUBJECTS[kind].format(name=session.name),
        render_to_string("phonebanks/email/session.txt", context),
        None,
        [user.email],
    )
    method = "CANCEL" if kind == "cancelled" else "PUBLISH"
    message.attach(
        "session.ics",
        session_calendar(session, now=now, method=method),
        f"text/calendar; charset=utf-8; method={method}",
    )
    message.send()
