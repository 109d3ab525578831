"""Invariant 2: nobody is handed out outside their calling hours, while suppressed, or past the
attempt limit.

Calling hours are judged in each number's own time zone, with a controlled clock, including
the days the clocks change (UK: 28 March and 31 October 2027; US: 14 March and 7 November
2027). Numbers are from drama ranges: 020 7946 0xxx (London) and 201 555 01xx (New Jersey,
America/New_York), both valid for libphonenumber and nobody's real line.
"""

import datetime as dt

import phonenumbers
import pytest

from ringround.calling import rules
from ringround.calling import targets as call_targets
from ringround.calling.models import Call, CallTarget
from ringround.calling.targets import suppress_number, unsuppress_number
from ringround.contacts.models import Contact, Suppression
from tests.factories import (
    ContactFactory,
    claim_and_record,
    make_campaign,
    make_volunteer,
    record,
    uk_hours_all_day,
)

State = CallTarget.State
LONDON, NEW_YORK = "Europe/London", "America/New_York"
GB_NUMBER = "+442079460555"
US_NUMBER = "+12015550123"


def utc(text):
    return dt.datetime.fromisoformat(text).replace(tzinfo=dt.UTC)


def add_target(campaign, phone, time_zone=LONDON):
    contact = ContactFactory(phone=phone, time_zone=time_zone)
    call_targets.add_contacts(campaign, Contact.objects.filter(pk=contact.pk))
    return CallTarget.objects.get(campaign=campaign, contact=contact)


def handed_out(campaign, now):
    """Ask with fresh volunteers until nobody is left; the targets they were given."""
    given = []
    for _ in range(50):
        lease = rules.claim_next(campaign, make_volunteer(campaign), now=now)
        if lease is None:
            return given
        given.append(lease.target.pk)
    raise AssertionError("the campaign never ran out of people")


def test_the_test_numbers_are_valid_and_in_the_expected_time_zones():
    from ringround.contacts.phones import time_zone_for

    for number in (GB_NUMBER, US_NUMBER):
        assert phonenumbers.is_valid_number(phonenumbers.parse(number))
    assert time_zone_for(GB_NUMBER) == LONDON
    assert time_zone_for(US_NUMBER) == NEW_YORK


# --- calling hours ---------------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("now", "expected"),
    [
        pytest.param(utc("2027-06-01T09:00"), {"gb"}, id="10:00 London, 05:00 New York"),
        pytest.param(utc("2027-06-01T15:00"), {"gb", "us"}, id="16:00 London, 11:00 New York"),
        pytest.param(utc("2027-06-01T21:00"), {"us"}, id="22:00 London, 17:00 New York"),
        pytest.param(utc("2027-06-01T02:00"), set(), id="03:00 London, 22:00 New York"),
    ],
)
def test_calling_hours_are_judged_in_each_numbers_own_time_zone(now, expected):
    campaign = make_campaign()  # calling 09:00-21:00 local, every day
    gb = add_target(campaign, GB_NUMBER, LONDON)
    us = add_target(campaign, US_NUMBER, NEW_YORK)
    assert sorted(campaign.time_zones) == [NEW_YORK, LONDON]
    names = {gb.pk: "gb", us.pk: "us"}

    given = handed_out(campaign, now)

    assert {names[pk] for pk in given} == expected
    assert len(given) == len(expected)


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("now", "time_zone", "open_"),
    [
        # UK spring forward, Sunday 28 March 2027 01:00 UTC.
        pytest.param(utc("2027-03-27T08:30"), LONDON, False, id="UK Sat before, GMT 08:30"),
        pytest.param(utc("2027-03-28T08:30"), LONDON, True, id="UK change day, BST 09:30"),
        pytest.param(utc("2027-03-29T08:30"), LONDON, True, id="UK Mon after, BST 09:30"),
        pytest.param(utc("2027-03-27T20:30"), LONDON, True, id="UK Sat before, GMT 20:30"),
        pytest.param(utc("2027-03-28T20:30"), LONDON, False, id="UK change day, BST 21:30"),
        # UK fall back, Sunday 31 October 2027 01:00 UTC.
        pytest.param(utc("2027-10-30T08:30"), LONDON, True, id="UK Sat before, BST 09:30"),
        pytest.param(utc("2027-10-31T08:30"), LONDON, False, id="UK change day, GMT 08:30"),
        pytest.param(utc("2027-10-30T20:30"), LONDON, False, id="UK Sat before, BST 21:30"),
        pytest.param(utc("2027-10-31T20:30"), LONDON, True, id="UK change day, GMT 20:30"),
        # US spring forward, Sunday 14 March 2027 07:00 UTC.
        pytest.param(utc("2027-03-13T13:30"), NEW_YORK, False, id="US Sat before, EST 08:30"),
        pytest.param(utc("2027-03-14T13:30"), NEW_YORK, True, id="US change day, EDT 09:30"),
        pytest.param(utc("2027-03-14T01:30"), NEW_YORK, True, id="US Sat before, EST 20:30"),
        pytest.param(utc("2027-03-15T01:30"), NEW_YORK, False, id="US change day, EDT 21:30"),
        # Between the two spring changes New York is four hours behind London, not five.
        pytest.param(utc("2027-03-20T13:30"), NEW_YORK, True, id="US gap weeks, EDT 09:30"),
        pytest.param(utc("2027-03-20T08:30"), LONDON, False, id="UK gap weeks, GMT 08:30"),
        # US fall back, Sunday 7 November 2027 06:00 UTC.
        pytest.param(utc("2027-11-06T13:30"), NEW_YORK, True, id="US Sat before, EDT 09:30"),
        pytest.param(utc("2027-11-07T13:30"), NEW_YORK, False, id="US change day, EST 08:30"),
        pytest.param(utc("2027-11-07T01:30"), NEW_YORK, False, id="US Sat before, EDT 21:30"),
        pytest.param(utc("2027-11-08T01:30"), NEW_YORK, True, id="US change day, EST 20:30"),
    ],
)
def test_calling_hours_follow_the_clock_change_in_the_numbers_time_zone(now, time_zone, open_):
    campaign = make_campaign(calling_start=dt.time(9, 0), calling_end=dt.time(21, 0))
    uk_hours_all_day(campaign.team)  # the campaign's own hours, on a weekend too
    target = add_target(campaign, GB_NUMBER if time_zone == LONDON else US_NUMBER, time_zone)

    assert handed_out(campaign, now) == ([target.pk] if open_ else [])
    if not open_:
        target.refresh_from_db()
        assert target.state == State.READY and target.held_by_id is None


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("now", "open_"),
    [
        pytest.param(utc("2027-06-01T07:59:59"), False, id="08:59:59 BST"),
        pytest.param(utc("2027-06-01T08:00"), True, id="09:00 BST opens"),
        pytest.param(utc("2027-06-01T19:59:59"), True, id="20:59:59 BST"),
        pytest.param(utc("2027-06-01T20:00"), False, id="21:00 BST closes"),
    ],
)
def test_calling_hours_include_the_start_and_exclude_the_end(now, open_):
    campaign = make_campaign(calling_start=dt.time(9, 0), calling_end=dt.time(21, 0))
    target = add_target(campaign, GB_NUMBER)

    assert handed_out(campaign, now) == ([target.pk] if open_ else [])


