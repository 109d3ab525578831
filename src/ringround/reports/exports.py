"""Exports built in the background: a campaign's calls, its contacts' latest answers, its
volunteers with their totals, as CSV or XLSX, written row by row to a file in the data folder.

Nothing fails silently: the ``Export`` row says how far the file has got and, when it failed
or was deleted, why. Files are kept RINGROUND_EXPORTS_KEEP_HOURS (``purge_exports``, run by
``apply_retention``), and an erasure deletes every kept export of the person's team
(``forget_team_exports``): an export is a copy of personal data like any other.

Each export is an entry in ``EXPORTS`` (``register_export``): a title, a sentence, and a
function giving its heading, its number of rows and its rows. Another app adds its own in a
few lines from its ``AppConfig.ready`` (the phone-bank sessions, when that app exists)."""

import csv
import datetime as dt
import shutil
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db.models import Count, Max, Min, Q
from django.utils import timezone
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

from ringround.audit.services import record_event
from ringround.calling.models import Call
from ringround.campaigns.models import Membership
from ringround.contacts.models import EXPORTED_FIELDS, Contact
from ringround.csvsafe import neutralise
from ringround.standby import reads_from_standby

from .models import Export
from .services import (
    EXPORT_HEADINGS,
    _utc,
    answer_cell,
    call_row,
    contact_cells,
    export_header,
)

PROGRESS_EVERY = 500  # rows between progress updates (one UPDATE each)
STALLED_AFTER = dt.timedelta(minutes=10)  # running, and not a row written for this long
ERASED_REASON = "Deleted: it held personal data since erased on request."
EXPIRED_REASON = "Deleted after {hours} hours, as this site keeps exports no longer."


@dataclass(frozen=True)
class Table:
    """What an export writes: its heading, how many rows (for the progress bar), the rows."""

    header: list[str]
    total: int
    rows: Iterable[list]


@dataclass(frozen=True)
class ExportKind:
    key: str
    title: str
    description: str
    table: Callable[..., Table]  # (campaign) -> Table


EXPORTS: dict[str, ExportKind] = {}


def register_export(key: str, title: str, description: str, table: Callable[..., Table]) -> None:
    """Offer another export on the exports page. A sessions export, from the phonebanks
    app's ``ready()``: ``register_export("sessions", "Sessions", "…", sessions_table)``."""
    EXPORTS[key] = ExportKind(key, title, description, table)


# -- the tables ---------------------------------------------------------------------------------


def _contact_headings() -> list[str]:
    """The calls export's headings for the contact's columns (from "Contact id" up to the
    outcome), so the two exports name the same thing the same way."""
    columns = ["contact", *EXPORTED_FIELDS]
    full = export_header([])
    start = full.index(EXPORT_HEADINGS["contact"])
    return full[start : start + len(columns) + 1]  # the phone is two columns


def calls_table(campaign) -> Table:
    """One row per call, as the plain CSV download has them (``services.call_row``)."""
    questions = list(campaign.questions.all())
    calls = Call.objects.filter(campaign=campaign)
    rows = (
        call_row(call, questions)
        for call in calls.select_related("volunteer", "outcome", "target__contact")
        .order_by("ended_at", "id")
        .iterator(chunk_size=2000)
    )
    return Table(export_header(questions), calls.count(), rows)


def latest_answers_table(campaign) -> Table:
    """One row per contact who answered anything: each question's latest answer (a later
    call that left a question blank does not blank an earlier answer), and when they last
    answered."""
    questions = list(campaign.questions.all())
    answered = Call.objects.filter(campaign=campaign).exclude(answers={})
    total = answered.values("target__contact_id").distinct().count()
    header = [*_contact_headings(), "Last answered (UTC)", *[q.text for q in questions]]

    def rows():
        current, latest, when = None, {}, None
        for call in (
            answered.select_related("target__contact")
            .order_by("target__contact_id", "ended_at", "id")
            .iterator(chunk_size=2000)
        ):
            contact = call.target.contact
            if current is not None and contact.pk != current.pk:
                yield _answers_row(current, when, latest, questions)
                latest = {}
            current, when = contact, call.ended_at
            for q in questions:
                if call.answers.get(q.key) not in (None, "", []):
                    latest[q.key] = call.answers[q.key]
        if current is not None:
            yield _answers_row(current, when, latest, questions)

    return Table(header, total, rows())


