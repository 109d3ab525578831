"""The live room: its figures against the calls stored, its page and partial, its charts."""

import datetime as dt
from collections import Counter

import pytest
from django.urls import reverse
from django.utils import timezone

from ringround.calling import rules
from ringround.calling.models import Call
from ringround.reports import charts
from ringround.reports.services import compute_live
from tests.factories import (
    claim_and_record,
    make_organiser,
    make_team,
    make_volunteer,
    open_campaign,
    organiser_of,
)

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2027, 5, 4, 11, 40, tzinfo=dt.UTC)


def at(hour, minute):
    return NOW.replace(hour=hour, minute=minute)


@pytest.fixture
def evening():
    """Ann called last hour and this; Ben called twice lately and holds someone; Cat called
    early this hour; Dev holds someone and has recorded nothing."""
    campaign = open_campaign(targets=20, claims_per_hour=1000)
    ann, ben, cat, dev = (
        make_volunteer(campaign, name=name) for name in ("Ann", "Ben", "Cat", "Dev")
    )
    for code in ("answered", "no_answer", "busy"):
        claim_and_record(campaign, ann, code, now=at(10, 20))
    claim_and_record(campaign, cat, "busy", now=at(11, 10))
    claim_and_record(campaign, ann, "answered", now=at(11, 30))
    claim_and_record(campaign, ben, "no_answer", now=at(11, 35))
    claim_and_record(campaign, ben, "answered", now=at(11, 36))
    assert rules.claim_next(campaign, dev, now=at(11, 38))
    assert rules.claim_next(campaign, ben, now=at(11, 39))
    return campaign


def test_live_figures_agree_with_the_calls_stored(evening):
    live = compute_live(evening, NOW)
    calls = list(Call.objects.filter(campaign=evening).select_related("volunteer", "outcome"))

    recent = [c for c in calls if NOW - dt.timedelta(minutes=15) < c.ended_at <= NOW]
    assert {r["volunteer__name"]: r["calls"] for r in live["recent"]} == Counter(
        c.volunteer.name for c in recent
    )
    assert {r["volunteer__name"]: r["conversations"] for r in live["recent"]} == {
        name: sum(c.outcome.is_conversation for c in recent if c.volunteer.name == name)
        for name in ("Ann", "Ben")
    }
    assert live["recent_calls"] == 3

    def hour(h):
        inside = [c for c in calls if c.ended_at.hour == h]
        return len(inside), sum(c.outcome.is_conversation for c in inside)

    assert (live["this_hour"]["calls"], live["this_hour"]["conversations"]) == hour(11) == (4, 2)
    assert (live["last_hour"]["calls"], live["last_hour"]["conversations"]) == hour(10)
    assert live["this_hour"]["rate"] == 50
    assert live["calls"] == len(calls) == 7


def test_live_room_names_who_is_calling_and_who_is_idle(evening):
    live = compute_live(evening, NOW)
    assert [row["held_by__name"] for row in live["holding"]] == ["Dev", "Ben"]
    assert [row["minutes"] for row in live["holding"]] == [2, 1]
    # Ann called 10 minutes ago and holds nobody; Cat's last call was 30 minutes ago.
    assert live["idle"] == ["Ann"]


def test_the_list_runs_out_at_the_pace_of_the_last_hour(evening):
    live = compute_live(evening, NOW)
    # Four calls this hour, and a third of last hour's three (40 minutes into this hour).
    assert live["pace"] == 5
    assert (live["done"], live["remaining"]) == (3, 17)
    contacts_per_hour = 5 * 3 / 7  # three calls in seven finished someone
    assert live["runs_out"]["hours"] == pytest.approx(17 / contacts_per_hour)


def test_no_estimate_without_calls_in_the_last_hour(evening):
    later = NOW + dt.timedelta(hours=3)
    assert compute_live(evening, later)["runs_out"] is None


def test_hour_chart_bars_are_as_tall_as_their_calls():
    hours = charts.last_hours(
        {NOW.replace(minute=0): (4, 1), NOW.replace(hour=10, minute=0): (2, 2)},
        NOW.replace(minute=0),
        24,
    )
    chart = charts.hour_chart(hours)
    last, before = chart["bars"][-1], chart["bars"][-2]
    assert (last["calls"], before["calls"]) == (4, 2)
    assert last["calls_height"] == pytest.approx(2 * before["calls_height"], abs=0.1)
    assert before["talk_height"] == before["calls_height"]
    assert chart["bars"][0]["calls_height"] == 0
    assert len(chart["bars"]) == 24


def live_url(campaign):
    return reverse("reports:live", args=[campaign.public_id])


def test_live_page_shows_the_figures_and_polls_its_partial(client):
    campaign = open_campaign(targets=5)
    volunteer = make_volunteer(campaign, name="Vik Volunteer")
    claim_and_record(campaign, volunteer, "answered", now=timezone.now())
    client.force_login(organiser_of(campaign))

    page = client.get(live_url(campaign)).content.decode()
    assert 'aria-current="page">Live</a>' in page
    assert f'hx-get="{live_url(campaign)}" hx-trigger="every 5s"' in page
    assert "Vik Volunteer" in page
    assert '<title id="live-hours-title">' in page and '<desc id="live-hours-desc">' in page
    assert "1 call and 1 conversation in the last 24 hours" in page
    assert '<title id="progress-title">Progress through the calling list</title>' in page
    assert " style=" not in page  # the content security policy forbids inline styles

    partial = client.get(live_url(campaign), HTTP_HX_REQUEST="true").content.decode()
    assert "<html" not in partial and "Calling now" in partial


def test_results_page_draws_the_charts_and_areas(client):
    campaign = open_campaign(targets=4)
    claim_and_record(campaign, make_volunteer(campaign), "answered", now=timezone.now())
    client.force_login(organiser_of(campaign))
    page = client.get(reverse("reports:results", args=[campaign.public_id])).content.decode()
    assert 'id="results-hours-title"' in page and "By area" in page
    assert "1 of 4" in page  # one contact done of four in their area
    assert " style=" not in page


def test_another_teams_organiser_gets_not_found(client):
    campaign = open_campaign(targets=1)
    client.force_login(make_organiser(make_team("Elsewhere")))
    assert client.get(live_url(campaign)).status_code == 404
