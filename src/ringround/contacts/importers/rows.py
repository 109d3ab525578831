"""Validating and cleaning rows: from the cells of a file to contact records, or to rejections.

This is the CPU-heavy half of an import (mostly phone numbers), so it is a pure function of a
picklable ``Plan`` and a batch of rows, imports nothing from Django, and runs in worker
processes for big files.
"""

import base64
import gc
import json
import os
import re
import threading
import time
from dataclasses import dataclass
from json.encoder import encode_basestring

import phonenumbers

from .fastphone import InvalidPhone, parser_for

MAX_LENGTHS = {
    "first name": 150,
    "last name": 150,
    "postcode": 16,
    "area": 150,
    "membership number / voter id": 100,
    "email": 254,
}
MAX_REJECTED_CELLS = 600
MAX_REJECTED_CELL_CHARS = 2000

# The fields of a contact record in full (``expand``).
(
    ROW,
    EXTERNAL_ID,
    PHONE,
    PHONE_AS_TYPED,
    PHONE_TYPE,
    TIME_ZONE,
    OTHER_PHONES,
    FIRST_NAME,
    LAST_NAME,
    EMAIL,
    POSTCODE,
    AREA,
    TAGS,
    CUSTOM,
    COPY_BODY,
) = range(15)
# A record as cleaned is short, so it is cheap to send between processes:
KEY_ROW, KEY_EXTERNAL_ID, KEY_PHONE, KEY_ZONE, KEY_BODY = range(5)

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
    """Where each field is in a row, fixed for the whole file (column indexes, -1: absent)."""

    kind: str
    width: int
    phones: tuple[int, ...]
    first_name: int = -1
    last_name: int = -1
    full_name: int = -1
    email: int = -1
    postcode: int = -1
    area: int = -1
    external_id: int = -1
    tags: int = -1
    country: int = -1
    custom: tuple[tuple[int, str], ...] = ()
    default_country: str = "GB"
    import_tags: tuple[str, ...] = ()
    source: str = ""


def build_plan(
    kind, headers, mapping, *, default_country="GB", tags=(), custom=None, source=""
) -> Plan:
    single = {}
    for index, code in enumerate(mapping):
        if code in ("phone", "custom", "ignore"):
            continue
        single.setdefault(code, index)
    return Plan(
        kind=kind,
        width=len(headers),
        phones=tuple(i for i, code in enumerate(mapping) if code == "phone"),
        custom=tuple(sorted((custom or {}).items())),
        default_country=(default_country or "GB").upper(),
        import_tags=tuple(sorted(clean_tags(tags))),
        source=source,
        **single,
    )


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


def prepare_batch(plan: Plan, rows):
    """``rows`` of ``(row_number, cells, problem)`` -> ``(records, rejects, blank)``.

    ``rejects`` are ``(row_number, reason, cells)``; ``blank`` counts rows with nothing in them,
    which are skipped and not counted as read."""
    if plan.kind == "suppressions":
        return _prepare_suppressions(plan, rows)
    records, rejects, blank = [], [], 0
    append, reject = records.append, rejects.append
    parse = parser_for(plan.default_country).parse
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
            append(_contact(plan, number, cleaned, parse))
        except RowProblem as exc:
            reject((number, str(exc), clip_row(cells)))
    return records, rejects, blank


class RowProblem(ValueError):
    pass


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


def _contact(plan: Plan, number: int, cells: list[str], parse):
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
    others = [f[0] for f in found[1:]]

    first = cells[plan.first_name] if plan.first_name >= 0 else ""
    last = cells[plan.last_name] if plan.last_name >= 0 else ""
    if plan.full_name >= 0 and not (first or last):
        first, last = split_name(cells[plan.full_name])
    email = cells[plan.email] if plan.email >= 0 else ""
    custom = {key: cells[i] for i, key in plan.custom if cells[i]}
    if email and not _EMAIL.match(email):
        custom["email_as_typed"] = email
        email = ""
    if invalid:
        custom["phones_not_valid"] = "; ".join(invalid)
    postcode = cells[plan.postcode] if plan.postcode >= 0 else ""
    if postcode:
        postcode = tidy_postcode(postcode)
    area = cells[plan.area] if plan.area >= 0 else ""
    if "  " in area:
        area = " ".join(area.split())
    external_id = cells[plan.external_id] if plan.external_id >= 0 else ""
    if (
        len(first) > 150
        or len(last) > 150
        or len(postcode) > 16
        or len(area) > 150
        or len(external_id) > 100
        or len(email) > 254
    ):
        _too_long(
            first=first, last=last, postcode=postcode, area=area, ext=external_id, email=email
        )
    tags = plan.import_tags
    if plan.tags >= 0 and cells[plan.tags]:
        tags = _row_tags(cells[plan.tags], tags)
    typed = typed[:64]
    body = copy_line(
        [
            first,
            last,
            e164,
            typed,
            kind,
            json_list(others),
            email,
            postcode,
            area,
            f",{','.join(tags)}," if tags else "",
            external_id,
            json_object(custom),
            zone,
            plan.source,
        ]
    )
    # Only what deduplication needs travels separately; the rest is in the COPY line, from
    # which ``expand`` recovers it for the few records that are merged or not COPYed.
    return (number, external_id, e164, zone, body)


