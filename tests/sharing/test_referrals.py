"""Referrals: a volunteer's personal link -> the recruitment page -> sign-up -> the emailed
confirmation; who brought whom is recorded and shown to both sides."""

import pytest
from django.test import Client
from django.urls import reverse

from ringround.accounts.models import User
from ringround.campaigns.models import Campaign, Membership
from ringround.sharing import services
from ringround.sharing.models import Referral
from tests.factories import UserFactory, confirm_link, make_volunteer, open_campaign
from tests.sharing.helpers import call, published_campaign

pytestmark = pytest.mark.django_db
PASSWORD = "a long enough passphrase"


def sign_up_through(client, campaign, email, name="Rosa Recruit"):
    response = client.post(
        reverse("sharing:sign_up", args=[campaign.public_id]),
        {"name": name, "email": email, "password": PASSWORD},
    )
    assert response.status_code == 200, response.content[:400]
    assert b"Check your email" in response.content
    return response


def test_a_recruit_who_follows_a_volunteers_link_signs_up_and_confirms_is_theirs():
    campaign, _ = published_campaign()
    vera = make_volunteer(campaign)
    link = services.link_for(campaign, vera)
    visitor = Client()
    arrived = visitor.get(reverse("sharing:follow", args=[link.code]), HTTP_USER_AGENT="Firefox")
    assert arrived.status_code == 302
    assert arrived["Location"] == reverse("sharing:page", args=[campaign.public_id])
    assert visitor.get(arrived["Location"]).status_code == 200
    sign_up_through(visitor, campaign, "rosa@example.org")
    rosa = User.objects.get(email="rosa@example.org")
    assert Membership.objects.get(campaign=campaign, user=rosa).is_pending
    assert services.recruits_of(campaign, vera)["active"] == 0
    visitor.post(confirm_link("rosa@example.org"))
    assert Membership.objects.get(campaign=campaign, user=rosa).status == "active"
    referral = Referral.objects.get(campaign=campaign, recruit=rosa)
    assert referral.referrer == vera and referral.link == link
    assert services.recruits_of(campaign, vera) == {"joined": 1, "active": 1, "calls": 0}


def test_the_volunteer_sees_the_calls_their_recruits_made(django_capture_on_commit_callbacks):
    campaign, _ = published_campaign(targets=3)
    vera = make_volunteer(campaign)
    rosa = make_volunteer(campaign)
    services.record_referral(campaign, rosa, services.link_for(campaign, vera).code)
    call(campaign, rosa, capture=django_capture_on_commit_callbacks)
    call(campaign, rosa, capture=django_capture_on_commit_callbacks)
    client = Client()
    client.force_login(vera)
    html = client.get(reverse("sharing:volunteer", args=[campaign.public_id])).content.decode()
    assert "<b>1</b>joined through you" in html
    assert "<b>2</b>calls by them" in html


def test_a_ref_in_the_address_counts_when_there_is_no_cookie():
    campaign, _ = published_campaign()
    vera = make_volunteer(campaign)
    code = services.link_for(campaign, vera).code
    response = Client().post(
        reverse("sharing:sign_up", args=[campaign.public_id]) + f"?ref={code}",
        {"name": "Sam", "email": "sam@example.org", "password": PASSWORD},
    )
    assert response.status_code == 200
    assert Referral.objects.get(recruit__email="sam@example.org").referrer == vera


def test_a_forged_cookie_or_a_link_of_another_campaign_attributes_nobody():
    campaign, _ = published_campaign()
    other = open_campaign()
    stranger = make_volunteer(other)
    client = Client()
    client.cookies["rr_ref"] = services.link_for(other, stranger).code  # unsigned: forged
    sign_up_through(client, campaign, "a@example.org")
    other_link = services.link_for(other, stranger)
    client = Client()
    client.get(reverse("sharing:follow", args=[other_link.code]), HTTP_USER_AGENT="Firefox")
    sign_up_through(client, campaign, "b@example.org")
    assert not Referral.objects.filter(campaign=campaign).exists()


