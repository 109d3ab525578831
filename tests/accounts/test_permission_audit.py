import pytest

from ringround.audit.models import AuditEvent
from tests.factories import UserFactory, make_campaign

pytestmark = pytest.mark.django_db


def test_granting_or_removing_a_role_is_audited():
    user = UserFactory()
    user.can_organise = True
    user.save()
    user.is_superuser = True
    user.save()
    events = AuditEvent.objects.filter(action="permission.change", object_id=user.public_id)
    assert [e.detail for e in events.order_by("at", "id")] == [
        {"can_organise": True},
        {"is_superuser": True},
    ]


def test_adding_and_removing_an_organiser_is_audited():
    campaign = make_campaign()
    helper = UserFactory()
    campaign.organisers.add(helper)
    campaign.organisers.remove(helper)
    actions = set(
        AuditEvent.objects.filter(campaign_id=campaign.pk).values_list("action", flat=True)
    )
    assert {"permission.organiser_added", "permission.organiser_removed"} <= actions
