"""Organisers see who waits and what looks like harvesting on the volunteers page, and can
suspend several volunteers at once (one confirming step; their leases end)."""

import datetime as dt

import pytest
from django.urls import reverse

from ringround.audit.models import AuditEvent
from ringround.calling import rules
from ringround.calling.models import CallTarget
from ringround.campaigns.models import Campaign, Membership
from tests.factories import (
    make_organiser,
    make_team,
    make_volunteer,
    open_campaign,
    organiser_of,
    sign_up_by_invite,
)

pytestmark = pytest.mark.django_db


def test_waiting_and_flagged_volunteers_are_shown(client, settings):
    settings.RINGROUND_SIGNUPS_FLAGGED_PER_ADDRESS = 3
    settings.RINGROUND_FLAG_UNMATCHED_CLAIMS = 5
    campaign = open_campaign(targets=10, joining=Campaign.Joining.BOTH)
    for n in range(3):
        sign_up_by_invite(
            client, campaign, email=f"crowd{n}@example.org", REMOTE_ADDR="203.0.113.5"
        )
    grabber = make_volunteer(campaign, name="Gail Grabber")
    for n in range(5):
        rules.claim_next(campaign, grabber, now=dt.datetime(2027, 1, 1, 12, n, tzinfo=dt.UTC))
        rules.release(campaign, grabber)
    client.force_login(organiser_of(campaign))
    html = client.get(reverse("campaigns:invite", args=[campaign.public_id])).content.decode()
    assert "Waiting (3)" in html and "Approve" in html
    assert "3 sign-ups from 203.0.113.5" in html
    assert "5 contacts handed out without a real call" in html
    assert "Many sign-ups from one address" in html


def test_bulk_suspension_asks_first_then_suspends_and_ends_leases(client):
    campaign = open_campaign(targets=5)
    chosen = [make_volunteer(campaign) for _ in range(2)]
    bystander = make_volunteer(campaign)
    for v in [*chosen, bystander]:
        rules.claim_next(campaign, v)
    organiser = organiser_of(campaign)
    client.force_login(organiser)
    url = reverse("campaigns:suspend_volunteers", args=[campaign.public_id])
    ticked = {"volunteer": [v.public_id for v in chosen]}

    confirm = client.post(url, ticked)
    assert confirm.status_code == 200 and "Suspend 2 volunteers?" in confirm.content.decode()
    assert Membership.objects.filter(status="suspended").count() == 0

    client.post(url, {**ticked, "confirmed": "yes"})
    statuses = dict(Membership.objects.values_list("user_id", "status"))
    assert [statuses[v.pk] for v in chosen] == ["suspended", "suspended"]
    assert statuses[bystander.pk] == "active"
    assert not CallTarget.objects.filter(held_by__in=chosen).exists()
    assert CallTarget.objects.filter(held_by=bystander).exists()
    events = AuditEvent.objects.filter(action="volunteer.suspended")
    assert events.count() == 2 and {e.actor for e in events} == {organiser}


def test_bulk_suspension_touches_only_this_campaigns_volunteers(client):
    campaign, other = open_campaign(), open_campaign(name="Other")
    outsider = make_volunteer(other)
    client.force_login(organiser_of(campaign))
    url = reverse("campaigns:suspend_volunteers", args=[campaign.public_id])
    client.post(url, {"volunteer": [outsider.public_id], "confirmed": "yes"})
    assert Membership.objects.get(user=outsider).status == "active"


def test_another_campaigns_organiser_cannot_suspend_or_approve(client):
    campaign = open_campaign(joining=Campaign.Joining.APPROVE)
    volunteer = sign_up_by_invite(client, campaign, confirm=False)
    other = open_campaign(make_organiser(make_team()), name="Other")
    client.force_login(organiser_of(other))
    suspend = reverse("campaigns:suspend_volunteers", args=[campaign.public_id])
    status = reverse("campaigns:volunteer_status", args=[campaign.public_id, volunteer.public_id])
    assert client.post(suspend, {"volunteer": [volunteer.public_id]}).status_code == 404
    assert client.post(status, {"action": "approve"}).status_code == 404
    assert Membership.objects.get(user=volunteer).status == "pending_approval"
