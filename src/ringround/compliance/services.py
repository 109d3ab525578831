"""A team's screening against TPS/CTPS, its contacts' "does not object" statements, and its
compliance settings: each change in one transaction with its audit event."""

import datetime as dt
import re
from collections.abc import Iterable

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from ringround.audit.services import record_event
from ringround.contacts.models import Contact

from .hours import calls_uk_numbers
from .models import (
    DataSource,
    LawfulBasis,
    NoObjection,
    ScreenedNumber,
    Screening,
    SourceKind,
    TeamPolicy,
)

BATCH = 5000
MAX_BAD_LINES_SHOWN = 5


class ComplianceError(Exception):
    """A refusal to show the organiser, in words."""


class ScreeningFileError(ComplianceError):
    pass


# --- screening --------------------------------------------------------------------------------

_FLAGS_ADD = {"a", "add", "added", "i", "insert", "+"}
_FLAGS_REMOVE = {"d", "del", "delete", "deleted", "r", "remove", "removed", "-"}
_SEPARATORS = re.compile(r"[,;\t|]")
_NOT_DIGITS = re.compile(r"[\s()\-.+]")


def uk_number(text: str) -> str | None:
    """A UK number as the TPS lists it (national ``01632960000``, or ``44…``/``+44…``) in
    E.164, or ``None``. Plain digit rules, no full parse: a TPS file holds millions of UK
    numbers and nothing else."""
    digits = _NOT_DIGITS.sub("", text)
    if not digits.isdigit():
        return None
    if digits.startswith("0044"):
        digits = digits[2:]
    if digits.startswith("44") and len(digits) in (11, 12):
        return f"+{digits}"
    if digits.startswith("0") and len(digits) in (10, 11):
        return f"+44{digits[1:]}"
    return None


def read_screening_lines(lines: Iterable[str], kind: str) -> tuple[set[str], set[str]]:
    """The numbers a file adds and removes. A full file is one number a line (a first column
    of a CSV will do); a change file flags each line ``A``/``D`` (or ``+``/``-``) before or
    after the number. A heading line is skipped; any other line that is not a UK number fails
    the whole file, naming the lines, so a wrong file changes nothing."""
    added, removed, bad = set(), set(), []
    for number, raw in enumerate(lines, start=1):
        line = raw.strip().lstrip("\ufeff")
        if not line or line.startswith("#"):
            continue
        fields = [f.strip() for f in _SEPARATORS.split(line) if f.strip()]
        if len(fields) == 1 and kind == Screening.Kind.CHANGES and line[0] in "+-":
            fields = [line[0], line[1:]]
        flags = [f for f in fields if f.lower() in _FLAGS_ADD | _FLAGS_REMOVE]
        numbers = [f for f in fields if f not in flags]
        phone = uk_number(numbers[0]) if numbers else None
        if phone is None:
            if number == 1 and not any(c.isdigit() for c in line):
                continue  # a heading
            bad.append(number)
            continue
        if kind == Screening.Kind.CHANGES:
            if not flags:
                bad.append(number)
            elif flags[0].lower() in _FLAGS_REMOVE:
                removed.add(phone)
                added.discard(phone)
            else:
                added.add(phone)
                removed.discard(phone)
        else:
            added.add(phone)
    if bad:
        shown = ", ".join(str(n) for n in bad[:MAX_BAD_LINES_SHOWN])
        more = (
            f" and {len(bad) - MAX_BAD_LINES_SHOWN} more" if len(bad) > MAX_BAD_LINES_SHOWN else ""
        )
        what = "a UK number with A or D" if kind == Screening.Kind.CHANGES else "a UK number"
        raise ScreeningFileError(
            f"Line {shown}{more} of the file is not {what}. Nothing was changed: check that "
            "this is the TPS/CTPS file and that its kind (full or daily changes) is right."
        )
    return added, removed


