"""Bulk writing of contacts: PostgreSQL COPY where there is PostgreSQL, the ORM elsewhere.

Both are called inside the batch's transaction. On PostgreSQL new rows take ids from the table's
own sequence and go in with one ``COPY``; changed rows are copied into a temporary table and
applied with one ``UPDATE … FROM``. That is the difference between minutes and seconds for a
million rows. SQLite (a local party's laptop) uses ``bulk_create`` / ``bulk_update``.
"""

import json

from django.db import connection
from django.utils import timezone

from ringround.contacts.models import Contact

from .rows import (
    AREA,
    CUSTOM,
    EMAIL,
    EXTERNAL_ID,
    FIRST_NAME,
    KEY_BODY,
    KEY_PHONE,
    LAST_NAME,
    OTHER_PHONES,
    PHONE,
    PHONE_AS_TYPED,
    PHONE_TYPE,
    POSTCODE,
    TAGS,
    TIME_ZONE,
    copy_fields,
    copy_line,
    expand,
    json_list,
    public_ids,
)

# Columns written for each contact, in COPY order (after id).
COLUMNS = [
    "public_id",
    "first_name",
    "last_name",
    "phone",
    "phone_as_typed",
    "phone_type",
    "other_phones",
    "email",
    "postcode",
    "area",
    "tags",
    "external_id",
    "custom_fields",
    "time_zone",
    "source",
    "created_at",
    "updated_at",
]
UPDATE_COLUMNS = [
    "first_name",
    "last_name",
    "phone",
    "phone_as_typed",
    "phone_type",
    "other_phones",
    "email",
    "postcode",
    "area",
    "tags",
    "external_id",
    "custom_fields",
    "time_zone",
]
SMALL = 200  # below this many rows the ORM is as quick and simpler


def is_postgres() -> bool:
    return connection.vendor == "postgresql"


def reserve_ids(count: int) -> list[int]:
    """PostgreSQL: ids for new contacts from the table's own sequence, before writing them."""
    if not count:
        return []
    with connection.cursor() as cursor:
        if _sequence[0] is None:
            cursor.execute("SELECT pg_get_serial_sequence('contacts_contact', 'id')")
            _sequence[0] = cursor.fetchone()[0]
        # The sequence by name, not pg_get_serial_sequence() per row: that was 7x the cost.
        cursor.execute(
            "SELECT array_agg(nextval(%s::regclass)) FROM generate_series(1, %s)",
            [_sequence[0], count],
        )
        return cursor.fetchone()[0]


_sequence = [None]


def tags_text(tags) -> str:
    return f",{','.join(tags)}," if tags else ""


def _json(value, empty: str) -> str:
    return json.dumps(value, ensure_ascii=False) if value else empty


def contacts_matching(columns, phones, external_ids):
    """PostgreSQL: the contacts with any of these phones or external ids, in one query.

    The keys go as two strings split on the server: adapting a 10,000-item list parameter in
    Python cost more than the query."""
    import psycopg

    keys = [_joined(phones), _joined(external_ids)]
    split = "string_to_array(%s, E'\\x1f')"
    if None in keys:  # a key containing the separator: send real arrays
        keys, split = [phones, external_ids], "%s"
    connection.ensure_connection()
    with psycopg.Cursor(connection.connection) as cursor:
        cursor.execute(
            f"SELECT {', '.join(columns)} FROM contacts_contact "
            f"WHERE phone = ANY({split}) OR (external_id <> '' AND external_id = ANY({split}))",
            keys,
            # Never a prepared statement: its generic plan, not knowing how long the arrays
            # are, would scan the whole table, batch after batch.
            prepare=False,
        )
        return cursor.fetchall()


def _joined(values) -> str | None:
    text = "\x1f".join(values)
    return text if text.count("\x1f") == max(len(values) - 1, 0) else None


def insert_contacts(new, source: str, *, ids=None) -> list[int]:
    """Create contacts from cleaned records (or Entries merged from several rows); their ids
    (``ids``: already reserved, PostgreSQL).

    A record carries its COPY line already (made in the worker process), so the main process
    only adds the id and public id."""
    if not new:
        return []
    if is_postgres():
        ids = ids or reserve_ids(len(new))
        if len(new) >= SMALL:
            return _copy_insert(new, ids)
    elif connection.vendor == "sqlite" and len(new) >= SMALL:
        return _sqlite_insert(new)
    now = timezone.now()
    contacts = [_contact(item, source, now) for item in new]
    if ids:
        for contact, pk in zip(contacts, ids, strict=True):
            contact.pk = pk
    Contact.objects.bulk_create(contacts, batch_size=500)
    ids = [c.pk for c in contacts]
    for item, pk in zip(new, ids, strict=True):
        if type(item) is not tuple:
            item.id = pk
    return ids


def _contact(item, source, now) -> Contact:
    if type(item) is tuple:
        item = expand(item)
        return Contact(
            first_name=item[FIRST_NAME],
            last_name=item[LAST_NAME],
            phone=item[PHONE],
            phone_as_typed=item[PHONE_AS_TYPED],
            phone_type=item[PHONE_TYPE],
            other_phones=list(item[OTHER_PHONES]),
            email=item[EMAIL],
            postcode=item[POSTCODE],
            area=item[AREA],
            tags=tags_text(item[TAGS]),
            external_id=item[EXTERNAL_ID],
            custom_fields=dict(item[CUSTOM]),
            time_zone=item[TIME_ZONE],
            source=source,
            created_at=now,
            updated_at=now,
        )
    return Contact(
        first_name=item.first_name,
        last_name=item.last_name,
        phone=item.phone,
        phone_as_typed=item.phone_as_typed,
        phone_type=item.phone_type,
        other_phones=list(item.others),
        email=item.email,
        postcode=item.postcode,
        area=item.area,
        tags=tags_text(item.tags),
        external_id=item.external_id,
        custom_fields=dict(item.custom),
        time_zone=item.time_zone,
        source=source,
        created_at=now,
        updated_at=now,
    )


