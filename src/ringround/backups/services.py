"""Portable backups: every row of Ringround's data as gzipped JSON, restorable on either database.

The file is a Django fixture (a JSON array of ``{"model", "pk", "fields"}`` objects) written one
object per line, so ``manage.py loaddata`` can read it too, while ``backup`` and ``restore``
stream it a line at a time instead of holding a national campaign's rows in memory.

What is kept: every model of Ringround's own apps, groups, Django admin's history and two-factor
devices. What is not: content types and permissions (``migrate`` makes them; rows that point at
them are written with natural keys, so they land on whatever ids the new database gave them),
sessions and signed-in browsers (nobody should be logged in by a restore), the login-attempt log
and the background task queue.

A backup is one consistent snapshot (a repeatable-read transaction on PostgreSQL; on SQLite the
write lock, held for the few seconds a local party's database takes). A restore is one
transaction: if anything in the file is wrong, the database is left exactly as it was.
"""

import datetime as dt
import gzip
import json
import os
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

from django.apps import apps
from django.contrib.auth.models import Permission
from django.contrib.contenttypes.models import ContentType
from django.core import serializers
from django.core.management import call_command
from django.core.management.color import no_style
from django.core.serializers.base import DeserializationError
from django.core.serializers.json import DjangoJSONEncoder
from django.db import DEFAULT_DB_ALIAS, DatabaseError, IntegrityError, connections, transaction

from ringround.audit.services import record_event

EXTRA_MODELS = (
    "auth.group",
    "admin.logentry",
    "otp_totp.totpdevice",
    "otp_static.staticdevice",
    "otp_static.statictoken",
)
# Sessions and counters of sign-ins per address belong to the running install; task workers
# alive now: a restored row would say a worker runs that does not.
EXCLUDED_MODELS = {"accounts.usersession", "accounts.ratecounter", "imports.taskworker"}
# Models that have moved app since a backup may have been made: old label -> new label.
MOVED_MODELS = {
    "contacts.import": "imports.import",
    "contacts.rejectedrow": "imports.rejectedrow",
    "contacts.savedmapping": "imports.savedmapping",
}
CHUNK = 2000
PROGRESS_EVERY = 100_000

Progress = Callable[[str], None]


class BackupError(Exception):
    """A backup or restore that cannot go ahead, with the reason in words."""


class Encoder(DjangoJSONEncoder):
    """Django's encoder cuts times to milliseconds; a backup keeps every microsecond."""

    def default(self, o):
        if isinstance(o, dt.datetime | dt.time):
            return o.isoformat()
        return super().default(o)


def backed_up_models() -> list:
    chosen = []
    for app_config in apps.get_app_configs():
        if app_config.name.startswith("ringround."):
            chosen.extend(app_config.get_models())
    for label in EXTRA_MODELS:
        try:
            chosen.append(apps.get_model(label))
        except LookupError:
            continue
    chosen = [
        m
        for m in chosen
        if m._meta.managed and not m._meta.proxy and m._meta.label_lower not in EXCLUDED_MODELS
    ]
    return serializers.sort_dependencies([(None, chosen)], allow_cycles=True)


def _uses_natural_keys(model) -> bool:
    """Rows pointing at content types or permissions name them by natural key, not by id."""
    fields = [*model._meta.fields, *model._meta.many_to_many]
    return any(f.related_model in (ContentType, Permission) for f in fields if f.is_relation)


def _label(model) -> str:
    return model._meta.label_lower


def _chunks(iterable: Iterable, size: int) -> Iterator[list]:
    chunk = []
    for item in iterable:
        chunk.append(item)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


# --- backup ------------------------------------------------------------------------------------


@contextmanager
def _snapshot(using: str):
    connection = connections[using]
    nested = connection.in_atomic_block
    with transaction.atomic(using=using):
        if connection.vendor == "postgresql" and not nested:
            with connection.cursor() as cursor:
                cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        yield


def serialized_rows(model, *, using: str = DEFAULT_DB_ALIAS) -> Iterator[dict]:
    """Every row of ``model`` in primary-key order, as fixture objects."""
    queryset = model._base_manager.using(using).order_by("pk")
    m2m = [f.name for f in model._meta.many_to_many if f.remote_field.through._meta.auto_created]
    if m2m:
        queryset = queryset.prefetch_related(*m2m)
    natural = _uses_natural_keys(model)
    for chunk in _chunks(queryset.iterator(chunk_size=CHUNK), CHUNK):
        yield from serializers.serialize("python", chunk, use_natural_foreign_keys=natural)


