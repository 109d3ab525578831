"""The sessions export on the exports page: one row per session with who is coming."""

import csv
import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from ringround.audit.models import AuditEvent
from ringround.calling import room
from ringround.phonebanks import services
from ringround.reports import exports
from tests.factories import make_volunteer, open_campaign, organiser_of
from tests.phonebanks.factories import make_session
from tests.reports.factories import done_export

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _immediate_tasks(settings):
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}


def test_the_sessions_export_has_a_row_per_session_with_who_is_coming(settings):
    campaign = open_campaign(targets=0)
    first = make_session(campaign, capacity=3, title="Monday night")
    second = make_session(campaign, capacity=5, title="Tuesday night")
    people = [make_volunteer(campaign) for _ in range(3)]
    for person in people:
        services.sign_up(first, person)
    services.cancel_sign_up(first, people[2])
    services.cancel_session(second)

    assert "sessions" in exports.EXPORTS
    job = done_export(campaign, "sessions", "csv")
    with exports.full_path(job).open(newline="", encoding="utf-8-sig") as f:
        rows = list(csv.reader(f))
    assert rows[0][:3] == ["Session", "Starts (UTC)", "Ends (UTC)"]
    by_title = {row[0]: row for row in rows[1:]}
    assert set(by_title) == {"Monday night", "Tuesday night"}
    assert by_title["Monday night"][5:8] == ["3", "2", "1"]
    assert by_title["Tuesday night"][8] != "", "cancelled"


def test_scheduling_changing_and_cancelling_a_session_are_audited(client):
    campaign = open_campaign(targets=0)
    organiser = organiser_of(campaign)
    session = services.schedule_session(
        campaign,
        organiser,
        starts_at=timezone.now() + dt.timedelta(days=1),
        ends_at=timezone.now() + dt.timedelta(days=1, hours=2),
        capacity=4,
    )
    services.update_session(session, by=organiser, capacity=6)
    services.cancel_session(session, by=organiser)
    actions = list(
        AuditEvent.objects.filter(object_id=session.public_id)
        .order_by("at", "id")
        .values_list("action", "actor")
    )
    assert actions == [
        ("session.scheduled", organiser.pk),
        ("session.changed", organiser.pk),
        ("session.cancelled", organiser.pk),
    ]


def test_the_live_room_shows_who_is_asking_for_help(client):
    campaign = open_campaign(targets=1)
    volunteer = make_volunteer(campaign, name="Hana Helpme")
    room.ask_for_help(campaign, volunteer)
    client.force_login(organiser_of(campaign))
    page = client.get(reverse("reports:live", args=[campaign.public_id])).content.decode()
    assert "Asking for help:" in page and "Hana Helpme" in page
