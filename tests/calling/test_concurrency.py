"""Invariants 1 and 3 under real concurrency, on PostgreSQL.

Every worker is a thread with its own database connection; a barrier starts each round's
claims together. The rules must hold with nothing but the database keeping order: nobody is
handed a person someone else holds at the same moment, not even while leases lapse and are
taken over, and one outcome submitted many times at once is stored exactly once.

These tests run only in the PostgreSQL pass (the conftest makes them transactional and skips
them on SQLite, whose write transactions run one at a time anyway).
"""

import collections
import datetime as dt
import threading
import time

import pytest
from django.db import OperationalError, connection

from ringround.calling import rules
from ringround.calling.models import Call, CallTarget
from ringround.calling.targets import add_contacts as add_targets
from ringround.contacts.models import Contact
from tests.factories import ContactFactory, make_campaign, make_volunteer

pytestmark = pytest.mark.postgres_only

NOON = dt.datetime(2027, 6, 1, 11, 0, tzinfo=dt.UTC)  # 12:00 in London
THREADS = 50
ROUNDS = 10
BARRIER_TIMEOUT = 60
State = CallTarget.State


@pytest.fixture(autouse=True)
def _quick_passwords(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


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

    threads = [threading.Thread(target=body, args=(i,), name=f"caller-{i}") for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=BARRIER_TIMEOUT * 2)
    assert not any(t.is_alive() for t in threads), "a worker thread hung"
    real = [e for e in errors if not isinstance(e, threading.BrokenBarrierError)]
    if real or errors:
        raise (real or errors)[0]


def campaign_with_targets(count, **fields):
    """An active campaign with ``count`` fresh people to call, inserted in bulk."""
    campaign = make_campaign(**fields)
    contacts = Contact.objects.bulk_create(ContactFactory.build_batch(count))
    add_targets(campaign, Contact.objects.filter(pk__in=[c.pk for c in contacts]))
    assert campaign.targets.count() == count
    return campaign


def duplicates(values):
    return {v: n for v, n in collections.Counter(values).items() if n > 1}


def live_holders(campaign, now):
    """target -> volunteer for every lease the database holds live at ``now``."""
    return dict(
        CallTarget.objects.filter(
            campaign=campaign, state=State.ASSIGNED, lease_expires_at__gt=now
        ).values_list("pk", "held_by_id")
    )


def test_fifty_volunteers_claiming_at_once_for_ten_rounds_never_share_a_person():
    targets = THREADS * ROUNDS - 20  # the last round runs short: some must get nobody
    campaign = campaign_with_targets(targets)
    volunteers = [make_volunteer(campaign) for _ in range(THREADS)]
    held = [[None] * THREADS for _ in range(ROUNDS)]
    barrier = threading.Barrier(THREADS, timeout=BARRIER_TIMEOUT)
    snapshots, refused = [], []

    def check_round():
        # Runs in one worker while every other worker waits holding its person.
        r = len(snapshots)
        snapshots.append(live_holders(campaign, NOON + dt.timedelta(minutes=r)))

    holding = threading.Barrier(THREADS, action=check_round, timeout=BARRIER_TIMEOUT)

    def work(i):
        volunteer = volunteers[i]
        for r in range(ROUNDS):
            now = NOON + dt.timedelta(minutes=r)
            barrier.wait()
            lease = rules.claim_next(campaign, volunteer, now=now)
            held[r][i] = lease.target.pk if lease else None
            holding.wait()  # everybody holds their person at this moment
            if lease:
                try:
                    rules.record_outcome(
                        campaign,
                        volunteer,
                        lease_token=lease.token,
                        outcome_code="answered",
                        idempotency_key=f"{i}-{r}",
                        now=now,
                    )
                except rules.CallingError as exc:  # asserted on below, after the leases
                    refused.append((r, i, exc))

    run_threads(THREADS, work, barrier, holding)

    handed = []
    for r, round_ in enumerate(held):
        given = [pk for pk in round_ if pk is not None]
        assert not duplicates(given), f"round {r}: one person handed to two volunteers"
        expected = dict((pk, volunteers[i].pk) for i, pk in enumerate(round_) if pk is not None)
        assert snapshots[r] == expected, f"round {r}: the database disagrees with the leases"
        # SKIP LOCKED leaves nobody idle while someone is free to call.
        assert len(given) == min(THREADS, targets - len(handed)), f"round {r}"
        handed.extend(given)
    assert not refused, "a volunteer could not record the call they were handed"
    assert not duplicates(handed), "a person was handed out again after their final outcome"
    assert len(handed) == targets
    assert Call.objects.filter(campaign=campaign).count() == len(handed)
    assert CallTarget.objects.filter(campaign=campaign, state=State.DONE).count() == targets
    assert not CallTarget.objects.filter(campaign=campaign, state=State.ASSIGNED).exists()


def test_leases_lapsing_and_taken_over_under_load_are_never_held_twice():
    targets = 40  # fewer people than volunteers: lapsed leases are fought over
    campaign = campaign_with_targets(targets, lease_minutes=1)
    volunteers = [make_volunteer(campaign) for _ in range(THREADS)]
    sweeper = THREADS  # one extra thread tidies lapsed leases in some rounds
    held = [[None] * THREADS for _ in range(ROUNDS)]
    snapshots = []

    def round_now(r):
        return NOON + dt.timedelta(minutes=2 * r)  # every lease of the round before has lapsed

    def away(i, r):
        return (i + r) % 5 == 0  # ten volunteers sit each round out; their leases lapse

    def sweeps(r):
        return r % 3 == 2

    def check_round():
        r = len(snapshots)
        snapshots.append(live_holders(campaign, round_now(r)))

    start = threading.Barrier(THREADS + 1, timeout=BARRIER_TIMEOUT)
    holding = threading.Barrier(THREADS + 1, action=check_round, timeout=BARRIER_TIMEOUT)

    def work(i):
        for r in range(ROUNDS):
            now = round_now(r)
            start.wait()
            if i == sweeper:
                if sweeps(r):
                    rules.expire_leases(now=now)
            elif not away(i, r):
                lease = rules.claim_next(campaign, volunteers[i], now=now)
                held[r][i] = lease.target.pk if lease else None
            holding.wait()

    run_threads(THREADS + 1, work, start, holding)

    taken_over = 0
    previous = {}
    for r, round_ in enumerate(held):
        given = {i: pk for i, pk in enumerate(round_) if pk is not None}
        assert not duplicates(given.values()), f"round {r}: one person held by two volunteers"
        expected = {pk: volunteers[i].pk for i, pk in given.items()}
        assert snapshots[r] == expected, f"round {r}: the database disagrees with the leases"
        present = sum(1 for i in range(THREADS) if not away(i, r))
        if not sweeps(r):
            assert len(given) == min(present, targets), f"round {r}: someone was left idle"
        taken_over += sum(1 for pk, v in expected.items() if previous.get(pk, v) != v)
        previous.update(expected)
    assert taken_over > 0, "no lapsed lease was ever taken over: the test exercised nothing"

    # Afterwards: each volunteer holds at most one person, each person at most one volunteer.
    rows = CallTarget.objects.filter(campaign=campaign, state=State.ASSIGNED)
    holders = list(rows.values_list("held_by_id", flat=True))
    assert not duplicates(holders)
    last = ROUNDS - 1
    assert live_holders(campaign, round_now(last)) == {
        pk: volunteers[i].pk for i, pk in enumerate(held[last]) if pk is not None
    }
    assert CallTarget.objects.filter(campaign=campaign, attempts__gt=0).count() == 0
    assert Call.objects.count() == 0


def test_one_volunteer_claiming_from_many_tabs_at_once_holds_one_person():
    campaign = make_campaign(targets=30)
    volunteer = make_volunteer(campaign)
    tabs = 20
    got = [None] * tabs
    barrier = threading.Barrier(tabs, timeout=BARRIER_TIMEOUT)

    def work(i):
        barrier.wait()
        lease = rules.claim_next(campaign, volunteer, now=NOON)
        got[i] = lease.target.pk if lease else None

    run_threads(tabs, work, barrier)

    assert None not in got
    assert len(set(got)) == 1, f"one volunteer was handed {len(set(got))} people"
    assert list(
        CallTarget.objects.filter(campaign=campaign, state=State.ASSIGNED).values_list(
            "pk", "held_by_id"
        )
    ) == [(got[0], volunteer.pk)]


def test_same_outcome_submitted_twenty_times_at_once_is_stored_once():
    campaign = make_campaign(targets=2)
    volunteer = make_volunteer(campaign)
    lease = rules.claim_next(campaign, volunteer, now=NOON)
    submits = 20
    calls = [None] * submits
    barrier = threading.Barrier(submits, timeout=BARRIER_TIMEOUT)

    def work(i):
        barrier.wait()
        calls[i] = rules.record_outcome(
            campaign,
            volunteer,
            lease_token=lease.token,
            outcome_code="no_answer",
            idempotency_key="flaky-wifi-retry",
            now=NOON + dt.timedelta(minutes=2),
        ).pk

    run_threads(submits, work, barrier)

    assert Call.objects.count() == 1
    assert set(calls) == {Call.objects.get().pk}
    target = CallTarget.objects.get(pk=lease.target.pk)
    assert target.attempts == 1, "the outcome was applied more than once"
    assert target.state == State.WAITING and target.held_by_id is None


def test_one_claim_submitted_under_twenty_keys_at_once_is_stored_once():
    campaign = make_campaign(targets=2)
    volunteer = make_volunteer(campaign)
    lease = rules.claim_next(campaign, volunteer, now=NOON)
    submits = 20
    calls = [None] * submits
    barrier = threading.Barrier(submits, timeout=BARRIER_TIMEOUT)

    def work(i):
        barrier.wait()
        calls[i] = rules.record_outcome(
            campaign,
            volunteer,
            lease_token=lease.token,
            outcome_code="answered",
            idempotency_key=f"tab-{i}",
            now=NOON + dt.timedelta(minutes=2),
        ).pk

    run_threads(submits, work, barrier)

    assert Call.objects.count() == 1
    assert set(calls) == {Call.objects.get().pk}
    target = CallTarget.objects.get(pk=lease.target.pk)
    assert target.attempts == 1 and target.state == State.DONE
