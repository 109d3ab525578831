"""Operations on imports: upload, mapping, start, run, resume, rejected rows.

An import goes: store_upload / create_import (the file is inspected; status "mapping") ->
set_mapping -> start_import (queued; a background task, or at once from the command line) ->
run_import (batches committed one by one; "done" or "failed", resumable).
"""

import csv
import hashlib
import shutil
from pathlib import Path

from django.conf import settings
from django.utils import timezone
from django.utils.text import get_valid_filename

from ringround.audit.services import record_event
from ringround.compliance import services as compliance
from ringround.compliance.models import SourceKind
from ringround.contacts.models import Suppression
from ringround.csvsafe import Echo, neutralise
from ringround.ids import new_token

from .jobs import ImportBusy, is_dead
from .mapping import apply_saved, check_mapping, guess_mapping, mapping_fields, same_shape
from .models import Import, SavedMapping
from .readers import FileProblem, inspect_file
from .rows import clean_tags
from .tasks import import_file
from .workers import start_worker, worker_alive


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
    team=None,
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
    repeats: str = Import.Repeats.FILL_BLANKS,
    source: dict | None = None,
) -> Import:
    """Inspect a file and record it as an import waiting for its mapping (guessed, or a saved
    one); raises ``FileProblem`` with the reason, storing nothing.

    ``team`` owns what it writes: contacts always belong to a team; a list of numbers not to
    call without one applies to every team (an admin's TPS list).

    ``source``: where the people came from (``source_kind``, ``lawful_basis``, ``purpose``,
    ``destroy_by``), recorded on the import and as the team's ``compliance.DataSource``."""
    check_team(kind, team, campaign, saved_mapping)
    source = check_import_source(source, campaign)
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
        team=team,
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
        repeats=repeats,
        progress_total=info.size if info.format == "csv" else 0,
        **source,
    )
    if source:
        compliance.record_source(
            team,
            label=job.source_label,
            name=job.original_name,
            kind=job.source_kind,
            lawful_basis=job.lawful_basis,
            purpose=job.purpose,
            destroy_by=job.destroy_by,
            by=by,
            request=request,
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


SOURCE_FIELDS = ("source_kind", "lawful_basis", "purpose", "destroy_by")


def check_import_source(source: dict | None, campaign) -> dict:
    """The import's declared source, checked (``ValueError`` with the reasons): people from the
    full electoral register go only to an electoral campaign."""
    if not source:
        return {}
    source = {name: source.get(name) for name in SOURCE_FIELDS}
    source["purpose"] = (source["purpose"] or "").strip()
    errors = compliance.check_source(
        kind=source["source_kind"],
        lawful_basis=source["lawful_basis"],
        purpose=source["purpose"],
        destroy_by=source["destroy_by"],
        today=timezone.now().date(),
    )
    if errors:
        raise ValueError(" ".join(errors.values()))
    if source["source_kind"] != SourceKind.REGISTER:
        source["destroy_by"] = None  # only register data has a destruction date of its own
    elif campaign and not campaign.electoral:
        raise ValueError(REGISTER_NOT_ELECTORAL)
    return source


REGISTER_NOT_ELECTORAL = (
    "People from the full electoral register may only be called by an electoral campaign; "
    "this campaign is not one."
)


def check_team(kind, team, campaign, saved_mapping) -> None:
    """What an import writes stays inside its team (the forms offer nothing else; this holds
    for every caller)."""
    if team is None and kind == Import.Kind.CONTACTS:
        raise ValueError("Contacts are imported into a team.")
    if campaign is not None and (team is None or campaign.team_id != team.pk):
        raise ValueError("An import adds contacts only to a campaign of its own team.")
    if saved_mapping is not None and (team is None or saved_mapping.team_id != team.pk):
        raise ValueError("A saved mapping is used only by its own team.")


def describe_file(job: Import) -> str:
    """What was detected, in words: "CSV, Windows-1252, semicolon-separated, 6 columns"."""
    return job.file_info().describe()


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


def matching_saved_mapping(job: Import) -> SavedMapping | None:
    """A saved mapping of the import's team made for a file of exactly this shape, if there
    is one."""
    headers = job.headers
    for saved in SavedMapping.objects.filter(team_id=job.team_id):
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
    repeats: str | None = None,
) -> Import:
    """Fix the column mapping (and the import's options, such as the rule for repeated
    people); optionally keep it by name."""
    if job.status != Import.Status.MAPPING:
        raise MappingProblem("This import has already started.")
    problems = check_mapping(job.headers, mapping, kind=job.kind)
    if problems:
        raise MappingProblem(" ".join(problems))
    job.mapping = list(mapping)
    if default_country:
        job.default_country = default_country.upper()
    if campaign is not None:
        check_team(job.kind, job.team, campaign, None)
        job.campaign = campaign
    if tags is not None:
        job.tags = ",".join(sorted(clean_tags(tags)))[:500]
    if repeats is not None:
        if repeats not in Import.Repeats.values:
            raise MappingProblem("Choose what happens to a person who appears twice.")
        job.repeats = repeats
    job.save(update_fields=["mapping", "default_country", "campaign", "tags", "repeats"])
    if save_as:
        SavedMapping.objects.update_or_create(
            team_id=job.team_id,
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
        import_file.enqueue(job.pk)
    return job


def waiting_for_no_worker(job: Import) -> bool:
    """Queued, and no task worker is alive to run it: it will not move by itself."""
    return job.status == Import.Status.QUEUED and not worker_alive()


def resume_import(job: Import, *, by=None, request=None, background: bool = True) -> Import:
    """Carry on after a crash or kill, from the last committed batch; or get going an import
    queued while no task worker is alive.

    In the background (the pages) it is queued again, and if no worker is alive one is started
    for the queue, stopping once the queue is empty: the import runs as any import does, with
    its progress on the page however big the file, and the request does not wait for it.
    Queued twice, it still runs once (``run_import`` claims it)."""
    if waiting_for_no_worker(job):
        record_event(
            by, "import.start", job, campaign=job.campaign, request=request, resume_at=job.position
        )
        if background:
            import_file.enqueue(job.pk)
    elif job.can_resume or is_dead(job):
        job = start_import(job, by=by, request=request, background=background)
    else:
        raise ImportBusy("This import is not stopped, so it cannot be resumed.")
    if background and not worker_alive():
        start_worker()
    return job


def rejected_rows_csv(job: Import):
    """The rejected rows as CSV lines: row number, reason, then the row as it was. Every cell
    is neutralised, so nothing in it runs as a formula when the file is opened."""
    writer = csv.writer(Echo())
    yield "\ufeff"  # so that spreadsheets read it as UTF-8
    yield writer.writerow(["row", "reason", *[neutralise(h) for h in job.headers]])
    rows = job.rejects.order_by("row_number", "pk").values_list("row_number", "reason", "values")
    for number, reason, values in rows.iterator(chunk_size=2000):
        yield writer.writerow([number, neutralise(reason), *[neutralise(v) for v in values]])
