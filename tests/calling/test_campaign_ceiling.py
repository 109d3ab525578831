"""A campaign hands out at most so many contacts an hour, all volunteers together: the
organisers' figure, or one worked out from volunteers with real conversations, never from
the number of accounts."""

import datetime as dt
import threading

import pytest
from django.urls import reverse

from ringround.audit.models import AuditEvent
from ringround.calling import rules
from ringround.calling.models import CallTarget
from ringround.campaigns.models import Campaign
from tests.factories import (
    claim_and_record,
    make_campaign,
    make_volunteer,
    organiser_of,
    uk_hours_all_day,
)
from tests.threads import BARRIER_TIMEOUT, run_threads

pytestmark = pytest.mark.django_db
T0 = dt.datetime(2027, 4, 6, 12, 0, tzinfo=dt.UTC)


def minutes(n):
    return T0 + dt.timedelta(minutes=n)


def test_claims_past_the_ceiling_are_refused_and_flagged_once(client):
    campaign = make_campaign(targets=10, contacts_per_hour=3)
    volunteers = [make_volunteer(campaign) for _ in range(5)]
    for v in volunteers[:3]:
        assert rules.claim_next(campaign, v, now=minutes(1)) is not None
    for v in volunteers[3:]:
        with pytest.raises(rules.CeilingReached, match=r"as many contacts as it allows .*\(3\)"):
            rules.claim_next(campaign, v, now=minutes(2))
    assert AuditEvent.objects.filter(action="campaign.ceiling_reached").count() == 1
    assert Campaign.objects.get(pk=campaign.pk).ceiling_reached_at == minutes(2)
    # The volunteer holding someone still gets them back.
    assert rules.claim_next(campaign, volunteers[0], now=minutes(3)) is not None
    # The next hour has room again.
    assert rules.claim_next(campaign, volunteers[3], now=minutes(62)) is not None
    client.force_login(organiser_of(campaign))
    page = client.get(reverse("campaigns:invite", args=[campaign.public_id]))
    assert "The hourly ceiling was reached" in page.content.decode()


def test_the_volunteer_is_told_why_on_the_page(client):
    campaign = make_campaign(targets=3, contacts_per_hour=1, calling_start=dt.time(0, 0))
    campaign.calling_end = dt.time(0, 0)
    campaign.save()
    uk_hours_all_day(campaign.team)  # the page claims at the real time of day
    first, second = make_volunteer(campaign), make_volunteer(campaign)
    rules.claim_next(campaign, first)
    client.force_login(second)
    response = client.post(reverse("calling:start", args=[campaign.public_id]), follow=True)
    assert "as many contacts as it allows in an hour" in response.content.decode()


def test_unset_the_ceiling_grows_with_volunteers_who_had_conversations(settings):
    settings.RINGROUND_CONTACTS_PER_HOUR_FLOOR = 5
    settings.RINGROUND_CONTACTS_PER_HOUR_PER_CALLER = 3
    campaign = make_campaign(targets=10)
    for _ in range(20):
        make_volunteer(campaign)  # accounts alone raise nothing
    assert rules.contacts_per_hour(campaign, minutes(0)) == 5
    talkers = [make_volunteer(campaign) for _ in range(2)]
    for n, v in enumerate(talkers):
        claim_and_record(campaign, v, "answered", now=minutes(n))
    no_answer = make_volunteer(campaign)
    claim_and_record(campaign, no_answer, "no_answer", now=minutes(3))
    from django.core.cache import cache

    cache.clear()  # the count is cached for a minute
    assert rules.contacts_per_hour(campaign, minutes(5)) == 5 + 3 * 2
    cache.clear()
    assert rules.contacts_per_hour(campaign, minutes(5 + 25 * 60)) == 5, "only the last day"


def test_the_organisers_figure_wins():
    campaign = make_campaign(contacts_per_hour=42)
    assert rules.contacts_per_hour(campaign, minutes(0)) == 42


@pytest.mark.postgres_only
@pytest.mark.django_db(transaction=True)
def test_thirty_volunteers_claiming_at_once_cannot_pass_the_ceiling():
    campaign = make_campaign(targets=60, contacts_per_hour=10)
    volunteers = [make_volunteer(campaign) for _ in range(30)]
    start = threading.Barrier(30, timeout=BARRIER_TIMEOUT)
    outcomes = [None] * 30

    def work(i):
        start.wait()
        try:
            outcomes[i] = rules.claim_next(campaign, volunteers[i], now=minutes(1)) is not None
        except rules.CeilingReached:
            outcomes[i] = "refused"

    run_threads(30, work, start)
    assert outcomes.count(True) == 10 and outcomes.count("refused") == 20
    assert CallTarget.objects.filter(campaign=campaign, held_by__isnull=False).count() == 10
    assert Campaign.objects.get(pk=campaign.pk).handed_out_in_window == 10


def test_the_api_answers_429_at_the_ceiling():
    from ringround.api.errors import refusal_response

    response = refusal_response(rules.CeilingReached("Full for this hour."))
    assert response.status_code == 429 and response["Retry-After"]
