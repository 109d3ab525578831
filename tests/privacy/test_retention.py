"""Retention: personal data of people whose campaigns all finished long ago is erased."""

import datetime as dt

import pytest
from django.core.management import call_command
from django.utils import timezone

from ringround.calling.targets import add_contacts
from ringround.campaigns.models import Campaign
from ringround.contacts.models import Contact, Suppression
from ringround.privacy import services
from tests.factories import ContactFactory, make_campaign

pytestmark = pytest.mark.django_db


def finished(days_ago, contacts):
    campaign = make_campaign(name=f"Finished {days_ago} days ago")
    add_contacts(campaign, Contact.objects.filter(pk__in=[c.pk for c in contacts]))
    Campaign.objects.filter(pk=campaign.pk).update(
        status=Campaign.Status.FINISHED,
        finished_at=timezone.now() - dt.timedelta(days=days_ago),
    )
    return campaign


@pytest.fixture
def people():
    old, recent, mixed, active, unused = (
        ContactFactory(first_name=n) for n in ("Old", "Recent", "Mixed", "Active", "Unused")
    )
    finished(400, [old, mixed])
    finished(10, [recent, mixed])
    campaign = make_campaign(name="Still going")
    add_contacts(campaign, Contact.objects.filter(pk__in=[active.pk, old.pk]))
    Campaign.objects.filter(pk=campaign.pk).update(status=Campaign.Status.FINISHED)
    # "Still going" was marked finished without a date: it does not count as long finished.
    really_old = ContactFactory(first_name="Ancient")
    finished(800, [really_old])
    return {c.first_name: c for c in (old, recent, mixed, active, unused, really_old)}


def names_left():
    return set(Contact.objects.exclude(first_name="").values_list("first_name", flat=True))


def test_only_contacts_of_long_finished_campaigns_are_erased(people):
    erased = services.apply_retention(365)
    assert erased == 1
    assert names_left() == {"Old", "Recent", "Mixed", "Active", "Unused"}
    ancient = Contact.objects.get(pk=people["Ancient"].pk)
    assert services.is_erased(ancient)


def test_a_contact_in_an_unfinished_campaign_is_kept(people):
    Campaign.objects.filter(name="Still going").update(status=Campaign.Status.ACTIVE)
    assert services.apply_retention(5) == 3
    assert names_left() == {"Old", "Active", "Unused"}


def test_retention_does_not_suppress_numbers(people):
    services.apply_retention(365)
    assert not Suppression.objects.filter(phone=people["Ancient"].phone).exists()


def test_dry_run_changes_nothing(people, capsys):
    before = list(Contact.objects.values())
    call_command("apply_retention", "--days", "365", "--dry-run")
    assert "1 contact past the 365-day retention period would be erased" in capsys.readouterr().out
    assert list(Contact.objects.values()) == before


def test_command_uses_the_setting_and_is_off_by_default(people, settings, capsys):
    settings.RINGROUND_RETENTION_DAYS = 0
    call_command("apply_retention")
    assert "Retention is off" in capsys.readouterr().out
    assert names_left() == set(people)

    settings.RINGROUND_RETENTION_DAYS = 365
    call_command("apply_retention")
    assert "Erased the personal data of 1 contact" in capsys.readouterr().out
    assert "Ancient" not in names_left()


def test_retention_run_is_audited(people):
    from ringround.audit.models import AuditEvent

    services.apply_retention(365)
    assert AuditEvent.objects.filter(action="privacy.erasure", detail__why="retention").count() == 1
    assert AuditEvent.objects.get(action="privacy.retention").detail == {"days": 365, "erased": 1}


def test_negative_days_are_refused(people):
    from django.core.management.base import CommandError

    with pytest.raises(CommandError):
        call_command("apply_retention", "--days", "-1")