def _answers_row(contact, when, latest, questions) -> list:
    return [
        *contact_cells(contact),
        _utc(when),
        *[answer_cell(latest.get(q.key, "")) for q in questions],
    ]


def volunteers_table(campaign) -> Table:
    """One row per volunteer of the campaign (and anyone who made its calls since leaving):
    their calls, conversations, calls by outcome, first and last call."""
    outcomes = list(campaign.outcomes.order_by("pk"))
    calls = Call.objects.filter(campaign=campaign)
    totals = {
        row["volunteer_id"]: row
        for row in calls.values("volunteer_id").annotate(
            n=Count("id"),
            conversations=Count("id", filter=Q(outcome__is_conversation=True)),
            first=Min("ended_at"),
            last=Max("ended_at"),
        )
    }
    by_outcome = defaultdict(Counter)
    for volunteer_id, outcome_id, n in calls.values_list("volunteer_id", "outcome_id").annotate(
        n=Count("id")
    ):
        by_outcome[volunteer_id][outcome_id] = n
    memberships = Membership.objects.filter(campaign=campaign).select_related("user")
    people = {m.user_id: (m.user.name, m.user.email, m.get_status_display()) for m in memberships}
    left = [pk for pk in totals if pk is not None and pk not in people]
    for user in get_user_model().objects.filter(pk__in=left):
        people[user.pk] = (user.name, user.email, "Left the campaign")
    if None in totals:
        people[None] = ("(removed)", "", "Account deleted")
    header = [
        "Volunteer",
        "Email",
        "Status",
        "Calls",
        "Conversations",
        *[o.label for o in outcomes],
        "First call (UTC)",
        "Last call (UTC)",
    ]

    def rows():
        for pk, (name, email, status) in sorted(
            people.items(), key=lambda item: (item[1][0].lower(), str(item[0]))
        ):
            t = totals.get(pk, {})
            yield [
                name,
                email,
                status,
                t.get("n", 0),
                t.get("conversations", 0),
                *[by_outcome[pk][o.pk] for o in outcomes],
                _utc(t["first"]) if t else "",
                _utc(t["last"]) if t else "",
            ]

    return Table(header, len(people), rows())


register_export(
    "calls",
    "Calls",
    "One row per call: who called whom, the outcome, notes and answers.",
    calls_table,
)
register_export(
    "answers",
    "Latest answers",
    "One row per contact who answered, with each question's latest answer.",
    latest_answers_table,
)
register_export(
    "volunteers",
    "Volunteers",
    "One row per volunteer, with their calls, conversations and outcomes.",
    volunteers_table,
)


# -- writing ------------------------------------------------------------------------------------


def csv_cell(value) -> str:
    return neutralise(value)


