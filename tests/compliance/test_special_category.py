"""Special-category data: answers revealing political opinion are kept no longer than the
retention period, and every export of them is audited with its reason."""

import datetime as dt

import pytest
from django.urls import reverse

from ringround.audit.models import AuditEvent
from ringround.calling import rules
from ringround.calling.models import Call
from ringround.campaigns import services as campaign_services
from ringround.compliance.models import TeamPolicy
from ringround.privacy.services import erase_opinions
from ringround.reports import exports
from tests.compliance.world import NOON, campaign_with
from tests.factories import make_volunteer, organiser_of, record

pytestmark = pytest.mark.django_db

DAY = dt.timedelta(days=1)


def surveyed_campaign():
    """A campaign asking an opinion question and a practical one, with one answered call."""
    campaign = campaign_with("+447700900001")
    opinion = campaign_services.add_question(
        campaign, text="Who will you vote for?", kind="single", choices=["Red", "Blue"],
        reveals_opinion=True,
    )  # fmt: skip
    practical = campaign_services.add_question(
        campaign, text="Can you deliver leaflets?", kind="yes_no", choices=["Yes", "No"]
    )
    volunteer = make_volunteer(campaign)
    lease = rules.claim_next(campaign, volunteer, now=NOON)
    call = record(
        campaign, volunteer, lease, "answered", now=NOON,
        answers={opinion.key: "Red", practical.key: "Yes"},
    )  # fmt: skip
    return campaign, call, opinion, practical


def test_opinions_are_erased_after_the_teams_period_and_other_answers_kept():
    campaign, call, opinion, practical = surveyed_campaign()
    TeamPolicy.objects.create(team=campaign.team, opinion_retention_days=30)

    assert erase_opinions(now=NOON + 30 * DAY - dt.timedelta(seconds=1)) == 0
    assert Call.objects.get(pk=call.pk).answers == {opinion.key: "Red", practical.key: "Yes"}

    assert erase_opinions(now=NOON + 30 * DAY + dt.timedelta(seconds=1)) == 1
    assert Call.objects.get(pk=call.pk).answers == {practical.key: "Yes"}
    assert AuditEvent.objects.get(action="privacy.opinions_erased").detail["calls"] == 1


def test_the_site_retention_period_applies_when_the_team_sets_none(settings):
    campaign, call, opinion, practical = surveyed_campaign()
    settings.RINGROUND_RETENTION_DAYS = 0
    assert erase_opinions(now=NOON + 1000 * DAY) == 0
    settings.RINGROUND_RETENTION_DAYS = 90
    assert erase_opinions(now=NOON + 91 * DAY) == 1


def test_downloading_opinions_asks_why_and_records_the_reason(client):
    campaign, *_ = surveyed_campaign()
    client.force_login(organiser_of(campaign))
    url = reverse("reports:export_calls", args=[campaign.public_id])

    asked = client.get(url)
    assert asked.status_code == 200 and "Why you need this download" in asked.content.decode()
    assert client.get(url, {"reason": "because"}).status_code == 400
    assert not AuditEvent.objects.filter(action="export.calls").exists()

    reason = "Sending the constituency's results to the agent"
    download = client.get(url, {"reason": reason})
    assert download.status_code == 200 and download["Content-Type"].startswith("text/csv")
    event = AuditEvent.objects.get(action="export.calls")
    assert event.detail == {"special_category": True, "reason": reason}


def test_a_campaign_without_opinion_questions_downloads_at_once(client):
    campaign = campaign_with("+447700900001")
    client.force_login(organiser_of(campaign))
    response = client.get(reverse("reports:export_calls", args=[campaign.public_id]))
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")


def test_a_background_export_of_opinions_needs_a_reason():
    campaign, *_ = surveyed_campaign()
    organiser = organiser_of(campaign)
    with pytest.raises(exports.ReasonNeeded):
        exports.create_export(campaign, "calls", "csv", by=organiser)
    job = exports.create_export(
        campaign, "calls", "csv", by=organiser, reason="Weekly report to the regional office"
    )
    event = AuditEvent.objects.get(action="export.requested")
    assert event.object_id == job.public_id
    assert event.detail["reason"] == "Weekly report to the regional office"
