"""Personal data an import keeps besides the contacts it makes: the preview of the file's first
rows, the rejected rows, and the uploaded file until the import has run; and, should an import
fail with a message quoting a row, its error and the traceback its background task keeps.
Subject access reports them, erasure removes them, and they are purged on a timetable
(``purge_copies``).

A person is recognised in a file's raw cells, as typed, by their email, their external id or
one of their numbers (the national digits at the end of a cell, whatever punctuation or prefix
it was typed with)."""

import datetime as dt
import json
import re
import shutil
from dataclasses import dataclass
from pathlib import Path

import phonenumbers
from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from ringround.audit.services import record_event
from ringround.contacts import staged as staging

from .models import Import, RejectedRow
from .readers import FileProblem, open_rows

MIN_DIGITS = 7  # shorter runs of digits are not taken for a phone number
# A number as it may be written in a sentence: digits with spaces, brackets, dots or dashes.
_WRITTEN_NUMBER = re.compile(r"\d[\d ().\-]*\d")
ERROR_ERASED = "The error message named personal data since erased; resume to carry on."


@dataclass(frozen=True)
class Person:
    """What identifies someone in raw cells: lower-case emails and external ids, and the
    national significant digits of their numbers."""

    emails: frozenset[str]
    external_ids: frozenset[str]
    numbers: frozenset[str]

    @classmethod
    def of(cls, *, emails=(), external_ids=(), numbers=()) -> "Person":
        national = set()
        for e164 in numbers:
            try:
                parsed = phonenumbers.parse(e164, None)
            except phonenumbers.NumberParseException:
                continue
            national.add(str(parsed.national_number))
        return cls(
            frozenset(e.strip().lower() for e in emails if e and e.strip()),
            frozenset(x.strip().lower() for x in external_ids if x and x.strip()),
            frozenset(n for n in national if len(n) >= MIN_DIGITS),
        )

    def named_in(self, cells) -> bool:
        for cell in cells:
            text = str(cell or "").strip().lower()
            if not text:
                continue
            if text in self.emails or text in self.external_ids:
                return True
            digits = "".join(ch for ch in text if ch.isdigit())
            if len(digits) >= MIN_DIGITS and any(digits.endswith(n) for n in self.numbers):
                return True
        return False

    def mentioned_in(self, text: str) -> bool:
        """Free text (an error message, a traceback) that names this person somewhere in it."""
        text = (text or "").lower()
        if any(e in text for e in self.emails) or any(x in text for x in self.external_ids):
            return True
        for written in _WRITTEN_NUMBER.findall(text):
            digits = "".join(ch for ch in written if ch.isdigit())
            if len(digits) >= MIN_DIGITS and any(n in digits for n in self.numbers):
                return True
        return False


def _finished_tasks_naming(person: Person) -> list:
    """Finished background tasks whose arguments, result or traceback name the person (the
    import task is given an id and returns counts, but a failure's traceback may quote a row)."""
    finished = DBTaskResult.objects.finished().values_list(
        "pk", "args_kwargs", "return_value", "traceback"
    )
    return [
        pk
        for pk, args, value, traceback in finished.iterator(chunk_size=2000)
        if person.mentioned_in(" ".join([json.dumps(args), json.dumps(value), traceback]))
    ]


def _uploads_on_disk():
    """Imports whose uploaded file is still kept (an upload waiting for its mapping, or one
    that has not finished)."""
    return Import.objects.exclude(status=Import.Status.DONE).filter(delete_file_when_done=True)


def _file_names(job: Import, person: Person) -> bool:
    try:
        with open_rows(job.file_path, job.file_info(), header=False) as rows:
            return any(person.named_in(cells) for _number, cells, _problem in rows)
    except (FileProblem, OSError):
        return False


def held_copies(person: Person) -> list[dict]:
    """Where imports hold this person (for a subject access report): each copy's import, what
    kind of copy it is, and the row as it is held."""
    found = []
    for job in Import.objects.exclude(preview_rows=[]).order_by("created_at", "id"):
        for row in job.preview_rows:
            if person.named_in(row):
                found.append(_copy(job, "preview of the file's first rows", row))
    jobs = {}
    for job_id, number, cells in (
        RejectedRow.objects.order_by("source_import_id", "row_number")
        .values_list("source_import_id", "row_number", "values")
        .iterator(chunk_size=5000)
    ):
        if person.named_in(cells):
            job = jobs.get(job_id) or jobs.setdefault(job_id, Import.objects.get(pk=job_id))
            found.append(_copy(job, f"rejected row {number}", cells))
    for job in _uploads_on_disk():
        if Path(job.file_path).exists() and _file_names(job, person):
            found.append(_copy(job, "uploaded file, not yet imported", []))
    for job, number, row in _staged_naming(person):
        found.append(_copy(job, f"row {number}, staged for an import not yet finished", row))
    for job in Import.objects.exclude(error="").order_by("created_at", "id"):
        if person.mentioned_in(job.error):
            found.append(_copy(job, "the import's error message", [job.error]))
    for pk in _finished_tasks_naming(person):
        found.append({"task": str(pk), "where": "a background task's record", "row": []})
    return found


