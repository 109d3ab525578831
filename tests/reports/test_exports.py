"""Exports written in the background: every row and column equal to the database, in CSV and
XLSX read back; cells that never run as formulas; progress; failures stored with their
reason; files kept only their keep time, and deleted on erasure; audited, attachment-only
downloads for the campaign's team alone."""

import csv
import datetime as dt
import io
import random
import zipfile
from pathlib import Path

import openpyxl
import pytest
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from ringround.audit.models import AuditEvent
from ringround.calling.models import Call
from ringround.campaigns import services as campaign_services
from ringround.campaigns.models import Membership
from ringround.contacts.models import EXPORTED_FIELDS
from ringround.privacy import services as privacy
from ringround.reports import exports
from ringround.reports.models import Export
from ringround.reports.services import _utc, phone_cells
from tests.factories import (
    ALL_DAY,
    claim_and_record,
    make_campaign,
    make_organiser,
    make_team,
    make_volunteer,
    organiser_of,
)
from tests.queue import run_the_queue
from tests.reports.factories import done_export

pytestmark = pytest.mark.django_db
FORMATS = ["csv", "xlsx"]
START = dt.datetime(2027, 5, 4, 9, 0, tzinfo=dt.UTC)
EVIL = '=HYPERLINK("http://evil.example","click")'


@pytest.fixture(autouse=True)
def _immediate_tasks(settings):
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}


@pytest.fixture
def seeded():
    """A campaign with a few hundred calls by several volunteers, answers to every kind of
    question, hostile notes and answers, and some contacts answering twice."""
    rng = random.Random(12)
    campaign = make_campaign(targets=240, **ALL_DAY)
    q_issue = campaign_services.add_question(
        campaign, text="Top issue?", kind="single", choices=["NHS", "Housing", "Jobs"]
    )
    q_help = campaign_services.add_question(
        campaign, text="How could you help?", kind="multiple", choices=["Leaflets", "Phones"]
    )
    q_vote = campaign_services.add_question(campaign, text="Will you vote?", kind="yes_no")
    q_say = campaign_services.add_question(campaign, text="Anything else?", kind="text")
    volunteers = [make_volunteer(campaign, name=f"Volunteer {n}") for n in range(4)]
    make_volunteer(campaign, name="Idle Volunteer")  # joined, never called
    for n in range(220):
        volunteer = volunteers[n % 4]
        code = rng.choice(["answered", "answered", "no_answer", "busy", "refused"])
        answers, notes = {}, ""
        if code == "answered":
            answers = {
                q_issue.key: rng.choice(["NHS", "Housing", "Jobs"]),
                q_help.key: rng.sample(["Leaflets", "Phones"], rng.randint(1, 2)),
                q_vote.key: rng.choice(["Yes", "No"]),
            }
            if n % 7 == 0:
                answers[q_say.key] = EVIL if n % 14 == 0 else f"Said thing {n}"
            notes = EVIL if n % 9 == 0 else f"note {n}"
        claim_and_record(
            campaign,
            volunteer,
            code,
            answers=answers,
            notes=notes,
            now=START + dt.timedelta(minutes=n),
        )
    # Some contacts answer again later: a new issue, nothing said about helping.
    for n, call in enumerate(Call.objects.filter(campaign=campaign).exclude(answers={})[:15]):
        Call.objects.create(
            campaign=campaign,
            target=call.target,
            volunteer=volunteers[0],
            outcome=call.outcome,
            answers={q_issue.key: "Jobs", q_vote.key: "No" if n % 2 else "Yes"},
            started_at=START + dt.timedelta(days=1, minutes=n),
            ended_at=START + dt.timedelta(days=1, minutes=n, seconds=30),
            idempotency_key=f"again-{n}",
        )
    return campaign


def read_back(job) -> list[list]:
    """The export's rows as a spreadsheet gives them back (strings, and numbers in XLSX)."""
    path = exports.full_path(job)
    assert path is not None, job.error
    if job.file_format == "csv":
        with path.open(newline="", encoding="utf-8-sig") as f:
            return list(csv.reader(f))
    book = openpyxl.load_workbook(path, read_only=True)
    return [
        ["" if v is None else v for v in row] for row in book.active.iter_rows(values_only=True)
    ]


