"""The invite page: a link to copy, a QR code to scan, an expiry in the organiser's own time."""

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from django.urls import reverse

from ringround.audit.models import AuditEvent
from tests.factories import make_campaign, organiser_of

pytestmark = pytest.mark.django_db


@pytest.fixture
def campaign(client):
    campaign = make_campaign(active=False)
    client.force_login(organiser_of(campaign))
    return campaign


def invite_page(client, campaign) -> str:
    return client.get(reverse("campaigns:invite", args=[campaign.public_id])).content.decode()


def test_invite_page_offers_the_link_a_copy_button_and_a_qr_code(client, campaign):
    html = invite_page(client, campaign)
    assert f'value="http://testserver/accounts/join/{campaign.invite_token}/"' in html
    assert 'data-copy="invite-url"' in html and "Copy link" in html
    assert '<svg class="qr" role="img" aria-label="QR code for the invite link"' in html
    assert "campaigns/invite.js" in html


def test_the_qr_code_changes_with_a_new_link(client, campaign):
    before = invite_page(client, campaign).split('<svg class="qr"')[1].split("</svg>")[0]
    client.post(reverse("campaigns:invite", args=[campaign.public_id]), {"action": "regenerate"})
    after = invite_page(client, campaign).split('<svg class="qr"')[1].split("</svg>")[0]
    assert before != after


@pytest.mark.parametrize(
    "zone, utc",
    [
        ("Europe/London", dt.datetime(2027, 7, 1, 17, 0, tzinfo=dt.UTC)),  # BST
        ("America/New_York", dt.datetime(2027, 7, 1, 22, 0, tzinfo=dt.UTC)),  # EDT
        ("Europe/London", dt.datetime(2027, 1, 15, 18, 0, tzinfo=dt.UTC)),  # GMT
    ],
)
def test_expiry_is_typed_and_shown_in_the_organisers_time_zone(client, campaign, zone, utc):
    local = utc.astimezone(ZoneInfo(zone))
    typed = local.strftime("%Y-%m-%dT%H:%M")
    url = reverse("campaigns:invite", args=[campaign.public_id])
    client.post(url, {"action": "expiry", "expires_at": typed, "time_zone": zone})
    campaign.refresh_from_db()
    assert campaign.invite_expires_at == utc
    assert campaign.invite_time_zone == zone
    html = invite_page(client, campaign)
    assert f'value="{typed}"' in html  # the form shows it as typed
    assert f"{local:%-d %b %Y, %H:%M} ({zone} time)" in html
    assert AuditEvent.objects.filter(action="campaign.invite_expiry").exists()


def test_an_unknown_time_zone_falls_back_to_the_one_in_use(client, campaign):
    url = reverse("campaigns:invite", args=[campaign.public_id])
    client.post(
        url, {"action": "expiry", "expires_at": "2027-07-01T18:00", "time_zone": "Mars/Olympus"}
    )
    campaign.refresh_from_db()
    assert campaign.invite_time_zone == "Europe/London"
    assert campaign.invite_expires_at == dt.datetime(2027, 7, 1, 17, 0, tzinfo=dt.UTC)


def test_clearing_the_expiry_makes_the_link_work_until_replaced(client, campaign):
    url = reverse("campaigns:invite", args=[campaign.public_id])
    client.post(url, {"action": "expiry", "expires_at": "2027-07-01T18:00"})
    client.post(url, {"action": "expiry", "expires_at": ""})
    campaign.refresh_from_db()
    assert campaign.invite_expires_at is None
    assert "Works until you make a new link." in invite_page(client, campaign)
