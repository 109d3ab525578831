"""Running workers at the same moment, each on its own database connection, for the tests of
real concurrency (PostgreSQL only: the conftest makes them transactional)."""

import collections
import threading
import time

from django.db import OperationalError, connection

BARRIER_TIMEOUT = 60


def connect(patience=30.0):
    """Open this thread's connection, waiting out a server momentarily full of clients
    (the PostgreSQL here is shared with other test runs and benchmarks)."""
    deadline = time.monotonic() + patience
    while True:
        try:
            connection.ensure_connection()
            return
        except OperationalError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.25)


def run_threads(count, work, *barriers):
    """Run ``work(i)`` in ``count`` threads, each on its own connection; re-raise a failure."""
    errors = []

    def body(i):
        try:
            connect()
            work(i)
        except BaseException as exc:  # reported in the test's own thread
            errors.append(exc)
            for barrier in barriers:  # release the others at once rather than on timeout
                barrier.abort()
        finally:
            connection.close()

    threads = [threading.Thread(target=body, args=(i,), name=f"worker-{i}") for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=BARRIER_TIMEOUT * 2)
    assert not any(t.is_alive() for t in threads), "a worker thread hung"
    real = [e for e in errors if not isinstance(e, threading.BrokenBarrierError)]
    if real or errors:
        raise (real or errors)[0]


def run_at_once(count, action):
    """``action(i)`` in ``count`` threads released together; their results, in thread order."""
    results = [None] * count
    barrier = threading.Barrier(count, timeout=BARRIER_TIMEOUT)

    def work(i):
        barrier.wait()
        results[i] = action(i)

    run_threads(count, work, barrier)
    return results


def duplicates(values):
    """Each value given more than once, with how often."""
    return {v: n for v, n in collections.Counter(values).items() if n > 1}
