"""The attack round on the sharing pages: what an anonymous visitor with a link, a volunteer
and another team's organiser tried, each pinned."""

import pytest
from django.test import Client
from django.urls import reverse

from ringround.accounts.models import User
from ringround.calling import rules
from ringround.campaigns import services as campaign_services
from ringround.campaigns.models import Membership
from ringround.sharing import services
from ringround.sharing.models import ContactInvite, Share
from tests.factories import make_campaign, make_volunteer
from tests.sharing.helpers import published_campaign

pytestmark = pytest.mark.django_db
FORM = {"name": "Mallory", "email": "mallory@example.org", "password": "a long enough passphrase"}


def test_signing_up_on_an_unpublished_page_is_a_404_and_makes_nobody():
    campaign = make_campaign()
    response = Client().post(reverse("sharing:sign_up", args=[campaign.public_id]), FORM)
    assert response.status_code == 404
    assert not User.objects.filter(email="mallory@example.org").exists()


def test_a_volunteer_cannot_preview_an_unpublished_page_nor_join_by_it():
    campaign = make_campaign()
    volunteer = make_volunteer(campaign)
    outsider = make_volunteer(make_campaign())
    for person in (volunteer, outsider):
        client = Client()
        client.force_login(person)
        assert client.get(reverse("sharing:page", args=[campaign.public_id])).status_code == 404
        assert client.post(reverse("sharing:join", args=[campaign.public_id])).status_code == 404
    assert not Membership.objects.filter(campaign=campaign, user=outsider).exists()


def test_a_signed_in_visitor_is_never_served_the_anonymous_copy():
    campaign, _ = published_campaign()
    Client().get(reverse("sharing:page", args=[campaign.public_id]))  # cached now
    client = Client()
    client.force_login(make_volunteer(make_campaign()))
    html = client.get(reverse("sharing:page", args=[campaign.public_id])).content.decode()
    assert "You are signed in as" in html and 'name="password"' not in html
    assert (
        "no-cache"
        in client.get(reverse("sharing:page", args=[campaign.public_id]))["Cache-Control"]
    )


def test_a_suspended_volunteer_can_neither_open_sharing_nor_share():
    campaign, organiser = published_campaign()
    volunteer = make_volunteer(campaign)
    link = services.link_for(campaign, volunteer)
    campaign_services.set_volunteer_status(campaign, volunteer, Membership.Status.SUSPENDED)
    client = Client()
    client.force_login(volunteer)
    assert client.get(reverse("sharing:volunteer", args=[campaign.public_id])).status_code == 403
    assert client.get(reverse("sharing:share", args=[link.code, "x"])).status_code == 403
    assert not Share.objects.exists()


def test_a_contact_is_sent_the_link_once_however_often_it_is_asked():
    campaign, _ = published_campaign(targets=2)
    volunteer = make_volunteer(campaign)
    lease = rules.claim_next(campaign, volunteer)
    client = Client()
    client.force_login(volunteer)
    data = {"lease_token": lease.token, "channel": "sms", "consented": "1"}
    url = reverse("sharing:invite_contact", args=[campaign.public_id])
    assert client.post(url, data).status_code == 200
    assert client.post(url, data).status_code == 302
    assert ContactInvite.objects.count() == 1


def test_a_volunteer_cannot_invite_someone_elses_contact():
    campaign, _ = published_campaign(targets=2)
    vera, mallory = make_volunteer(campaign), make_volunteer(campaign)
    lease = rules.claim_next(campaign, vera)
    rules.claim_next(campaign, mallory)
    client = Client()
    client.force_login(mallory)
    data = {"lease_token": lease.token, "channel": "sms", "consented": "1"}
    client.post(reverse("sharing:invite_contact", args=[campaign.public_id]), data)
    assert not ContactInvite.objects.exists()


def test_the_page_escapes_what_organisers_write():
    campaign, organiser = published_campaign()
    services.save_page(
        campaign,
        by=organiser,
        headline='<script>alert("x")</script>',
        about='"><img src=x onerror=alert(1)>',
    )
    html = Client().get(reverse("sharing:page", args=[campaign.public_id])).content.decode()
    assert "<script>alert" not in html and "<img src=x" not in html
