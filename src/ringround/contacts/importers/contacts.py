"""Importing contacts: deduplicate each batch against itself and the database, then write it.

A row is the same person as a contact already known (earlier in the file, or stored) when:

1. it has an external id (membership number, voter id) and a contact has that id; else
2. a contact has the row's (first) phone number, unless both have different external ids
   (two members sharing a landline are two people).

A matched contact is updated with what the row adds: non-empty fields replace, tags and custom
fields are merged, and its numbers become the row's followed by any others it had. A row that
adds nothing is *unchanged*, which is how a re-import of the same file reports every row.
"""

import json
from collections import Counter
from operator import itemgetter

from django.db import connection
from django.db.models import Q

from ringround.calling import targets
from ringround.contacts.models import Contact

from . import writers
from .base import BaseImporter, BatchResult
from .rows import (
    AREA,
    CUSTOM,
    EMAIL,
    EXTERNAL_ID,
    FIRST_NAME,
    KEY_EXTERNAL_ID,
    KEY_PHONE,
    KEY_ZONE,
    LAST_NAME,
    OTHER_PHONES,
    PHONE,
    PHONE_AS_TYPED,
    PHONE_TYPE,
    POSTCODE,
    TAGS,
    TIME_ZONE,
    expand,
)

LOADED = (
    "id",
    "external_id",
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
    "source",
)
IN_CHUNK = 900  # SQLite's limit on query parameters


class Entry:
    """A contact while a batch is being merged: from the database, or about to be created."""

    __slots__ = (
        "id",
        "external_id",
        "phone",
        "phone_as_typed",
        "phone_type",
        "time_zone",
        "others",
        "first_name",
        "last_name",
        "email",
        "postcode",
        "area",
        "tags",
        "custom",
        "source",
        "new",
        "stored_phone",
    )

    @classmethod
    def from_record(cls, record, source: str) -> "Entry":
        record = expand(record)
        entry = cls()
        entry.id = None
        entry.new = True
        entry.stored_phone = None
        entry.source = source
        entry.external_id = record[EXTERNAL_ID]
        entry.phone = record[PHONE]
        entry.phone_as_typed = record[PHONE_AS_TYPED]
        entry.phone_type = record[PHONE_TYPE]
        entry.time_zone = record[TIME_ZONE]
        entry.others = record[OTHER_PHONES]
        entry.first_name = record[FIRST_NAME]
        entry.last_name = record[LAST_NAME]
        entry.email = record[EMAIL]
        entry.postcode = record[POSTCODE]
        entry.area = record[AREA]
        entry.tags = record[TAGS]
        entry.custom = record[CUSTOM]
        return entry

    @classmethod
    def from_row(cls, row) -> "Entry":
        entry = cls()
        (
            entry.id,
            entry.external_id,
            entry.phone,
            entry.phone_as_typed,
            entry.phone_type,
            entry.time_zone,
            others,
            entry.first_name,
            entry.last_name,
            entry.email,
            entry.postcode,
            entry.area,
            tags,
            custom,
            entry.source,
        ) = row
        # Raw SQL on PostgreSQL gives JSON as text (Django loads it in the ORM, not here).
        if isinstance(others, str):
            others = json.loads(others)
        if isinstance(custom, str):
            custom = json.loads(custom)
        entry.others = list(others or [])
        entry.tags = tuple(t for t in (tags or "").split(",") if t)
        entry.custom = dict(custom or {})
        entry.new = False
        entry.stored_phone = entry.phone
        return entry

    def copy(self) -> "Entry":
        twin = Entry()
        for name in self.__slots__:
            setattr(twin, name, getattr(self, name))
        twin.others, twin.custom = list(self.others), dict(self.custom)
        return twin

    def merge(self, record) -> bool:
        """Take what ``record`` adds; ``True`` if anything changed."""
        record = expand(record)
        changed = False
        for attr, index in (
            ("first_name", FIRST_NAME),
            ("last_name", LAST_NAME),
            ("email", EMAIL),
            ("postcode", POSTCODE),
            ("area", AREA),
        ):
            value = record[index]
            if value and value != getattr(self, attr):
                setattr(self, attr, value)
                changed = True
        if record[EXTERNAL_ID] and not self.external_id:
            self.external_id = record[EXTERNAL_ID]
            changed = True
        current = [self.phone, *self.others]
        numbers = list(dict.fromkeys([record[PHONE], *record[OTHER_PHONES], *current]))
        if numbers != current:
            changed = True
            if numbers[0] != self.phone:
                self.phone = numbers[0]
                self.phone_as_typed = record[PHONE_AS_TYPED]
                self.phone_type = record[PHONE_TYPE]
                self.time_zone = record[TIME_ZONE]
            self.others = numbers[1:]
        tags = record[TAGS]
        if tags and not set(tags) <= set(self.tags):
            self.tags = tuple(sorted(set(self.tags).union(tags)))
            changed = True
        custom = record[CUSTOM]
        if custom and any(self.custom.get(k) != v for k, v in custom.items()):
            self.custom = {**self.custom, **custom}
            changed = True
        return changed


