"""The counters behind limits per address and per link are shared by every process (rows in
the database), start afresh when their window is over, and count exactly under concurrency."""

import datetime as dt
import threading

import pytest
from django.utils import timezone

from ringround.accounts import limits
from ringround.accounts.models import RateCounter
from tests.threads import run_threads

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2026, 12, 1, 20, 0, tzinfo=dt.UTC)


def test_a_count_goes_up_by_one_and_starts_again_after_its_window():
    assert [limits.count("k", window_seconds=60, now=NOW) for _ in range(3)] == [1, 2, 3]
    assert limits.peek("k", now=NOW + dt.timedelta(seconds=59)) == 3
    assert limits.peek("k", now=NOW + dt.timedelta(seconds=60)) == 0
    assert limits.count("k", window_seconds=60, now=NOW + dt.timedelta(seconds=61)) == 1
    assert limits.peek("other", now=NOW) == 0


def test_first_time_is_true_once_per_window():
    assert limits.first_time("flag", window_seconds=60, now=NOW)
    assert not limits.first_time("flag", window_seconds=60, now=NOW)
    assert limits.first_time("flag", window_seconds=60, now=NOW + dt.timedelta(minutes=2))


def test_purge_forgets_only_counts_whose_window_is_over():
    limits.count("old", window_seconds=60, now=NOW - dt.timedelta(hours=1))
    limits.count("new", window_seconds=3600, now=NOW)
    assert limits.purge(now=NOW) == 1
    assert list(RateCounter.objects.values_list("key", flat=True)) == ["new"]


def test_failed_sign_ins_per_address_are_counted_in_the_database(client, settings):
    settings.RINGROUND_LOGIN_FAILURES_PER_ADDRESS = 3
    for _ in range(3):
        client.post("/accounts/login/", {"username": "no@example.org", "password": "wrong"})
    [counter] = RateCounter.objects.all()
    assert counter.key.startswith("login-failures:127.0.0.1:") and counter.count == 3
    assert counter.expires_at > timezone.now()


@pytest.mark.postgres_only
def test_counting_at_the_same_moment_on_many_connections_loses_nothing():
    start = threading.Barrier(8)

    def work(i):
        start.wait()
        for _ in range(25):
            limits.count("busy", window_seconds=60)

    run_threads(8, work, start)
    assert limits.peek("busy") == 200