def decode_lines(data: bytes) -> list[str]:
    """The file's lines, as UTF-8 (or Latin-1, which any bytes are)."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = data.decode("latin-1")
    if "\x00" in text:
        raise ScreeningFileError("This is not a text file of numbers. Nothing was changed.")
    return text.splitlines()


@transaction.atomic
def load_screening(
    team, data: bytes, *, kind: str, file_name: str = "", by=None, now=None, request=None
) -> Screening:
    """Load a team's TPS/CTPS file: a full file replaces its screened numbers, a change file
    adds and removes. The team's screening date moves to ``now``: claims of UK numbers and
    activating campaigns need it under 28 days old. Claims check the screened numbers at once;
    the caller then stops and reopens targets (``calling.targets.stop_screened`` and
    ``reopen_unscreened``), which keeps claims fast."""
    if kind not in Screening.Kind.values:
        raise ScreeningFileError("Say whether this is a full file or a daily change file.")
    now = now or timezone.now()
    added, removed = read_screening_lines(decode_lines(data), kind)
    if kind == Screening.Kind.FULL and not added:
        raise ScreeningFileError("The file holds no numbers. Nothing was changed.")
    numbers = ScreenedNumber.objects.filter(team=team)
    before = set(numbers.values_list("phone", flat=True))
    if kind == Screening.Kind.FULL:
        removed = before - added
        added = added - before
    else:
        removed &= before
        added -= before
    _delete_numbers(team, removed)
    ScreenedNumber.objects.bulk_create(
        (ScreenedNumber(team=team, phone=phone) for phone in sorted(added)),
        batch_size=BATCH,
        ignore_conflicts=True,
    )
    screening = Screening.objects.create(
        team=team,
        kind=kind,
        file_name=file_name[:255],
        screened_at=now,
        loaded_by=by if getattr(by, "is_authenticated", False) else None,
        added=len(added),
        removed=len(removed),
        numbers=len(before) + len(added) - len(removed),
    )
    TeamPolicy.objects.get_or_create(team=team)
    TeamPolicy.objects.filter(team=team).update(last_screened_at=now)
    screening.removed_numbers = removed  # for calling.targets.reopen_unscreened
    record_event(
        by,
        "compliance.screening",
        team,
        request=request,
        kind=kind,
        added=screening.added,
        removed=screening.removed,
        numbers=screening.numbers,
    )
    return screening


def _delete_numbers(team, phones: set[str]) -> None:
    phones = sorted(phones)
    for start in range(0, len(phones), 900):
        ScreenedNumber.objects.filter(team=team, phone__in=phones[start : start + 900]).delete()


def screening_required() -> bool:
    """Whether UK numbers need a current screening (``RINGROUND_TPS_SCREENING_REQUIRED``; off
    only where a site never makes direct-marketing calls to UK numbers)."""
    return bool(getattr(settings, "RINGROUND_TPS_SCREENING_REQUIRED", True))


def screening_problem(
    policy: TeamPolicy, legal_zones, now: dt.datetime, subject: str = "This campaign cannot call"
) -> str | None:
    """Why a campaign with targets in ``legal_zones`` may not call now for want of a current
    TPS screening, in words with the date; ``None`` if it may. ``subject``: who calls."""
    if not screening_required() or not calls_uk_numbers(legal_zones):
        return None
    if policy.screening_is_current(now):
        return None
    if policy.last_screened_at is None:
        return (
            f"{subject} UK numbers: the team has not yet loaded a TPS/CTPS "
            "screening file. A team admin or organiser loads it on the team's compliance page."
        )
    return (
        f"{subject} UK numbers: the team's last TPS/CTPS screening, on "
        f"{policy.last_screened_at:%d %B %Y}, is more than 28 days old (it ran out on "
        f"{policy.screening_expires_at():%d %B %Y}). Load the latest file on the team's "
        "compliance page to carry on calling."
    )


# --- "does not object" statements ----------------------------------------------------------


@transaction.atomic
def record_no_objection(
    contact: Contact, *, how: str, by=None, note: str = "", now=None, request=None
):
    """Record that this contact told the team they do not object to its calls: their number
    may be called though it is on TPS/CTPS."""
    if how not in NoObjection.How.values:
        raise ComplianceError("Say how the person told you.")
    statement, _ = NoObjection.objects.update_or_create(
        contact=contact,
        defaults={
            "team_id": contact.team_id,
            "how": how,
            "note": note[:500],
            "recorded_by": by if getattr(by, "is_authenticated", False) else None,
            "recorded_at": now or timezone.now(),
        },
    )
    record_event(by, "compliance.no_objection", contact, request=request, how=how)
    return statement


def record_no_objection_for_number(team, phone: str, **kwargs) -> list[NoObjection]:
    """``record_no_objection`` for each of the team's contacts with this number (E.164)."""
    contacts = list(Contact.objects.filter(team=team, phone=phone))
    if not contacts:
        raise ComplianceError("None of the team's contacts has this number.")
    return [record_no_objection(contact, **kwargs) for contact in contacts]