class Staged:
    """A batch deduplicated and ready to write: what to create, what to update, and counts."""

    __slots__ = ("result", "new", "ids", "dirty", "touched", "merged")

    def __init__(self, result, new, ids, dirty, touched, merged):
        self.result, self.new, self.ids, self.dirty = result, new, ids, dirty
        self.touched, self.merged = touched, merged


class ContactImporter(BaseImporter):
    kind = "contacts"

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.recent = InFlight()

    @property
    def pipelined(self) -> bool:
        """Big files on PostgreSQL, unless inside a transaction (which the writer thread's own
        connection could not see)."""
        return self.workers > 1 and writers.is_postgres() and not connection.in_atomic_block

    def stage(self, records) -> Staged:
        """Match each record to a contact (stored, in flight, or earlier in the batch) and
        merge; nothing is written yet."""
        source = self.job.source_label
        result = BatchResult()
        by_external_id, by_phone = self._known(records)
        self.recent.overlay(records, by_external_id, by_phone, source)
        # New contacts: a record as cleaned (with its COPY line ready), until a later row of the
        # batch merges into it and it becomes an Entry. The indexes hold Entries or positions
        # in ``new``.
        new = []
        dirty = {}
        touched = [] if self.job.campaign_id else None

        merged = []

        def resolve(ref):
            if type(ref) is int:
                found = new[ref]
                if type(found) is tuple:
                    found = new[ref] = Entry.from_record(found, source)
                    merged.append(ref)
                return found
            return ref

        def external_id_of(ref):
            return (
                new[ref][KEY_EXTERNAL_ID]
                if type(ref) is int and type(new[ref]) is tuple
                else (resolve(ref).external_id)
            )

        # Most rows of a big file are new people whose keys appear once in the batch and are
        # not stored: they go straight to ``new``; only the rest need matching, in file order
        # among themselves (rows sharing a key are all in the rest).
        phones = Counter(r[KEY_PHONE] for r in records)
        external_ids = Counter(r[KEY_EXTERNAL_ID] for r in records)
        rest = []
        for record in records:
            external_id, phone = record[KEY_EXTERNAL_ID], record[KEY_PHONE]
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

        for record in rest:
            external_id, phone = record[KEY_EXTERNAL_ID], record[KEY_PHONE]
            ref = by_external_id.get(external_id) if external_id else None
            if ref is None:
                for candidate in by_phone.get(phone, ()):
                    if not external_id or not external_id_of(candidate):
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
                entry = resolve(ref)
                if entry.new or entry.source == source:
                    result.duplicates += 1
                had_external_id, had_phone = entry.external_id, entry.phone
                if entry.merge(record):
                    result.updated += 1
                    if not entry.new:
                        dirty[entry.id] = entry
                    if entry.external_id != had_external_id:
                        by_external_id[entry.external_id] = ref
                    if entry.phone != had_phone:
                        by_phone.setdefault(entry.phone, []).append(ref)
                else:
                    result.unchanged += 1
            if touched is not None:
                touched.append(ref)
        ids = writers.reserve_ids(len(new)) if writers.is_postgres() else None
        staged = Staged(result, new, ids, list(dirty.values()), touched, merged)
        if self.pipelined:
            self.recent.add(self.staged_batches, staged)
        return staged

    def apply(self, staged: Staged) -> BatchResult:
        """Write a staged batch (inside its transaction)."""
        result = staged.result
        ids = writers.insert_contacts(staged.new, self.job.source_label, ids=staged.ids)
        writers.update_contacts(staged.dirty)
        self._move_targets([e for e in staged.dirty if e.phone != e.stored_phone])
        if staged.touched is not None:
            targets = {}
            for ref in staged.touched:
                if type(ref) is int:
                    found = staged.new[ref]
                    pk = ids[ref]
                    phone, zone = (
                        (found[KEY_PHONE], found[KEY_ZONE])
                        if type(found) is tuple
                        else (found.phone, found.time_zone)
                    )
                else:
                    pk, phone, zone = ref.id, ref.phone, ref.time_zone
                targets[pk] = (phone, zone)
            result.targets_added = self._add_targets(targets)
        return result

    def committed(self, batch: int) -> None:
        self.recent.forget(batch)

    def _known(self, records):
        """Stored contacts this batch may match, indexed by external id and by phone."""
        external_ids = list({r[KEY_EXTERNAL_ID] for r in records if r[KEY_EXTERNAL_ID]})
        phones = list({r[KEY_PHONE] for r in records})
        rows = {}
        if writers.is_postgres():
            for row in writers.contacts_matching(LOADED, phones, external_ids):
                rows[row[0]] = row
        else:
            for start in range(0, len(external_ids), IN_CHUNK):
                chunk = external_ids[start : start + IN_CHUNK]
                query = Contact.objects.filter(Q(external_id__in=chunk) & ~Q(external_id=""))
                rows.update((row[0], row) for row in query.values_list(*LOADED))
            for start in range(0, len(phones), IN_CHUNK):
                query = Contact.objects.filter(phone__in=phones[start : start + IN_CHUNK])
                rows.update((row[0], row) for row in query.values_list(*LOADED))
        by_external_id, by_phone = {}, {}
        for pk in sorted(rows):
            entry = Entry.from_row(rows[pk])
            if entry.external_id:
                by_external_id[entry.external_id] = entry
            by_phone.setdefault(entry.phone, []).append(entry)
        return by_external_id, by_phone

    @staticmethod
    def _move_targets(entries) -> None:
        """A contact's number changed: their call targets dial the new one from now on."""
        targets.follow_new_numbers((e.id, e.phone, e.time_zone) for e in entries)

    def _add_targets(self, contacts: dict) -> int:
        """Make the batch's contacts (``{id: (phone, time zone)}``) targets of the import's
        campaign, once each; a suppressed number goes in as suppressed."""
        rows = ((pk, phone, zone) for pk, (phone, zone) in contacts.items())
        return targets.add_contact_rows(self.job.campaign_id, rows)

    def finish(self) -> dict:
        if self.job.campaign_id:
            targets.refresh_time_zones(self.job.campaign)
        return {}


