"""Sign-ups through one invite link are limited per client address and per campaign, per
hour; a refusal is a readable 429 page, and a burst is flagged to the organisers."""

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from ringround.audit.models import AuditEvent
from ringround.campaigns.models import Campaign, Membership
from tests.factories import open_campaign

pytestmark = pytest.mark.django_db
MID_HOUR = dt.datetime(2027, 5, 4, 19, 30, tzinfo=dt.UTC)


@pytest.fixture(autouse=True)
def clock(monkeypatch):
    """Sign-ups are counted per clock hour: the tests run in the middle of one."""
    monkeypatch.setattr(timezone, "now", lambda: MID_HOUR)


def sign_up(client, campaign, n, **headers):
    return client.post(
        reverse("accounts:join", args=[campaign.invite_token]),
        {"name": f"Person {n}", "email": f"p{n}@example.org", "password": "long passphrase 1"},
        **headers,
    )


def test_sign_ups_from_one_address_stop_at_the_hourly_limit(client, settings):
    settings.RINGROUND_SIGNUPS_PER_ADDRESS_PER_HOUR = 5
    campaign = open_campaign()
    answers = [
        sign_up(client, campaign, n, REMOTE_ADDR="203.0.113.7").status_code for n in range(7)
    ]
    assert answers == [200] * 5 + [429] * 2
    refused = sign_up(client, campaign, 99, REMOTE_ADDR="203.0.113.7")
    assert "Too many sign-ups" in refused.content.decode()
    assert Membership.objects.filter(campaign=campaign).count() == 5
    # Another address is not held up by that one.
    assert sign_up(client, campaign, 100, REMOTE_ADDR="198.51.100.1").status_code == 200
    # The burst is flagged once, with the address.
    events = AuditEvent.objects.filter(action="campaign.sign_up_burst")
    assert [(e.ip_address, e.detail["limit"]) for e in events] == [("203.0.113.7", "address")]
    assert Campaign.objects.get(pk=campaign.pk).sign_up_burst_at == MID_HOUR


def test_behind_the_proxy_the_limit_is_per_client_not_per_proxy(client, settings):
    settings.RINGROUND_TRUSTED_PROXIES = ["10.0.0.1"]
    settings.RINGROUND_SIGNUPS_PER_ADDRESS_PER_HOUR = 2
    campaign = open_campaign()
    via_proxy = {"REMOTE_ADDR": "10.0.0.1"}
    answers = [
        sign_up(client, campaign, n, HTTP_X_FORWARDED_FOR=f"198.51.100.{n}", **via_proxy)
        for n in range(4)
    ]
    assert [a.status_code for a in answers] == [200] * 4
    forged = [
        sign_up(client, campaign, 10 + n, HTTP_X_FORWARDED_FOR="198.51.100.77", **via_proxy)
        for n in range(3)
    ]
    assert [a.status_code for a in forged] == [200, 200, 429]


def test_sign_ups_to_one_campaign_stop_at_its_hourly_ceiling(client, settings):
    settings.RINGROUND_SIGNUPS_PER_CAMPAIGN_PER_HOUR = 4
    campaign, other = open_campaign(), open_campaign(name="Other")
    answers = [
        sign_up(client, campaign, n, REMOTE_ADDR=f"198.51.100.{n}").status_code for n in range(6)
    ]
    assert answers == [200] * 4 + [429] * 2
    assert sign_up(client, other, 50, REMOTE_ADDR="198.51.100.50").status_code == 200
    assert AuditEvent.objects.get(action="campaign.sign_up_burst").detail["limit"] == "campaign"


def test_known_and_new_emails_count_alike(client, settings):
    from tests.factories import UserFactory

    settings.RINGROUND_SIGNUPS_PER_ADDRESS_PER_HOUR = 1
    UserFactory(email="p0@example.org")
    campaign = open_campaign()
    assert sign_up(client, campaign, 0, REMOTE_ADDR="203.0.113.9").status_code == 200
    assert sign_up(client, campaign, 1, REMOTE_ADDR="203.0.113.9").status_code == 429


def test_the_sign_up_limits_reset_in_the_next_hour(client, settings, monkeypatch):
    settings.RINGROUND_SIGNUPS_PER_ADDRESS_PER_HOUR = 1
    campaign = open_campaign()
    assert sign_up(client, campaign, 0, REMOTE_ADDR="203.0.113.9").status_code == 200
    assert sign_up(client, campaign, 1, REMOTE_ADDR="203.0.113.9").status_code == 429
    monkeypatch.setattr(timezone, "now", lambda: MID_HOUR + dt.timedelta(hours=1))
    assert sign_up(client, campaign, 2, REMOTE_ADDR="203.0.113.9").status_code == 200
