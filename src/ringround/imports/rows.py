"""Validating and cleaning rows: from the cells of a file to contact rows, or to rejections.

A **contact row** is the one type that travels through an import, from the cleaning here to
the writers in ``contacts.bulk``: a tuple of the contact's data fields in ``Plan.fields``
order (``contacts.models.CONTACT_FIELDS``), each as the database stores it — text, JSON as
text, tags as ``,a,b,`` — so that either database's writer takes it as it is.

This is the CPU-heavy half of an import (mostly phone numbers), so it is a pure function of a
picklable ``Plan`` and a batch of rows, imports nothing from Django, and runs in worker
processes for big files.
"""

import dataclasses
import gc
import json
import marshal
import os
import re
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from json.encoder import encode_basestring

import phonenumbers

from ringround import copytext
from ringround.ids import new_public_ids

from .fastphone import InvalidPhone, parser_for

MAX_REJECTED_CELLS = 600
MAX_REJECTED_CELL_CHARS = 2000
MAX_TYPED_PHONE = 64
EMPTY_JSON = {"other_phones": "[]", "custom_fields": "{}"}

COUNTRY_NAMES = {
    "uk": "GB",
    "united kingdom": "GB",
    "great britain": "GB",
    "britain": "GB",
    "england": "GB",
    "scotland": "GB",
    "wales": "GB",
    "northern ireland": "GB",
    "ireland": "IE",
    "republic of ireland": "IE",
    "eire": "IE",
    "usa": "US",
    "united states": "US",
    "united states of america": "US",
    "canada": "CA",
    "france": "FR",
    "germany": "DE",
    "spain": "ES",
    "italy": "IT",
    "netherlands": "NL",
    "australia": "AU",
    "new zealand": "NZ",
    "jersey": "JE",
    "guernsey": "GG",
    "isle of man": "IM",
}
_SEVERAL_NUMBERS = re.compile(r"\s*(?:[/;,|&]|\bor\b|\band\b)\s*")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_TAG_SPLIT = re.compile(r"[,;|]")
_GB_POSTCODE = re.compile(r"^([A-Z]{1,2}[0-9][A-Z0-9]?)([0-9][A-Z]{2})$")


@dataclass(frozen=True)
class Plan:
    """How the rows of one file are cleaned, fixed for the whole file: the row's fields, and
    which column holds what (column indexes, -1: absent)."""

    kind: str
    width: int
    fields: tuple[str, ...] = ()
    phones: tuple[int, ...] = ()
    first_name: int = -1
    last_name: int = -1
    full_name: int = -1
    email: int = -1
    postcode: int = -1
    area: int = -1
    tags: int = -1
    country: int = -1
    # Other fields of the contact taken from a column as they are: (field, column).
    plain: tuple[tuple[str, int], ...] = ()
    custom: tuple[tuple[int, str], ...] = ()
    default_country: str = "GB"
    import_tags: tuple[str, ...] = ()
    source: str = ""
    # The longest value each text field holds, and its name in a rejection's reason.
    max_lengths: tuple[tuple[str, int, str], ...] = ()
    template: tuple[str, ...] = field(default=(), compare=False)


SPECIAL = ("first_name", "last_name", "email", "postcode", "area", "tags")


def build_plan(
    kind,
    headers,
    mapping,
    *,
    fields=(),
    max_lengths=(),
    default_country="GB",
    tags=(),
    custom=None,
    source="",
) -> Plan:
    """``fields``: the contact row's fields in order; ``max_lengths``: ``(field, longest,
    label)`` for each text field."""
    single, plain = {}, []
    for index, code in enumerate(mapping):
        if code in ("phone", "custom", "ignore") or code in single:
            continue
        single[code] = index
        if code in fields and code not in SPECIAL:
            plain.append((code, index))
    template = tuple(EMPTY_JSON.get(name, source if name == "source" else "") for name in fields)
    return Plan(
        kind=kind,
        width=len(headers),
        fields=tuple(fields),
        phones=tuple(i for i, code in enumerate(mapping) if code == "phone"),
        plain=tuple(plain),
        custom=tuple(sorted((custom or {}).items())),
        default_country=(default_country or "GB").upper(),
        import_tags=tuple(sorted(clean_tags(tags))),
        source=source,
        max_lengths=tuple(max_lengths),
        template=template,
        **{code: index for code, index in single.items() if code in _PLAN_COLUMNS},
    )


# The plan's own column indexes (first_name, full_name, country …): its whole-number fields.
_PLAN_COLUMNS = {f.name for f in dataclasses.fields(Plan) if f.type is int and f.name != "width"}


