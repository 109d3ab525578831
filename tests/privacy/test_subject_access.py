"""Subject access: everything held about a person, found by any form of their number or email."""

import json

import pytest
from django.core.serializers.json import DjangoJSONEncoder

from ringround.audit.models import AuditEvent
from ringround.calling.models import Call
from ringround.privacy import services

from .world import SECRET_NOTE, SECRET_TEXT

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    "typed",
    ["+44 117 496 0123", "0117 496 0123", "00441174960123", "(0117) 496-0123", "1174960123"],
)
def test_person_found_by_any_form_of_their_number(world, typed):
    search = services.parse_search(typed)
    assert list(services.find_contacts(search)) == [world.person]


def test_person_found_by_other_phone_and_email_in_any_case(world):
    assert list(services.find_contacts(services.parse_search("0113 496 0999"))) == [world.person]
    assert list(services.find_contacts(services.parse_search("SAM.person@Example.org"))) == [
        world.person
    ]


def test_other_phone_search_does_not_match_a_longer_number(world):
    world.person.other_phones = ["+4411349609991"]
    world.person.save()
    assert not services.find_contacts(services.Search("phone", "+441134960999")).exists()


def test_report_holds_every_kind_of_record(world):
    report = services.subject_access([world.person], by=world.admin)
    text = json.dumps(report, cls=DjangoJSONEncoder)
    (person,) = report["contacts"]

    contact = person["contact"]
    assert contact["first_name"] == "Sam" and contact["email"] == "Sam.Person@example.org"
    assert contact["other_phones"] == ["+441134960999"]
    assert contact["custom_fields"] == {"ward": "King's Cross", "member_since": "2015"}
    assert sorted(contact["tags"]) == ["donor", "member"]
    assert contact["external_id"] == "M-12345"

    campaigns = {c["campaign"]["name"]: c for c in person["campaigns"]}
    assert campaigns["Members' ballot"]["state"] == "done"
    assert campaigns["Members' ballot"]["attempts"] == 1
    assert campaigns["Old survey"]["campaign"]["status"] == "finished"

    (call,) = person["calls"]
    assert call["outcome"] == "answered"
    assert {"question": "Top issue?", "answer": "NHS"} in call["answers"]
    assert {"question": "Anything else?", "answer": SECRET_TEXT} in call["answers"]
    assert call["notes"] == SECRET_NOTE and call["started_at"] and call["ended_at"]

    assert [s["phone"] for s in person["suppressions"]] == ["+441134960999"]
    actions = [e["action"] for e in person["audit_events"]]
    assert "contact.view" in actions and "privacy.subject_access" in actions
    assert "Vik Volunteer" not in text  # volunteers appear by role, not by name


def texts(value):
    """Every key and value in the report's structure, as text."""
    if isinstance(value, dict):
        for key, item in value.items():
            yield str(key)
            yield from texts(item)
    elif isinstance(value, list | tuple):
        for item in value:
            yield from texts(item)
    elif value is not None:
        yield str(value)


def test_report_lists_other_peoples_data_nowhere(world):
    """About the people in the report, not words in it: a name can be part of an address."""
    report = services.subject_access([world.person], by=world.admin)

    assert [c["contact"]["id"] for c in report["contacts"]] == [world.person.public_id]
    (person,) = report["contacts"]
    theirs = Call.objects.filter(target__contact=world.person)
    assert {c["id"] for c in person["calls"]} == set(theirs.values_list("public_id", flat=True))
    others_calls = Call.objects.filter(target__contact__in=world.others)
    assert others_calls.exists(), "the others were called too, so their calls could leak"
    fields = list(texts(report))
    for other in world.others:
        assert other.email, "every other person has an email that could leak"
        their_calls = others_calls.filter(target__contact=other).values_list("public_id", flat=True)
        marks = {other.public_id, other.phone, *other.other_phones, other.email, *their_calls}
        marks = {mark.lower() for mark in marks}
        leaked = [(mark, text) for text in fields for mark in marks if mark in text.lower()]
        assert leaked == [], f"{other.public_id}'s data is in the report"


def test_subject_access_is_audited(world):
    services.subject_access([world.person], by=world.admin)
    event = AuditEvent.objects.get(action="privacy.subject_access")
    assert event.actor == world.admin and event.object_id == world.person.public_id


def test_report_of_an_erased_person_says_so(world):
    services.erase_contact(world.person, by=world.admin)
    (person,) = services.subject_access([world.person], by=world.admin)["contacts"]
    assert person["contact"]["erased"] is True
    assert person["calls"][0]["notes"] == ""
