"""The staged (COPY) importer's own behaviour: resuming after a stop, a failure or a server
crash; carrying on with the engine an import began with; and its staging table, a copy of the
file, going when the file goes."""

import datetime as dt

import pytest
from django.db import connection

from ringround.contacts import staged as staging
from ringround.contacts.models import Contact
from ringround.imports import copies, jobs, services
from ringround.imports.base import BIG_FILE_BYTES
from ringround.imports.contacts import ContactImporter
from ringround.imports.models import Import, RejectedRow
from ringround.imports.staged import StagedContactImporter
from tests.factories import the_team
from tests.imports.conftest import e164_landline, member_rows, write_csv
from tests.imports.test_import_contacts import resumable_rows

pytestmark = pytest.mark.django_db
postgres_only = pytest.mark.postgres_only

FIELDS = ("external_id", "phone", "other_phones", "tags")


def start(path, **options):
    job = services.create_import(path=path, team=the_team(), **options)
    services.start_import(job, background=False)
    return job


def whole_result(tmp_path, rows):
    job = start(write_csv(tmp_path / "whole.csv", rows))
    job = jobs.run_import(job, engine="staged", batch_size=4)
    result = (job.rows_read, job.created, job.updated, job.unchanged, job.rejected)
    contacts = sorted(Contact.objects.values_list(*FIELDS))
    Contact.objects.all().delete()
    return result, contacts


def counts(job):
    return (job.rows_read, job.created, job.updated, job.unchanged, job.rejected)


def as_if_dead(job):
    Import.objects.filter(pk=job.pk).update(heartbeat_at=job.heartbeat_at - dt.timedelta(hours=1))
    job.refresh_from_db()
    return job


@postgres_only
def test_a_stopped_import_resumes_after_its_last_staged_batch(tmp_path):
    rows = resumable_rows()
    expected, contacts = whole_result(tmp_path, rows)
    job = start(write_csv(tmp_path / "f.csv", rows))
    jobs.run_import(job, engine="staged", batch_size=4, stop_after_batches=2)
    job.refresh_from_db()
    assert job.status == Import.Status.RUNNING
    assert job.position == 8 and job.rows_read == 8 and job.rejected == 1
    # New people are stored at once; only rows that need matching wait in the staging table.
    assert Contact.objects.count() == job.created == 7
    assert staging.count(job.pk) == 0
    services.resume_import(as_if_dead(job), background=False)
    job = jobs.run_import(job, batch_size=4)  # the setting says nothing: it began staged
    assert job.status == Import.Status.DONE
    assert counts(job) == expected
    assert sorted(Contact.objects.values_list(*FIELDS)) == contacts
    assert RejectedRow.objects.filter(source_import=job).count() == 1
    assert not staging.exists(job.pk)


@postgres_only
def test_a_resumed_import_still_meets_the_rows_it_had_staged(tmp_path):
    """A person staged before the stop (twice in one batch) and repeated after it, by number
    only: the resumed import knows the staged row's keys, and merges rather than adds."""
    rows = member_rows(12)
    rows[1] = list(rows[0])  # twice in the first batch: staged
    rows[10] = ["", "Again", "", "", rows[0][4], "", "donor"]  # after the stop, by number
    whole = start(write_csv(tmp_path / "whole.csv", rows))
    expected = counts(jobs.run_import(whole, engine="batches", batch_size=4))
    contacts = sorted(Contact.objects.values_list("first_name", *FIELDS))
    assert ("First0", "M00000") == contacts[0][:2] and expected[1] == 10
    Contact.objects.all().delete()
    job = start(write_csv(tmp_path / "f.csv", rows))
    jobs.run_import(job, engine="staged", batch_size=4, stop_after_batches=1)
    assert staging.count(job.pk) == 2
    services.resume_import(as_if_dead(job), background=False)
    job = jobs.run_import(job, batch_size=4)
    assert counts(job) == expected
    assert sorted(Contact.objects.values_list("first_name", *FIELDS)) == contacts


@postgres_only
def test_a_failure_in_the_merge_writes_nothing_and_running_again_finishes(tmp_path, monkeypatch):
    rows = resumable_rows()  # row 10 repeats row 3: staged, the merge meets a matched row
    expected, contacts = whole_result(tmp_path, rows)
    real_apply = StagedContactImporter.apply

    def failing_apply(self, staged):
        real_apply(self, staged)  # writes, then dies before the merge commits
        raise RuntimeError("power cut")

    monkeypatch.setattr(StagedContactImporter, "apply", failing_apply)
    job = start(write_csv(tmp_path / "f.csv", rows))
    with pytest.raises(RuntimeError):
        jobs.run_import(job, engine="staged", batch_size=4)
    job.refresh_from_db()
    assert job.status == Import.Status.FAILED and "power cut" in job.error
    assert Contact.objects.count() == job.created == 12  # the new people, stored while staging
    assert staging.count(job.pk) == job.rows_read - job.rejected - job.created == 1
    monkeypatch.setattr(StagedContactImporter, "apply", real_apply)
    job = jobs.run_import(job, batch_size=4)
    assert counts(job) == expected
    assert sorted(Contact.objects.values_list(*FIELDS)) == contacts