def xlsx_cell(sheet, value) -> WriteOnlyCell:
    """Numbers as numbers; everything else as text that never runs as a formula (a string
    type, not openpyxl's guess, which takes "=…" for a formula), without the control
    characters XLSX cannot hold."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        text = ILLEGAL_CHARACTERS_RE.sub("", "" if value is None else str(value))
        cell = WriteOnlyCell(sheet, value=text)
        cell.data_type = "s"
        return cell
    return WriteOnlyCell(sheet, value=value)


def _write_csv(path: Path, table: Table, progress: Callable[[int], None]) -> int:
    # utf-8-sig: Excel reads the names' accents right only with the byte order mark.
    with path.open("w", newline="", encoding="utf-8-sig") as out:
        writer = csv.writer(out)
        writer.writerow([csv_cell(h) for h in table.header])
        n = 0
        for n, row in enumerate(table.rows, 1):
            writer.writerow([csv_cell(v) for v in row])
            progress(n)
    return n


def _write_xlsx(path: Path, table: Table, progress: Callable[[int], None]) -> int:
    book = Workbook(write_only=True)
    sheet = book.create_sheet("Export")
    sheet.append([xlsx_cell(sheet, h) for h in table.header])
    n = 0
    for n, row in enumerate(table.rows, 1):
        sheet.append([xlsx_cell(sheet, v) for v in row])
        progress(n)
    book.save(path)
    return n


WRITERS = {Export.Format.CSV: _write_csv, Export.Format.XLSX: _write_xlsx}


def exports_folder() -> Path:
    return Path(settings.MEDIA_ROOT) / "exports"


def full_path(job: Export) -> Path | None:
    """The export's file, if it has one and it lies inside the exports folder."""
    if not job.file_path:
        return None
    folder = exports_folder().resolve()
    path = (Path(settings.MEDIA_ROOT) / job.file_path).resolve()
    return path if folder in path.parents and path.is_file() else None


# -- the job ------------------------------------------------------------------------------------


MIN_REASON = 10


class ReasonNeeded(ValueError):
    """An export of political opinions asked for without saying why."""


def special_category_terms(campaign, reason: str) -> dict:
    """What the audit trail records of an export: for a campaign whose survey reveals political
    opinion (special-category data), the reason given, which is required (``ReasonNeeded``)."""
    if not campaign.has_opinion_questions():
        return {}
    reason = " ".join((reason or "").split())[:500]
    if len(reason) < MIN_REASON:
        raise ReasonNeeded(
            "These results include answers that reveal political opinion (special-category "
            "data). Say why you need this export: it is recorded for the data-protection officer."
        )
    return {"special_category": True, "reason": reason}


def create_export(
    campaign, kind: str, file_format: str, *, by=None, request=None, reason: str = ""
) -> Export:
    if kind not in EXPORTS or file_format not in Export.Format.values:
        raise ValueError(f"No such export: {kind} as {file_format}")
    terms = special_category_terms(campaign, reason)
    job = Export.objects.create(
        campaign=campaign, kind=kind, file_format=file_format, created_by=by
    )
    record_event(
        by,
        "export.requested",
        job,
        campaign=campaign,
        request=request,
        kind=kind,
        format=file_format,
        **terms,
    )
    return job


def run_export(job: Export, *, now: dt.datetime | None = None) -> Export:
    """Write the file, saying how far it has got; a failure is stored with its reason and
    leaves no half-written file. Run once: a second run finds the export taken."""
    now = now or timezone.now()
    if not Export.objects.filter(pk=job.pk, status=Export.Status.QUEUED).update(
        status=Export.Status.RUNNING, started_at=now, updated_at=now
    ):
        job.refresh_from_db()
        return job
    folder = exports_folder() / job.public_id
    try:
        campaign = job.campaign
        stamp = now.strftime("%Y%m%d-%H%M")
        name = f"{job.kind}-{campaign.public_id}-{stamp}.{job.file_format}"
        partial = folder / f"{name}.partial"

        def progress(n: int) -> None:
            if n % PROGRESS_EVERY == 0:
                Export.objects.filter(pk=job.pk).update(rows_written=n, updated_at=timezone.now())

        # The rows may come from the standby (one database for the whole file) once it has
        # everything committed before now (an erasure above all); the export's own progress
        # is written to the primary.
        with reads_from_standby(consistent=True):
            table = EXPORTS[job.kind].table(campaign)
            Export.objects.filter(pk=job.pk).update(rows_total=table.total)
            folder.mkdir(parents=True, exist_ok=True)
            written = WRITERS[job.file_format](partial, table, progress)
        final = folder / name
        partial.replace(final)
        finished = timezone.now()
        hours = settings.RINGROUND_EXPORTS_KEEP_HOURS
        done = Export.objects.filter(pk=job.pk, status=Export.Status.RUNNING).update(
            status=Export.Status.DONE,
            rows_written=written,
            finished_at=finished,
            updated_at=finished,
            file_path=str(final.relative_to(settings.MEDIA_ROOT)),
            file_name=name,
            file_size=final.stat().st_size,
            expires_at=finished + dt.timedelta(hours=hours),
        )
        if not done:  # deleted while it was being written (an erasure): so is its file
            shutil.rmtree(folder, ignore_errors=True)
    except Exception as error:  # noqa: BLE001 - every failure is stored and shown
        shutil.rmtree(folder, ignore_errors=True)
        Export.objects.filter(pk=job.pk, status=Export.Status.RUNNING).update(
            status=Export.Status.FAILED,
            finished_at=timezone.now(),
            updated_at=timezone.now(),
            error=failure_reason(error),
        )
    job.refresh_from_db()
    return job


