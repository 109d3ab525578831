"""The counters behind limits on what one address, link or campaign may do in a window of
time (failed sign-ins per address, sign-ups per invite link). They are rows in the database,
so every app server and every worker process counts together: counters kept in each
process's memory would let a limit be multiplied by the number of processes.

Each count is one statement (an upsert that returns the new count), so two requests at the
same moment cannot both read the same count and both slip under a limit."""

import datetime as dt

from django.db import connection
from django.utils import timezone

from .models import RateCounter

_TABLE = RateCounter._meta.db_table
_COUNT = f"""
    INSERT INTO "{_TABLE}" ("key", "count", "expires_at") VALUES (%s, 1, %s)
    ON CONFLICT ("key") DO UPDATE SET
        "count" = CASE WHEN "{_TABLE}"."expires_at" <= %s THEN 1
                       ELSE "{_TABLE}"."count" + 1 END,
        "expires_at" = CASE WHEN "{_TABLE}"."expires_at" <= %s THEN excluded."expires_at"
                            ELSE "{_TABLE}"."expires_at" END
    RETURNING "count\""""


def count(key: str, *, window_seconds: int, now: dt.datetime | None = None) -> int:
    """Add one to ``key``'s count (started afresh once its window is over); the new count."""
    now = now or timezone.now()
    adapt = connection.ops.adapt_datetimefield_value
    expires, at = adapt(now + dt.timedelta(seconds=window_seconds)), adapt(now)
    with connection.cursor() as cursor:
        cursor.execute(_COUNT, [key[:200], expires, at, at])
        return cursor.fetchone()[0]


def peek(key: str, *, now: dt.datetime | None = None) -> int:
    """``key``'s count in its current window, counting nothing."""
    now = now or timezone.now()
    row = RateCounter.objects.filter(key=key[:200], expires_at__gt=now).first()
    return row.count if row else 0


def first_time(key: str, *, window_seconds: int, now: dt.datetime | None = None) -> bool:
    """Whether this is the first time ``key`` is counted in its window (flag something once)."""
    return count(key, window_seconds=window_seconds, now=now) == 1


def purge(now: dt.datetime | None = None) -> int:
    """Forget counts whose window is over; how many."""
    deleted, _ = RateCounter.objects.filter(expires_at__lte=now or timezone.now()).delete()
    return deleted
