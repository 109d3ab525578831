"""Small generated files and a one-call import, for the import tests."""

import csv
import io
from contextlib import contextmanager

import pytest
from django.db import connection

from ringround.imports import jobs, services
from ringround.imports.models import Import
from tests.factories import the_team

# Ofcom drama numbers (nobody real): London 020 7946 0xxx, mobiles 07700 900xxx are not
# "valid" to libphonenumber, so mobiles come from 07911 1xxxxx in the tests.
HEADER = ["Membership number", "First name", "Surname", "Mobile", "Telephone", "Area", "Tags"]


@pytest.fixture(autouse=True)
def _immediate_tasks(settings):
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}


def landline(n: int) -> str:
    return f"020 7946 {n:04d}"


def mobile(n: int) -> str:
    return f"07911 1{n:05d}"


def e164_landline(n: int) -> str:
    return f"+44207946{n:04d}"


def csv_bytes(rows, *, header=HEADER, delimiter=",", encoding="utf-8") -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, delimiter=delimiter, lineterminator="\r\n")
    if header:
        writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue().encode(encoding)


def write_csv(path, rows, **options):
    path.write_bytes(csv_bytes(rows, **options))
    return path


def member_rows(count: int, start: int = 0):
    return [
        [f"M{n:05d}", f"First{n}", f"Last{n}", "", landline(n), "Holborn", "member"]
        for n in range(start, start + count)
    ]


def import_now(path, *, mapping=None, save_as="", **options):
    """Upload-and-map as the pages do, then run to the end in this process."""
    options.setdefault("workers", 1)
    run_options = {
        k: options.pop(k) for k in ("workers", "batch_size", "stop_after_batches") if k in options
    }
    if options.get("kind", Import.Kind.CONTACTS) == Import.Kind.CONTACTS:
        options.setdefault("team", the_team())
    job = services.create_import(path=path, **options)
    services.set_mapping(job, mapping or job.mapping, save_as=save_as)
    services.start_import(job, background=False)
    return jobs.run_import(job, **run_options)


def assert_counts_add_up(job):
    assert job.rows_read == job.created + job.updated + job.unchanged + job.rejected


@contextmanager
def another_import_running():
    """What a live import process looks like from outside: on PostgreSQL it holds the import
    lock (from its own connection); elsewhere only its recent heartbeat shows it."""
    if connection.vendor != "postgresql":
        yield
        return
    import psycopg

    from ringround.imports.base import _IMPORT_LOCK

    params = connection.get_connection_params()
    params.pop("cursor_factory", None)
    params.pop("context", None)
    with psycopg.connect(**params, autocommit=True) as other:
        other.execute("SELECT pg_advisory_lock(%s)", [_IMPORT_LOCK])
        yield