def copy_fields(body: str) -> list[str]:
    """A COPY line's fields, unescaped."""
    fields = body.split("\t")
    if "\\" in body:
        fields = [_COPY_UNESCAPE.sub(_unescape, f) for f in fields]
    return fields


def expand(record) -> tuple:
    """A record's fields in full (see the ROW … CUSTOM indexes), from its COPY line."""
    fields = copy_fields(record[KEY_BODY])
    (
        first,
        last,
        e164,
        typed,
        kind,
        others,
        email,
        postcode,
        area,
        tags,
        external_id,
        custom,
        zone,
        _source,
    ) = fields
    return (
        record[KEY_ROW],
        external_id,
        e164,
        typed,
        kind,
        zone,
        json.loads(others),
        first,
        last,
        email,
        postcode,
        area,
        tuple(t for t in tags.split(",") if t),
        json.loads(custom),
        record[KEY_BODY],
    )


_COPY_UNESCAPE = re.compile(r"\\(.)")
_UNESCAPES = {"t": "\t", "n": "\n", "r": "\r", "\\": "\\"}


def _unescape(match) -> str:
    return _UNESCAPES.get(match.group(1), match.group(1))


def _too_long(*, first, last, postcode, area, ext, email):
    for label, value in (
        ("first name", first),
        ("last name", last),
        ("postcode", postcode),
        ("area", area),
        ("membership number / voter id", ext),
        ("email", email),
    ):
        if len(value) > MAX_LENGTHS[label]:
            raise RowProblem(f"{label} longer than {MAX_LENGTHS[label]} characters")


# -- PostgreSQL COPY text, made here so the main process only adds the id ------------------

_COPY_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


def copy_line(fields: list[str]) -> str:
    """Fields in PostgreSQL's COPY text format (tab-separated, backslash escapes)."""
    line = "\t".join(fields)
    if (
        line.count("\t") == len(fields) - 1
        and "\\" not in line
        and "\n" not in line
        and "\r" not in line
    ):
        return line
    return "\t".join(f.translate(_COPY_ESCAPES) for f in fields)


def json_list(values: list[str]) -> str:
    if not values:
        return "[]"
    return "[" + ",".join(encode_basestring(v) for v in values) + "]"


def json_object(values: dict) -> str:
    if not values:
        return "{}"
    return (
        "{"
        + ",".join(encode_basestring(k) + ":" + encode_basestring(v) for k, v in values.items())
        + "}"
    )


def public_ids(count: int) -> list[str]:
    """As ``ringround.ids.new_public_id`` (9 random bytes, URL-safe base64), many at once."""
    blob = base64.urlsafe_b64encode(os.urandom(9 * count)).decode()
    return [blob[i : i + 12] for i in range(0, 12 * count, 12)]


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
        records.append((number, e164))
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


def pack_records(records):
    """Cleaned records as a few long strings (one per field) for the trip back: a tenth of
    the pickling work of 10,000 tuples. COPY lines never hold a newline; phones and zones
    never a separator; a batch whose external ids do goes as it is."""
    if not records or len(records[0]) != 5:
        return records
    numbers, external_ids, phones, zones, bodies = zip(*records, strict=True)
    joined = _CELL.join(external_ids)
    if joined.count(_CELL) != len(records) - 1:
        return records
    return (numbers, joined, _CELL.join(phones), _CELL.join(zones), "\n".join(bodies))


def unpack_records(packed):
    if isinstance(packed, list):
        return packed
    numbers, external_ids, phones, zones, bodies = packed
    return list(
        zip(
            numbers,
            external_ids.split(_CELL),
            phones.split(_CELL),
            zones.split(_CELL),
            bodies.split("\n"),
            strict=True,
        )
    )


# A batch travels to a worker as one string rather than 10,000 lists of cells: pickling those
# was a tenth of the main process's time. A batch with a cell holding a separator travels as
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