@pytest.mark.django_db
def test_calling_days_exclude_a_weekday():
    campaign = make_campaign(calling_days="012345")  # Monday to Saturday
    target = add_target(campaign, GB_NUMBER)

    assert handed_out(campaign, utc("2027-06-06T12:00")) == []  # Sunday
    assert handed_out(campaign, utc("2027-06-05T12:00")) == [target.pk]  # Saturday


@pytest.mark.django_db
def test_calling_days_are_judged_on_the_local_date_of_each_number():
    campaign = make_campaign(
        calling_days="012345", calling_start=dt.time(0, 0), calling_end=dt.time(23, 59)
    )
    uk_hours_all_day(campaign.team)  # the campaign's own days: any hour of them
    gb = add_target(campaign, GB_NUMBER, LONDON)
    add_target(campaign, US_NUMBER, NEW_YORK)

    # Monday 02:00 UTC: Monday 03:00 in London, still Sunday 22:00 in New York.
    assert handed_out(campaign, utc("2027-06-07T02:00")) == [gb.pk]


@pytest.mark.django_db
def test_volunteer_whose_lease_lapsed_is_not_handed_the_person_again_after_hours():
    campaign = make_campaign(calling_end=dt.time(21, 0))
    target = add_target(campaign, GB_NUMBER)
    volunteer = make_volunteer(campaign)
    lease = rules.claim_next(campaign, volunteer, now=utc("2027-06-01T19:55"))  # 20:55 BST
    assert lease.target.pk == target.pk

    # 21:30 BST: the lease lapsed and the calling day is over.
    assert rules.claim_next(campaign, volunteer, now=utc("2027-06-01T20:30")) is None
    target.refresh_from_db()
    assert target.held_by_id is None and target.state == State.READY
    # Next morning the person is handed out as usual.
    assert rules.claim_next(campaign, volunteer, now=utc("2027-06-02T09:00")).target.pk == (
        target.pk
    )


@pytest.mark.django_db
def test_volunteer_with_a_live_lease_at_closing_time_keeps_the_person_on_their_screen():
    campaign = make_campaign(calling_end=dt.time(21, 0))
    target = add_target(campaign, GB_NUMBER)
    volunteer = make_volunteer(campaign)
    rules.claim_next(campaign, volunteer, now=utc("2027-06-01T19:58"))  # 20:58 BST

    again = rules.claim_next(campaign, volunteer, now=utc("2027-06-01T20:01"))  # 21:01, live

    assert again is not None and again.target.pk == target.pk


# --- suppression -----------------------------------------------------------------------------


