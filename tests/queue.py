"""Running the background task queue inside a test, as the task worker would."""

from django_tasks_db.management.commands import db_worker


def run_the_queue(monkeypatch) -> None:
    """What a task worker does with the queue, in this process (no signal handlers). Its
    recycling of connections is left out: it would close the test's transaction."""
    monkeypatch.setattr(db_worker, "close_old_connections", lambda: None)
    db_worker.Worker(
        queue_names=["default"],
        interval=0,
        batch=True,
        backend_name="default",
        startup_delay=False,
        max_tasks=None,
        worker_id="test-worker",
        excluded_queue_names=[],
    ).run()
