"""Writing many contacts at once, for imports: one insert path and one update path per
database, each taking contact rows (``imports.rows``: the contact's data fields in
``CONTACT_FIELDS`` order, as the database stores them).

PostgreSQL: new rows take ids from the table's own sequence and go in with one ``COPY``;
changed rows are copied into a temporary table and applied with one ``UPDATE … FROM``. That
is the difference between minutes and seconds for a million rows. SQLite (a local party's
laptop): one ``executemany`` of the ready values, inside the batch's write transaction.
"""

from django.db import connection
from django.utils import timezone

from ringround import copytext, rawsql
from ringround.ids import new_public_ids

from .models import CONTACT_FIELDS, HAS_EXTERNAL_ID, Contact, Suppression

TABLE = Contact._meta.db_table
# A contact keeps the source they first came from when a later import updates them.
UPDATED_FIELDS = tuple(name for name in CONTACT_FIELDS if name != "source")
PHONE = CONTACT_FIELDS.index("phone")
INSERTED = ("id", "public_id", "team_id", *CONTACT_FIELDS, "created_at", "updated_at")
CHUNK = 900  # keys per IN (…) on SQLite: within its limit on query parameters


def is_postgres() -> bool:
    return connection.vendor == "postgresql"


def reserve_ids(count: int) -> list[int]:
    """PostgreSQL: ids for new contacts from the table's own sequence, before writing them
    (so that a batch can be matched against while another thread writes it)."""
    if not count:
        return []
    with connection.cursor() as cursor:
        if _sequence[0] is None:
            cursor.execute("SELECT pg_get_serial_sequence(%s, 'id')", [TABLE])
            _sequence[0] = cursor.fetchone()[0]
        # The sequence by name, not pg_get_serial_sequence() per row: far cheaper.
        cursor.execute(
            "SELECT array_agg(nextval(%s::regclass)) FROM generate_series(1, %s)",
            [_sequence[0], count],
        )
        return cursor.fetchone()[0]


_sequence = [None]


def rows_matching(team_id: int, phones: list[str], external_ids: list[str]) -> list[tuple]:
    """The team's stored contacts with any of these phones or external ids: ``(id, row)``
    each. (Another team's contact with the same number is another team's.)"""
    columns = ", ".join(f'"{name}"' for name in CONTACT_FIELDS)
    if is_postgres():
        found = _matching_on_postgresql(team_id, columns, phones, external_ids)
    else:
        found = {}
        with connection.cursor() as cursor:
            # The partial index's own condition, so that SQLite uses the index.
            has_external_id = rawsql.condition(Contact.objects.filter(HAS_EXTERNAL_ID))
            for column, also, keys in (
                ("external_id", f"AND {has_external_id}", external_ids),
                ("phone", "", phones),
            ):
                keys = [key for key in keys if key]
                for start in range(0, len(keys), CHUNK):
                    chunk = keys[start : start + CHUNK]
                    cursor.execute(
                        f'SELECT "id", {columns} FROM "{TABLE}" WHERE "team_id" = %s '
                        f'AND "{column}" IN ({", ".join(["%s"] * len(chunk))}) {also}',
                        [team_id, *chunk],
                    )
                    found.update((row[0], row) for row in cursor.fetchall())
        found = found.values()
    return [(row[0], tuple(row[1:])) for row in found]


def _matching_on_postgresql(team_id, columns, phones, external_ids):
    """One query. The keys go as two strings split on the server: adapting a 10,000-item
    list parameter in Python cost more than the query. JSON comes back as text, as stored."""
    import psycopg  # only on PostgreSQL: SQLite installs need not have it

    columns = columns.replace('"other_phones"', '"other_phones"::text').replace(
        '"custom_fields"', '"custom_fields"::text'
    )
    keys = [_joined(phones), _joined(external_ids)]
    split = "string_to_array(%s, E'\\x1f')"
    if None in keys:  # a key containing the separator: send real arrays
        keys, split = [phones, external_ids], "%s"
    connection.ensure_connection()
    with psycopg.Cursor(connection.connection) as cursor, rawsql.planned_with_values(cursor):
        # Two index scans, each with its keys in the index condition. (With an OR the planner
        # read every contact of the team and filtered: a cost that grows with the table,
        # batch after batch; the merge of a million-row staged import spent ~40 s there.)
        cursor.execute(
            f'SELECT "id", {columns} FROM "{TABLE}" WHERE team_id = %s AND phone = ANY({split}) '
            f'UNION SELECT "id", {columns} FROM "{TABLE}" WHERE team_id = %s '
            f"AND external_id <> '' AND external_id = ANY({split})",
            [team_id, keys[0], team_id, keys[1]],
            # Never a prepared statement: its generic plan, not knowing how long the arrays
            # are, would scan the whole table, batch after batch.
            prepare=False,
        )
        return cursor.fetchall()


def _joined(values) -> str | None:
    text = "\x1f".join(values)
    return text if text.count("\x1f") == max(len(values) - 1, 0) else None


class Statistics:
    """Keeps the planner's idea of the contacts table's size within a factor of two of the
    truth while an import grows it: with statistics taken when the table was a tenth of its
    size, the planner reads every contact of the team to look up a batch's keys rather than
    probing the index for each, a cost that grows with the table. ``ANALYZE`` samples the table: a fraction of a second, a few times per
    import."""

    MIN_ROWS = 100_000  # below, reading the team's contacts costs little anyway

    def __init__(self):
        self.seen: float | None = None
        self.added = 0

    def grew(self, count: int) -> None:
        if not count or not is_postgres():
            return
        with connection.cursor() as cursor:
            if self.seen is None:
                cursor.execute("SELECT reltuples FROM pg_class WHERE oid = %s::regclass", [TABLE])
                self.seen = max(0.0, cursor.fetchone()[0])
            self.added += count
            if self.added > max(self.seen, self.MIN_ROWS):
                # Only the columns the lookups filter on (the row count comes with them).
                cursor.execute(f'ANALYZE "{TABLE}" (team_id, phone, external_id)')
                self.seen += self.added
                self.added = 0


