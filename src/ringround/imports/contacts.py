"""Importing contacts: deduplicate each batch against itself and the database, then write it.

A row is the same person as a contact already known (earlier in the file, or stored) when:

1. it has an external id (membership number, voter id) and a contact has that id; else
2. a contact has the row's (first) phone number, unless both have different external ids
   (two members sharing a landline are two people).

What a matched row changes is the organiser's choice, the import's rule for repeated people
(``Import.repeats``):

- *fill blanks* (the default): the row only fills what the contact has empty: empty fields,
  custom fields it lacks, numbers it does not have yet (after its own), tags it lacks.
- *keep first*: the row changes nothing; the contact stays as first seen.
- *keep last*: the row's non-empty fields replace, its custom fields win, its numbers come
  first (followed by any others the contact had); tags are merged. (What every import did
  before the rule could be chosen.)

A row that adds nothing is *unchanged*, which is how a re-import of the same file reports
every row.
"""

import json
from collections import Counter
from operator import itemgetter

from django.db import connection

from ringround.calling import targets
from ringround.contacts import bulk
from ringround.contacts.models import CONTACT_FIELDS

from .base import BaseImporter, BatchResult
from .rows import json_list, loads, tags_of, tags_text

AT = {name: index for index, name in enumerate(CONTACT_FIELDS)}
PHONE, TYPED, KIND, ZONE, OTHERS = (
    AT[name] for name in ("phone", "phone_as_typed", "phone_type", "time_zone", "other_phones")
)
EXTERNAL_ID, TAGS, CUSTOM, SOURCE = (
    AT[name] for name in ("external_id", "tags", "custom_fields", "source")
)
# Fields a later row's value replaces when it has one; the others merge their own way below.
REPLACED = tuple(
    index
    for name, index in AT.items()
    if index not in (PHONE, TYPED, KIND, ZONE, OTHERS, EXTERNAL_ID, TAGS, CUSTOM, SOURCE)
)
phone_of, external_id_of = itemgetter(PHONE), itemgetter(EXTERNAL_ID)


FILL_BLANKS, KEEP_FIRST, KEEP_LAST = "fill_blanks", "keep_first", "keep_last"  # Import.Repeats


def merged(row: tuple, record: tuple, repeats: str = FILL_BLANKS) -> tuple | None:
    """A contact's row (``row``) with what a later row of a file (``record``) adds under the
    rule for repeated people; ``None`` when it adds nothing."""
    if repeats == KEEP_FIRST:
        return None
    overwrite = repeats == KEEP_LAST
    new = list(row)
    for index in REPLACED:
        value = record[index]
        if value and value != row[index] and (overwrite or not row[index]):
            new[index] = value
    if record[EXTERNAL_ID] and not row[EXTERNAL_ID]:
        new[EXTERNAL_ID] = record[EXTERNAL_ID]
    current = [row[PHONE], *loads(row[OTHERS])]
    later = [record[PHONE], *loads(record[OTHERS])]
    numbers = list(dict.fromkeys([*later, *current] if overwrite else [*current, *later]))
    if numbers != current:
        if numbers[0] != row[PHONE]:
            for index in (PHONE, TYPED, KIND, ZONE):
                new[index] = record[index]
        new[OTHERS] = json_list(numbers[1:])
    tags, had = set(tags_of(record[TAGS])), set(tags_of(row[TAGS]))
    if tags and not tags <= had:
        new[TAGS] = tags_text(sorted(had | tags))
    custom = loads(record[CUSTOM])
    if custom:
        stored = loads(row[CUSTOM]) or {}
        if not overwrite:
            custom = {key: value for key, value in custom.items() if not stored.get(key)}
        if any(stored.get(key) != value for key, value in custom.items()):
            new[CUSTOM] = json.dumps({**stored, **custom}, ensure_ascii=False)
    new = tuple(new)
    return None if new == row else new


class Known:
    """A stored contact (or one a batch in flight is writing) while a batch is matched: its
    row as it will be, and the number the database has for it now."""

    __slots__ = ("id", "row", "stored_phone")

    def __init__(self, pk: int, row: tuple):
        self.id, self.row, self.stored_phone = pk, row, row[PHONE]


