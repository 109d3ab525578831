"""Hand-written statements for the few hot paths of the calling loop, and model instances
from their rows.

Building a query with the ORM costs more CPU than running it there, so the claim and the
outcome compile their SQL once and turn the rows back into ordinary model objects here, with
the same conversions the ORM would apply (JSON, times, booleans on SQLite).

The statements are not retyped rules: their conditions, orderings and assignments are
compiled from the same QuerySets and update values the ORM path uses (``select``,
``condition``, ``assignments``), with a ``Param`` standing where the ORM path has a value.

On PostgreSQL these statements go with server-side parameters, so that psycopg prepares each
after a few uses and PostgreSQL stops planning it again for every call (the rest of Django
keeps its client-side binding)."""

from contextlib import contextmanager

from django.db import DEFAULT_DB_ALIAS, connections, models
from django.db.models import BooleanField, Expression
from django.db.models.lookups import In
from django.db.models.sql.subqueries import UpdateQuery


class Param(Expression):
    """A named parameter (``%(name)s``) of a hand-written statement, where the ORM path of the
    same rule has a value."""

    def __init__(self, name: str, output_field=None):
        super().__init__(output_field=output_field)
        self.name = name

    def __repr__(self):
        return f"Param({self.name!r})"

    def as_sql(self, compiler, connection):
        return f"%({self.name})s", []


def flag(name: str) -> Param:
    """A boolean ``Param``, usable as a condition (``When(flag("retries"), …)``)."""
    return Param(name, output_field=BooleanField())


class OneOf(In):
    """``field__one_of=values``: ``IN (…)`` for a list, ``= ANY(%(name)s)`` for a ``Param``
    holding a list (PostgreSQL), so that one condition serves both paths."""

    lookup_name = "one_of"

    def get_rhs_op(self, connection, rhs):
        if isinstance(self.rhs, Param):
            return f"= ANY{rhs}"
        return super().get_rhs_op(connection, rhs)


def select(queryset) -> str:
    """A queryset's SELECT as SQL text: ``Param``s stay named placeholders, constants (state
    names, limits) are written in. Literals, not parameters: a prepared statement's generic
    plan can then use the partial indexes whose conditions name those states."""
    compiler = queryset.query.get_compiler(queryset.db)
    return _written_in(*compiler.as_sql())


def condition(queryset) -> str:
    """A queryset's WHERE condition (without ``WHERE``), as ``select`` writes it. Columns are
    qualified by the table's own name, so it fits an UPDATE of that table."""
    query = queryset.query
    compiler = query.get_compiler(queryset.db)
    return _written_in(*compiler.compile(query.where))


def assignments(model, values: dict) -> str:
    """The SET list of an UPDATE of ``model`` giving ``values`` (as ``QuerySet.update`` takes
    them: plain values, model instances, expressions, ``Param``s)."""
    query = UpdateQuery(model)
    query.add_update_values(values)
    compiler = query.get_compiler(DEFAULT_DB_ALIAS)
    sql, params = compiler.as_sql()
    _, _, set_list = sql.partition(" SET ")
    return _written_in(set_list, params)


def insert_select(model, source: str, computed: dict[str, str]) -> str:
    """``INSERT INTO`` the model's table ``SELECT … FROM source``: each column takes the
    parameter named after its field (``insert_params``) unless ``computed`` gives an SQL
    expression for it. Every column is named, so a field added to the model is never left
    out by a statement written before it."""
    fields = [field for field in model._meta.concrete_fields if not field.primary_key]
    unknown = set(computed) - {field.attname for field in fields}
    if unknown:
        raise ValueError(f"{model.__name__} has no columns {sorted(unknown)}")
    columns = ", ".join(f'"{field.column}"' for field in fields)
    values = ", ".join(computed.get(f.attname, f"%({f.attname})s") for f in fields)
    return f'INSERT INTO "{model._meta.db_table}" ({columns}) SELECT {values} FROM {source}'


def insert_params(obj) -> dict:
    """The parameters of ``insert_select`` for a new model instance, prepared as ``save()``
    would prepare them (defaults, the fields' own conversions)."""
    connection = connections[DEFAULT_DB_ALIAS]
    return dict(zip(_inserted(type(obj), connection)[0], _values(obj, connection), strict=True))