def as_text(value) -> str:
    """A cell as the CSV holds it: neutralised (a leading apostrophe before a formula)."""
    text = "; ".join(value) if isinstance(value, list) else ("" if value is None else str(value))
    return "'" + text if text.startswith(("=", "+", "-", "@", "\t", "\r")) else text


def cell(value, file_format):
    """What a cell should read back as: XLSX keeps text as typed (stored as text, never a
    formula) and numbers as numbers; CSV has text, neutralised."""
    if file_format == "xlsx":
        if isinstance(value, list):
            return "; ".join(value)
        return "" if value is None else value
    return as_text(value)


def contact_cells(contact) -> list:
    cells = [contact.public_id]
    for name in EXPORTED_FIELDS:
        cells += phone_cells(contact.phone) if name == "phone" else [getattr(contact, name)]
    return cells


@pytest.mark.parametrize("file_format", FORMATS)
def test_calls_export_has_every_call_and_column_as_stored(seeded, file_format):
    job = done_export(seeded, "calls", file_format)
    rows = read_back(job)
    questions = list(seeded.questions.all())
    calls = list(
        Call.objects.filter(campaign=seeded)
        .select_related("volunteer", "outcome", "target__contact")
        .order_by("ended_at", "id")
    )
    assert len(calls) == 235 and job.rows_written == 235 and job.status == "done"
    assert rows[0][-4:] == [q.text for q in questions]
    expected = [
        [
            call.public_id,
            _utc(call.ended_at),
            _utc(call.started_at),
            call.volunteer.name,
            *contact_cells(call.target.contact),
            call.outcome.label,
            call.outcome.code,
            "yes" if call.lease_lost else "",
            call.notes,
            *[call.answers.get(q.key, "") for q in questions],
        ]
        for call in calls
    ]
    assert rows[1:] == [[cell(v, file_format) for v in row] for row in expected]


@pytest.mark.parametrize("file_format", FORMATS)
def test_latest_answers_export_has_each_contacts_latest_answer_to_each_question(
    seeded, file_format
):
    job = done_export(seeded, "answers", file_format)
    rows = read_back(job)
    questions = list(seeded.questions.all())
    assert rows[0][-len(questions) :] == [q.text for q in questions]
    assert rows[0][0] == "Contact id" and "Last answered (UTC)" in rows[0]
    # Worked out here another way: each contact's calls, latest first, first answer found.
    by_contact = {}
    for call in (
        Call.objects.filter(campaign=seeded)
        .exclude(answers={})
        .select_related("target__contact")
        .order_by("-ended_at", "-id")
    ):
        by_contact.setdefault(call.target.contact, []).append(call)
    expected = []
    for contact in sorted(by_contact, key=lambda c: c.pk):
        calls = by_contact[contact]
        latest = [
            next(
                (c.answers[q.key] for c in calls if c.answers.get(q.key) not in (None, "", [])), ""
            )
            for q in questions
        ]
        expected.append([*contact_cells(contact), _utc(calls[0].ended_at), *latest])
    assert len(expected) > 60 and job.rows_written == len(expected)
    assert rows[1:] == [[cell(v, file_format) for v in row] for row in expected]
    again = [row for row in expected if row[-4] == "Jobs" and row[-3] != ""]
    assert again  # a later call that said nothing about helping kept the earlier answer


@pytest.mark.parametrize("file_format", FORMATS)
def test_volunteers_export_has_each_volunteers_totals(seeded, file_format):
    job = done_export(seeded, "volunteers", file_format)
    rows = read_back(job)
    outcomes = list(seeded.outcomes.order_by("pk"))
    assert rows[0] == [
        "Volunteer",
        "Email",
        "Status",
        "Calls",
        "Conversations",
        *[o.label for o in outcomes],
        "First call (UTC)",
        "Last call (UTC)",
    ]
    expected = []
    for membership in Membership.objects.filter(campaign=seeded).select_related("user"):
        calls = Call.objects.filter(campaign=seeded, volunteer=membership.user).order_by("ended_at")
        expected.append(
            [
                membership.user.name,
                membership.user.email,
                membership.get_status_display(),
                calls.count(),
                calls.filter(outcome__is_conversation=True).count(),
                *[calls.filter(outcome=o).count() for o in outcomes],
                _utc(calls.first().ended_at) if calls else "",
                _utc(calls.last().ended_at) if calls else "",
            ]
        )
    expected.sort(key=lambda row: row[0].lower())
    assert len(expected) == 5 and sum(row[3] for row in expected) == 235
    assert rows[1:] == [[cell(v, file_format) for v in row] for row in expected]