@pytest.mark.django_db
def test_suppressing_a_ready_number_stops_it_being_handed_out_until_lifted():
    campaign = make_campaign()
    target = add_target(campaign, GB_NUMBER)
    now = utc("2027-06-01T12:00")

    suppress_number(GB_NUMBER, team=None)

    target.refresh_from_db()
    assert target.state == State.SUPPRESSED
    assert handed_out(campaign, now) == []
    assert unsuppress_number(GB_NUMBER, team=None) is True
    assert handed_out(campaign, now) == [target.pk]


@pytest.mark.django_db
def test_suppressing_a_held_number_frees_it_and_nobody_is_handed_it_again():
    campaign = make_campaign()
    target = add_target(campaign, GB_NUMBER)
    other = add_target(campaign, "+442079460556")
    volunteer = make_volunteer(campaign)
    now = utc("2027-06-01T12:00")
    assert rules.claim_next(campaign, volunteer, now=now).target.pk == target.pk

    suppress_number(GB_NUMBER, team=None)

    target.refresh_from_db()
    assert target.state == State.SUPPRESSED and target.held_by_id is None
    assert rules.current_lease(campaign, volunteer) is None
    assert rules.claim_next(campaign, volunteer, now=now).target.pk == other.pk
    assert target.pk not in handed_out(campaign, now + dt.timedelta(hours=1))


@pytest.mark.django_db
def test_outcome_recorded_for_a_number_suppressed_mid_call_is_stored_but_does_not_revive_it():
    campaign = make_campaign()
    target = add_target(campaign, GB_NUMBER)
    volunteer = make_volunteer(campaign)
    now = utc("2027-06-01T12:00")
    lease = rules.claim_next(campaign, volunteer, now=now)
    suppress_number(GB_NUMBER, team=None)

    call = record(campaign, volunteer, lease, "no_answer", now=now + dt.timedelta(minutes=2))

    assert Call.objects.filter(pk=call.pk).exists()
    assert call.lease_lost is True
    target.refresh_from_db()
    assert target.state == State.SUPPRESSED and target.attempts == 0
    assert handed_out(campaign, now + dt.timedelta(days=1)) == []


@pytest.mark.django_db
def test_number_on_the_suppression_list_is_never_handed_out_even_if_its_row_says_ready():
    campaign = make_campaign()
    target = add_target(campaign, GB_NUMBER)
    # Written straight to the list (as a bulk TPS load might), without touching the targets.
    Suppression.objects.create(phone=GB_NUMBER, reason=Suppression.Reason.TPS)
    target.refresh_from_db()
    assert target.state == State.READY

    assert handed_out(campaign, utc("2027-06-01T12:00")) == []


@pytest.mark.django_db
def test_volunteer_whose_lease_lapsed_is_not_handed_the_person_again_once_on_the_list():
    campaign = make_campaign()
    target = add_target(campaign, GB_NUMBER)
    volunteer = make_volunteer(campaign)
    now = utc("2027-06-01T12:00")
    rules.claim_next(campaign, volunteer, now=now)
    Suppression.objects.create(phone=GB_NUMBER, reason=Suppression.Reason.TPS)

    assert rules.claim_next(campaign, volunteer, now=now + dt.timedelta(minutes=30)) is None
    target.refresh_from_db()
    assert target.held_by_id is None


@pytest.mark.django_db
def test_number_suppressed_before_it_was_targeted_is_added_suppressed():
    suppress_number(GB_NUMBER, team=None)
    campaign = make_campaign()
    target = add_target(campaign, GB_NUMBER)

    assert target.state == State.SUPPRESSED
    assert handed_out(campaign, utc("2027-06-01T12:00")) == []


# --- attempt limit ---------------------------------------------------------------------------


@pytest.mark.django_db
def test_target_at_the_attempt_limit_is_not_handed_out_even_when_its_retry_is_due():
    campaign = make_campaign(max_attempts=3)
    at_limit = add_target(campaign, GB_NUMBER)
    under = add_target(campaign, "+442079460556")
    now = utc("2027-06-01T12:00")
    CallTarget.objects.filter(pk=at_limit.pk).update(
        state=State.WAITING, attempts=3, next_call_at=now - dt.timedelta(days=1)
    )
    CallTarget.objects.filter(pk=under.pk).update(
        state=State.WAITING, attempts=2, next_call_at=now - dt.timedelta(days=1)
    )

    assert handed_out(campaign, now) == [under.pk]


@pytest.mark.django_db
def test_lowering_the_campaigns_attempt_limit_stops_targets_already_at_it():
    campaign = make_campaign(max_attempts=3)
    target = add_target(campaign, GB_NUMBER)
    volunteer = make_volunteer(campaign)
    now = utc("2027-06-01T12:00")
    claim_and_record(campaign, volunteer, "busy", now=now)
    later = now + dt.timedelta(hours=2)

    campaign.max_attempts = 1
    campaign.save(update_fields=["max_attempts"])

    target.refresh_from_db()
    assert target.state == State.WAITING and target.attempts == 1
    assert handed_out(campaign, later) == []