def test_nobody_is_their_own_recruit_and_the_first_link_wins():
    campaign, _ = published_campaign()
    vera, sam, rosa = (make_volunteer(campaign) for _ in range(3))
    assert services.record_referral(campaign, vera, services.link_for(campaign, vera).code) is None
    first = services.record_referral(campaign, rosa, services.link_for(campaign, vera).code)
    again = services.record_referral(campaign, rosa, services.link_for(campaign, sam).code)
    assert first.referrer == vera and again.referrer == vera
    assert Referral.objects.filter(recruit=rosa).count() == 1


def test_an_existing_account_signing_up_by_form_is_never_attributed():
    campaign, _ = published_campaign()
    vera = make_volunteer(campaign)
    existing = UserFactory(email="old@example.org")
    client = Client()
    client.get(
        reverse("sharing:follow", args=[services.link_for(campaign, vera).code]),
        HTTP_USER_AGENT="Firefox",
    )
    sign_up_through(client, campaign, "old@example.org")
    assert not Referral.objects.filter(recruit=existing).exists()


def test_a_signed_in_person_joins_from_the_page_through_a_link():
    campaign, _ = published_campaign()
    vera = make_volunteer(campaign)
    newcomer = UserFactory()
    client = Client()
    client.get(
        reverse("sharing:follow", args=[services.link_for(campaign, vera).code]),
        HTTP_USER_AGENT="Firefox",
    )
    client.force_login(newcomer)
    page = client.get(reverse("sharing:page", args=[campaign.public_id]))
    assert b"Join Members" in page.content
    response = client.post(reverse("sharing:join", args=[campaign.public_id]))
    assert response.status_code == 302
    assert Membership.objects.filter(campaign=campaign, user=newcomer).exists()
    assert Referral.objects.get(recruit=newcomer).referrer == vera


def test_sign_up_keeps_the_joining_rules_and_refuses_a_closed_invite():
    campaign, _ = published_campaign(joining=Campaign.Joining.BOTH)
    client = Client()
    sign_up_through(client, campaign, "rosa@example.org")
    client.post(confirm_link("rosa@example.org"))
    assert Membership.objects.get(user__email="rosa@example.org").status == "pending_approval"
    from django.utils import timezone

    Campaign.objects.filter(pk=campaign.pk).update(invite_expires_at=timezone.now())
    response = Client().post(
        reverse("sharing:sign_up", args=[campaign.public_id]),
        {"name": "Late", "email": "late@example.org", "password": PASSWORD},
    )
    assert response.status_code == 404
    assert not User.objects.filter(email="late@example.org").exists()


def test_a_broken_sign_up_form_says_what_is_wrong_and_stores_nothing():
    campaign, _ = published_campaign()
    response = Client().post(
        reverse("sharing:sign_up", args=[campaign.public_id]),
        {"name": "", "email": "not an email", "password": "x"},
    )
    assert response.status_code == 400
    assert b"errorlist" in response.content
    assert not User.objects.filter(email="not an email").exists()


def test_organisers_see_the_tree_and_the_top_recruiters():
    campaign, organiser = published_campaign()
    vera, rosa, sam, tom = (
        make_volunteer(campaign, name=n) for n in ("Vera", "Rosa", "Sam", "Tom")
    )
    services.record_referral(campaign, rosa, services.link_for(campaign, vera).code)
    services.record_referral(campaign, sam, services.link_for(campaign, vera).code)
    services.record_referral(campaign, tom, services.link_for(campaign, rosa).code)
    tree = services.recruitment_tree(campaign)
    assert [n["user"] for n in tree] == [vera]
    assert [c["user"] for c in tree[0]["children"]] == [rosa, sam]
    assert [c["user"] for c in tree[0]["children"][0]["children"]] == [tom]
    top = services.top_recruiters(campaign)
    assert [(r["user"], r["recruits"]) for r in top] == [(vera, 2), (rosa, 1)]
    client = Client()
    client.force_login(organiser)
    html = client.get(reverse("sharing:recruits", args=[campaign.public_id])).content.decode()
    assert html.index("Vera") < html.index("Rosa") < html.index("Tom")
