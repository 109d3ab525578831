"""Anti-harvesting: claims per hour are limited and flagged; suspension ends a lease at once."""

import datetime as dt

import pytest
from django.urls import reverse

from ringround.audit.models import AuditEvent
from ringround.calling import rules
from ringround.calling.models import CallTarget
from ringround.campaigns.models import Membership
from tests.factories import (
    claim_and_record,
    make_campaign,
    make_organiser,
    make_team,
    make_volunteer,
    organiser_of,
)

pytestmark = pytest.mark.django_db
T0 = dt.datetime(2027, 4, 6, 12, 0, tzinfo=dt.UTC)


def test_claims_beyond_the_hourly_limit_are_refused_and_flagged():
    campaign = make_campaign(targets=6, claims_per_hour=3)
    volunteer = make_volunteer(campaign)
    for minute in range(3):
        claim_and_record(campaign, volunteer, now=T0 + dt.timedelta(minutes=minute))
    with pytest.raises(rules.RateLimited):
        rules.claim_next(campaign, volunteer, now=T0 + dt.timedelta(minutes=5))
    membership = Membership.objects.get(user=volunteer)
    assert membership.flagged_at is not None
    assert AuditEvent.objects.filter(action="volunteer.rate_limited").count() == 1
    assert not CallTarget.objects.filter(held_by=volunteer).exists()
    later = rules.claim_next(campaign, volunteer, now=T0 + dt.timedelta(minutes=61))
    assert later is not None


def test_asking_again_for_the_held_contact_does_not_count_as_a_claim():
    campaign = make_campaign(targets=3, claims_per_hour=1)
    volunteer = make_volunteer(campaign)
    first = rules.claim_next(campaign, volunteer, now=T0)
    for minute in range(5):
        again = rules.claim_next(campaign, volunteer, now=T0 + dt.timedelta(minutes=minute))
        assert again.target.pk == first.target.pk


def test_release_then_claim_still_counts_against_the_limit():
    campaign = make_campaign(targets=5, claims_per_hour=2)
    volunteer = make_volunteer(campaign)
    for _ in range(2):
        rules.claim_next(campaign, volunteer, now=T0)
        rules.release(campaign, volunteer)
    with pytest.raises(rules.RateLimited):
        rules.claim_next(campaign, volunteer, now=T0)


def test_organiser_suspends_a_volunteer_which_ends_their_lease(client):
    campaign = make_campaign(targets=2)
    volunteer = make_volunteer(campaign)
    rules.claim_next(campaign, volunteer, now=T0)
    client.force_login(organiser_of(campaign))
    client.post(
        reverse("campaigns:volunteer_status", args=[campaign.public_id, volunteer.public_id]),
        {"action": "suspend"},
    )
    assert not CallTarget.objects.filter(held_by=volunteer).exists()
    assert Membership.objects.get(user=volunteer).status == "suspended"
    assert AuditEvent.objects.filter(action="volunteer.suspended").exists()
    with pytest.raises(rules.NotAVolunteer):
        rules.claim_next(campaign, volunteer, now=T0)
    client.post(
        reverse("campaigns:volunteer_status", args=[campaign.public_id, volunteer.public_id]),
        {"action": "reinstate"},
    )
    assert rules.claim_next(campaign, volunteer, now=T0) is not None


def test_suspended_volunteer_sees_why_on_the_brief(client):
    campaign = make_campaign(targets=1)
    volunteer = make_volunteer(campaign)
    Membership.objects.filter(user=volunteer).update(status="suspended")
    client.force_login(volunteer)
    response = client.post(reverse("calling:start", args=[campaign.public_id]), follow=True)
    assert "suspended" in response.content.decode()
    assert not CallTarget.objects.filter(held_by=volunteer).exists()


def test_organiser_of_another_team_cannot_suspend(client):
    campaign = make_campaign(targets=1)
    volunteer = make_volunteer(campaign)
    other = make_campaign(make_organiser(make_team()))
    client.force_login(organiser_of(other))
    response = client.post(
        reverse("campaigns:volunteer_status", args=[campaign.public_id, volunteer.public_id]),
        {"action": "suspend"},
    )
    assert response.status_code == 404
    assert Membership.objects.get(user=volunteer).status == "active"


def test_asking_when_nobody_can_be_called_does_not_use_up_the_limit():
    campaign = make_campaign(targets=1, claims_per_hour=2)
    volunteer = make_volunteer(campaign)
    claim_and_record(campaign, volunteer, now=T0)
    for minute in range(5):
        assert rules.claim_next(campaign, volunteer, now=T0 + dt.timedelta(minutes=minute)) is None
    assert Membership.objects.get(user=volunteer).claims_in_window == 1
