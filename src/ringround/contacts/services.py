"""Operations on contacts, the suppression list, and imports of both."""

import csv
import datetime as dt
import hashlib
import shutil
from pathlib import Path

from django.conf import settings
from django.db.models import Q
from django.utils import timezone
from django.utils.text import get_valid_filename

from ringround.audit.services import record_event
from ringround.csvsafe import Echo, neutralise
from ringround.ids import new_token

from .importers.mapping import (
    apply_saved,
    check_mapping,
    guess_mapping,
    mapping_fields,
    same_shape,
)
from .importers.readers import FileInfo, FileProblem, inspect_file
from .importers.rows import clean_tags
from .models import Contact, Import, SavedMapping, Suppression
from .phones import normalise, time_zone_for


def create_contact(*, phone: str, default_country: str = "GB", tags=(), **fields) -> Contact:
    """One contact from what a person typed; raises ``InvalidPhone`` with the reason."""
    number = normalise(phone, default_country)
    contact = Contact(
        phone=number.e164,
        phone_as_typed=phone,
        phone_type=number.kind,
        time_zone=time_zone_for(number.e164),
        **fields,
    )
    contact.set_tags(tags)
    contact.full_clean(exclude=["public_id"])
    contact.save()
    return contact


def add_suppression(
    e164: str, *, reason=Suppression.Reason.REQUESTED, by=None, note="", request=None
):
    """Put a number (E.164) on the suppression list; ``(suppression, created)``.

    Call ``calling.targets.suppress_number`` instead: it also stops the number's targets."""
    suppression, created = Suppression.objects.get_or_create(
        phone=e164, defaults={"reason": reason, "note": note[:500], "created_by": by}
    )
    if created:
        record_event(by, "suppression.add", suppression, request=request, reason=reason)
    return suppression, created


def remove_suppression(e164: str, *, by=None, request=None) -> bool:
    """Take a number (E.164) off the suppression list; whether it was on it."""
    deleted, _ = Suppression.objects.filter(phone=e164).delete()
    if deleted:
        record_event(by, "suppression.remove", None, request=request, phone=e164)
    return bool(deleted)


# -- imports ---------------------------------------------------------------------------------
#
# An import goes: store_upload / create_import (the file is inspected; status "mapping") ->
# set_mapping -> start_import (queued; a background task, or at once from the command line) ->
# run_import (batches committed one by one; "done" or "failed", resumable).


class ImportBusy(Exception):
    """The import is already running somewhere else."""


def store_upload(uploaded, *, by, kind=Import.Kind.CONTACTS, request=None, **options) -> Import:
    """Keep an uploaded file in the data folder and inspect it; ``FileProblem`` if unusable.

    The size is checked before a byte is stored, the content (not the name) decides what the
    file is, and a refused file is deleted at once."""
    limit = settings.RINGROUND_MAX_UPLOAD_BYTES
    if uploaded.size is not None and uploaded.size > limit:
        raise FileProblem(too_big_message(uploaded.size, limit))
    folder = Path(settings.MEDIA_ROOT) / "imports" / new_token()[:16]
    folder.mkdir(parents=True, exist_ok=True)
    name = get_valid_filename(Path(uploaded.name or "upload").name)[:200] or "upload"
    path = folder / name
    with open(path, "wb") as out:
        for chunk in uploaded.chunks():
            out.write(chunk)
    try:
        return create_import(
            path=path,
            original_name=uploaded.name or name,
            kind=kind,
            by=by,
            delete_file_when_done=True,
            max_bytes=limit,
            request=request,
            **options,
        )
    except FileProblem:
        shutil.rmtree(folder, ignore_errors=True)
        raise


def too_big_message(size: int, limit: int) -> str:
    return (
        f"The file is {size / 1024 / 1024:.0f} MB; the limit is {limit / 1024 / 1024:.0f} MB. "
        "Split it into smaller files."
    )


def create_import(
    *,
    path,
    original_name: str = "",
    kind=Import.Kind.CONTACTS,
    by=None,
    campaign=None,
    default_country: str = "GB",
    tags="",
    saved_mapping: SavedMapping | None = None,
    delete_file_when_done: bool = False,
    suppression_reason=Suppression.Reason.TPS,
    max_bytes: int | None = None,
    request=None,
    checksum: str = "",
) -> Import:
    """Inspect a file and record it as an import waiting for its mapping (guessed, or a saved
    one); raises ``FileProblem`` with the reason, storing nothing."""
    path = Path(path).resolve()
    suppressions = kind == Import.Kind.SUPPRESSIONS
    info = inspect_file(path, has_header=None if suppressions else True, max_bytes=max_bytes)
    if suppressions:
        mapping = suppression_mapping(info.headers)
    elif saved_mapping is not None:
        mapping = apply_saved(info.headers, saved_mapping.fields)
    else:
        mapping = guess_mapping(info.headers)
    if isinstance(tags, list | tuple | set):
        tags = ",".join(tags)
    job = Import.objects.create(
        kind=kind,
        created_by=by if getattr(by, "is_authenticated", False) else None,
        campaign=campaign,
        file_path=str(path),
        delete_file_when_done=delete_file_when_done,
        original_name=(original_name or path.name)[:255],
        file_format=info.format,
        size_bytes=info.size,
        checksum=checksum or file_checksum(path),
        encoding=info.encoding,
        delimiter=info.delimiter,
        sheet_name=info.sheet_name,
        has_header=info.has_header,
        headers=info.headers,
        preview_rows=info.preview,
        mapping=mapping,
        default_country=(default_country or "GB").upper(),
        tags=",".join(sorted(clean_tags(tags)))[:500],
        suppression_reason=suppression_reason,
        progress_total=info.size if info.format == "csv" else 0,
    )
    record_event(
        by,
        "import.upload",
        job,
        campaign=campaign,
        request=request,
        file=job.original_name,
        kind=kind,
        detected=info.describe(),
    )
    return job