class Staged:
    """A batch deduplicated and ready to write: new rows (and their reserved ids), changed
    contacts, the contacts it names (for the campaign) and its counts.

    ``touched`` holds, per row of the batch, a position in ``new`` or a ``Known``; the first
    ``fast`` rows of ``new`` are rows of the batch as they came (new people whose keys nobody
    else has), the rest were matched first."""

    __slots__ = ("result", "new", "ids", "changed", "touched", "fast")

    def __init__(self, result, new, ids, changed, touched, fast=0):
        self.result, self.new, self.ids = result, new, ids
        self.changed, self.touched, self.fast = changed, touched, fast


class ContactImporter(BaseImporter):
    kind = "contacts"

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.recent = InFlight()
        self.statistics = bulk.Statistics()

    @property
    def pipelined(self) -> bool:
        """Big files on PostgreSQL, unless inside a transaction (which the writer thread's own
        connection could not see)."""
        return self.workers > 1 and bulk.is_postgres() and not connection.in_atomic_block

    def stage(self, records) -> Staged:
        """Match and merge a batch, and reserve ids for its new contacts (PostgreSQL)."""
        staged = self.match(records)
        staged.ids = bulk.reserve_ids(len(staged.new)) if bulk.is_postgres() else None
        if self.pipelined:
            self.recent.add(self.staged_batches, staged)
        return staged

    def match(self, records) -> Staged:
        """Match each row to a contact (stored, in flight, or earlier in the batch) and merge;
        nothing is written, and the database is only read (the prediction uses this too)."""
        source = self.job.source_label
        repeats = self.job.repeats
        result = BatchResult()
        by_external_id, by_phone = self._known(self.job.team_id, records)
        self.recent.overlay(records, by_external_id, by_phone)
        new = []  # rows to create; the indexes point at positions here, or at Knowns
        changed = {}
        touched = [] if self.job.campaign_id else None

        def row_of(ref):
            return new[ref] if type(ref) is int else ref.row

        # Most rows of a big file are new people whose keys appear once in the batch and are
        # not stored: they go straight to ``new``; only the rest need matching, in file order
        # among themselves (rows sharing a key are all in the rest).
        phones = Counter(map(phone_of, records))
        external_ids = Counter(map(external_id_of, records))
        rest = []
        for record in records:
            external_id, phone = record[EXTERNAL_ID], record[PHONE]
            if (
                phones[phone] == 1
                and phone not in by_phone
                and (
                    not external_id
                    or (external_ids[external_id] == 1 and external_id not in by_external_id)
                )
            ):
                if touched is not None:
                    touched.append(len(new))
                new.append(record)
            else:
                rest.append(record)
        result.created += len(new)
        fast = len(new)

        for record in rest:
            external_id, phone = record[EXTERNAL_ID], record[PHONE]
            ref = by_external_id.get(external_id) if external_id else None
            if ref is None:
                for candidate in by_phone.get(phone, ()):
                    if not external_id or not row_of(candidate)[EXTERNAL_ID]:
                        ref = candidate
                        break
            if ref is None:
                ref = len(new)
                new.append(record)
                if external_id:
                    by_external_id[external_id] = ref
                by_phone.setdefault(phone, []).append(ref)
                result.created += 1
            else:
                row = row_of(ref)
                if type(ref) is int or row[SOURCE] == source:
                    result.duplicates += 1
                after = merged(row, record, repeats)
                if after is None:
                    result.unchanged += 1
                else:
                    result.updated += 1
                    if type(ref) is int:
                        new[ref] = after
                    else:
                        ref.row = after
                        changed[ref.id] = ref
                    if after[EXTERNAL_ID] != row[EXTERNAL_ID]:
                        by_external_id[after[EXTERNAL_ID]] = ref
                    if after[PHONE] != row[PHONE]:
                        by_phone.setdefault(after[PHONE], []).append(ref)
            if touched is not None:
                touched.append(ref)
        return Staged(result, new, None, list(changed.values()), touched, fast)

    def apply(self, staged: Staged) -> BatchResult:
        """Write a staged batch (inside its transaction)."""
        result = staged.result
        ids = bulk.insert_rows(self.job.team_id, staged.new, staged.ids)
        self.statistics.grew(len(staged.new))
        bulk.update_rows([(known.id, known.row) for known in staged.changed])
        targets.follow_new_numbers(
            (known.id, known.row[PHONE], known.row[ZONE])
            for known in staged.changed
            if known.row[PHONE] != known.stored_phone
        )
        if staged.touched is not None:
            named = {}
            for ref in staged.touched:
                pk, row = (ids[ref], staged.new[ref]) if type(ref) is int else (ref.id, ref.row)
                named[pk] = (pk, row[PHONE], row[ZONE])
            result.targets_added = targets.add_contact_rows(self.job.campaign_id, named.values())
        return result

    def committed(self, batch: int) -> None:
        self.recent.forget(batch)

    def finish(self) -> dict:
        if self.job.campaign_id:
            targets.refresh_time_zones(self.job.campaign)
        return {}

    @staticmethod
    def _known(team_id, records):
        """The team's stored contacts this batch may match, indexed by external id and by
        phone."""
        external_ids = list({r[EXTERNAL_ID] for r in records if r[EXTERNAL_ID]})
        phones = list({r[PHONE] for r in records})
        by_external_id, by_phone = {}, {}
        for pk, row in sorted(bulk.rows_matching(team_id, phones, external_ids)):
            known = Known(pk, row)
            if row[EXTERNAL_ID]:
                by_external_id[row[EXTERNAL_ID]] = known
            by_phone.setdefault(row[PHONE], []).append(known)
        return by_external_id, by_phone


