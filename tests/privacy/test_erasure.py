"""Erasure: the person's personal data is gone, the anonymous counts of their calls stay, and
their numbers are never called again."""

import json

import pytest
from django.core.cache import cache
from django.core.serializers.json import DjangoJSONEncoder

from ringround.audit.models import AuditEvent
from ringround.calling import targets as call_targets
from ringround.calling.models import Call, CallTarget
from ringround.contacts.models import Contact, Suppression
from ringround.privacy import services
from ringround.reports.services import campaign_figures
from tests.factories import ContactFactory

from .world import SECRET_NOTE, SECRET_TEXT

pytestmark = pytest.mark.django_db


def test_erasure_removes_every_piece_of_personal_data(world):
    phone, email = world.person.phone, world.person.email
    services.erase_contact(world.person, by=world.admin)

    person = Contact.objects.get(pk=world.person.pk)
    assert person.first_name == person.last_name == ""
    assert person.phone == f"erased-{person.public_id}"
    assert person.phone_as_typed == "" and person.other_phones == []
    assert person.email == person.postcode == person.tags == person.external_id == ""
    assert person.custom_fields == {}
    assert not CallTarget.objects.filter(phone=phone).exists()
    assert not Contact.objects.filter(email__iexact=email).exists()
    everything = json.dumps(
        [list(Contact.objects.filter(pk=person.pk).values())]
        + [list(Call.objects.filter(target__contact=person).values())]
        + [list(CallTarget.objects.filter(contact=person).values())],
        cls=DjangoJSONEncoder,
    )
    for secret in ("Sam", "Person", phone, email, "WC1X", "M-12345", "King's Cross"):
        assert secret not in everything
    assert SECRET_TEXT not in everything and SECRET_NOTE not in everything


def test_erasure_keeps_calls_outcomes_and_choice_answers(world):
    before = list(
        Call.objects.filter(target__contact=world.person).values_list("id", "outcome__code")
    )
    services.erase_contact(world.person, by=world.admin)

    calls = Call.objects.filter(target__contact=world.person)
    assert list(calls.values_list("id", "outcome__code")) == before
    (kept,) = calls
    assert kept.answers == {world.issue.key: "NHS"}
    assert kept.notes == ""


def test_erasure_leaves_campaign_figures_unchanged(world):
    before = campaign_figures(world.campaign)
    cache.clear()
    services.erase_contact(world.person, by=world.admin)
    cache.clear()
    after = campaign_figures(world.campaign)
    # The counts stay; the person's own words among the free-text answers go with them.
    words = [a["answer"] for row in after.pop("text_answers") for a in row["latest"]]
    assert SECRET_TEXT in [a["answer"] for row in before.pop("text_answers") for a in row["latest"]]
    assert SECRET_TEXT not in words
    assert after == before
    assert after["calls"] == 3


def test_erased_numbers_are_suppressed_and_targets_stopped(world):
    phone = world.person.phone
    result = services.erase_contact(world.person, by=world.admin)

    assert Suppression.objects.get(phone=phone).reason == Suppression.Reason.ERASURE
    # The second number was already suppressed (TPS): it stays so.
    assert Suppression.objects.filter(phone="+441134960999").exists()
    assert result.numbers_suppressed == 2
    states = set(CallTarget.objects.filter(contact=world.person).values_list("state", flat=True))
    assert states == {CallTarget.State.SUPPRESSED}


def test_erased_person_reimported_is_not_added_as_callable(world):
    phone = world.person.phone
    services.erase_contact(world.person, by=world.admin)
    again = ContactFactory(phone=phone)
    call_targets.add_contacts(world.campaign, Contact.objects.filter(pk=again.pk))
    assert CallTarget.objects.get(contact=again).state == CallTarget.State.SUPPRESSED


def test_erasure_is_audited_without_the_erased_data(world):
    phone = world.person.phone
    services.erase_contact(world.person, by=world.admin)
    event = AuditEvent.objects.get(action="privacy.erasure")
    assert event.actor == world.admin
    assert event.object_type == "contact" and event.object_id == world.person.public_id
    detail = json.dumps(event.detail)
    assert "Sam" not in detail and phone not in detail and "example.org" not in detail
    assert event.detail["calls_kept"] == 1


def test_erasing_twice_is_refused(world):
    services.erase_contact(world.person, by=world.admin)
    with pytest.raises(services.AlreadyErased):
        services.erase_contact(world.person, by=world.admin)
    assert AuditEvent.objects.filter(action="privacy.erasure").count() == 1


def test_erasure_placeholder_never_matches_a_search(world):
    services.erase_contact(world.person, by=world.admin)
    placeholder = Contact.objects.get(pk=world.person.pk).phone
    with pytest.raises(services.PrivacyError):
        services.parse_search(placeholder)


def test_other_people_are_untouched(world):
    snapshot = list(Contact.objects.exclude(pk=world.person.pk).values())
    services.erase_contact(world.person, by=world.admin)
    assert list(Contact.objects.exclude(pk=world.person.pk).values()) == snapshot