def clean_tags(tags) -> set[str]:
    if isinstance(tags, str):
        tags = _TAG_SPLIT.split(tags)
    return {" ".join(t.split()).lower() for t in tags if t and t.strip()}


def region_for(value: str) -> str | None:
    """A country as people write it ("GB", "uk", "Ireland", "+353") -> a region code."""
    text = " ".join(value.replace(".", " ").split()).lower()
    if not text:
        return None
    if text in COUNTRY_NAMES:
        return COUNTRY_NAMES[text]
    if len(text) == 2 and text.upper() in phonenumbers.SUPPORTED_REGIONS:
        return text.upper()
    digits = text.lstrip("+")
    if digits.isdigit():
        region = phonenumbers.region_code_for_country_code(int(digits))
        return None if region == "ZZ" else region
    return None


def clip_row(cells: list[str]) -> list[str]:
    """A rejected row as it is kept: all of it, within reason (a 10,000-column row is cut)."""
    return [c[:MAX_REJECTED_CELL_CHARS] for c in cells[:MAX_REJECTED_CELLS]]


def prepare_batch(plan: Plan, rows, numbers: list | None = None):
    """``rows`` of ``(row_number, cells, problem)`` -> ``(records, rejects, blank)``: contact
    rows (or, for a suppression list, numbers in E.164).

    ``rejects`` are ``(row_number, reason, cells)``; ``blank`` counts rows with nothing in them,
    which are skipped and not counted as read. ``numbers``, if given, receives the row number
    of each record."""
    if plan.kind == "suppressions":
        return _prepare_suppressions(plan, rows)
    records, rejects, blank = [], [], 0
    append, reject = records.append, rejects.append
    number_of = numbers.append if numbers is not None else None
    cleaner = _Cleaner(plan)
    width = plan.width
    for number, cells, problem in rows:
        if problem:
            reject((number, problem, clip_row(cells)))
            continue
        if len(cells) != width:
            if len(cells) < width:
                cells = cells + [""] * (width - len(cells))
            elif any(c.strip() for c in cells[width:]):
                columns = f"the row has {len(cells):,} columns but the header has {width:,}"
                reject((number, columns, clip_row(cells)))
                continue
            else:
                cells = cells[:width]
        cleaned = [c.strip() for c in cells]
        joined = "".join(cleaned)
        if not joined:
            blank += 1
            continue
        if "\x00" in joined:
            cleaned = [c.replace("\x00", "") for c in cleaned]
        try:
            append(cleaner.row(cleaned))
        except RowProblem as exc:
            reject((number, str(exc), clip_row(cells)))
        else:
            if number_of is not None:
                number_of(number)
    return records, rejects, blank


class RowProblem(ValueError):
    pass


