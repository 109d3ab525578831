"""Calling-hour presets by jurisdiction: the campaign's own window is intersected with the
legal window of the contact's place, read in the contact's local time, derived from the number
(and from an area naming a US state). Edges for a GB, a Californian and an Indiana number."""

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from ringround.calling.services import why_nobody_to_call
from ringround.compliance import hours
from ringround.compliance.models import TeamPolicy
from tests.compliance.world import campaign_with, everyone_handed_out, target_of

pytestmark = pytest.mark.django_db

GB = "+447700900001"
CALIFORNIA = "+14155550123"  # San Francisco, America/Los_Angeles
INDIANA = "+13175550123"  # Indianapolis, America/New_York (Eastern)
GARY = "+12195550123"  # north-west Indiana, on Central time
NEW_JERSEY = "+12015550123"  # federal hours only


def local(text, zone):
    """A wall-clock time in ``zone`` as UTC (2027-06-01 is a Tuesday, 06-05 a Saturday)."""
    return dt.datetime.fromisoformat(text).replace(tzinfo=ZoneInfo(zone))


def open_at(phone, moment, **kwargs) -> bool:
    campaign = campaign_with(phone, **kwargs)
    return everyone_handed_out(campaign, moment) == [phone]


def test_jurisdictions_are_read_from_the_number_and_the_area():
    assert hours.jurisdiction_for(GB) == "GB"
    assert hours.jurisdiction_for(CALIFORNIA) == "US-CA"
    assert hours.jurisdiction_for(INDIANA) == "US-IN"
    assert hours.jurisdiction_for(NEW_JERSEY) == "US"
    assert hours.jurisdiction_for(NEW_JERSEY, "Indiana") == "US-IN"
    assert hours.jurisdiction_for(INDIANA, "TX") == "US"  # moved to Texas, kept the number
    assert hours.jurisdiction_for("+14165550123") == ""  # Toronto: no US state's hours
    assert hours.jurisdiction_for("+33612345678") == ""


@pytest.mark.parametrize(
    ("wall_clock", "open_"),
    [
        ("2027-06-01T08:59", False),
        ("2027-06-01T09:00", True),
        ("2027-06-01T20:59", True),
        ("2027-06-01T21:00", False),
        # Saturday: 10:00-18:00 by default.
        ("2027-06-05T09:59", False),
        ("2027-06-05T10:00", True),
        ("2027-06-05T17:59", True),
        ("2027-06-05T18:00", False),
    ],
)
def test_a_gb_number_keeps_the_uk_default_window(wall_clock, open_):
    assert open_at(GB, local(wall_clock, "Europe/London")) is open_


def test_a_team_may_change_its_uk_window():
    campaign = campaign_with(GB)
    TeamPolicy.objects.create(team=campaign.team, uk_weekend_start=dt.time(9, 0))
    assert everyone_handed_out(campaign, local("2027-06-05T09:30", "Europe/London")) == [GB]


@pytest.mark.parametrize(
    ("wall_clock", "open_"),
    [
        ("2027-06-01T08:30", False),  # federal hours have begun; California's have not
        ("2027-06-01T08:59", False),
        ("2027-06-01T09:00", True),
        ("2027-06-01T20:59", True),
        ("2027-06-01T21:00", False),
        ("2027-06-05T09:00", True),  # every day alike
    ],
)
def test_a_californian_number_keeps_californias_window(wall_clock, open_):
    assert open_at(CALIFORNIA, local(wall_clock, "America/Los_Angeles")) is open_


@pytest.mark.parametrize(
    ("wall_clock", "open_"),
    [
        ("2027-06-01T07:59", False),
        ("2027-06-01T08:00", True),
        ("2027-06-01T20:59", True),
        ("2027-06-01T21:00", False),
    ],
)
def test_an_indiana_number_keeps_indianas_window(wall_clock, open_):
    assert open_at(INDIANA, local(wall_clock, "America/New_York")) is open_


def test_indiana_is_read_in_the_contacts_own_time_zone():
    """08:30 in Indianapolis is 07:30 in Gary: one may be called, the other not yet."""
    moment = local("2027-06-01T08:30", "America/New_York")
    campaign = campaign_with(INDIANA, GARY, zones={GARY: "America/Chicago"})
    assert target_of(campaign, GARY).legal_zone == "US-IN|America/Chicago"
    assert everyone_handed_out(campaign, moment) == [INDIANA]


def test_an_area_naming_the_state_places_the_contact_there():
    moment = local("2027-06-01T08:30", "America/Los_Angeles")
    campaign = campaign_with(
        NEW_JERSEY, areas={NEW_JERSEY: "California"}, zones={NEW_JERSEY: "America/Los_Angeles"}
    )
    assert target_of(campaign, NEW_JERSEY).legal_zone == "US-CA|America/Los_Angeles"
    assert everyone_handed_out(campaign, moment) == []


def test_the_campaigns_own_window_still_applies_inside_the_legal_one():
    moment = local("2027-06-01T09:30", "America/Los_Angeles")
    assert not open_at(CALIFORNIA, moment, calling_start=dt.time(10, 0), calling_end=dt.time(20, 0))
    assert open_at(CALIFORNIA, moment, calling_start=dt.time(9, 0), calling_end=dt.time(20, 0))


def test_the_volunteer_is_told_when_the_legal_window_opens():
    campaign = campaign_with(GB, CALIFORNIA)
    saturday = local("2027-06-05T09:30", "Europe/London")  # 01:30 in San Francisco

    nobody = why_nobody_to_call(campaign, saturday)

    assert (nobody.reason, nobody.time_zone, nobody.local_until) == (
        "hours",
        "Europe/London",
        "10:00",
    )
    assert nobody.until == local("2027-06-05T10:00", "Europe/London")
