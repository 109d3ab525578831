"""Joining a campaign is earned, not free: a new volunteer confirms their email (and, if the
campaign says so, waits for an organiser's approval) before they may be handed anyone."""

import pytest
from django.core import mail
from django.urls import reverse

from ringround.audit.models import AuditEvent
from ringround.calling import rules
from ringround.campaigns import services
from ringround.campaigns.models import Campaign, Membership
from tests.factories import (
    UserFactory,
    confirm_link,
    make_volunteer,
    open_campaign,
    organiser_of,
    sign_up_by_invite,
)

pytestmark = pytest.mark.django_db


def membership_of(email):
    return Membership.objects.get(user__email=email)


def test_new_campaigns_join_by_confirmed_email():
    assert open_campaign().joining == Campaign.Joining.VERIFY


def test_a_new_volunteer_cannot_call_until_they_confirm_their_email(client):
    campaign = open_campaign()
    volunteer = sign_up_by_invite(client, campaign, confirm=False)
    membership = membership_of(volunteer.email)
    assert membership.status == Membership.Status.PENDING_VERIFICATION
    with pytest.raises(rules.NotAVolunteer, match="Confirm your email"):
        rules.claim_next(campaign, volunteer)
    page = client.get(reverse("calling:brief", args=[campaign.public_id]))
    assert b"Confirm your email" in page.content and b"Start calling" not in page.content
    start = client.post(reverse("calling:start", args=[campaign.public_id]))
    assert start.status_code == 302 and not campaign.targets.filter(held_by=volunteer).exists()

    client.post(confirm_link(volunteer.email))
    assert membership_of(volunteer.email).status == Membership.Status.ACTIVE
    assert rules.claim_next(campaign, volunteer) is not None


def test_the_emailed_link_shows_a_button_and_confirms_only_when_pressed(client):
    campaign = open_campaign()
    volunteer = sign_up_by_invite(client, campaign, confirm=False)
    client.logout()
    link = confirm_link(volunteer.email)
    assert client.get(link).status_code == 200  # a mail scanner opening it confirms nothing
    assert membership_of(volunteer.email).status == Membership.Status.PENDING_VERIFICATION
    response = client.post(link)
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]
    assert membership_of(volunteer.email).verified_at is not None
    assert AuditEvent.objects.filter(action="volunteer.email_confirmed").count() == 1


def test_a_forged_or_expired_link_is_refused(client, settings):
    campaign = open_campaign()
    volunteer = sign_up_by_invite(client, campaign, confirm=False)
    link = confirm_link(volunteer.email)
    assert client.post(link[:-3] + "xyz/").status_code == 404
    settings.RINGROUND_VERIFY_EMAIL_DAYS = -1
    response = client.post(link)
    assert response.status_code == 404 and b"expired" in response.content
    assert membership_of(volunteer.email).status == Membership.Status.PENDING_VERIFICATION


def test_with_approval_the_volunteer_waits_for_an_organiser(client):
    campaign = open_campaign(joining=Campaign.Joining.BOTH)
    volunteer = sign_up_by_invite(client, campaign)
    assert membership_of(volunteer.email).status == Membership.Status.PENDING_APPROVAL
    with pytest.raises(rules.NotAVolunteer, match="approve"):
        rules.claim_next(campaign, volunteer)
    page = client.get(reverse("calling:brief", args=[campaign.public_id]))
    assert b"Waiting for an organiser" in page.content

    organiser = organiser_of(campaign)
    client.force_login(organiser)
    url = reverse("campaigns:volunteer_status", args=[campaign.public_id, volunteer.public_id])
    client.post(url, {"action": "approve"})
    assert membership_of(volunteer.email).status == Membership.Status.ACTIVE
    assert AuditEvent.objects.get(action="volunteer.approved").actor == organiser
    assert rules.claim_next(campaign, volunteer) is not None


def test_approval_only_needs_no_email_but_still_an_organiser(client):
    campaign = open_campaign(joining=Campaign.Joining.APPROVE)
    volunteer = sign_up_by_invite(client, campaign, confirm=False)
    assert membership_of(volunteer.email).status == Membership.Status.PENDING_APPROVAL


def test_an_organiser_turns_away_a_waiting_volunteer(client):
    campaign = open_campaign(joining=Campaign.Joining.APPROVE)
    volunteer = sign_up_by_invite(client, campaign, confirm=False)
    client.force_login(organiser_of(campaign))
    url = reverse("campaigns:volunteer_status", args=[campaign.public_id, volunteer.public_id])
    client.post(url, {"action": "reject"})
    assert not Membership.objects.filter(user=volunteer).exists()
    assert AuditEvent.objects.filter(action="volunteer.rejected").count() == 1


def test_an_active_volunteer_cannot_be_turned_away_only_suspended():
    campaign = open_campaign()
    volunteer = make_volunteer(campaign)
    with pytest.raises(services.CampaignError):
        services.reject_volunteer(campaign, volunteer)


def test_a_signed_in_person_who_never_confirmed_an_email_confirms_it_first(client):
    campaign = open_campaign()
    person = UserFactory()
    client.force_login(person)
    client.post(reverse("accounts:join", args=[campaign.invite_token]))
    assert membership_of(person.email).status == Membership.Status.PENDING_VERIFICATION
    assert len(mail.outbox) == 1


def test_a_signed_in_person_with_a_confirmed_email_joins_at_once(client):
    first, second = open_campaign(), open_campaign(name="Second")
    person = sign_up_by_invite(client, first)
    client.post(reverse("accounts:join", args=[second.invite_token]))
    joined = Membership.objects.get(user=person, campaign=second)
    assert joined.status == Membership.Status.ACTIVE


def test_factories_and_existing_memberships_are_active():
    campaign = open_campaign()
    assert Membership.objects.get(user=make_volunteer(campaign)).status == "active"


def test_a_suspended_volunteer_signing_up_again_stays_suspended(client):
    campaign = open_campaign()
    volunteer = make_volunteer(campaign, email="sam@example.org")
    Membership.objects.filter(user=volunteer).update(status=Membership.Status.SUSPENDED)
    sign_up_by_invite(client, campaign, email="sam@example.org", confirm=False)
    assert "You are already a volunteer" in mail.outbox[-1].body
    assert membership_of("sam@example.org").status == Membership.Status.SUSPENDED
    # A confirmation link made for them (say, before the suspension) changes nothing either.
    token = services.verification_token(campaign, volunteer)
    client.post(reverse("accounts:verify_email", args=[token]))
    assert membership_of("sam@example.org").status == Membership.Status.SUSPENDED


def test_the_demo_volunteer_can_call(settings, tmp_path):
    from ringround import demo
    from ringround.accounts.models import User

    settings.DATA_DIR = tmp_path
    campaign = demo.load_demo()["campaign"]
    volunteer = User.objects.get(email="volunteer@example.org")
    assert rules.claim_next(campaign, volunteer) is not None