class _Cleaner:
    """Cleans the rows of one batch under one plan into contact rows."""

    def __init__(self, plan: Plan):
        self.plan = plan
        self.parse = parser_for(plan.default_country).parse
        at = {name: i for i, name in enumerate(plan.fields)}
        self.at = at
        (
            self.i_phone,
            self.i_typed,
            self.i_type,
            self.i_zone,
            self.i_others,
            self.i_first,
            self.i_last,
            self.i_email,
            self.i_postcode,
            self.i_area,
            self.i_tags,
            self.i_custom,
        ) = (
            at[name]
            for name in (
                "phone",
                "phone_as_typed",
                "phone_type",
                "time_zone",
                "other_phones",
                "first_name",
                "last_name",
                "email",
                "postcode",
                "area",
                "tags",
                "custom_fields",
            )
        )
        self.plain = tuple((at[name], column) for name, column in plan.plain)
        # Only what comes from the file needs its length checked.
        mapped = {name for name, _ in plan.plain} | {
            name
            for name in ("first_name", "last_name", "email", "postcode", "area")
            if getattr(plan, name) >= 0
        }
        if plan.full_name >= 0:
            mapped |= {"first_name", "last_name"}
        self.checks = tuple(
            (at[name], longest, label)
            for name, longest, label in plan.max_lengths
            if name in mapped and name in at
        )
        # Values many rows share (an area, a set of tags) as one object each: the batch then
        # travels back (marshal) and lives in the importer as one copy, not one per row.
        self.shared = {}

    def row(self, cells: list[str]) -> tuple:
        plan = self.plan
        parse = self.parse
        if plan.country >= 0 and cells[plan.country]:
            region = region_for(cells[plan.country])
            if region is None:
                raise RowProblem(
                    f"unknown country “{cells[plan.country]}” (use a two-letter code such as GB)"
                )
            parse = parser_for(region).parse
        if len(plan.phones) == 1 and len(cells[plan.phones[0]]) <= 18:
            # The common case, quickly: one phone column, one number in it.
            text = cells[plan.phones[0]]
            if not text:
                raise RowProblem("no phone number")
            try:
                e164, kind, zone = parse(text)
            except InvalidPhone as exc:
                raise RowProblem(f"phone number “{text}”: {exc}") from None
            found, invalid = [(e164, text, kind, zone)], ()
        else:
            found, invalid, problem = _phones(plan, cells, parse)
            if not found:
                raise RowProblem(problem or "no phone number")
        e164, typed, kind, zone = found[0]

        row = list(plan.template)
        row[self.i_phone] = e164
        row[self.i_typed] = typed[:MAX_TYPED_PHONE]
        row[self.i_type] = kind
        row[self.i_zone] = zone
        if len(found) > 1:
            row[self.i_others] = json_list([f[0] for f in found[1:]])
        first = cells[plan.first_name] if plan.first_name >= 0 else ""
        last = cells[plan.last_name] if plan.last_name >= 0 else ""
        if plan.full_name >= 0 and not (first or last):
            first, last = split_name(cells[plan.full_name])
        row[self.i_first], row[self.i_last] = first, last
        custom = {key: cells[i] for i, key in plan.custom if cells[i]}
        email = cells[plan.email] if plan.email >= 0 else ""
        if email and not _EMAIL.match(email):
            custom["email_as_typed"] = email
            email = ""
        row[self.i_email] = email
        if invalid:
            custom["phones_not_valid"] = "; ".join(invalid)
        if custom:
            row[self.i_custom] = json_object(custom)
        if plan.postcode >= 0 and cells[plan.postcode]:
            row[self.i_postcode] = tidy_postcode(cells[plan.postcode])
        if plan.area >= 0:
            area = cells[plan.area]
            area = " ".join(area.split()) if "  " in area else area
            row[self.i_area] = self.shared.setdefault(area, area)
        for index, column in self.plain:
            row[index] = cells[column]
        for index, longest, label in self.checks:
            if len(row[index]) > longest:
                raise RowProblem(f"{label} longer than {longest} characters")
        tags = plan.import_tags
        if plan.tags >= 0 and cells[plan.tags]:
            tags = _row_tags(cells[plan.tags], tags)
        if tags:
            text = self.shared.get(tags)
            if text is None:
                text = self.shared[tags] = tags_text(tags)
            row[self.i_tags] = text
        return tuple(row)


def _phones(plan: Plan, cells: list[str], parse):
    """The row's valid numbers in order of preference (deduplicated), and what was not valid."""
    found, invalid, problem = [], [], None
    for index in plan.phones:
        text = cells[index]
        if not text:
            continue
        if len(text) > 18 and _SEVERAL_NUMBERS.search(text):
            pieces = [p for p in _SEVERAL_NUMBERS.split(text) if p]
        else:
            pieces = (text,)
        for piece in pieces:
            try:
                e164, kind, zone = parse(piece)
            except InvalidPhone as exc:
                invalid.append(piece)
                problem = problem or f"phone number “{piece}”: {exc}"
                continue
            if not any(e164 == f[0] for f in found):
                found.append((e164, piece, kind, zone))
    return found, invalid, problem


# -- rejections, summed up by kind ----------------------------------------------------------

MAX_REASON_KINDS = 30
EXAMPLE_ROWS = 3
OTHER_REASONS = "other reasons"
_QUOTED = re.compile(r"“[^”]*”")
_COUNTED = re.compile(r"\d[\d,]*")


def reason_kind(reason: str) -> str:
    """A rejection's reason without the row's own values, so that rows rejected for the same
    reason count together: 'phone number “abc”: not a phone number' -> 'phone number “…”: not a
    phone number'."""
    if reason.startswith(("the row has ", "unreadable row")):
        return _COUNTED.sub("N", reason.split(" (", 1)[0])
    return _QUOTED.sub("“…”", reason)


