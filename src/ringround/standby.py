"""Reads that may go to the PostgreSQL standby, and the router that sends them there.

A deployment with a streaming standby (``DATABASE_STANDBY_URL``) lets reports and exports read
from it, so that counting a national campaign's calls never competes with volunteers claiming
and recording them. Only code wrapped in ``reads_from_standby()`` is routed there; everything
else, above all the calling loop (claims, outcomes, leases), reads and writes the primary.

A standby replays the primary's changes a little later. While it is more than
``RINGROUND_STANDBY_MAX_LAG_SECONDS`` behind, or cannot be reached, the same reads go to the
primary: a report is at most that many seconds old, never older. The lag is measured on the
standby itself (how long ago the last change it replayed was committed, when changes are waiting
to be replayed) and each process asks at most once every ``PROBE_SECONDS``.

A standby that was promoted (it is now the primary) is read from as any primary is."""

import contextlib
import contextvars
import threading
import time

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connections

STANDBY = "standby"
PROBE_SECONDS = 1.0

_chosen = contextvars.ContextVar("ringround_report_database", default=None)

LAG_SQL = """
SELECT CASE
         WHEN NOT pg_is_in_recovery() THEN 0
         WHEN pg_last_wal_receive_lsn() IS NOT DISTINCT FROM pg_last_wal_replay_lsn() THEN 0
         ELSE coalesce(extract(epoch FROM now() - pg_last_xact_replay_timestamp()), 1e9)
       END
"""


@contextlib.contextmanager
def reads_from_standby(*, consistent: bool = False):
    """Send the reads inside to the standby if it is close enough behind now, else to the
    primary: chosen once, on entry, so one report reads one database. Yields the alias. Wrap
    only reads that may be a few seconds old (figures), never a read-then-write.

    ``consistent``: only if the standby has replayed everything the primary had committed on
    entry (waiting up to ``CATCH_UP_SECONDS`` for it). Exports of personal data use this, so
    that one made after an erasure can never read a standby that still has the person."""
    token = _chosen.set(reporting_database(consistent=consistent))
    try:
        yield _chosen.get()
    finally:
        _chosen.reset(token)


def reporting_database(*, consistent: bool = False) -> str:
    """Where a report read now should go (for ``.using()``, e.g. in a streamed download that
    outlives any ``with`` block): the standby while usable, else the primary."""
    if not standby_usable():
        return DEFAULT_DB_ALIAS
    if consistent and not standby_caught_up():
        return DEFAULT_DB_ALIAS
    return STANDBY


CATCH_UP_SECONDS = 2.0
CAUGHT_UP_SQL = "SELECT NOT pg_is_in_recovery() OR pg_last_wal_replay_lsn() >= %s::pg_lsn"


def standby_caught_up(wait: float = CATCH_UP_SECONDS) -> bool:
    """Whether the standby has replayed all the primary had committed when asked (it is
    streamed synchronously, so replay is usually a few milliseconds behind); False if it has
    not within ``wait`` seconds, or cannot be asked."""
    primary, standby = connections[DEFAULT_DB_ALIAS], connections[STANDBY]
    if primary.vendor != "postgresql":
        return True
    try:
        with primary.cursor() as cursor:
            cursor.execute("SELECT pg_current_wal_lsn()::text")
            target = cursor.fetchone()[0]
        deadline = time.monotonic() + wait
        with standby.cursor() as cursor:
            while True:
                cursor.execute(CAUGHT_UP_SQL, [target])
                if cursor.fetchone()[0]:
                    return True
                if time.monotonic() >= deadline:
                    return False
                time.sleep(0.02)
    except Exception:  # noqa: BLE001 - any failure to ask means: read the primary
        with contextlib.suppress(Exception):
            standby.close()
        return False


def configured() -> bool:
    return STANDBY in settings.DATABASES


class LagProbe:
    """The standby's lag as last measured, remeasured at most every ``PROBE_SECONDS``."""

    def __init__(self, measure=None, clock=time.monotonic):
        self.measure = measure or measure_lag
        self.clock = clock
        self._lock = threading.Lock()
        self._measured_at = None
        self._lag = None

    def lag_seconds(self) -> float | None:
        """Seconds behind the primary, or None if the standby could not be asked."""
        now = self.clock()
        with self._lock:
            if self._measured_at is not None and now - self._measured_at < PROBE_SECONDS:
                return self._lag
        lag = self.measure()
        with self._lock:
            self._measured_at, self._lag = now, lag
        return lag

    def forget(self):
        with self._lock:
            self._measured_at = self._lag = None


def measure_lag() -> float | None:
    """Ask the standby how far behind it is; None when it cannot be reached (it is then left
    closed, so the next probe connects afresh)."""
    connection = connections[STANDBY]
    try:
        with connection.cursor() as cursor:
            if connection.vendor != "postgresql":
                return 0.0  # a second name for the same SQLite file (tests): never behind
            cursor.execute(LAG_SQL)
            return float(cursor.fetchone()[0])
    except Exception:  # noqa: BLE001 - any failure to reach it means: read the primary
        with contextlib.suppress(Exception):
            connection.close()
        return None


probe = LagProbe()


def standby_usable() -> bool:
    if not configured():
        return False
    lag = probe.lag_seconds()
    bound = settings.RINGROUND_STANDBY_MAX_LAG_SECONDS
    return lag is not None and lag <= bound


class StandbyRouter:
    """Django's database router: writes and migrations always on the primary; reads on the
    standby only where ``reads_from_standby()`` allows it."""

    def db_for_read(self, model, **hints):
        return _chosen.get() or DEFAULT_DB_ALIAS

    def db_for_write(self, model, **hints):
        return DEFAULT_DB_ALIAS

    def allow_relation(self, obj1, obj2, **hints):
        return True

    def allow_migrate(self, db, app_label, model_name=None, **hints):
        return db == DEFAULT_DB_ALIAS