def failure_reason(error: Exception) -> str:
    """What the page says went wrong: the kind of error and its message, briefly."""
    message = str(error).strip().splitlines()[0][:300] if str(error).strip() else ""
    return f"{type(error).__name__}: {message}" if message else type(error).__name__


def is_stalled(job: Export, *, now: dt.datetime | None = None) -> bool:
    """Running, and silent for longer than any batch of rows takes: its worker went away."""
    now = now or timezone.now()
    return job.status == Export.Status.RUNNING and job.updated_at < now - STALLED_AFTER


def downloaded(job: Export, *, by, request=None) -> None:
    record_event(by, "export.downloaded", job, campaign=job.campaign, request=request)


# -- keeping and forgetting ---------------------------------------------------------------------


def _delete(exports, reason: str) -> int:
    """Delete the exports' files and say why on each; running ones lose the file they write."""
    deleted = 0
    for job in exports:
        shutil.rmtree(exports_folder() / job.public_id, ignore_errors=True)
        deleted += Export.objects.filter(pk=job.pk).update(
            status=Export.Status.DELETED,
            file_path="",
            file_size=0,
            error=reason,
            updated_at=timezone.now(),
        )
    return deleted


def purge_exports(*, now: dt.datetime | None = None) -> int:
    """Delete the files kept past RINGROUND_EXPORTS_KEEP_HOURS (their rows stay, saying so)."""
    now = now or timezone.now()
    due = Export.objects.filter(status=Export.Status.DONE, expires_at__lt=now)
    reason = EXPIRED_REASON.format(hours=settings.RINGROUND_EXPORTS_KEEP_HOURS)
    deleted = _delete(due, reason)
    if deleted:
        record_event(None, "exports.purged", None, exports=deleted)
    return deleted


def forget_team_exports(team_id) -> int:
    """Erasure: delete every kept, running or waiting export of the team's campaigns (and a
    failure's message, which might quote a row). Simpler and surer than reading each file for
    the person: an export is made again in a minute."""
    kept = Export.objects.filter(campaign__team_id=team_id).exclude(
        status=Export.Status.DELETED, error=ERASED_REASON
    )
    deleted = _delete(list(kept), ERASED_REASON)
    if deleted:
        record_event(None, "privacy.erasure_in_exports", None, exports=deleted)
    return deleted


def contact_erased(sender, public_id, **kwargs) -> None:
    """Listens for ``events.contact_erased`` (connected in ``apps.py``)."""
    team_id = Contact.objects.filter(public_id=public_id).values_list("team_id", flat=True).first()
    if team_id is not None:
        forget_team_exports(team_id)


def exports_of(campaign) -> list[Export]:
    return list(Export.objects.filter(campaign=campaign).select_related("created_by")[:20])


def kinds() -> Iterator[ExportKind]:
    return iter(EXPORTS.values())
