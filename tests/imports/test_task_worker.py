"""An import queued while no task worker is alive: its page says it is not moving and offers
Resume, which queues it again and starts a worker for the queue."""

import datetime as dt

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from ringround.contacts.models import Contact
from ringround.imports import services, workers
from ringround.imports.models import Import, TaskWorker
from tests.factories import (
    make_campaign,
    make_organiser,
    make_team,
    make_volunteer,
    organiser_of,
    the_team,
)
from tests.imports.conftest import member_rows, write_csv
from tests.queue import run_the_queue

pytestmark = pytest.mark.django_db

NOT_MOVING = "No background worker is running, so this import is not moving"


@pytest.fixture(autouse=True)
def _database_tasks(settings):
    """Tasks wait in the database for a worker, as in production (not run as queued)."""
    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}


class Started:
    """Stands in for the worker process ``start_worker`` launches (a real one cannot reach
    this test's database): it records the command, and the test runs the queue itself."""

    commands: list = []

    def __init__(self, command, **_):
        Started.commands.append(command)

    def wait(self):
        return 0


@pytest.fixture
def started(monkeypatch):
    Started.commands = []
    monkeypatch.setattr(workers.subprocess, "Popen", Started)
    return Started.commands


@pytest.fixture
def organiser():
    return make_organiser()


@pytest.fixture
def queued(tmp_path, organiser):
    campaign = make_campaign(organiser)
    job = services.create_import(
        path=write_csv(tmp_path / "members.csv", member_rows(3)),
        by=organiser,
        campaign=campaign,
        team=campaign.team,
    )
    services.set_mapping(job, job.mapping)
    return services.start_import(job, by=organiser)


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_a_queued_import_with_no_worker_alive_says_so_and_offers_resume(organiser, queued):
    client = signed_in(organiser)
    for name in ("imports:import", "imports:import_progress"):
        page = client.get(reverse(name, args=[queued.public_id])).content.decode()
        assert NOT_MOVING in page
        assert "Resume the import" in page
        assert "the import carries on" not in page
        assert "Waiting to start" not in page


def test_a_queued_import_with_a_worker_alive_says_it_is_waiting(organiser, queued):
    workers.beat("alive")
    page = signed_in(organiser).get(reverse("imports:import", args=[queued.public_id]))
    page = page.content.decode()
    assert "Waiting to start" in page and "the import carries on" in page
    assert NOT_MOVING not in page and "Resume the import" not in page


def test_a_running_import_with_a_worker_alive_says_it_is_importing(organiser, queued):
    workers.beat("alive")
    Import.objects.filter(pk=queued.pk).update(
        status=Import.Status.RUNNING, heartbeat_at=timezone.now()
    )
    page = signed_in(organiser).get(reverse("imports:import", args=[queued.public_id]))
    assert "Importing" in page.content.decode() and NOT_MOVING not in page.content.decode()


def test_a_worker_not_heard_from_for_thirty_seconds_is_gone():
    now = timezone.now()
    TaskWorker.objects.create(worker_id="w", seen_at=now - dt.timedelta(seconds=29))
    assert workers.worker_alive(now=now)
    assert not workers.worker_alive(now=now + dt.timedelta(seconds=2))


def test_a_worker_that_stops_is_gone_at_once():
    workers.beat("w")
    assert workers.worker_alive()
    workers.forget("w")
    assert not workers.worker_alive()


def test_no_worker_is_needed_where_tasks_run_as_they_are_queued(settings):
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}
    assert workers.worker_alive()


def test_resume_queues_the_import_and_starts_a_worker_that_runs_it(
    organiser, queued, started, monkeypatch
):
    client = signed_in(organiser)
    response = client.post(reverse("imports:import_resume", args=[queued.public_id]))
    assert response.status_code == 302

    (command,) = started
    assert command[-6:-2] == ["task_worker", "--batch", "--no-startup-delay", "--no-reload"]
    assert TaskWorker.objects.filter(worker_id=command[-1]).exists()  # alive while it starts
    page = client.get(reverse("imports:import", args=[queued.public_id])).content.decode()
    assert "Waiting to start" in page and NOT_MOVING not in page

    run_the_queue(monkeypatch)
    queued.refresh_from_db()
    assert queued.status == Import.Status.DONE and queued.created == 3
    assert Contact.objects.count() == 3
    # Queued twice (at the start and on resume): run once, and neither task failed.
    assert DBTaskResult.objects.count() == 2
    assert not DBTaskResult.objects.failed().exists()


def test_resume_with_a_worker_alive_queues_it_without_starting_another(organiser, started):
    job = Import.objects.create(
        team=the_team(),
        created_by=organiser,
        file_path="/nonexistent.csv",
        original_name="members.csv",
        file_format="csv",
        status=Import.Status.FAILED,
        error="The import was stopped.",
    )
    workers.beat("alive")
    signed_in(organiser).post(reverse("imports:import_resume", args=[job.public_id]))
    job.refresh_from_db()
    assert job.status == Import.Status.QUEUED
    assert DBTaskResult.objects.ready().count() == 1
    assert started == []


def test_an_import_that_is_waiting_for_a_live_worker_cannot_be_resumed(organiser, queued):
    workers.beat("alive")
    with pytest.raises(services.ImportBusy):
        services.resume_import(queued, by=organiser)
    assert DBTaskResult.objects.count() == 1


@pytest.mark.parametrize("who", ["stranger", "volunteer", "other_organiser"])
def test_only_its_organisers_may_resume_an_import(who, queued, started):
    client = Client()
    if who == "volunteer":
        client.force_login(make_volunteer(queued.campaign))
    elif who == "other_organiser":
        client.force_login(organiser_of(make_campaign(make_organiser(make_team()))))
    response = client.post(reverse("imports:import_resume", args=[queued.public_id]))
    assert response.status_code in (302, 403, 404)
    if response.status_code == 302:
        assert "/accounts/login/" in response["Location"]
    assert DBTaskResult.objects.count() == 1  # not queued again
    assert started == [] and not TaskWorker.objects.exists()
    page = signed_in(queued.created_by).get(reverse("imports:import", args=[queued.public_id]))
    assert NOT_MOVING in page.content.decode()