@transaction.atomic
def withdraw_no_objection(contact: Contact, *, by=None, request=None) -> bool:
    deleted, _ = NoObjection.objects.filter(contact=contact).delete()
    if deleted:
        record_event(by, "compliance.no_objection_withdrawn", contact, request=request)
    return bool(deleted)


# --- settings ---------------------------------------------------------------------------------


POLICY_FIELDS = (
    "frequency_days",
    "uk_weekday_start",
    "uk_weekday_end",
    "uk_weekend_start",
    "uk_weekend_end",
    "article9_condition",
    "policy_document_url",
    "opinion_retention_days",
)


def open_uk_hours_all_day(team) -> TeamPolicy:
    """The team's UK calling window open all day (00:00 to 00:00): for the demo's made-up
    numbers, and for benchmarks and tests that claim at whatever hour they run."""
    midnight = dt.time(0, 0)
    policy, _ = TeamPolicy.objects.update_or_create(
        team=team,
        defaults={
            "uk_weekday_start": midnight,
            "uk_weekday_end": midnight,
            "uk_weekend_start": midnight,
            "uk_weekend_end": midnight,
        },
    )
    return policy


@transaction.atomic
def save_policy(team, *, by=None, request=None, **values) -> TeamPolicy:
    policy, _ = TeamPolicy.objects.select_for_update().get_or_create(team=team)
    changed = {}
    for name in POLICY_FIELDS:
        if name in values and getattr(policy, name) != values[name]:
            setattr(policy, name, values[name])
            changed[name] = str(values[name])
    if changed:
        policy.save()
        record_event(by, "compliance.settings", team, request=request, **changed)
    return policy


# --- where contacts came from ---------------------------------------------------------------


def check_source(*, kind: str, lawful_basis: str, purpose: str, destroy_by, today) -> dict:
    """The errors in a declared source, by field (empty: none). Register data needs the date
    by which it is destroyed, and that date must be after today."""
    errors = {}
    if kind not in SourceKind.values:
        errors["source_kind"] = "Say where these people came from."
    if lawful_basis not in LawfulBasis.values:
        errors["lawful_basis"] = "Choose the lawful basis for using their data."
    if not (purpose or "").strip():
        errors["purpose"] = "Say what the data is used for."
    if kind == SourceKind.REGISTER:
        if destroy_by is None:
            errors["destroy_by"] = (
                "Data from the full electoral register must be destroyed after its electoral "
                "use: give the date."
            )
        elif destroy_by <= today:
            errors["destroy_by"] = "The destruction date has to be in the future."
    return errors


def record_source(
    team, *, label: str, name: str, kind: str, lawful_basis: str, purpose: str,
    destroy_by=None, by=None, now=None, request=None,
) -> DataSource:  # fmt: skip
    """Record where an import's contacts (``label``: their ``source``) came from."""
    now = now or timezone.now()
    errors = check_source(
        kind=kind, lawful_basis=lawful_basis, purpose=purpose, destroy_by=destroy_by,
        today=now.date(),
    )  # fmt: skip
    if errors:
        raise ComplianceError(" ".join(errors.values()))
    source, _ = DataSource.objects.update_or_create(
        label=label,
        defaults={
            "team": team,
            "name": name[:255],
            "kind": kind,
            "lawful_basis": lawful_basis,
            "purpose": purpose.strip()[:500],
            "destroy_by": destroy_by if kind == SourceKind.REGISTER else None,
            "recorded_by": by if getattr(by, "is_authenticated", False) else None,
            "recorded_at": now,
        },
    )
    record_event(by, "compliance.source", team, request=request, label=label, kind=kind)
    return source


def register_sources(team_id: int) -> list[str]:
    """The ``source`` labels of the team's contacts from the full electoral register."""
    return list(
        DataSource.objects.filter(team_id=team_id, kind=SourceKind.REGISTER).values_list(
            "label", flat=True
        )
    )


def register_contacts(team_id: int):
    """The team's contacts whose details came from the full electoral register."""
    return Contact.objects.filter(team_id=team_id, source__in=register_sources(team_id))


def sources_due_for_destruction(today: dt.date):
    return DataSource.objects.filter(
        kind=SourceKind.REGISTER, destroy_by__lte=today, destroyed_at__isnull=True
    )