class InFlight:
    """Contacts created or changed by batches staged but not yet committed.

    When batches are written by a separate thread (big files on PostgreSQL), the next batch is
    matched while the previous one is still being written; the database does not show those
    contacts yet, so they are looked up here first. A batch is forgotten once it has committed.
    (At most two batches are in flight, so a lookup is a few dictionary probes.)"""

    def __init__(self):
        self.batches: dict = {}

    def add(self, batch: int, staged: Staged) -> None:
        # Done for every batch, so with C-speed helpers.
        items = list(zip(staged.ids or (), staged.new, strict=True))
        rows = staged.new
        if staged.changed:
            items += [(known.id, known.row) for known in staged.changed]
            rows = [*rows, *(known.row for known in staged.changed)]
        phones = list(map(phone_of, rows))
        positions = range(len(items))
        by_phone = dict(zip(phones, positions, strict=True))
        several = {}
        if len(by_phone) != len(items):  # two people with one number: keep them all
            for position, phone in enumerate(phones):
                several.setdefault(phone, []).append(position)
        by_external_id = dict(zip(map(external_id_of, rows), positions, strict=True))
        by_external_id.pop("", None)
        self.batches[batch] = (items, by_phone, several, by_external_id)

    def forget(self, batch: int) -> None:
        self.batches.pop(batch, None)

    def overlay(self, records, by_external_id, by_phone) -> None:
        """Put the in-flight version of contacts over what the database returned."""
        if not self.batches:
            return
        found = {}

        def known(items, position):
            pk, row = items[position]
            found[pk] = fresh = Known(pk, row)  # a later batch's version replaces an earlier
            return fresh

        hits = {}  # phone -> in-flight ids with that phone
        for batch in sorted(self.batches):
            items, phones, several, external_ids = self.batches[batch]
            for record in records:
                external_id, phone = record[EXTERNAL_ID], record[PHONE]
                if external_id and external_id in external_ids:
                    by_external_id[external_id] = known(items, external_ids[external_id])
                if phone in phones:
                    for position in several.get(phone, (phones[phone],)):
                        hits.setdefault(phone, set()).add(known(items, position).id)
        if not found:
            return
        for key, entry in list(by_external_id.items()):
            if type(entry) is Known and entry.id in found:
                by_external_id[key] = found[entry.id]
        for phone in set(by_phone) | set(hits):
            listed = {e.id: e for e in by_phone.get(phone, ())}
            listed.update((pk, found[pk]) for pk in hits.get(phone, ()))
            listed.update((pk, found[pk]) for pk in list(listed) if pk in found)
            by_phone[phone] = [listed[pk] for pk in sorted(listed)]