def summarise_rejects(summary: dict, rejects) -> dict:
    """Add ``rejects`` (``(row_number, reason, cells)``) to ``summary``, ``{kind: [rows,
    [first row numbers]]}``, in place; at most ``MAX_REASON_KINDS`` kinds, the rest counted
    as other reasons. The prediction and the import both count this way."""
    for number, reason, _cells in rejects:
        kind = reason_kind(reason)
        entry = summary.get(kind)
        if entry is None:
            if len(summary) >= MAX_REASON_KINDS:
                kind = OTHER_REASONS
                entry = summary.get(kind)
            if entry is None:
                entry = summary[kind] = [0, []]
        entry[0] += 1
        if len(entry[1]) < EXAMPLE_ROWS:
            entry[1].append(number)
    return summary


def top_reasons(summary: dict, count: int = 3) -> list[dict]:
    """The commonest kinds first (then the earliest row): ``{reason, rows, examples}``."""
    ranked = sorted(summary.items(), key=lambda item: (-item[1][0], item[1][1][:1]))
    return [
        {"reason": kind, "rows": rows, "examples": examples}
        for kind, (rows, examples) in ranked[:count]
    ]


# -- the stored forms of list and JSON fields ------------------------------------------------


def tags_text(tags) -> str:
    return f",{','.join(tags)}," if tags else ""


def tags_of(text: str) -> tuple[str, ...]:
    return tuple(t for t in text.split(",") if t)


def json_list(values: list[str]) -> str:
    if not values:
        return "[]"
    return "[" + ",".join(encode_basestring(v) for v in values) + "]"


def json_object(values: dict) -> str:
    if not values:
        return "{}"
    parts = []
    for key, value in values.items():
        encoded = _encoded_keys.get(key)
        if encoded is None:
            encoded = encode_basestring(key) + ":"
            if len(_encoded_keys) < 1000:
                _encoded_keys[key] = encoded
        parts.append(encoded + encode_basestring(value))
    return "{" + ",".join(parts) + "}"


# A file's custom fields are its columns: a few names, encoded once (a row's custom fields were
# a tenth of its cleaning).
_encoded_keys: dict = {}


def loads(text) -> object:
    """A JSON field's value from its text (or as it is, if a driver decoded it already)."""
    return json.loads(text) if isinstance(text, str) else text


_tags_seen: dict = {}


def _row_tags(text: str, import_tags: tuple) -> tuple:
    """A row's tags with the import's; remembered, since a file has few different tag cells."""
    key = (text, import_tags)
    tags = _tags_seen.get(key)
    if tags is None:
        tags = tuple(sorted(clean_tags(text).union(import_tags)))
        if sum(len(t) + 1 for t in tags) + 1 > 500:
            raise RowProblem("too many tags (at most 500 characters in all)")
        if len(_tags_seen) > 10_000:
            _tags_seen.clear()
        _tags_seen[key] = tags
    return tags


def split_name(full: str) -> tuple[str, str]:
    """ "Jane Q Smith" -> ("Jane Q", "Smith"); "Smith, Jane" -> ("Jane", "Smith")."""
    full = " ".join(full.split())
    if "," in full:
        last, _, first = full.partition(",")
        return first.strip(), last.strip()
    first, _, last = full.rpartition(" ")
    return (first, last) if first else (last, "")


def tidy_postcode(value: str) -> str:
    """Capitals and single spaces; a British postcode gets its space ("wc1x8aa" -> "WC1X 8AA")."""
    if value[-4:-3] == " " and value.isupper() and value.count(" ") == 1:
        return value  # already tidy
    text = " ".join(value.upper().split())
    match = _GB_POSTCODE.match(text.replace(" ", ""))
    return f"{match.group(1)} {match.group(2)}" if match else text


def _prepare_suppressions(plan: Plan, rows):
    """Numbers not to call: the first phone column, one number per row."""
    records, rejects, blank = [], [], 0
    parse = parser_for(plan.default_country).parse
    column = plan.phones[0] if plan.phones else 0
    for number, cells, problem in rows:
        if problem:
            rejects.append((number, problem, clip_row(cells)))
            continue
        text = cells[column].strip() if column < len(cells) else ""
        if not text:
            if any(c.strip() for c in cells):
                rejects.append((number, "no phone number", clip_row(cells)))
            else:
                blank += 1
            continue
        try:
            e164, _kind, _zone = parse(text)
        except InvalidPhone as exc:
            rejects.append((number, f"phone number “{text}”: {exc}", clip_row(cells)))
            continue
        records.append(e164)
    return records, rejects, blank


# -- in worker processes ---------------------------------------------------------------------

_worker_plan: Plan | None = None


def init_worker(plan: Plan, parent: int | None = None) -> None:
    global _worker_plan
    _worker_plan = plan
    if parent:
        threading.Thread(target=_exit_with, args=(parent,), daemon=True).start()
    # Cleaning makes millions of small tuples and lists and no reference cycles: the cyclic
    # garbage collector would only walk them again and again.
    gc.disable()