def test_no_cell_of_an_xlsx_export_is_a_formula(seeded):
    job = done_export(seeded, "calls", "xlsx")
    with zipfile.ZipFile(exports.full_path(job)) as xlsx:
        sheet = xlsx.read("xl/worksheets/sheet1.xml").decode()
    assert "<f>" not in sheet and "<f " not in sheet
    cells = [
        c
        for row in openpyxl.load_workbook(exports.full_path(job)).active.iter_rows()
        for c in row
        if c.value == EVIL
    ]
    assert cells and all(c.data_type == "s" for c in cells)


def test_csv_export_cells_never_start_a_formula(seeded):
    rows = read_back(done_export(seeded, "calls", "csv"))
    cells = [c for row in rows for c in row]
    assert "'" + EVIL in cells
    assert not [c for c in cells if c.startswith(("=", "+", "-", "@"))]


def test_control_characters_xlsx_cannot_hold_are_left_out_not_a_failure(seeded):
    Call.objects.filter(campaign=seeded).update(notes="bell\x07 here")
    job = done_export(seeded, "calls", "xlsx")
    assert job.status == "done"
    assert read_back(job)[1][-5] == "bell here"


def test_progress_is_stored_while_rows_are_written(seeded, monkeypatch):
    monkeypatch.setattr(exports, "PROGRESS_EVERY", 50)
    seen = []
    real = exports.EXPORTS["calls"]

    def watched(campaign):
        table = real.table(campaign)

        def rows():
            for n, row in enumerate(table.rows):
                if n % 50 == 1:
                    seen.append(Export.objects.values_list("rows_written", "rows_total").get())
                yield row

        return exports.Table(table.header, table.total, rows())

    monkeypatch.setitem(exports.EXPORTS, "calls", exports.ExportKind("calls", "C", "", watched))
    done_export(seeded, "calls", "csv")
    assert seen == [(n, 235) for n in range(0, 235, 50)]


def test_a_failure_is_stored_and_shown_with_its_reason(client, seeded, monkeypatch, settings):
    def broken(campaign):
        def rows():
            yield ["one row"]
            raise OSError("No space left on device")

        return exports.Table(["Heading"], 2, rows())

    monkeypatch.setitem(exports.EXPORTS, "calls", exports.ExportKind("calls", "C", "", broken))
    client.force_login(organiser_of(seeded))
    client.post(
        reverse("reports:exports", args=[seeded.public_id]), {"kind": "calls", "format": "csv"}
    )

    job = Export.objects.get()
    assert job.status == "failed" and job.error == "OSError: No space left on device"
    assert not list((Path(settings.MEDIA_ROOT) / "exports").rglob("*.*"))  # nothing half-written
    html = client.get(reverse("reports:exports", args=[seeded.public_id])).content.decode()
    assert "Failed: OSError: No space left on device" in html


def test_an_unknown_export_is_refused_with_a_reason(client, seeded):
    client.force_login(organiser_of(seeded))
    response = client.post(
        reverse("reports:exports", args=[seeded.public_id]), {"kind": "everything", "format": "csv"}
    )
    assert response.status_code == 400
    assert "Choose what to export" in response.content.decode()
    assert not Export.objects.exists()


def test_an_export_waits_for_the_worker_and_the_page_polls_until_done(
    client, seeded, settings, monkeypatch
):
    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
    client.force_login(organiser_of(seeded))
    page = reverse("reports:exports", args=[seeded.public_id])
    response = client.post(page, {"kind": "answers", "format": "xlsx"})
    assert response.status_code == 302
    job = Export.objects.get()
    status = reverse("reports:export_status", args=[seeded.public_id, job.public_id])
    html = client.get(page).content.decode()
    assert "Waiting to start" in html and f'hx-get="{status}"' in html

    run_the_queue(monkeypatch)

    html = client.get(status).content.decode()
    assert "Ready" in html and "hx-get" not in html
    assert reverse("reports:export_download", args=[seeded.public_id, job.public_id]) in html