class InFlight:
    """Contacts created or changed by batches staged but not yet committed.

    When batches are written by a separate thread (big files on PostgreSQL), the next batch is
    matched while the previous one is still being written; the database does not show those
    contacts yet, so they are looked up here first. A batch is forgotten once it has committed.
    (At most two batches are in flight, so a lookup is a few dictionary probes.)"""

    def __init__(self):
        self.batches: dict = {}

    def add(self, batch: int, staged) -> None:
        # Done for every batch, so with C-speed helpers: new contacts are cleaned records
        # (tuples) except the few rows merged into (Entries, listed in ``staged.merged``).
        ids = list(staged.ids or ())
        items = list(zip(ids, staged.new, strict=True))
        if staged.merged:
            records = list(staged.new)
            for position in staged.merged:
                entry = records[position]
                records[position] = {KEY_PHONE: entry.phone, KEY_EXTERNAL_ID: entry.external_id}
        else:
            records = staged.new
        phones = list(map(itemgetter(KEY_PHONE), records))
        external_ids = list(map(itemgetter(KEY_EXTERNAL_ID), records))
        for entry in staged.dirty:
            items.append((entry.id, entry))
            phones.append(entry.phone)
            external_ids.append(entry.external_id)
        positions = range(len(items))
        by_phone = dict(zip(phones, positions, strict=True))
        several = {}
        if len(by_phone) != len(items):  # two people with one number: keep them all
            for position, phone in enumerate(phones):
                several.setdefault(phone, []).append(position)
        by_external_id = dict(zip(external_ids, positions, strict=True))
        by_external_id.pop("", None)
        self.batches[batch] = (items, by_phone, several, by_external_id)

    def forget(self, batch: int) -> None:
        self.batches.pop(batch, None)

    def overlay(self, records, by_external_id, by_phone, source) -> None:
        """Put the in-flight version of contacts over what the database returned."""
        if not self.batches:
            return
        entries = {}

        def entry(items, position):
            pk, item = items[position]
            if type(item) is tuple:
                fresh = Entry.from_record(item, source)
            else:
                fresh = item.copy()
            fresh.id, fresh.new, fresh.stored_phone = pk, False, fresh.phone
            entries[pk] = fresh  # a later batch's version replaces an earlier one
            return fresh

        hits = {}  # phone -> in-flight ids with that phone
        for batch in sorted(self.batches):
            items, phones, several, external_ids = self.batches[batch]
            for record in records:
                external_id, phone = record[KEY_EXTERNAL_ID], record[KEY_PHONE]
                if external_id and external_id in external_ids:
                    by_external_id[external_id] = entry(items, external_ids[external_id])
                if phone in phones:
                    for position in several.get(phone, (phones[phone],)):
                        hits.setdefault(phone, set()).add(entry(items, position).id)
        if not entries:
            return
        for key, found in list(by_external_id.items()):
            if type(found) is Entry and found.id in entries:
                by_external_id[key] = entries[found.id]
        for phone in set(by_phone) | set(hits):
            listed = {e.id: e for e in by_phone.get(phone, ())}
            listed.update((pk, entries[pk]) for pk in hits.get(phone, ()))
            listed.update((pk, entries[pk]) for pk in list(listed) if pk in entries)
            by_phone[phone] = [listed[pk] for pk in sorted(listed)]