def _sqlite_insert(new) -> list[int]:
    """SQLite: one ``executemany`` of ready values (the ORM's per-field preparation took four
    fifths of the time). Ids follow the table's highest, which is safe: the batch holds
    SQLite's write lock (``transaction_mode: IMMEDIATE``)."""
    stamp = connection.ops.adapt_datetimefield_value(timezone.now())
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT MAX(n) FROM (SELECT MAX(id) AS n FROM contacts_contact UNION ALL "
            "SELECT seq FROM sqlite_sequence WHERE name = 'contacts_contact')"
        )
        first = (cursor.fetchone()[0] or 0) + 1
        ids = list(range(first, first + len(new)))
        rows = []
        for pk, public_id, item in zip(ids, public_ids(len(new)), new, strict=True):
            if type(item) is tuple:
                fields = copy_fields(item[KEY_BODY])
            else:
                item.id = pk
                fields = _entry_fields(item)
            rows.append((pk, public_id, *fields, stamp, stamp))
        columns = ", ".join(["id", *COLUMNS])
        marks = ", ".join(["%s"] * (len(COLUMNS) + 1))
        cursor.executemany(f"INSERT INTO contacts_contact ({columns}) VALUES ({marks})", rows)
    return ids


def _entry_fields(entry) -> list[str]:
    return [
        entry.first_name,
        entry.last_name,
        entry.phone,
        entry.phone_as_typed,
        entry.phone_type,
        json_list(entry.others),
        entry.email,
        entry.postcode,
        entry.area,
        tags_text(entry.tags),
        entry.external_id,
        json.dumps(entry.custom, ensure_ascii=False) if entry.custom else "{}",
        entry.time_zone,
        entry.source,
    ]


def _entry_line(entry) -> str:
    return copy_line(_entry_fields(entry))


def _copy_insert(new, ids) -> list[int]:
    """COPY the batch in order of phone number, with its (random) public ids sorted too: the
    two indexes that take random keys are then filled in order, which costs PostgreSQL a
    third less work than the file's order. (Ids stay as reserved, in file order.)"""
    stamp = timezone.now().isoformat()
    phones = [item[KEY_PHONE] if type(item) is tuple else item.phone for item in new]
    order = sorted(range(len(new)), key=phones.__getitem__)
    lines = []
    append = lines.append
    for position, public_id in zip(order, sorted(public_ids(len(new))), strict=True):
        pk, item = ids[position], new[position]
        if type(item) is tuple:
            body = item[KEY_BODY]
        else:
            item.id = pk
            body = _entry_line(item)
        append(f"{pk}\t{public_id}\t{body}\t{stamp}\t{stamp}\n")
    columns = ", ".join(["id", *COLUMNS])
    with connection.cursor() as cursor:
        with cursor.cursor.copy(f"COPY contacts_contact ({columns}) FROM STDIN") as copy:
            copy.write("".join(lines))
    return ids


def update_contacts(entries) -> None:
    """Save the changed fields of existing contacts."""
    if not entries:
        return
    if is_postgres() and len(entries) >= SMALL:
        _copy_update(entries)
        return
    now = timezone.now()
    contacts = []
    for e in entries:
        contact = Contact(
            pk=e.id,
            first_name=e.first_name,
            last_name=e.last_name,
            phone=e.phone,
            phone_as_typed=e.phone_as_typed,
            phone_type=e.phone_type,
            other_phones=list(e.others),
            email=e.email,
            postcode=e.postcode,
            area=e.area,
            tags=tags_text(e.tags),
            external_id=e.external_id,
            custom_fields=dict(e.custom),
            time_zone=e.time_zone,
            updated_at=now,
        )
        contacts.append(contact)
    Contact.objects.bulk_update(contacts, [*UPDATE_COLUMNS, "updated_at"], batch_size=200)


def _copy_update(entries) -> None:
    with connection.cursor() as cursor:
        columns = ", ".join(["id", *UPDATE_COLUMNS])
        cursor.execute(
            "CREATE TEMP TABLE IF NOT EXISTS ringround_contact_update ON COMMIT DELETE ROWS "
            f"AS SELECT {columns} FROM contacts_contact WITH NO DATA"
        )
        with cursor.cursor.copy(f"COPY ringround_contact_update ({columns}) FROM STDIN") as copy:
            for e in entries:
                copy.write_row(
                    (
                        e.id,
                        e.first_name,
                        e.last_name,
                        e.phone,
                        e.phone_as_typed,
                        e.phone_type,
                        _json(e.others, "[]"),
                        e.email,
                        e.postcode,
                        e.area,
                        tags_text(e.tags),
                        e.external_id,
                        _json(e.custom, "{}"),
                        e.time_zone,
                    )
                )
        assignments = ", ".join(f"{c} = u.{c}" for c in UPDATE_COLUMNS)
        cursor.execute(
            f"UPDATE contacts_contact AS c SET {assignments}, updated_at = %s "
            "FROM ringround_contact_update AS u WHERE c.id = u.id",
            [timezone.now()],
        )
        cursor.execute("DELETE FROM ringround_contact_update")
