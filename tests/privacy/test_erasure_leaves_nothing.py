"""After an erasure, the person is nowhere: not in any column of any table (every model's and
every other table's, read raw), nor in any file of the data folder, after they have been
through everything that copies personal data: an import (its preview, a rejected row, its
uploaded file, its background task, and a failure quoting their row), an upload not yet imported, a call with notes and
survey answers, an export and a kept export file, a subject access report and the audit trail.

One place keeps their number on purpose: the suppression list, so that nobody calls them
again (an erasure on request)."""

from pathlib import Path

import pytest
from django.apps import apps
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import IntegrityError, connection
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from ringround.audit.services import record_event
from ringround.calling.models import Call
from ringround.campaigns import services as campaign_services
from ringround.contacts.models import Contact, Suppression
from ringround.imports import jobs
from ringround.imports import services as import_services
from ringround.imports.models import Import
from ringround.imports.tasks import import_file
from ringround.privacy import services
from ringround.reports.models import Export
from tests.factories import (
    AT_ANY_HOUR,
    UserFactory,
    claim_and_record,
    make_campaign,
    make_organiser,
    make_volunteer,
    the_team,
)
from tests.imports.conftest import csv_bytes
from tests.queue import run_the_queue

pytestmark = pytest.mark.django_db

FIRST, LAST = "Zephyrine", "Quillfeather"
TYPED = "0117 496 0777"  # a drama number no factory hands out
E164 = "+441174960777"
EMAIL = "Zephyrine.Quillfeather@example.net"
NEEDLES = [FIRST, LAST, TYPED, TYPED.replace(" ", ""), E164, "1174960777", EMAIL]
HEADER = ["First name", "Surname", "Telephone", "Email", "Notes"]


@pytest.fixture(autouse=True)
def _data_folder(settings, tmp_path):
    """A data folder of the test's own, laid out as in production, and tasks kept in the
    database until a worker runs them."""
    settings.DATA_DIR = tmp_path / "data"
    settings.MEDIA_ROOT = settings.DATA_DIR / "media"
    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}


def upload(rows, name, organiser, campaign=None) -> Import:
    data = csv_bytes(rows, header=HEADER)
    return import_services.store_upload(
        SimpleUploadedFile(name, data), by=organiser, campaign=campaign, team=the_team()
    )


def tables() -> list[str]:
    """Every table: each model's (apps.get_models) and any other (many-to-many, packages')."""
    found = set(connection.introspection.table_names())
    models = {m._meta.db_table for m in apps.get_models() if m._meta.managed}
    assert models <= found
    return sorted(found)


def found_in_tables() -> list[tuple[str, str, str]]:
    """(table, column, what) for every cell of every table holding any needle."""
    hits = []
    quote = connection.ops.quote_name
    with connection.cursor() as cursor:
        for table in tables():
            cursor.execute(f"SELECT * FROM {quote(table)}")
            columns = [c[0] for c in cursor.description]
            for row in cursor.fetchall():
                cells = dict(zip(columns, row, strict=True))
                if table == Suppression._meta.db_table and cells["reason"] == "erasure":
                    cells.pop("phone")  # kept on purpose: never called again
                for column, value in cells.items():
                    text = _text(value).lower()
                    hits += [(table, column, n) for n in NEEDLES if n.lower() in text]
    return hits


def _text(value) -> str:
    if isinstance(value, bytes | memoryview):
        return bytes(value).decode("utf-8", "replace")
    return str(value)


def found_in_files(folder: Path) -> list[tuple[str, str]]:
    hits = []
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        text = path.read_bytes().decode("utf-8", "replace").lower()
        hits += [(str(path.relative_to(folder)), n) for n in NEEDLES if n.lower() in text]
    return hits