@postgres_only
def test_the_staging_table_survives_a_server_crash(tmp_path):
    """The new people of the batches written are stored already: the rows staged with them
    must not vanish in a crash, as an unlogged table's do."""
    rows = resumable_rows()
    rows[5] = list(rows[4])
    job = start(write_csv(tmp_path / "f.csv", rows))
    jobs.run_import(job, engine="staged", batch_size=4, stop_after_batches=2)
    assert staging.count(job.pk) == 2
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT relpersistence FROM pg_class WHERE oid = to_regclass(%s)",
            [staging.table_for(job.pk)],
        )
        assert cursor.fetchone()[0] == "p"


@postgres_only
def test_a_staging_table_that_lost_rows_is_staged_again(tmp_path):
    """Rows the import counted as staged are not there (emptied by hand): it starts the file
    again, meets the people it stored as known, and makes nobody twice."""
    rows = resumable_rows()
    rows[5] = list(rows[4])
    expected, contacts = whole_result(tmp_path, rows)
    job = start(write_csv(tmp_path / "f.csv", rows))
    jobs.run_import(job, engine="staged", batch_size=4, stop_after_batches=2)
    with connection.cursor() as cursor:
        cursor.execute(f"TRUNCATE {staging.table_for(job.pk)}")
    services.resume_import(as_if_dead(job), background=False)
    job = jobs.run_import(job, batch_size=4)
    read, created, updated, unchanged, rejected = counts(job)
    assert (read, rejected) == (expected[0], expected[4])
    assert created + updated + unchanged == expected[1] + expected[2] + expected[3]
    assert sorted(Contact.objects.values_list(*FIELDS)) == contacts
    assert RejectedRow.objects.filter(source_import=job).count() == 1
    assert sum(n for n, _rows in job.rejection_summary.values()) == 1


@postgres_only
def test_an_import_carries_on_with_the_engine_it_began_with(tmp_path):
    path = write_csv(tmp_path / "f.csv", member_rows(10))
    batch_job = start(path)
    jobs.run_import(batch_job, engine="batches", batch_size=3, stop_after_batches=1)
    batch_job.refresh_from_db()
    assert type(jobs.importer_for(batch_job, engine="staged")) is ContactImporter
    staged_job = start(path)
    jobs.run_import(staged_job, engine="staged", batch_size=3, stop_after_batches=1)
    staged_job.refresh_from_db()
    assert type(jobs.importer_for(staged_job, engine="batches")) is StagedContactImporter


def test_big_files_are_staged_on_postgresql_and_never_on_sqlite(tmp_path):
    job = start(write_csv(tmp_path / "f.csv", member_rows(3)))
    assert type(jobs.importer_for(job, engine="auto")) is ContactImporter
    job.size_bytes = BIG_FILE_BYTES
    staged = type(jobs.importer_for(job, engine="auto")) is StagedContactImporter
    assert staged == (connection.vendor == "postgresql")
    assert type(jobs.importer_for(job, engine="batches")) is ContactImporter
    with pytest.raises(ValueError, match="unknown import engine"):
        jobs.importer_for(job, engine="fastest")


@postgres_only
def test_erasing_someone_in_an_unfinished_upload_drops_its_staged_rows(tmp_path, settings):
    folder = tmp_path / "media" / "imports" / "abc"
    folder.mkdir(parents=True)
    settings.MEDIA_ROOT = str(tmp_path / "media")
    rows = member_rows(10)
    rows[5] = list(rows[4])  # the person twice in one batch: staged, to be merged
    job = start(write_csv(folder / "f.csv", rows), delete_file_when_done=True)
    jobs.run_import(job, engine="staged", batch_size=3, stop_after_batches=2)
    Import.objects.filter(pk=job.pk).update(status=Import.Status.FAILED)
    assert staging.count(job.pk) == 2
    counted = copies.forget(copies.Person.of(numbers=[e164_landline(4)]))
    assert counted["uploaded_files"] == 1
    assert not staging.exists(job.pk)
    assert not (folder / "f.csv").exists()


@postgres_only
def test_staged_rows_are_in_a_subject_access_report_and_erasure_empties_them(tmp_path):
    """A file imported from the command line stays where it was; what was staged from it is
    a copy Ringround holds, reported and erased like the others."""
    rows = member_rows(10)
    rows[5] = list(rows[4])  # the person twice in one batch: staged, to be merged
    expected, contacts = whole_result(tmp_path, rows)
    job = start(write_csv(tmp_path / "f.csv", rows))
    jobs.run_import(job, engine="staged", batch_size=3, stop_after_batches=2)
    Import.objects.filter(pk=job.pk).update(status=Import.Status.FAILED)
    person = copies.Person.of(numbers=[e164_landline(4)])
    held = [copy for copy in copies.held_copies(person) if "staged" in copy["where"]]
    assert [copy["where"] for copy in held] == [
        "row 6, staged for an import not yet finished",
        "row 7, staged for an import not yet finished",
    ]
    assert e164_landline(4) in held[0]["row"]
    assert copies.forget(person)["staged_imports"] == 1
    assert staging.count(job.pk) == 0
    assert not [copy for copy in copies.held_copies(person) if "staged" in copy["where"]]
    job = jobs.run_import(job, batch_size=3)  # resumed: the file is staged again from its start
    # The people it had stored already are met again as known (unchanged), not made twice.
    read, created, updated, unchanged, rejected = counts(job)
    assert (read, updated, rejected) == (expected[0], expected[2], expected[4])
    assert created + unchanged == expected[1] + expected[3]
    assert sorted(Contact.objects.values_list(*FIELDS)) == contacts
