"""Running an import job: claiming it (one runner at a time), running its importer to the
end, and recording how it ended. Called in the background worker (``tasks``) or at once from
the command line; ``services.start_import`` queues it."""

import datetime as dt
import shutil
from pathlib import Path

from django.conf import settings
from django.db import connection
from django.db.models import Q
from django.utils import timezone

from ringround import events
from ringround.audit.services import record_event
from ringround.contacts import staged as staging

from .base import BIG_FILE_BYTES, import_running
from .contacts import ContactImporter
from .models import Import
from .readers import FileProblem
from .staged import StagedContactImporter
from .suppressions import SuppressionImporter


class ImportBusy(Exception):
    """The import is already running somewhere else."""


def is_dead(job: Import) -> bool:
    """Marked running, but no process is running it: killed, or its machine went down.

    Known at once on PostgreSQL (a running import holds a lock that dies with its process);
    elsewhere when nothing has been heard from it for a couple of minutes."""
    if job.status != Import.Status.RUNNING:
        return False
    return job.is_stalled or import_running() is False


def run_import(job: Import, **options) -> Import:
    """Run an import to the end (or until ``stop_after_batches``). Everything written stays
    written if it stops; ``resume_import`` or running it again carries on from there."""
    job.refresh_from_db()
    stale = timezone.now() - dt.timedelta(seconds=Import.STALLED_AFTER_SECONDS)
    if is_dead(job):
        stale = job.heartbeat_at + dt.timedelta(microseconds=1)  # this one, as it was seen
    claimed = (
        Import.objects.filter(pk=job.pk)
        .filter(
            Q(status__in=[Import.Status.QUEUED, Import.Status.FAILED])
            | Q(status=Import.Status.RUNNING, heartbeat_at__lt=stale)
        )
        .update(status=Import.Status.RUNNING, heartbeat_at=timezone.now(), error="")
    )
    job.refresh_from_db()
    if not claimed:
        if job.status == Import.Status.DONE:
            return job
        raise ImportBusy("This import is running already.")
    if job.started_at is None:
        job.started_at = timezone.now()
        job.save(update_fields=["started_at"])
    importer = importer_for(job, **options)
    try:
        finished = importer.run()
        if not finished:
            return job  # stopped on purpose, as if killed: resumable
        extra = importer.finish()
    except BaseException as exc:
        message = import_error_message(exc)
        Import.objects.filter(pk=job.pk).update(status=Import.Status.FAILED, error=message)
        job.status, job.error = Import.Status.FAILED, message
        record_event(job.created_by, "import.failed", job, campaign=job.campaign, error=message)
        raise
    job.status = Import.Status.DONE
    job.finished_at = timezone.now()
    job.progress_done = job.progress_total
    job.save(update_fields=["status", "finished_at", "progress_done"])
    events.import_finished.send(sender=Import, job=job)
    record_event(
        job.created_by,
        "import.finish",
        job,
        campaign=job.campaign,
        **job.counts(),
        duplicates=job.duplicates,
        targets_added=job.targets_added,
        **extra,
    )
    if job.delete_file_when_done:
        _delete_upload(job)
    return job


def import_error_message(exc: BaseException) -> str:
    if isinstance(exc, FileProblem):
        return str(exc)
    if isinstance(exc, KeyboardInterrupt | SystemExit):
        return "The import was stopped. Resume it to carry on where it stopped."
    return (
        f"The import stopped with an error ({type(exc).__name__}: {str(exc)[:300]}). "
        "Everything before it is saved; resume it to carry on."
    )


ENGINES = ("auto", "staged", "batches")


def importer_for(job: Import, *, engine: str | None = None, **options):
    """The importer for a job; ``engine`` (else ``RINGROUND_IMPORT_ENGINE``) chooses how
    contacts are written on PostgreSQL."""
    if job.kind == Import.Kind.SUPPRESSIONS:
        return SuppressionImporter(job, **options)
    if writes_staged(job, engine or settings.RINGROUND_IMPORT_ENGINE):
        return StagedContactImporter(job, **options)
    return ContactImporter(job, **options)


def writes_staged(job: Import, engine: str) -> bool:
    """Whether the job's contacts go through a staging table (``imports.staged``). An import
    that has begun carries on the way it began, whatever the setting says now."""
    if engine not in ENGINES:
        raise ValueError(f"unknown import engine {engine!r}: one of {', '.join(ENGINES)}")
    if connection.vendor != "postgresql":
        return False
    if job.position:
        return staging.exists(job.pk)
    if engine == "auto":
        return job.size_bytes >= BIG_FILE_BYTES
    return engine == "staged"


def _delete_upload(job: Import) -> None:
    staging.drop(job.pk)
    path = Path(job.file_path)
    imports_folder = (Path(settings.MEDIA_ROOT) / "imports").resolve()
    if imports_folder in path.resolve().parents:
        shutil.rmtree(path.parent, ignore_errors=True)