def test_downloads_are_attachments_never_cached_and_audited(client, seeded):
    organiser = organiser_of(seeded)
    client.force_login(organiser)
    client.post(
        reverse("reports:exports", args=[seeded.public_id]), {"kind": "calls", "format": "csv"}
    )
    job = Export.objects.get()
    response = client.get(
        reverse("reports:export_download", args=[seeded.public_id, job.public_id])
    )
    assert response.status_code == 200
    assert response["Content-Disposition"] == f'attachment; filename="{job.file_name}"'
    assert "no-store" in response["Cache-Control"] and "private" in response["Cache-Control"]
    body = b"".join(response.streaming_content).decode("utf-8-sig")
    assert body.startswith("Call id,")
    events = list(
        AuditEvent.objects.filter(object_id=job.public_id)
        .order_by("pk")
        .values_list("action", "actor")
    )
    assert events == [("export.requested", organiser.pk), ("export.downloaded", organiser.pk)]


def test_another_teams_organiser_gets_404_for_page_status_and_file(client, seeded):
    job = done_export(seeded)
    client.force_login(make_organiser(make_team()))
    args = [seeded.public_id, job.public_id]
    for url in (
        reverse("reports:exports", args=[seeded.public_id]),
        reverse("reports:export_status", args=args),
        reverse("reports:export_download", args=args),
    ):
        assert client.get(url).status_code == 404
    # Nor does an export of another campaign open under this campaign's address.
    other = make_campaign(make_organiser(make_team()))
    client.force_login(organiser_of(other))
    assert (
        client.get(
            reverse("reports:export_download", args=[other.public_id, job.public_id])
        ).status_code
        == 404
    )


def test_files_are_deleted_after_the_keep_time(seeded, settings):
    settings.RINGROUND_EXPORTS_KEEP_HOURS = 2
    job = done_export(seeded)
    path = exports.full_path(job)
    assert job.expires_at == job.finished_at + dt.timedelta(hours=2)

    assert exports.purge_exports(now=job.finished_at + dt.timedelta(hours=1, minutes=59)) == 0
    assert path.exists()
    Export.objects.filter(pk=job.pk).update(expires_at=timezone.now() - dt.timedelta(seconds=1))
    call_command("apply_retention", stdout=io.StringIO())

    job.refresh_from_db()
    assert not path.exists() and not path.parent.exists()
    assert (job.status, job.file_path) == ("deleted", "")
    assert "Deleted after 2 hours" in job.error


def test_erasure_deletes_every_export_of_the_persons_team_and_no_other(seeded):
    kept = done_export(make_campaign(make_organiser(make_team()), targets=1))
    job = done_export(seeded, "answers", "xlsx")
    path = exports.full_path(job)
    contact = Call.objects.filter(campaign=seeded).exclude(answers={}).first().target.contact
    assert contact.last_name in str(read_back(job))

    privacy.erase_contact(contact)

    job.refresh_from_db()
    assert not path.exists() and job.status == "deleted" and job.error == exports.ERASED_REASON
    assert exports.full_path(Export.objects.get(pk=kept.pk)) is not None


def test_an_export_being_written_when_someone_is_erased_keeps_no_file(seeded, monkeypatch):
    """The erasure marks it deleted mid-write; the writer, finding that, removes its file."""
    contact = Call.objects.filter(campaign=seeded).first().target.contact
    real = exports.EXPORTS["calls"]

    def erased_midway(campaign):
        table = real.table(campaign)

        def rows():
            for n, row in enumerate(table.rows):
                if n == 10:
                    privacy.erase_contact(contact)
                yield row

        return exports.Table(table.header, table.total, rows())

    monkeypatch.setitem(
        exports.EXPORTS, "calls", exports.ExportKind("calls", "C", "", erased_midway)
    )
    job = done_export(seeded)
    assert job.status == "deleted" and exports.full_path(job) is None
    assert not (exports.exports_folder() / job.public_id).exists()