def describe_file(job: Import) -> str:
    """What was detected, in words: "CSV, Windows-1252, semicolon-separated, 6 columns"."""
    return FileInfo(
        format=job.file_format,
        size=job.size_bytes,
        headers=job.headers,
        encoding=job.encoding,
        delimiter=job.delimiter,
        sheet_name=job.sheet_name,
    ).describe()


def suppression_mapping(headers) -> list[str]:
    """The numbers are in the first column that looks like phones (else the first)."""
    guessed = guess_mapping(headers)
    column = guessed.index("phone") if "phone" in guessed else 0
    return ["phone" if i == column else "ignore" for i in range(len(headers))]


def file_checksum(path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(1024 * 1024):
            digest.update(chunk)
    return digest.hexdigest()


def matching_saved_mapping(headers) -> SavedMapping | None:
    """A saved mapping made for a file of exactly this shape, if there is one."""
    for saved in SavedMapping.objects.all():
        if same_shape(headers, saved.headers):
            return saved
    return None


class MappingProblem(ValueError):
    pass


def apply_saved_mapping(job: Import, saved: SavedMapping) -> Import:
    """Use a saved mapping for the columns it knows (the others stay guessed)."""
    job.mapping = apply_saved(job.headers, saved.fields)
    job.save(update_fields=["mapping"])
    return job


def set_mapping(
    job: Import,
    mapping: list[str],
    *,
    save_as: str = "",
    by=None,
    default_country: str | None = None,
    campaign=None,
    tags=None,
) -> Import:
    """Fix the column mapping (and the import's options); optionally keep it by name."""
    if job.status != Import.Status.MAPPING:
        raise MappingProblem("This import has already started.")
    problems = check_mapping(job.headers, mapping, kind=job.kind)
    if problems:
        raise MappingProblem(" ".join(problems))
    job.mapping = list(mapping)
    if default_country:
        job.default_country = default_country.upper()
    if campaign is not None:
        job.campaign = campaign
    if tags is not None:
        job.tags = ",".join(sorted(clean_tags(tags)))[:500]
    job.save(update_fields=["mapping", "default_country", "campaign", "tags"])
    if save_as:
        SavedMapping.objects.update_or_create(
            name=save_as.strip()[:100],
            defaults={
                "headers": job.headers,
                "fields": mapping_fields(job.headers, job.mapping),
                "created_by": by if getattr(by, "is_authenticated", False) else None,
            },
        )
    return job


def start_import(job: Import, *, by=None, request=None, background: bool = True) -> Import:
    """Queue the import: a background task (the page shows its progress), or run it now."""
    updated = Import.objects.filter(
        pk=job.pk, status__in=[Import.Status.MAPPING, Import.Status.FAILED]
    ).update(status=Import.Status.QUEUED, error="")
    if not updated:
        job.refresh_from_db()
        if not is_dead(job):
            raise ImportBusy("This import has already started.")
        Import.objects.filter(pk=job.pk, status=Import.Status.RUNNING).update(
            status=Import.Status.QUEUED
        )
    job.status = Import.Status.QUEUED
    record_event(
        by, "import.start", job, campaign=job.campaign, request=request, resume_at=job.position
    )
    if background:
        from .tasks import import_file

        import_file.enqueue(job.pk)
    return job


def is_dead(job: Import) -> bool:
    """Marked running, but no process is running it: killed, or its machine went down.

    Known at once on PostgreSQL (a running import holds a lock that dies with its process);
    elsewhere when nothing has been heard from it for a couple of minutes."""
    from .importers.base import import_running

    if job.status != Import.Status.RUNNING:
        return False
    return job.is_stalled or import_running() is False


def resume_import(job: Import, *, by=None, request=None, background: bool = True) -> Import:
    """Carry on after a crash or kill, from the last committed batch."""
    if not (job.can_resume or is_dead(job)):
        raise ImportBusy("This import is not stopped, so it cannot be resumed.")
    return start_import(job, by=by, request=request, background=background)


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


def importer_for(job: Import, **options):
    from .importers.contacts import ContactImporter
    from .importers.suppressions import SuppressionImporter

    importer = SuppressionImporter if job.kind == Import.Kind.SUPPRESSIONS else ContactImporter
    return importer(job, **options)


def _delete_upload(job: Import) -> None:
    path = Path(job.file_path)
    imports_folder = (Path(settings.MEDIA_ROOT) / "imports").resolve()
    if imports_folder in path.resolve().parents:
        shutil.rmtree(path.parent, ignore_errors=True)


def rejected_rows_csv(job: Import):
    """The rejected rows as CSV lines: row number, reason, then the row as it was. Every cell
    is neutralised, so nothing in it runs as a formula when the file is opened."""
    writer = csv.writer(Echo())
    yield "\ufeff"  # so that spreadsheets read it as UTF-8
    yield writer.writerow(["row", "reason", *[neutralise(h) for h in job.headers]])
    rows = job.rejects.order_by("row_number", "pk").values_list("row_number", "reason", "values")
    for number, reason, values in rows.iterator(chunk_size=2000):
        yield writer.writerow([number, neutralise(reason), *[neutralise(v) for v in values]])
