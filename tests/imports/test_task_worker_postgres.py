"""The real task worker, as ``ringround serve`` runs it, against PostgreSQL: it comes back when
its database connections are cut (as when PostgreSQL restarts) and runs what is queued next;
and an import's Resume, with no worker alive, starts one that runs it.

The connections are cut with ``pg_terminate_backend`` (the shared server is not restarted:
other test runs use it). The worker processes reach this test's database through
DATABASE_URL; the test runs outside a transaction so that they see what it writes."""

import os
import time
import urllib.parse

import pytest
from django.db import connection
from django.test import Client
from django.urls import reverse

from ringround.cli import KeptRunning, task_worker_command
from ringround.imports import services, workers
from ringround.imports.models import Import, TaskWorker
from tests.factories import make_organiser, the_team
from tests.imports.conftest import member_rows, write_csv

pytestmark = pytest.mark.postgres_only

BOUND = 30  # seconds: the worker starts in ~2 s, is started again 2 s after it exits


@pytest.fixture(autouse=True)
def _database_tasks(settings):
    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}


@pytest.fixture
def worker_environment(monkeypatch, tmp_path):
    """Worker processes started from here use this test's database and a data folder of
    their own."""
    params = connection.settings_dict
    user = urllib.parse.quote(params["USER"] or "", safe="")
    password = ":" + urllib.parse.quote(params["PASSWORD"], safe="") if params["PASSWORD"] else ""
    host, port = params["HOST"] or "localhost", params["PORT"] or 5432
    url = f"postgres://{user}{password}@{host}:{port}/{params['NAME']}"
    monkeypatch.setenv("DATABASE_URL", url)
    monkeypatch.setenv("RINGROUND_DATA", str(tmp_path / "worker-data"))
    monkeypatch.delenv("RINGROUND_TEST_DB_NAME", raising=False)
    monkeypatch.setenv("SECRET_KEY", "worker-test-" + "x" * 40)


def wait_for(condition, what: str, seconds: float = BOUND):
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, f"{what} within {seconds} s"
        time.sleep(0.1)


def queue_an_import(path, rows: int = 5, start: int = 0) -> Import:
    job = services.create_import(
        path=write_csv(path, member_rows(rows, start=start)), team=the_team()
    )
    services.set_mapping(job, job.mapping)
    return services.start_import(job)


def status_of(job: Import) -> str:
    return Import.objects.values_list("status", flat=True).get(pk=job.pk)


def cut_every_other_connection() -> int:
    """What a PostgreSQL restart does to the worker: every connection to this database but
    the test's own is closed by the server. Returns how many were."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FILTER (WHERE pg_terminate_backend(pid)) FROM pg_stat_activity"
            " WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
        return cursor.fetchone()[0]


def test_the_task_worker_runs_imports_after_its_database_connections_are_cut(
    worker_environment, tmp_path
):
    kept = KeptRunning(task_worker_command()).start()
    try:
        wait_for(workers.worker_alive, "the task worker says it is alive")
        first = queue_an_import(tmp_path / "first.csv")
        wait_for(lambda: status_of(first) == Import.Status.DONE, "the first import ran")

        assert cut_every_other_connection() >= 1  # the worker's (and its heartbeat's)
        job = queue_an_import(tmp_path / "after.csv", rows=7, start=100)
        wait_for(lambda: status_of(job) == Import.Status.DONE, "the import queued after ran")

        job.refresh_from_db()
        assert job.created == 7 and job.rejected == 0
        assert workers.worker_alive()
    finally:
        kept.stop()
    assert kept.process.poll() is not None
    wait_for(lambda: not TaskWorker.objects.exists(), "the stopped worker's row is gone", 10)


def test_resume_with_no_worker_alive_starts_one_that_runs_the_import(worker_environment, tmp_path):
    organiser = make_organiser()
    job = queue_an_import(tmp_path / "members.csv")
    Import.objects.filter(pk=job.pk).update(created_by=organiser)
    client = Client()
    client.force_login(organiser)
    page = client.get(reverse("imports:import", args=[job.public_id])).content.decode()
    assert "No background worker is running, so this import is not moving" in page

    client.post(reverse("imports:import_resume", args=[job.public_id]))

    wait_for(lambda: status_of(job) == Import.Status.DONE, "the resumed import ran")
    # The worker it started stops once the queue is empty, and says so.
    wait_for(lambda: not workers.worker_alive(), "the worker started for the queue stopped")
    assert os.environ["RINGROUND_DATA"].endswith("worker-data")
