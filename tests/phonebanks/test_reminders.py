"""Reminders: each person coming gets one, about two hours before the start, never twice, by
the command cron runs."""

import datetime as dt

import pytest
from django.core import mail
from django.core.management import call_command
from django.utils import timezone

from ringround.phonebanks import services
from tests.factories import make_campaign, make_volunteer
from tests.phonebanks.factories import NOON, make_session
from tests.phonebanks.icalendar import calendar_of, utc

pytestmark = pytest.mark.django_db
DAY_BEFORE = NOON - dt.timedelta(days=1)


@pytest.fixture
def session():
    return make_session(make_campaign(), starts_at=NOON)


def coming(session, count=1, *, now=DAY_BEFORE):
    people = [make_volunteer(session.campaign) for _ in range(count)]
    for person in people:
        services.sign_up(session, person, now=now)
    mail.outbox.clear()
    return people


def test_a_reminder_goes_within_the_lead_time_with_the_calendar_file(session, settings):
    settings.RINGROUND_SESSION_REMINDER_MINUTES = 120
    [person] = coming(session)
    assert services.send_due_reminders(now=NOON - dt.timedelta(hours=2, minutes=5)) == 0
    assert services.send_due_reminders(now=NOON - dt.timedelta(hours=1, minutes=55)) == 1
    [message] = mail.outbox
    assert message.to == [person.email] and "starting soon" in message.subject.lower()
    assert utc(calendar_of(message)["event"]["DTSTART"]) == NOON


def test_a_reminder_is_never_sent_twice(session):
    coming(session, 3)
    soon = NOON - dt.timedelta(hours=1)
    assert services.send_due_reminders(now=soon) == 3
    assert services.send_due_reminders(now=soon) == 0
    assert services.send_due_reminders(now=soon + dt.timedelta(minutes=10)) == 0
    assert len(mail.outbox) == 3


def test_giving_up_and_signing_up_again_does_not_send_a_second_reminder(session):
    [person] = coming(session)
    soon = NOON - dt.timedelta(hours=1)
    services.send_due_reminders(now=soon)
    services.cancel_sign_up(session, person, now=soon)
    services.sign_up(session, person, now=soon)
    mail.outbox.clear()
    assert services.send_due_reminders(now=soon + dt.timedelta(minutes=10)) == 0


def test_no_reminder_for_a_place_given_up_a_cancelled_session_or_one_begun(session):
    [gave_up, _] = coming(session, 2)
    services.cancel_sign_up(session, gave_up, now=DAY_BEFORE)
    other = make_session(session.campaign, starts_at=NOON)
    coming(other)
    services.cancel_session(other, now=DAY_BEFORE)
    begun = make_session(session.campaign, starts_at=NOON - dt.timedelta(minutes=30))
    coming(begun)
    mail.outbox.clear()
    assert services.send_due_reminders(now=NOON - dt.timedelta(minutes=20)) == 1
    assert gave_up.email not in [m.to[0] for m in mail.outbox]


def test_the_command_sends_the_reminders_due_now(settings):

    # The command asks the clock, so this session starts an hour from the real now.
    soon = timezone.now().replace(microsecond=0) + dt.timedelta(hours=1)
    session = make_session(make_campaign(), starts_at=soon)
    coming(session, 2, now=timezone.now())
    call_command("send_session_reminders")
    call_command("send_session_reminders")
    assert len(mail.outbox) == 2