def _exit_with(parent: int) -> None:
    """A killed import (kill -9) cannot stop its workers, which would wait for work forever:
    they notice their importer is gone and leave."""
    while True:
        time.sleep(1)
        try:
            os.kill(parent, 0)
        except ProcessLookupError:
            os._exit(0)
        except PermissionError:
            pass


def prepare_in_worker(packed):
    records, rejects, blank = prepare_batch(_worker_plan, unpack_rows(packed))
    return pack_records(records), rejects, blank


@dataclass
class StagedBatch:
    """A batch cleaned for the staged importer (``imports.staged``), made in the worker so that
    the importer only sorts lines between two COPYs:

    ``bodies``: per cleaned row, in file order, ``public id, contact row`` as COPY text (no
    newline); ``order``: the rows' positions in order of phone number, which the public ids
    follow too (the contacts' indexes are then filled in order, as ``contacts.bulk`` does);
    ``numbers``: each row's row number; ``phones``, ``external_ids``: each row's keys; ``zones``:
    each row's time zone; ``repeated``: positions of rows sharing a key with another row of the
    batch."""

    bodies: list
    order: list
    numbers: list
    phones: list
    external_ids: list
    zones: list
    repeated: list
    rejects: list
    blank: int


def prepare_staged(plan: Plan, rows, batch: int = 0) -> StagedBatch:
    numbers = []
    records, rejects, blank = prepare_batch(plan, rows, numbers)
    at = {name: i for i, name in enumerate(plan.fields)}
    phones = [r[at["phone"]] for r in records]
    external_ids = [r[at["external_id"]] for r in records]
    zones = [r[at["time_zone"]] for r in records]
    order = sorted(range(len(records)), key=phones.__getitem__)
    public_ids = [""] * len(records)
    for position, public_id in zip(order, sorted(new_public_ids(len(records))), strict=True):
        public_ids[position] = public_id
    bodies = [
        f"{public_id}\t{line}"
        for public_id, line in zip(public_ids, copytext.lines(records), strict=True)
    ]
    repeated = []
    if len(set(phones)) != len(phones) or len(set(filter(None, external_ids))) != sum(
        1 for e in external_ids if e
    ):
        seen_phones = Counter(phones)
        seen_ids = Counter(filter(None, external_ids))
        repeated = [
            i
            for i, (phone, external_id) in enumerate(zip(phones, external_ids, strict=True))
            if seen_phones[phone] > 1 or (external_id and seen_ids[external_id] > 1)
        ]
    return StagedBatch(
        bodies, order, numbers, phones, external_ids, zones, repeated, rejects, blank
    )


def prepare_staged_in_worker(packed, batch: int):
    """As ``prepare_staged``, its fields as ``marshal`` bytes (see ``pack_records``)."""
    staged = prepare_staged(_worker_plan, unpack_rows(packed), batch)
    return marshal.dumps(tuple(getattr(staged, f.name) for f in dataclasses.fields(staged)))


def unpack_staged(packed) -> "StagedBatch":
    return StagedBatch(*marshal.loads(packed))


def pack_records(records):
    """Cleaned records for the trip back to the importer, as ``marshal`` bytes: a small
    fraction of the cost of pickling thousands of tuples (both ends are the same Python)."""
    return marshal.dumps(records)


def unpack_records(packed):
    return marshal.loads(packed)


# A batch travels to a worker as one string rather than 10,000 lists of cells, which would
# cost the importer far more to pickle. A batch with a cell holding a separator travels as
# it is. (A row of one empty cell comes back with none: blank, either way.)
_CELL, _ROW = "\x1f", "\x1e"


def pack_rows(rows):
    first = rows[0][0]
    if any(problem for _n, _c, problem in rows) or rows[-1][0] - first != len(rows) - 1:
        return rows
    text = _ROW.join(_CELL.join(cells) for _n, cells, _p in rows)
    cells = sum(len(c) for _n, c, _p in rows)
    if (
        text.count(_CELL) != cells - sum(1 for _n, c, _p in rows if c)
        or text.count(_ROW) != len(rows) - 1
    ):
        return rows
    return (first, text)


def unpack_rows(packed):
    if isinstance(packed, list):
        return packed
    first, text = packed
    return [
        (number, line.split(_CELL) if line else [], None)
        for number, line in enumerate(text.split(_ROW), first)
    ]