def _staged_naming(person: Person):
    """``(import, row number, row)`` of rows naming the person that a big import has staged
    (``contacts.staged``) and not yet merged into contacts."""
    for job in Import.objects.filter(pk__in=staging.import_ids()).order_by("created_at", "id"):
        for number, row in staging.staged_rows(job.pk):
            if person.named_in(row):
                yield job, number, list(row)


def _copy(job: Import, where: str, row) -> dict:
    return {"import": job.public_id, "file": job.original_name, "where": where, "row": row}


@transaction.atomic
def forget(person: Person, *, by=None) -> dict:
    """Erasure: remove this person from previews and rejected rows, and delete any uploaded
    file, not yet imported, that names them (its import is stopped, saying why)."""
    previews = rejected = files = 0
    for job in Import.objects.exclude(preview_rows=[]).select_for_update():
        kept = [row for row in job.preview_rows if not person.named_in(row)]
        if len(kept) != len(job.preview_rows):
            previews += len(job.preview_rows) - len(kept)
            job.preview_rows = kept
            job.save(update_fields=["preview_rows"])
    naming = [
        pk
        for pk, cells in RejectedRow.objects.values_list("pk", "values").iterator(chunk_size=5000)
        if person.named_in(cells)
    ]
    for start in range(0, len(naming), 900):
        rejected += RejectedRow.objects.filter(pk__in=naming[start : start + 900]).delete()[0]
    for job in _uploads_on_disk().exclude(status=Import.Status.RUNNING):
        if Path(job.file_path).exists() and _file_names(job, person):
            _delete_upload(job, "Its file was deleted: it held personal data erased on request.")
            files += 1
    staged_naming = {job.pk for job, _number, _row in _staged_naming(person)}
    staged = 0
    for job in Import.objects.filter(pk__in=staged_naming).exclude(status=Import.Status.RUNNING):
        staging.empty(job.pk)  # resumed, it stages its file again (without them, if erased)
        staged += 1
    errors = 0
    for job in Import.objects.exclude(error="").exclude(error=ERROR_ERASED):
        if person.mentioned_in(job.error):
            errors += Import.objects.filter(pk=job.pk).update(error=ERROR_ERASED)
    tasks = _finished_tasks_naming(person)
    DBTaskResult.objects.filter(pk__in=tasks).delete()
    counts = {
        "preview_rows": previews,
        "rejected_rows": rejected,
        "uploaded_files": files,
        "errors": errors,
        "task_results": len(tasks),
        "staged_imports": staged,
    }
    if any(counts.values()):
        record_event(by, "privacy.erasure_in_imports", None, **counts)
    return counts


def purge_copies(*, now: dt.datetime | None = None) -> dict:
    """What imports keep is kept only as long as it is useful: previews and rejected rows
    until RINGROUND_IMPORT_COPIES_DAYS after the import finished, an upload left before its
    mapping for RINGROUND_ABANDONED_UPLOAD_HOURS."""
    now = now or timezone.now()
    finished = Import.objects.filter(
        status=Import.Status.DONE,
        finished_at__lt=now - dt.timedelta(days=settings.RINGROUND_IMPORT_COPIES_DAYS),
    )
    rejected = RejectedRow.objects.filter(source_import__in=finished).delete()[0]
    previews = finished.exclude(preview_rows=[]).update(preview_rows=[])
    abandoned = Import.objects.filter(
        status=Import.Status.MAPPING,
        created_at__lt=now - dt.timedelta(hours=settings.RINGROUND_ABANDONED_UPLOAD_HOURS),
    )
    uploads = 0
    for job in abandoned:
        _delete_upload(job, "Left before its columns were mapped; the file was deleted.")
        uploads += 1
    counts = {"previews": previews, "rejected_rows": rejected, "abandoned_uploads": uploads}
    if any(counts.values()):
        record_event(None, "imports.purged", None, **counts)
    return counts


def _delete_upload(job: Import, why: str) -> None:
    staging.drop(job.pk)  # the rows it had staged are a copy of the file too
    imports_folder = (Path(settings.MEDIA_ROOT) / "imports").resolve()
    path = Path(job.file_path).resolve()
    if imports_folder in path.parents:
        shutil.rmtree(path.parent, ignore_errors=True)
    Import.objects.filter(pk=job.pk).update(
        status=Import.Status.FAILED, error=why, preview_rows=[], file_path=""
    )
