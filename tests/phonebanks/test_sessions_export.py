"""The sessions export on the exports page: one row per session with who is coming."""

import csv

import pytest

from ringround.phonebanks import services
from ringround.reports import exports
from tests.factories import make_volunteer, open_campaign
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
