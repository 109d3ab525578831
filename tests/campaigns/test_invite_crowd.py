"""The must-hold test, after the attack that took a 3,000-contact list in 38 seconds: 25
accounts made through one invite link within a minute, from many addresses or from one,
together collect no more contacts than the campaign's hourly ceiling, however they claim."""

import datetime as dt

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from ringround.audit.models import AuditEvent
from ringround.calling import rules
from ringround.calling.statements import CONTACT_VIEW
from ringround.campaigns.models import Membership
from tests.factories import confirm_link, open_campaign

pytestmark = pytest.mark.django_db
ACCOUNTS = 25
PROXY = "10.0.0.1"


@pytest.fixture(autouse=True)
def behind_the_proxy(settings):
    settings.RINGROUND_TRUSTED_PROXIES = [PROXY]


@pytest.fixture(autouse=True)
def within_one_minute(monkeypatch):
    """The sign-ups happen in the middle of one clock hour (they are counted per hour)."""
    moment = dt.datetime(2027, 5, 4, 19, 30, tzinfo=dt.UTC)
    monkeypatch.setattr(timezone, "now", lambda: moment)


def crowd_signs_up(campaign, address_of) -> list:
    """ACCOUNTS sign-ups through the invite link within a minute, each confirming its email
    (the attacker owns the mailboxes); the accounts that got in."""
    joined = []
    for n in range(ACCOUNTS):
        client = Client()
        headers = {"REMOTE_ADDR": PROXY, "HTTP_X_FORWARDED_FOR": address_of(n)}
        email = f"sock{n}@example.org"
        answer = client.post(
            reverse("accounts:join", args=[campaign.invite_token]),
            {"name": f"Sock {n}", "email": email, "password": "puppet passphrase 99"},
            **headers,
        )
        if answer.status_code == 200:
            client.post(confirm_link(email), **headers)
            joined.append(Membership.objects.get(user__email=email).user)
        else:
            assert answer.status_code == 429
    return joined


def harvest(campaign, accounts) -> set:
    """Every account claims, looks and hands back as fast as it can, round after round,
    until nobody is given anyone: the contacts seen (from the audit trail)."""
    now = timezone.now()
    for _ in range(200):
        given = 0
        for user in accounts:
            try:
                lease = rules.claim_next(campaign, user, now=now, record_view=True)
            except rules.CallingError:
                continue
            if lease is not None:
                given += 1
                rules.release(campaign, user)
        if not given:
            break
        now += dt.timedelta(seconds=1)
    seen = AuditEvent.objects.filter(campaign_id=campaign.pk, action=CONTACT_VIEW)
    return set(seen.values_list("object_id", flat=True))


def test_twenty_five_accounts_from_many_addresses_cannot_pass_the_ceiling():
    campaign = open_campaign(targets=300, contacts_per_hour=60)
    accounts = crowd_signs_up(campaign, lambda n: f"198.51.100.{n + 1}")
    assert len(accounts) == ACCOUNTS, "the per-address limit is not what stops them here"
    seen = harvest(campaign, accounts)
    assert len(seen) <= 60
    assert AuditEvent.objects.filter(action="campaign.ceiling_reached").count() == 1


def test_with_no_ceiling_set_new_accounts_raise_it_not_at_all(settings):
    settings.RINGROUND_CONTACTS_PER_HOUR_FLOOR = 40
    campaign = open_campaign(targets=300)
    accounts = crowd_signs_up(campaign, lambda n: f"198.51.100.{n + 1}")
    assert len(accounts) == ACCOUNTS
    assert rules.contacts_per_hour(campaign, timezone.now()) == 40
    assert len(harvest(campaign, accounts)) <= 40


def test_twenty_five_sign_ups_from_one_address_mostly_bounce():
    campaign = open_campaign(targets=300, contacts_per_hour=60)
    accounts = crowd_signs_up(campaign, lambda n: "203.0.113.66")
    assert len(accounts) == 5
    seen = harvest(campaign, accounts)
    assert len(seen) <= 5 * 20, "each new account gets its starting budget at most"
    assert AuditEvent.objects.filter(action="campaign.sign_up_burst").count() == 1
