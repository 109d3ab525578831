"""A big import's contacts written set-wise on PostgreSQL: new people straight into the
contacts table with COPY, the rest kept in a staging table and merged at the end.

An import (``imports.staged``) writes each batch of cleaned contact rows (``imports.rows``) in
one transaction with the import's position:

1. its rows whose keys (phone number, external id) nobody has yet — no contact of the team,
   no row staged earlier, no other row of the batch — are new people, and go straight into
   the contacts table in one ``COPY`` (ids from the table's sequence, in file order);
2. the others (a few per cent of a real list) go into the import's staging table, with the
   ids they would take if they turned out to be new people.

At the end one transaction matches and merges the staged rows by the import's own rules, in
Python (``imports.contacts``), batch by batch as the batch importer would have met them, so
those rules keep one owner; and drops the table. The keys of a batch are looked up in the
contacts table by index (``known_keys``, what the batch importer asks the database for each
batch too); the staged rows' keys the importer keeps in memory (``staged_keys`` on resuming).

Measured (``bench/import``, a million messy rows, 2-core machine shared with a load test):
33-73 s in three runs (41-48 CPU seconds, importer and PostgreSQL), against 148 s (82 CPU
seconds) in the same conditions for the engine that staged every row and inserted the new
people with one ``INSERT … SELECT`` at the end. That statement cost ~15 µs a row (row-by-row inserts into six
indexes, where COPY inserts in bulk), the staging table's COPY, ``ANALYZE`` and ``UPDATE``
came on top, and the merge's key lookups read every contact of the team for each batch
(``contacts.bulk``): most of the unexplained PostgreSQL time.

The staging table is an ordinary (logged) table: it holds the few rows that need matching,
and it must survive a server crash, since the new people of the batches it goes with are
stored already.
"""

from django.db import connection, transaction

from ringround import rawsql

from .models import CONTACT_FIELDS, Contact

TABLE = Contact._meta.db_table
FETCH = 5000  # rows a server-side cursor brings at a time


def table_for(import_id: int) -> str:
    return f"ringround_import_staging_{int(import_id)}"


def exists(import_id: int) -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT to_regclass(%s) IS NOT NULL", [table_for(import_id)])
        return cursor.fetchone()[0]


def prepare(import_id: int, *, empty: bool) -> None:
    """The import's staging table, made if missing; ``empty``: emptied as well."""
    columns = ", ".join(f'"{name}" text NOT NULL' for name in CONTACT_FIELDS)
    table = table_for(import_id)
    with connection.cursor() as cursor:
        cursor.execute(
            f"CREATE TABLE IF NOT EXISTS {table} (batch integer NOT NULL, "
            "row_number integer NOT NULL, fast_id bigint NOT NULL, rest_id bigint NOT NULL, "
            f"public_id text NOT NULL, {columns}) "
            # Read once and dropped: vacuuming it would be work for nothing.
            "WITH (autovacuum_enabled = false)"
        )
        if empty:
            cursor.execute(f"TRUNCATE {table}")


def count(import_id: int) -> int:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT count(*) FROM {table_for(import_id)}")
        return cursor.fetchone()[0]


def copy_in(import_id: int, text: str) -> None:
    """COPY lines of ``batch, row number, fast id, rest id, public id, contact row``."""
    if not text:
        return
    columns = ", ".join(
        f'"{name}"'
        for name in ("batch", "row_number", "fast_id", "rest_id", "public_id", *CONTACT_FIELDS)
    )
    with connection.cursor() as cursor:
        with cursor.cursor.copy(f"COPY {table_for(import_id)} ({columns}) FROM STDIN") as copy:
            copy.write(text)


# The columns of a new contact's COPY line, in the order the import writes them: what the
# importer adds (id, team, stamps) before what the worker made (public id, contact row).
DIRECT_COLUMNS = ("id", "team_id", "created_at", "updated_at", "public_id", *CONTACT_FIELDS)


def copy_contacts(text: str) -> None:
    """COPY lines of ``id, team, created, updated, public id, contact row`` into contacts."""
    if not text:
        return
    columns = ", ".join(f'"{name}"' for name in DIRECT_COLUMNS)
    with connection.cursor() as cursor:
        with cursor.cursor.copy(f'COPY "{TABLE}" ({columns}) FROM STDIN') as copy:
            copy.write(text)


