"""Audit events are only ever added: not from the app, not from Django's admin."""

import pytest
from django.urls import reverse

from ringround.audit.admin import AuditEventAdmin
from ringround.audit.models import AuditEvent
from ringround.audit.services import record_event
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def event(admin_user):
    return record_event(admin_user, "campaign.create", None, note="first")


def test_an_event_cannot_be_changed(event):
    event.action = "nothing.happened"
    with pytest.raises(ValueError):
        event.save()
    with pytest.raises(ValueError):
        AuditEvent.objects.filter(pk=event.pk).update(action="nothing.happened")
    assert AuditEvent.objects.get(pk=event.pk).action == "campaign.create"


def test_an_event_cannot_be_deleted(event):
    with pytest.raises(ValueError):
        event.delete()
    with pytest.raises(ValueError):
        AuditEvent.objects.all().delete()
    with pytest.raises(ValueError):
        AuditEvent.objects.filter(pk=event.pk).delete()
    assert AuditEvent.objects.filter(pk=event.pk).exists()


def test_deleting_a_person_keeps_their_events(event, admin_user):
    admin_user.delete()
    event = AuditEvent.objects.get(pk=event.pk)
    assert event.actor is None and event.action == "campaign.create"


def test_django_admin_shows_events_read_only(client, event, admin_user):
    client.force_login(admin_user)
    changelist = client.get(reverse("admin:audit_auditevent_changelist"))
    assert changelist.status_code == 200 and "campaign.create" in changelist.content.decode()
    page = client.get(reverse("admin:audit_auditevent_change", args=[event.pk]))
    assert page.status_code == 200
    html = page.content.decode()
    assert 'name="_save"' not in html and "deletelink" not in html

    assert client.get(reverse("admin:audit_auditevent_add")).status_code == 403
    assert client.get(reverse("admin:audit_auditevent_delete", args=[event.pk])).status_code == 403
    response = client.post(
        reverse("admin:audit_auditevent_change", args=[event.pk]), {"action": "forged"}
    )
    assert response.status_code == 403
    response = client.post(
        reverse("admin:audit_auditevent_changelist"),
        {"action": "delete_selected", "_selected_action": [event.pk]},
    )
    assert AuditEvent.objects.get(pk=event.pk).action == "campaign.create"


def test_admin_class_grants_no_writes(rf, admin_user):
    from django.contrib import admin

    model_admin = AuditEventAdmin(AuditEvent, admin.site)
    request = rf.get("/")
    request.user = admin_user
    assert not model_admin.has_add_permission(request)
    assert not model_admin.has_change_permission(request)
    assert not model_admin.has_delete_permission(request)


def test_non_staff_cannot_open_the_django_admin(client):
    client.force_login(UserFactory())
    response = client.get(reverse("admin:audit_auditevent_changelist"))
    assert response.status_code == 302 and "/admin/login/" in response["Location"]
