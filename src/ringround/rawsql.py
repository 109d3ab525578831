"""Model instances from hand-written SQL, for the few hot paths of the calling loop.

Building a query with the ORM costs more than running it there (bench/load: about 1.9 ms of
CPU to compile a two-table select against 0.3 ms to send it and read the row), so the claim
and the outcome write their SQL out once and turn the rows back into ordinary model objects
here, with the same conversions the ORM would apply (JSON, times, booleans on SQLite).

On PostgreSQL these statements go with server-side parameters, so that psycopg prepares each
after a few uses and PostgreSQL stops planning it again for every call (the rest of Django
keeps its client-side binding)."""

from django.db import DEFAULT_DB_ALIAS, connections


class Columns:
    """One model's columns in a SELECT list (``sql``), and how to build the model from them."""

    def __init__(self, model, alias: str):
        self.model, self.alias = model, alias
        self.fields = list(model._meta.concrete_fields)
        self.sql = ", ".join(f'{alias}."{field.column}"' for field in self.fields)
        self.attnames = [field.attname for field in self.fields]
        self._converters = {}

    def __len__(self):
        return len(self.fields)

    def converters(self, connection) -> list:
        """(position, column, converters) of each field whose value the database backend or
        the field converts on the way out, as the ORM's compiler would."""
        vendor = connection.vendor
        if vendor not in self._converters:
            found = []
            for position, field in enumerate(self.fields):
                column = field.get_col(self.alias)
                converters = connection.ops.get_db_converters(column)
                converters += column.get_db_converters(connection)
                if converters:
                    found.append((position, column, converters))
            self._converters[vendor] = found
        return self._converters[vendor]

    def build(self, values, connection):
        """The model instance for these values; ``None`` for a LEFT JOIN that found nothing."""
        if values[0] is None:
            return None
        converting = self.converters(connection)
        if converting:
            values = list(values)
            for position, column, converters in converting:
                value = values[position]
                for convert in converters:
                    value = convert(value, column, connection)
                values[position] = value
        return self.model.from_db(connection.alias, self.attnames, values)


def cursor(connection=None):
    """A cursor of Django's connection (its error wrapping, its query log in tests); on
    PostgreSQL one that binds parameters on the server and prepares repeated statements."""
    connection = connection or connections[DEFAULT_DB_ALIAS]
    if connection.vendor != "postgresql":
        return connection.cursor()
    import psycopg

    connection.close_if_health_check_failed()
    connection.ensure_connection()
    with connection.wrap_database_errors:
        return connection._prepare_cursor(psycopg.Cursor(connection.connection))


def fetch(sql: str, params, *columns: Columns, repeated: int = 0) -> list[tuple]:
    """Each row as a tuple: one model instance (or ``None``) per ``Columns``, in order, then any
    further values of the row as they came.

    ``repeated``: the first this many ``Columns`` are the "one" side of a one-to-many join, the
    same on every row; they are built from the first row only (``None`` on the others)."""
    connection = connections[DEFAULT_DB_ALIAS]  # once: each lookup is a thread-local read
    with cursor(connection) as cursor_:
        cursor_.execute(sql, params)
        rows = cursor_.fetchall()
    built = []
    for number, row in enumerate(rows):
        start, items = 0, []
        for index, part in enumerate(columns):
            if number and index < repeated:
                items.append(None)
            else:
                items.append(part.build(row[start : start + len(part)], connection))
            start += len(part)
        built.append((*items, *row[start:]))
    return built


_INSERTS: dict = {}


def insert(obj):
    """Store a new model instance as ``save()`` would (defaults, ``auto_now_add``, the fields'
    own conversions) in one hand-written INSERT, and give it its id."""
    connection = connections[DEFAULT_DB_ALIAS]
    model = type(obj)
    fields = [field for field in model._meta.concrete_fields if not field.primary_key]
    key = (model, connection.vendor)
    if key not in _INSERTS:
        columns = ", ".join(f'"{field.column}"' for field in fields)
        _INSERTS[key] = (
            f'INSERT INTO "{model._meta.db_table}" ({columns}) '
            f'VALUES ({", ".join(["%s"] * len(fields))}) RETURNING "{model._meta.pk.column}"'
        )
    values = [field.get_db_prep_save(field.pre_save(obj, True), connection) for field in fields]
    with cursor(connection) as cursor_:
        cursor_.execute(_INSERTS[key], values)
        obj.pk = cursor_.fetchone()[0]
    obj._state.adding, obj._state.db = False, connection.alias
    return obj
