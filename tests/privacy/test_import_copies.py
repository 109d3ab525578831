"""Subject access and erasure reach what imports keep of a person besides the contact: the
preview of a file's first rows, its rejected rows, and an uploaded file not yet imported; and
those copies are purged on a timetable."""

import datetime as dt
import io
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.utils import timezone

from ringround.imports import copies
from ringround.imports import services as import_services
from ringround.imports.models import Import, RejectedRow
from ringround.privacy import services
from tests.factories import the_team
from tests.imports.conftest import csv_bytes, import_now, write_csv

pytestmark = pytest.mark.django_db

# Sam (the world's person) as other files typed them: by membership number with a number
# that cannot be called (rejected), by email, and by phone with other punctuation.
SAMS_ROWS = [
    ["M-12345", "Sam", "Person", "", "0117 496 01", "Holborn", ""],
    ["", "Samuel", "P", "", "(0117) 496-0123", "", ""],
]
OTHERS = [["M-777", "Alex", "Other", "", "020 7946 0777", "Holborn", ""]]


def imported_with_sam(tmp_path):
    return import_now(write_csv(tmp_path / "members.csv", SAMS_ROWS + OTHERS))


def upload_waiting_for_its_mapping(organiser, name="later.csv"):
    upload = SimpleUploadedFile(name, csv_bytes(OTHERS + SAMS_ROWS))
    return import_services.store_upload(upload, by=organiser, team=the_team())


def test_subject_access_reports_the_copies_imports_hold(world, tmp_path):
    job = imported_with_sam(tmp_path)
    waiting = upload_waiting_for_its_mapping(world.admin)

    (person,) = services.subject_access([world.person], by=world.admin)["contacts"]

    where = {(copy["import"], copy["where"]) for copy in person["in_imports"]}
    assert (job.public_id, "rejected row 2") in where
    assert (job.public_id, "preview of the file's first rows") in where
    assert (waiting.public_id, "uploaded file, not yet imported") in where
    assert not any("Alex" in copy["row"] for copy in person["in_imports"])


def test_erasure_removes_the_person_from_previews_rejected_rows_and_waiting_uploads(
    world, tmp_path
):
    job = imported_with_sam(tmp_path)
    waiting = upload_waiting_for_its_mapping(world.admin)
    other = upload_waiting_for_its_mapping(world.admin, name="others.csv")
    other_path = Path(other.file_path)
    Import.objects.filter(pk=other.pk).update(preview_rows=[OTHERS[0]])
    other_path.write_bytes(csv_bytes(OTHERS))
    assert any("M-12345" in cells for cells in RejectedRow.objects.values_list("values", flat=True))

    services.erase_contact(world.person, by=world.admin)

    job.refresh_from_db()
    assert all("Sam" not in row and "Samuel" not in row for row in job.preview_rows)
    assert ["M-777", "Alex", "Other", "", "020 7946 0777", "Holborn", ""] in job.preview_rows
    held = [cells for cells in RejectedRow.objects.values_list("values", flat=True)]
    assert not any("M-12345" in cells for cells in held)
    waiting.refresh_from_db()
    assert waiting.status == Import.Status.FAILED and "erased" in waiting.error
    assert waiting.file_path == "" and not waiting.can_resume
    assert other_path.exists(), "an upload that does not name them is left alone"
    (person,) = services.subject_access([world.person], by=world.admin)["contacts"]
    assert person["in_imports"] == []


def test_previews_rejected_rows_and_abandoned_uploads_are_purged_in_time(world, tmp_path):
    old = imported_with_sam(tmp_path)
    recent = import_now(write_csv(tmp_path / "recent.csv", SAMS_ROWS))
    abandoned = upload_waiting_for_its_mapping(world.admin)
    fresh = upload_waiting_for_its_mapping(world.admin, name="fresh.csv")
    now = timezone.now()
    Import.objects.filter(pk=old.pk).update(finished_at=now - dt.timedelta(days=31))
    Import.objects.filter(pk=abandoned.pk).update(created_at=now - dt.timedelta(hours=25))
    abandoned_file = Path(abandoned.file_path)

    out = io.StringIO()
    call_command("apply_retention", stdout=out)

    old.refresh_from_db(), recent.refresh_from_db(), abandoned.refresh_from_db()
    assert old.preview_rows == [] and not old.rejects.exists()
    assert recent.preview_rows and recent.rejects.exists()
    assert not abandoned_file.exists() and abandoned.status == Import.Status.FAILED
    assert Path(fresh.file_path).exists()
    assert "1 abandoned uploads deleted" in out.getvalue()


def test_a_number_is_recognised_however_it_was_typed():
    sam = copies.Person.of(
        emails=["Sam@Example.org"], external_ids=["M-1"], numbers=["+441174960123"]
    )
    for cell in ("0117 496 0123", "+44 (0)117 496-0123", "00441174960123", "sam@example.org"):
        assert sam.named_in(["x", cell]), cell
    for cell in ("0117 496 0124", "496 0123", "M-12", ""):
        assert not sam.named_in(["x", cell]), cell
