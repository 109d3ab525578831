"""The audit trail pages: filter, page through, export as CSV; admins only."""

import csv
import datetime as dt
import io

import pytest
from django.urls import reverse

from ringround.audit.models import AuditEvent
from ringround.audit.services import record_event
from tests.factories import UserFactory, make_campaign, organiser_of

pytestmark = pytest.mark.django_db


def at(monkeypatch, when):
    monkeypatch.setattr("django.utils.timezone.now", lambda: when)


@pytest.fixture
def events(admin_user, monkeypatch):
    bob = UserFactory(email="bob@example.org")
    campaign = make_campaign(name="Ballot")
    at(monkeypatch, dt.datetime(2020, 3, 1, 12, tzinfo=dt.UTC))
    record_event(admin_user, "privacy.erasure", campaign, why="request")
    at(monkeypatch, dt.datetime(2020, 3, 2, 23, 59, tzinfo=dt.UTC))
    record_event(bob, "privacy.subject_access", campaign)
    at(monkeypatch, dt.datetime(2020, 3, 5, 9, tzinfo=dt.UTC))
    record_event(bob, "contact.view", None, note='=HYPERLINK("http://evil")')
    monkeypatch.undo()
    return {"bob": bob, "campaign": campaign}


def shown(client, **query):
    response = client.get(reverse("audit:events"), query)
    assert response.status_code == 200
    return [e.action for e in response.context["page"]]


def test_strangers_are_sent_to_log_in(client):
    for name in ("audit:events", "audit:export"):
        response = client.get(reverse(name))
        assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_everyone_but_admins_is_refused(client, db):
    campaign = make_campaign()
    for user in (organiser_of(campaign), UserFactory(), UserFactory(is_staff=True)):
        client.force_login(user)
        assert client.get(reverse("audit:events")).status_code == 403
        assert client.get(reverse("audit:export")).status_code == 403
    assert not AuditEvent.objects.filter(action="audit.export").exists()


def test_filters(client, admin_user, events):
    client.force_login(admin_user)
    assert shown(client, action="contact.view") == ["contact.view"]
    assert shown(client, action="privacy.") == ["privacy.subject_access", "privacy.erasure"]
    assert shown(client, actor="BOB@example.org") == ["contact.view", "privacy.subject_access"]
    assert shown(client, object_id=events["campaign"].public_id, action="privacy.erasure") == [
        "privacy.erasure"
    ]
    assert shown(client, since="2020-03-02", until="2020-03-02") == ["privacy.subject_access"]
    assert shown(client, since="2020-03-03") == [
        e.action
        for e in AuditEvent.objects.filter(at__gte=dt.datetime(2020, 3, 3, tzinfo=dt.UTC)).order_by(
            "-at", "-id"
        )
    ]
    assert shown(client, until="2020-03-01") == ["privacy.erasure"]


@pytest.mark.parametrize(
    "query",
    [
        {"since": "yesterday"},
        {"until": "2020-02-30"},
        {"since": "2020-03-05", "until": "2020-03-01"},
        {"action": "x" * 65},
    ],
)
def test_malformed_filters_show_an_error_and_no_events(client, admin_user, events, query):
    client.force_login(admin_user)
    response = client.get(reverse("audit:events"), query)
    assert response.status_code == 200
    assert "Nothing is shown until the filters above are corrected" in response.content.decode()
    assert list(response.context["page"]) == []
    export = client.get(reverse("audit:export"), query)
    assert export.status_code == 400 and b"not valid" in export.content
    assert not AuditEvent.objects.filter(action="audit.export").exists()


def test_pages_of_fifty_keep_the_filters(client, admin_user):
    for n in range(120):
        record_event(admin_user, "demo.bulk", None, n=n)
    client.force_login(admin_user)
    response = client.get(reverse("audit:events"), {"action": "demo.bulk", "page": 3})
    page = response.context["page"]
    assert page.paginator.count == 120 and page.paginator.num_pages == 3
    assert len(page) == 20 and page.number == 3
    first = client.get(reverse("audit:events"), {"action": "demo.bulk"})
    assert len(first.context["page"]) == 50
    assert "?action=demo.bulk&amp;page=2" in first.content.decode()
    assert client.get(reverse("audit:events"), {"page": "999"}).status_code == 200
    assert client.get(reverse("audit:events"), {"page": "nonsense"}).status_code == 200


def test_export_is_csv_with_neutralised_cells_and_is_audited(client, admin_user, events):
    client.force_login(admin_user)
    response = client.get(reverse("audit:export"), {"actor": "bob@example.org"})
    assert response.status_code == 200
    assert response["Content-Disposition"].startswith('attachment; filename="audit-')
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    header, body = rows[0], rows[1:]
    assert header[:3] == ["at", "actor_email", "action"]
    assert [r[2] for r in body] == ["contact.view", "privacy.subject_access"]
    assert all(r[1] == "bob@example.org" for r in body)
    assert body[0][-1] == '{"note": "=HYPERLINK(\\"http://evil\\")"}'

    export = AuditEvent.objects.get(action="audit.export")
    assert export.actor == admin_user and export.detail == {"filters": {"actor": "bob@example.org"}}


def test_export_cells_that_look_like_formulas_are_neutralised(client, admin_user):
    record_event(admin_user, "=cmd|' /C calc'!A0", None)
    client.force_login(admin_user)
    response = client.get(reverse("audit:export"), {"action": "=cmd|' /C calc'!A0"})
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert rows[1][2] == "'=cmd|' /C calc'!A0"


def test_page_shows_events_escaped(client, admin_user):
    record_event(admin_user, "demo.note", None, text="<script>alert(1)</script>")
    client.force_login(admin_user)
    html = client.get(reverse("audit:events")).content.decode()
    assert "<script>alert(1)</script>" not in html and "&lt;script&gt;" in html