def write_backup(path, *, using: str = DEFAULT_DB_ALIAS, progress: Progress = print) -> dict:
    """Write every backed-up row to ``path`` (gzipped); returns the row count per model.

    The file appears only once complete (written beside it, then renamed), readable by its
    owner alone: it holds everyone's personal data."""
    path = Path(path)
    partial = path.with_name(path.name + ".partial")
    counts = {}
    try:
        fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with (
            os.fdopen(fd, "wb") as raw,
            gzip.GzipFile(fileobj=raw, mode="wb", filename=path.name.removesuffix(".gz")) as gz,
            _snapshot(using),
        ):
            gz.write(b"[")
            first = True
            for model in backed_up_models():
                label = _label(model)
                n = 0
                for row in serialized_rows(model, using=using):
                    line = json.dumps(row, cls=Encoder, ensure_ascii=False, separators=(",", ":"))
                    gz.write((("\n" if first else ",\n") + line).encode())
                    first = False
                    n += 1
                    if n % PROGRESS_EVERY == 0:
                        progress(f"  {label:<28} {n:>12,} …")
                counts[label] = n
                progress(f"  {label:<28} {n:>12,}")
            gz.write(b"\n]\n")
        os.replace(partial, path)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    record_event(None, "backup.create", None, file=path.name, rows=sum(counts.values()))
    return counts


# --- restore -----------------------------------------------------------------------------------


def read_backup(path) -> Iterator[tuple[int, dict]]:
    """The fixture objects in a backup file, with their line numbers.

    Reads our one-object-per-line files a line at a time; any other fixture (say, one from
    ``dumpdata``) is read whole. A damaged or incomplete file raises ``BackupError``."""
    path = Path(path)
    try:
        with gzip.open(path, "rt", encoding="utf-8") as handle:
            first = handle.readline()
            if first.strip() != "[":
                handle.seek(0)
                rows = json.load(handle)
                if not isinstance(rows, list):
                    raise BackupError("This is not a backup: it holds no list of rows.")
                yield from enumerate(rows, start=1)
                return
            lineno = 1
            for lineno, line in enumerate(handle, start=2):
                text = line.strip()
                if text == "]":
                    return
                if text:
                    yield lineno, json.loads(text.removesuffix(","))
            raise BackupError(
                f"The backup ends early after line {lineno}: the file is incomplete or damaged."
            )
    except FileNotFoundError as exc:
        raise BackupError(f"There is no file {path}.") from exc
    except (gzip.BadGzipFile, EOFError, OSError, UnicodeDecodeError) as exc:
        raise BackupError(f"{path} is not a readable gzipped backup ({exc}).") from exc
    except json.JSONDecodeError as exc:
        raise BackupError(f"{path} is damaged: {exc}.") from exc


def database_rows(*, using: str = DEFAULT_DB_ALIAS) -> dict:
    """The models that already hold rows, with how many."""
    counts = {}
    for model in backed_up_models():
        n = model._base_manager.using(using).count()
        if n:
            counts[_label(model)] = n
    return counts


def restore_backup(
    path, *, replace: bool = False, using: str = DEFAULT_DB_ALIAS, progress: Progress = print
) -> dict:
    """Load a backup into the database in one transaction; returns the row count per model.

    Refuses a database that already holds data unless ``replace``, which flushes it first.
    """
    path = Path(path)
    if not path.is_file():
        raise BackupError(f"There is no file {path}.")
    try:
        with transaction.atomic(using=using):
            held = database_rows(using=using)
            if held and not replace:
                summary = ", ".join(f"{n:,} {label}" for label, n in list(held.items())[:4])
                raise BackupError(
                    f"The database already holds data ({summary}…). Restore into an empty "
                    "database, or pass --replace to delete everything in it first."
                )
            if replace:
                progress("Deleting everything in the database …")
                _flush(using)
            progress(f"Restoring {path.name} …")
            counts = _load(read_backup(path), using=using, progress=progress)
            _check_references(counts, using)
            _reset_sequences(counts, using)
            _check_counts(counts, using)
            record_event(
                None,
                "backup.restore",
                None,
                file=path.name,
                rows=sum(counts.values()),
                replaced=replace,
            )
    except DatabaseError as exc:
        ContentType.objects.clear_cache()
        raise BackupError(f"The database refused the backup's rows: {exc}") from exc
    except BaseException:
        # Content types made by a rolled-back flush must not outlive it in the cache.
        ContentType.objects.clear_cache()
        raise
    return counts


def _flush(using: str) -> None:
    connection = connections[using]
    if connection.vendor == "postgresql":
        # TRUNCATE refuses tables with deferred foreign-key checks still pending in this
        # transaction (when restore runs inside a larger one, as in tests): run them now.
        with connection.cursor() as cursor:
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
    call_command("flush", interactive=False, verbosity=0, database=using)
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SET CONSTRAINTS ALL DEFERRED")