def insert_rows(team_id: int, rows: list[tuple], ids: list[int] | None = None) -> list[int]:
    """Create the team's contacts from rows; their ids (``ids``: reserved already,
    PostgreSQL)."""
    if not rows:
        return []
    if is_postgres():
        ids = ids or reserve_ids(len(rows))
        _copy_insert(team_id, rows, ids)
        return ids
    return _sqlite_insert(team_id, rows)


def _copy_insert(team_id, rows, ids) -> None:
    """COPY the batch in order of phone number, with its (random) public ids sorted too: the
    two indexes that take random keys are then filled in order, which costs PostgreSQL much
    less work than the file's order. (Ids stay as reserved, in file order.)"""
    stamp = timezone.now().isoformat()
    order = sorted(range(len(rows)), key=lambda i: rows[i][PHONE])
    public_ids = sorted(new_public_ids(len(rows)))
    rows = [rows[i] for i in order]
    bodies = _copy_lines(rows)
    text = "".join(
        [
            f"{ids[i]}\t{public_id}\t{team_id}\t{body}\t{stamp}\t{stamp}\n"
            for i, public_id, body in zip(order, public_ids, bodies, strict=True)
        ]
    )
    columns = ", ".join(f'"{name}"' for name in INSERTED)
    with connection.cursor() as cursor:
        with cursor.cursor.copy(f'COPY "{TABLE}" ({columns}) FROM STDIN') as copy:
            copy.write(text)


_copy_lines = copytext.lines


def _sqlite_insert(team_id, rows) -> list[int]:
    """Ids follow the table's highest, which is safe: the batch holds SQLite's write lock
    (``transaction_mode: IMMEDIATE``)."""
    stamp = connection.ops.adapt_datetimefield_value(timezone.now())
    with connection.cursor() as cursor:
        cursor.execute(
            f'SELECT MAX(n) FROM (SELECT MAX(id) AS n FROM "{TABLE}" UNION ALL '
            "SELECT seq FROM sqlite_sequence WHERE name = %s)",
            [TABLE],
        )
        first = (cursor.fetchone()[0] or 0) + 1
        ids = list(range(first, first + len(rows)))
        values = [
            (pk, public_id, team_id, *row, stamp, stamp)
            for pk, public_id, row in zip(ids, new_public_ids(len(rows)), rows, strict=True)
        ]
        cursor.executemany(
            f'INSERT INTO "{TABLE}" ({", ".join(INSERTED)}) '
            f"VALUES ({', '.join(['%s'] * len(INSERTED))})",
            values,
        )
    return ids


def update_rows(changed: list[tuple]) -> None:
    """Save contacts that an import changed: ``(id, row)`` each."""
    if not changed:
        return
    at = [CONTACT_FIELDS.index(name) for name in UPDATED_FIELDS]
    values = [(pk, *(row[i] for i in at)) for pk, row in changed]
    if is_postgres():
        _copy_update(values)
        return
    assignments = ", ".join(f'"{name}" = %s' for name in (*UPDATED_FIELDS, "updated_at"))
    stamp = connection.ops.adapt_datetimefield_value(timezone.now())
    with connection.cursor() as cursor:
        cursor.executemany(
            f'UPDATE "{TABLE}" SET {assignments} WHERE "id" = %s',
            [(*value[1:], stamp, value[0]) for value in values],
        )


def _copy_update(values) -> None:
    columns = ", ".join(f'"{name}"' for name in ("id", *UPDATED_FIELDS))
    with connection.cursor() as cursor:
        cursor.execute(
            "CREATE TEMP TABLE IF NOT EXISTS ringround_contact_update ON COMMIT DELETE ROWS "
            f'AS SELECT {columns} FROM "{TABLE}" WITH NO DATA'
        )
        with cursor.cursor.copy(f"COPY ringround_contact_update ({columns}) FROM STDIN") as copy:
            copy.write(
                "".join(line + "\n" for line in _copy_lines([(str(v[0]), *v[1:]) for v in values]))
            )
        assignments = ", ".join(f'"{name}" = u."{name}"' for name in UPDATED_FIELDS)
        cursor.execute(
            f'UPDATE "{TABLE}" AS c SET {assignments}, "updated_at" = %s '
            "FROM ringround_contact_update AS u WHERE c.id = u.id",
            [timezone.now()],
        )
        cursor.execute("DELETE FROM ringround_contact_update")


def add_suppressions(
    numbers: list[str], *, team_id: int | None, reason: str, note: str, by_id=None
) -> set[str]:
    """Put numbers (E.164) on a team's suppression list (``team_id=None``: the list for
    every team); those that were not on it already."""
    numbers = list(dict.fromkeys(numbers))
    known = set()
    for start in range(0, len(numbers), CHUNK):
        known.update(
            Suppression.objects.filter(
                team_id=team_id, phone__in=numbers[start : start + CHUNK]
            ).values_list("phone", flat=True)
        )
    new = [
        Suppression(
            phone=e164, team_id=team_id, reason=reason, note=note[:500], created_by_id=by_id
        )
        for e164 in numbers
        if e164 not in known
    ]
    Suppression.objects.bulk_create(new, ignore_conflicts=True, batch_size=1000)
    return {suppression.phone for suppression in new}
