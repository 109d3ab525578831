"""Objection: the person asks not to be called; their number is suppressed in every campaign."""

import pytest

from ringround.audit.models import AuditEvent
from ringround.calling.models import CallTarget
from ringround.contacts.models import Contact, Suppression
from ringround.privacy import services
from tests.factories import make_campaign

pytestmark = pytest.mark.django_db


def test_objection_suppresses_the_number_in_every_campaign(world):
    other = make_campaign(name="Another")
    from ringround.calling.targets import add_contacts

    add_contacts(other, Contact.objects.filter(pk=world.person.pk))
    suppression = services.object_to_contact("0117 496 0123", by=world.admin)

    assert suppression.phone == world.person.phone
    assert suppression.reason == Suppression.Reason.REQUESTED
    target = CallTarget.objects.get(campaign=other, contact=world.person)
    assert target.state == CallTarget.State.SUPPRESSED
    event = AuditEvent.objects.get(action="privacy.objection")
    assert event.actor == world.admin and event.object_id == str(suppression.pk)


def test_objection_keeps_the_persons_record(world):
    services.object_to_contact(world.person.phone, by=world.admin)
    assert Contact.objects.get(pk=world.person.pk).first_name == "Sam"


@pytest.mark.parametrize("bad", ["", "not a number", "+1", "1e+10", "020 7946"])
def test_objection_to_a_malformed_number_changes_nothing(world, bad):
    before = Suppression.objects.count()
    with pytest.raises(services.PrivacyError):
        services.object_to_contact(bad, by=world.admin)
    assert Suppression.objects.count() == before
    assert not AuditEvent.objects.filter(action="privacy.objection").exists()