def _load(rows: Iterable[tuple[int, dict]], *, using: str, progress: Progress) -> dict:
    """Insert the rows in batches, model by model; foreign keys are checked at commit."""
    allowed = {_label(m) for m in backed_up_models()}
    counts = defaultdict(int)
    batch, batch_model, deferred = [], None, []

    def finish(model):
        if model is not None:
            progress(f"  {_label(model):<28} {counts[_label(model)]:>12,}")

    for lineno, data in rows:
        label = str(data.get("model", "")).lower() if isinstance(data, dict) else ""
        if label in MOVED_MODELS:
            label = data["model"] = MOVED_MODELS[label]
        if label not in allowed:
            raise BackupError(
                f"Line {lineno}: {label or 'a row without a model'} is not part of a "
                "Ringround backup."
            )
        try:
            (obj,) = list(
                serializers.deserialize(
                    "python", [data], using=using, handle_forward_references=True
                )
            )
        except (DeserializationError, ValueError, TypeError, LookupError) as exc:
            raise BackupError(f"Line {lineno}: {exc}") from exc
        model = type(obj.object)
        if model is not batch_model:
            _insert(batch, using)
            finish(batch_model)
            batch, batch_model = [], model
        batch.append(obj)
        if obj.deferred_fields:
            deferred.append(obj)
        counts[label] += 1
        if counts[label] % PROGRESS_EVERY == 0:
            progress(f"  {label:<28} {counts[label]:>12,} …")
        if len(batch) >= CHUNK:
            _insert(batch, using)
            batch = []
    _insert(batch, using)
    finish(batch_model)
    for obj in deferred:
        try:
            obj.save_deferred_fields(using=using)
        except (DeserializationError, DatabaseError) as exc:
            raise BackupError(
                f"A {_label(type(obj.object))} row names a missing row: {exc}"
            ) from exc
    return dict(counts)


def _insert(batch: list, using: str) -> None:
    """Insert deserialized objects as they are: ``raw`` keeps ``auto_now`` stamps unchanged
    (``bulk_create`` would overwrite them), and no model's ``save()`` runs."""
    if not batch:
        return
    model = type(batch[0].object)
    if model._meta.parents:
        for obj in batch:
            obj.save(using=using)
        return
    fields = [f for f in model._meta.local_concrete_fields if not f.generated]
    objs = [obj.object for obj in batch]
    size = max(connections[using].ops.bulk_batch_size(fields, objs), 1)
    manager = model._base_manager.db_manager(using)
    try:
        for start in range(0, len(objs), size):
            manager._insert(objs[start : start + size], fields=fields, using=using, raw=True)
    except DatabaseError as exc:
        raise BackupError(f"{_label(model)} rows could not be stored: {exc}") from exc
    through_rows = defaultdict(list)
    for obj in batch:
        for name, values in (obj.m2m_data or {}).items():
            field = model._meta.get_field(name)
            through = field.remote_field.through
            source, target = field.m2m_field_name(), field.m2m_reverse_field_name()
            through_rows[through].extend(
                through(**{f"{source}_id": obj.object.pk, f"{target}_id": value})
                for value in values
            )
    for through, rows in through_rows.items():
        through._base_manager.db_manager(using).bulk_create(rows, batch_size=CHUNK)


def _check_references(counts: dict, using: str) -> None:
    """Every foreign key must point at a row, checked now rather than failing at commit."""
    connection = connections[using]
    tables = [apps.get_model(label)._meta.db_table for label in counts]
    for label in counts:
        for field in apps.get_model(label)._meta.many_to_many:
            tables.append(field.remote_field.through._meta.db_table)
    try:
        connection.check_constraints(table_names=tables)
    except (IntegrityError, DatabaseError) as exc:
        raise BackupError(f"Some rows point at rows the backup does not hold ({exc}).") from exc


def _reset_sequences(counts: dict, using: str) -> None:
    """On PostgreSQL, new rows must get ids after the restored ones."""
    connection = connections[using]
    models = [apps.get_model(label) for label in counts]
    statements = connection.ops.sequence_reset_sql(no_style(), models)
    if statements:
        with connection.cursor() as cursor:
            for sql in statements:
                cursor.execute(sql)


def _check_counts(counts: dict, using: str) -> None:
    for label, n in counts.items():
        held = apps.get_model(label)._base_manager.using(using).count()
        if held != n:
            raise BackupError(f"{label}: the file has {n:,} rows but {held:,} were stored.")
