"""Signing up to a session: a place taken, a confirmation with the calendar file, capacity
kept, cancelling gives the place back; a session the organisers cancel emails those coming."""

import datetime as dt

import pytest
from django.core import mail

from ringround.phonebanks import services
from ringround.phonebanks.models import PhoneBankSession
from tests.factories import make_campaign, make_volunteer
from tests.phonebanks.factories import NOON, make_session
from tests.phonebanks.icalendar import calendar_of, utc

pytestmark = pytest.mark.django_db
BEFORE = NOON - dt.timedelta(days=1)


@pytest.fixture
def campaign():
    return make_campaign()


def test_signing_up_takes_a_place_and_emails_a_confirmation_with_the_calendar_file(
    campaign, django_capture_on_commit_callbacks
):
    session = make_session(campaign, starts_at=NOON)
    volunteer = make_volunteer(campaign)
    with django_capture_on_commit_callbacks(execute=True):
        services.sign_up(session, volunteer, now=BEFORE)
    session.refresh_from_db()
    assert session.signed_up == 1
    assert services.coming(session) == [volunteer]
    [message] = mail.outbox
    assert message.to == [volunteer.email]
    assert "signed up" in message.subject.lower() or "signed up" in message.body
    assert "https://meet.example.org/phone-bank" in message.body
    event = calendar_of(message)["event"]
    assert utc(event["DTSTART"]) == NOON


def test_a_full_session_refuses_a_sign_up(campaign):
    session = make_session(campaign, starts_at=NOON, capacity=1)
    services.sign_up(session, make_volunteer(campaign), now=BEFORE)
    late = make_volunteer(campaign)
    with pytest.raises(services.SessionFull):
        services.sign_up(session, late, now=BEFORE)
    session.refresh_from_db()
    assert session.signed_up == 1
    assert late not in services.coming(session)


def test_signing_up_twice_holds_one_place(campaign):
    session = make_session(campaign, starts_at=NOON, capacity=2)
    volunteer = make_volunteer(campaign)
    services.sign_up(session, volunteer, now=BEFORE)
    services.sign_up(session, volunteer, now=BEFORE)
    session.refresh_from_db()
    assert session.signed_up == 1


def test_cancelling_gives_the_place_back(campaign):
    session = make_session(campaign, starts_at=NOON, capacity=1)
    first = make_volunteer(campaign)
    services.sign_up(session, first, now=BEFORE)
    assert services.cancel_sign_up(session, first, now=BEFORE)
    assert not services.cancel_sign_up(session, first, now=BEFORE)  # nothing left to give up
    second = make_volunteer(campaign)
    services.sign_up(session, second, now=BEFORE)
    session.refresh_from_db()
    assert session.signed_up == 1
    assert services.coming(session) == [second]


def test_nobody_signs_up_to_a_cancelled_or_finished_session(campaign):
    cancelled = make_session(campaign, starts_at=NOON)
    services.cancel_session(cancelled, now=BEFORE)
    with pytest.raises(services.SessionError):
        services.sign_up(cancelled, make_volunteer(campaign), now=BEFORE)
    over = make_session(campaign, starts_at=NOON)
    with pytest.raises(services.SessionError):
        services.sign_up(over, make_volunteer(campaign), now=NOON + dt.timedelta(hours=3))


def test_cancelling_a_session_emails_everyone_coming_and_nobody_who_gave_up(
    campaign, django_capture_on_commit_callbacks
):
    session = make_session(campaign, starts_at=NOON)
    coming = [make_volunteer(campaign) for _ in range(2)]
    gave_up = make_volunteer(campaign)
    for person in [*coming, gave_up]:
        services.sign_up(session, person, now=BEFORE)
    services.cancel_sign_up(session, gave_up, now=BEFORE)
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        assert services.cancel_session(session, now=BEFORE) == 2
    assert sorted(m.to[0] for m in mail.outbox) == sorted(p.email for p in coming)
    for message in mail.outbox:
        assert "cancelled" in message.subject.lower()
        assert calendar_of(message)["event"]["STATUS"] == "CANCELLED"
    assert PhoneBankSession.objects.get(pk=session.pk).is_cancelled
    with django_capture_on_commit_callbacks(execute=True):
        assert services.cancel_session(session, now=BEFORE) == 0  # cancelling again emails none