# Fields whose value psycopg takes as the model holds it (a field's own preparation would
# return it unchanged): the calling loop's inserts skip the preparation for them.
_AS_THEY_ARE = (
    models.CharField,
    models.TextField,
    models.BooleanField,
    models.IntegerField,
    models.ForeignKey,
    models.DateTimeField,
)
_PREPARED: dict = {}


def _inserted(model, connection) -> tuple[list[str], list]:
    """The attnames of a new row's columns, and for each the field to prepare its value with
    (``None``: taken as it is)."""
    key = (model, connection.vendor)
    if key not in _PREPARED:
        fields = [field for field in model._meta.concrete_fields if not field.primary_key]
        plain = connection.vendor == "postgresql"
        _PREPARED[key] = (
            [field.attname for field in fields],
            [
                None
                if plain
                and isinstance(field, _AS_THEY_ARE)
                and not getattr(field, "auto_now", False)
                and not getattr(field, "auto_now_add", False)
                else field
                for field in fields
            ],
        )
    return _PREPARED[key]


def _values(obj, connection) -> list:
    attnames, fields = _inserted(type(obj), connection)
    return [
        getattr(obj, attname)
        if field is None
        else field.get_db_prep_save(field.pre_save(obj, True), connection)
        for attname, field in zip(attnames, fields, strict=True)
    ]


def literal(value) -> str:
    """A constant of our own definitions as SQL text (strings, numbers, booleans, NULL)."""
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        return "'" + value.replace("'", "''").replace("%", "%%") + "'"
    raise TypeError(f"{value!r} cannot be written into a statement; pass it as a Param")


def _written_in(sql: str, params) -> str:
    pieces = sql.split("%s")
    if len(pieces) != len(params) + 1:
        raise ValueError(f"cannot match {len(params)} parameters to: {sql}")
    written = [pieces[0]]
    for value, piece in zip(params, pieces[1:], strict=True):
        written += [literal(value), piece]
    return "".join(written)


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


def plan_once(sender, connection, **kwargs) -> None:
    """On each new PostgreSQL connection: a prepared statement runs on the one plan made for
    it (``plan_cache_mode = force_generic_plan``), never planned again per call.

    Left to itself PostgreSQL weighs a generic plan against planning each call with its
    values, and for the claim it kept planning (3 ms a claim, more than running it) once
    thousands of volunteers held leases. These statements are written for their generic
    plans (literal states for the partial indexes, see ``select``); Django's own queries bind
    on the client and have no parameters to plan for, so the setting does not touch them. It
    does touch any other statement sent with server-side parameters: one whose best plan
    depends on its values runs inside ``planned_with_values``."""
    if _plans_once(connection):
        with connection.connection.cursor() as cursor_:
            cursor_.execute(_GENERIC)


_GENERIC = "SET plan_cache_mode = force_generic_plan"


def _plans_once(connection) -> bool:
    return (
        connection.vendor == "postgresql"
        and connection.settings_dict.get("OPTIONS", {}).get("prepare_threshold") is not None
    )


@contextmanager
def planned_with_values(cursor_, connection=None):
    """Run a statement with parameters planned for its values (a batch's lists of keys:
    how long they are decides between index probes and a scan), not on the generic plan
    ``plan_once`` imposes on the connection; the connection's setting is put back after.
    Without this a million-row import took seven times as long (bench/import)."""
    connection = connection or connections[DEFAULT_DB_ALIAS]
    if not _plans_once(connection):
        yield
        return
    cursor_.execute("SET plan_cache_mode = force_custom_plan")
    try:
        yield
    finally:
        # In a failed transaction the rollback takes the SET back with everything else.
        if connection.connection.info.transaction_status.name != "INERROR":
            cursor_.execute(_GENERIC)


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
    with cursor(connection) as cursor_:
        cursor_.execute(_INSERTS[key], _values(obj, connection))
        obj.pk = cursor_.fetchone()[0]
    obj._state.adding, obj._state.db = False, connection.alias
    return obj