def known_keys(team_id: int, phones: list, external_ids: list):
    """Of these phones and external ids, those a contact of the team has (as its own phone or
    id): ``(phones, external ids)``, two sets."""
    import psycopg  # only on PostgreSQL

    external_ids = [e for e in external_ids if e]
    keys = ["\x1f".join(phones), "\x1f".join(external_ids)]
    # Two index scans with the keys in their conditions (see contacts.bulk).
    split = "string_to_array(%s, E'\\x1f')"
    if keys[0].count("\x1f") != max(len(phones) - 1, 0) or keys[1].count("\x1f") != max(
        len(external_ids) - 1, 0
    ):  # a key holding the separator: real arrays
        keys, split = [phones, external_ids], "%s"
    connection.ensure_connection()
    with psycopg.Cursor(connection.connection) as cursor, rawsql.planned_with_values(cursor):
        cursor.execute(
            f'SELECT true, phone FROM "{TABLE}" WHERE team_id = %s AND phone = ANY({split}) '
            f'UNION ALL SELECT false, external_id FROM "{TABLE}" WHERE team_id = %s '
            f"AND external_id <> '' AND external_id = ANY({split})",
            [team_id, keys[0], team_id, keys[1]],
            prepare=False,  # see contacts.bulk
        )
        found = cursor.fetchall()
    return {k for is_phone, k in found if is_phone}, {k for is_phone, k in found if not is_phone}


def staged_keys(import_id: int):
    """The phones and external ids of the rows staged so far: ``(phones, external ids)``."""
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT phone, external_id FROM {table_for(import_id)}")
        found = cursor.fetchall()
    return {phone for phone, _ in found}, {key for _, key in found if key}


def drop(import_id: int) -> None:
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE IF EXISTS {table_for(import_id)}")


def import_ids() -> list[int]:
    """The imports that have a staging table now (none on SQLite)."""
    if connection.vendor != "postgresql":
        return []
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT relname FROM pg_class WHERE relkind = 'r' AND relname LIKE %s "
            "AND relnamespace = current_schema()::regnamespace",
            [table_for(0)[:-1] + "%"],
        )
        return sorted(int(name.rsplit("_", 1)[1]) for (name,) in cursor.fetchall())


def staged_rows(import_id: int):
    """Every staged row, ``(row number, contact row)``, in file order."""
    columns = ", ".join(f'"{name}"' for name in CONTACT_FIELDS)
    yield from _stream(
        f"SELECT row_number, {columns} FROM {table_for(import_id)} ORDER BY row_number",
        [],
        lambda row: (row[0], row[1:]),
    )


def empty(import_id: int) -> None:
    """Forget what was staged (the import stages its file again when it resumes)."""
    with connection.cursor() as cursor:
        cursor.execute(f"TRUNCATE {table_for(import_id)}")


def rows_by_batch(import_id: int):
    """The staged rows in file order, a batch at a time: ``(contact rows, fast ids, rest
    ids)`` each, from a server-side cursor."""
    columns = ", ".join(f'"{name}"' for name in CONTACT_FIELDS)
    batch, records, fast, rest = None, [], [], []
    for number, fast_id, rest_id, record in _stream(
        f"SELECT batch, fast_id, rest_id, {columns} FROM {table_for(import_id)} "
        "ORDER BY batch, row_number",
        [],
        lambda row: (row[0], row[1], row[2], row[3:]),
    ):
        if number != batch and records:
            yield records, fast, rest
            records, fast, rest = [], [], []
        batch = number
        records.append(record)
        fast.append(fast_id)
        rest.append(rest_id)
    if records:
        yield records, fast, rest


def _stream(sql, params, convert):
    """Rows from a server-side cursor, which lives in a transaction (the caller's, if any)."""
    with transaction.atomic():
        connection.ensure_connection()
        with connection.connection.cursor(name=f"ringround_staged_{id(sql)}") as cursor:
            cursor.itersize = FETCH
            cursor.execute(sql, params)
            for row in cursor:
                yield convert(row)
