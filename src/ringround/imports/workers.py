"""Is a background task worker running? Imports queued from the pages run in the task worker
(``ringround manage task_worker``, which ``ringround serve`` keeps running). When none is
alive (it died with its database, or was never started) a queued import waits for ever, so
the page says so and offers to resume it, which starts a worker for the queue.

A worker says it is alive with a heartbeat row (``TaskWorker``) written every few seconds
from a thread of its own. django-tasks' database backend keeps no such record (only the ids
of the workers that claimed each task), and a timestamp works the same on SQLite and
PostgreSQL."""

import datetime as dt
import os
import socket
import subprocess
import sys
import threading

from django.conf import settings
from django.db import DatabaseError, close_old_connections, connection
from django.utils import timezone
from django.utils.crypto import get_random_string

from .models import TaskWorker


def worker_needed() -> bool:
    """Whether queued tasks wait for a worker process (the database backend); other backends
    (the immediate one, in tests) run them as they are queued."""
    backend = settings.TASKS.get("default", {}).get("BACKEND", "")
    return "django_tasks_db" in backend


def worker_alive(*, now: dt.datetime | None = None) -> bool:
    """A task worker has been heard from in the last ``TaskWorker.GONE_AFTER_SECONDS``."""
    if not worker_needed():
        return True
    since = (now or timezone.now()) - dt.timedelta(seconds=TaskWorker.GONE_AFTER_SECONDS)
    return TaskWorker.objects.filter(seen_at__gte=since).exists()


def new_worker_id() -> str:
    return get_random_string(32)


def beat(worker_id: str) -> None:
    """Say this worker is alive (one UPDATE; the first beat of a worker inserts its row)."""
    now = timezone.now()
    if not TaskWorker.objects.filter(worker_id=worker_id).update(seen_at=now, pid=os.getpid()):
        TaskWorker.objects.update_or_create(
            worker_id=worker_id,
            defaults={"seen_at": now, "started_at": now, "pid": os.getpid(), "host": _host()},
        )


def _host() -> str:
    return socket.gethostname()[:255]


def forget(worker_id: str) -> None:
    """A worker that stops says so at once, and rows of workers long gone are dropped."""
    long_ago = timezone.now() - dt.timedelta(days=1)
    TaskWorker.objects.filter(worker_id=worker_id).delete()
    TaskWorker.objects.filter(seen_at__lt=long_ago).delete()


class Heartbeat:
    """Beats for a worker from a thread of its own (with its own database connection), so a
    worker busy with a long import is still seen alive. A beat that fails (the database is
    away) is simply missed; the connection is replaced for the next one."""

    def __init__(self, worker_id: str, *, every: float = TaskWorker.BEAT_SECONDS):
        self.worker_id, self.every = worker_id, every
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, name="task-worker-heartbeat", daemon=True)

    def start(self) -> "Heartbeat":
        self._thread.start()
        return self

    def _run(self) -> None:
        main = threading.main_thread()
        while main.is_alive() and not self._stopping.is_set():
            try:
                close_old_connections()
                beat(self.worker_id)
            except DatabaseError:
                connection.close()
            self._stopping.wait(self.every)
        connection.close()

    def stop(self) -> None:
        self._stopping.set()
        self._thread.join(timeout=10)
        for _ in range(2):  # the connection may have been cut while the worker ran: a fresh one
            try:
                forget(self.worker_id)
                return
            except DatabaseError:
                connection.close()
        # The database is away: the row ages out instead.


def worker_command(worker_id: str) -> list[str]:
    """A worker for what is queued now: it stops once the queue is empty."""
    return [
        sys.executable,
        *("-m", "ringround", "manage", "task_worker"),
        *("--batch", "--no-startup-delay", "--no-reload", "--worker-id", worker_id),
    ]


def start_worker() -> str:
    """Start a task worker for the queue, apart from this process (a web request must not wait
    for an import), and return its id. Its row is written now, so a second click while it
    starts does not start another."""
    worker_id = new_worker_id()
    TaskWorker.objects.create(worker_id=worker_id, host=_host())
    process = subprocess.Popen(
        worker_command(worker_id),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,  # its problems (stderr) go where this process's go
        start_new_session=True,  # not stopped with the web process serving this request
    )
    threading.Thread(target=process.wait, name="task-worker-reaper", daemon=True).start()
    return worker_id
