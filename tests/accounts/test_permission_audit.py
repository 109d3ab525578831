import pytest

from ringround.audit.models import AuditEvent
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def test_granting_or_removing_a_role_is_audited():
    user = UserFactory()
    user.is_staff = True
    user.save()
    user.is_superuser = True
    user.save()
    events = AuditEvent.objects.filter(action="permission.change", object_id=user.public_id)
    assert [e.detail for e in events.order_by("at", "id")] == [
        {"is_staff": True},
        {"is_superuser": True},
    ]
