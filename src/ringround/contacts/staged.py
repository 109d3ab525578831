"""A big import's contacts written set-wise on PostgreSQL: COPY into a staging table, then one
statement into the contacts table.

An import (``imports.staged``) COPYs its cleaned contact rows (``imports.rows``) into an
unlogged staging table of its own, batch by batch, each batch committed with the import's
position. Then, in one transaction:

1. the rows that may be someone already known are marked, set-wise: those sharing a phone
   number or an external id with another row of the file, or with a stored contact of the team;
2. every other row is a new person with keys nobody else has, and all of them go into the
   contacts table in one ``INSERT … SELECT`` (ids in file order, from the table's sequence);
3. the marked rows (a few per cent of a real list) are matched and merged by the import's own
   rules, in Python (``imports.contacts``), so those rules keep one owner.

For a million rows that is a few seconds of PostgreSQL's time instead of a million Python
lookups and writes. The table is dropped in the same transaction, so a merge either happened
whole or not at all. Unlogged: a server crash empties it, which the importer notices (its count
no longer matches the import's) and stages the file again.
"""

from django.db import connection, transaction

from .models import CONTACT_FIELDS, Contact

TABLE = Contact._meta.db_table
JSON_FIELDS = ("other_phones", "custom_fields")
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
            f"CREATE UNLOGGED TABLE IF NOT EXISTS {table} (batch integer NOT NULL, "
            f"row_number integer NOT NULL, public_id text NOT NULL, {columns}, "
            "matched boolean NOT NULL DEFAULT false) "
            # Read once and dropped: vacuuming it would be work for nothing (the merge
            # analyses it itself).
            "WITH (autovacuum_enabled = false)"
        )
        if empty:
            cursor.execute(f"TRUNCATE {table}")


def count(import_id: int) -> int:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT count(*) FROM {table_for(import_id)}")
        return cursor.fetchone()[0]


def copy_in(import_id: int, text: str) -> None:
    """COPY lines of ``batch, row number, public id, contact row`` (``imports.rows``)."""
    if not text:
        return
    columns = ", ".join(
        f'"{name}"' for name in ("batch", "row_number", "public_id", *CONTACT_FIELDS)
    )
    with connection.cursor() as cursor:
        with cursor.cursor.copy(f"COPY {table_for(import_id)} ({columns}) FROM STDIN") as copy:
            copy.write(text)


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


def mark_matched(import_id: int, team_id: int) -> int:
    """Mark the rows that may be someone known (see the module's docstring); how many."""
    table = table_for(import_id)
    with connection.cursor() as cursor:
        # The importer's session looks contacts up by key only (imports.base); these statements
        # read whole tables, and their hash tables want more than the default memory.
        cursor.execute("SET LOCAL enable_seqscan = on")
        cursor.execute("SET LOCAL work_mem = '128MB'")
        # Compiling these plans (JIT) costs more than running them: seconds, not milliseconds.
        cursor.execute("SET LOCAL jit = off")
        cursor.execute(f"ANALYZE {table}")
        cursor.execute(
            f"""UPDATE {table} AS s SET matched = true
            WHERE s.phone IN (SELECT phone FROM {table} GROUP BY phone HAVING count(*) > 1)
            OR s.external_id IN (
                SELECT external_id FROM {table} WHERE external_id <> ''
                GROUP BY external_id HAVING count(*) > 1)
            OR EXISTS (
                SELECT 1 FROM "{TABLE}" AS c WHERE c.team_id = %s AND c.phone = s.phone)
            OR (s.external_id <> '' AND EXISTS (
                SELECT 1 FROM "{TABLE}" AS c WHERE c.team_id = %s
                AND c.external_id <> '' AND c.external_id = s.external_id))""",
            [team_id, team_id],
        )
        return cursor.rowcount


def insert_unmatched(import_id: int, team_id: int, stamp) -> int:
    """Every row not marked, as a new contact of the team, in one statement; how many."""
    table = table_for(import_id)
    sequence = f"pg_get_serial_sequence('\"{TABLE}\"', 'id')"
    values = ", ".join(
        f'"{name}"::jsonb' if name in JSON_FIELDS else f'"{name}"' for name in CONTACT_FIELDS
    )
    columns = ", ".join(f'"{name}"' for name in CONTACT_FIELDS)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {sequence}")
        sequence_name = cursor.fetchone()[0]
        # Ids in file order (taken after the inner sort), rows written in order of phone
        # number: the two phone indexes are then filled in order, as contacts.bulk does.
        cursor.execute(
            f'INSERT INTO "{TABLE}" (id, public_id, team_id, {columns}, created_at, updated_at) '
            f"SELECT * FROM (SELECT nextval(%s::regclass), public_id, %s, {values}, %s, %s "
            f"FROM {table} WHERE NOT matched ORDER BY row_number) AS new ORDER BY phone",
            [sequence_name, team_id, stamp, stamp],
        )
        return cursor.rowcount


def matched_rows(import_id: int):
    """The marked rows in file order, ``(batch, contact row)`` each, from a server-side cursor
    (there may be many: a file imported again matches every row)."""
    columns = ", ".join(f'"{name}"' for name in CONTACT_FIELDS)
    yield from _stream(
        f"SELECT batch, {columns} FROM {table_for(import_id)} WHERE matched "
        "ORDER BY batch, row_number",
        [],
        lambda row: (row[0], row[1:]),
    )


def unmatched_contacts(import_id: int):
    """``(id, phone, time zone)`` of the contacts ``insert_unmatched`` made (for a campaign's
    targets)."""
    yield from _stream(
        f'SELECT c.id, c.phone, c.time_zone FROM "{TABLE}" AS c '
        f"JOIN {table_for(import_id)} AS s ON s.public_id = c.public_id "
        "WHERE NOT s.matched ORDER BY c.id",
        [],
        tuple,
    )


def _stream(sql, params, convert):
    """Rows from a server-side cursor, which lives in a transaction (the caller's, if any)."""
    with transaction.atomic():
        connection.ensure_connection()
        with connection.connection.cursor(name=f"ringround_staged_{id(sql)}") as cursor:
            cursor.itersize = FETCH
            cursor.execute(sql, params)
            for row in cursor:
                yield convert(row)