def test_after_erasure_the_person_is_in_no_table_and_no_file(settings, monkeypatch):
    admin = UserFactory(is_superuser=True, is_staff=True)
    organiser = make_organiser()
    campaign = make_campaign(organiser, **AT_ANY_HOUR)
    comment = campaign_services.add_question(campaign, text="Anything else?", kind="text")
    volunteer = make_volunteer(campaign)

    # An import, run by the background worker: the person's row is in its preview, a second
    # row of theirs (no usable number) is rejected, and the contact and target are made.
    job = upload(
        [
            [FIRST, LAST, TYPED, EMAIL, f"{FIRST} prefers evenings"],
            ["Ann", "Other", "0117 496 0001", "ann@example.net", ""],
            [FIRST, LAST, "not a number", EMAIL.lower(), "second row"],
        ],
        "members.csv",
        organiser,
        campaign,
    )
    import_services.set_mapping(job, ["first_name", "last_name", "phone", "email", "custom"])
    import_services.start_import(job, by=organiser)
    run_the_queue(monkeypatch)
    job.refresh_from_db()
    assert (job.status, job.created, job.rejected) == (Import.Status.DONE, 2, 1)
    person = Contact.objects.get(phone=E164)
    assert FIRST in str(job.preview_rows)

    # A failure quoting their row, as a database error quotes a key: in the import's error,
    # and in the traceback django-tasks keeps of the failed task.
    failure = IntegrityError(f"Key (phone)=({E164}) already exists; row: {EMAIL}")
    failed = DBTaskResult.objects.get(pk=import_file.enqueue(job.pk).id)
    failed.set_failed(failure)
    Import.objects.filter(pk=job.pk).update(error=jobs.import_error_message(failure))

    # An upload of them left before its mapping (its file is in the data folder).
    waiting = upload([[FIRST, LAST, TYPED, EMAIL, ""]], "later.csv", organiser)
    assert Path(waiting.file_path).exists()

    campaign.refresh_from_db()  # the import gave it targets (and their time zones)
    # A call: notes and a free-text answer about them, and a volunteer seeing their card.
    lease = claim_and_record(
        campaign,
        volunteer,
        "answered",
        answers={comment.key: f"Email {EMAIL} or ring {TYPED}"},
        notes=f"{FIRST} {LAST} asked for a leaflet",
        now=timezone.now(),
    )
    assert lease.contact.pk == person.pk
    record_event(volunteer, "contact.view", person, campaign=campaign, fields=["first_name"])

    # An export and a subject access report, as the pages give them.
    organiser_client, admin_client = Client(), Client()
    organiser_client.force_login(organiser)
    admin_client.force_login(admin)
    export = organiser_client.get(reverse("reports:export_calls", args=[campaign.public_id]))
    assert FIRST in b"".join(export.streaming_content).decode()
    # And an export kept in the data folder, written by the background worker.
    exports_page = reverse("reports:exports", args=[campaign.public_id])
    organiser_client.post(exports_page, {"kind": "answers", "format": "csv"})
    run_the_queue(monkeypatch)
    kept = Export.objects.get()
    assert kept.status == "done"
    assert FIRST in (Path(settings.MEDIA_ROOT) / kept.file_path).read_text(encoding="utf-8-sig")
    report = admin_client.post(reverse("privacy:subject_access", args=[person.public_id]))
    assert EMAIL in report.content.decode()
    held = {copy["where"] for copy in report.json()["contacts"][0]["in_imports"]}
    assert {"the import's error message", "a background task's record"} <= held
    assert found_in_tables() and found_in_files(settings.DATA_DIR)  # the scans see them

    services.erase_contact(person, by=admin)

    assert found_in_tables() == []
    assert found_in_files(settings.DATA_DIR) == []
    assert Export.objects.get().status == "deleted"  # the kept export went with them
    assert Suppression.objects.get(phone=E164).reason == Suppression.Reason.ERASURE
    assert Call.objects.filter(target__contact=person).count() == 1  # the count stays
    # The import's own run and the export's stay: they name nobody.
    assert DBTaskResult.objects.successful().count() == 2
