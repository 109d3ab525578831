"""Invariants 1 and 3 under real concurrency, on PostgreSQL.

Every worker is a thread with its own database connection; a barrier starts each round's
claims together. The rules must hold with nothing but the database keeping order: nobody is
handed a person someone else holds at the same moment, not even while leases lapse and are
taken over, and one outcome submitted many times at once is stored exactly once.

These tests run only in the PostgreSQL pass (the conftest makes them transactional and skips
them on SQLite, whose write transactions run one at a time anyway).
"""

import datetime as dt
import threading

import pytest

from ringround.calling import rules
from ringround.calling.models import Call, CallTarget
from ringround.calling.targets import add_contacts
from ringround.contacts.models import Contact
from tests.factories import ContactFactory, make_campaign, make_volunteer, record
from tests.threads import BARRIER_TIMEOUT, duplicates, run_at_once, run_threads

pytestmark = pytest.mark.postgres_only

NOON = dt.datetime(2027, 6, 1, 11, 0, tzinfo=dt.UTC)  # 12:00 in London
THREADS = 50
ROUNDS = 10
State = CallTarget.State


def campaign_with_targets(count, **fields):
    """An active campaign with ``count`` fresh people to call, inserted in bulk. These tests
    are about concurrency, not the hourly ceiling (test_campaign_ceiling.py): the organisers
    allow as many contacts an hour as the test hands out."""
    fields.setdefault("contacts_per_hour", 100_000)
    campaign = make_campaign(**fields)
    contacts = Contact.objects.bulk_create(ContactFactory.build_batch(count, team=campaign.team))
    add_contacts(campaign, Contact.objects.filter(pk__in=[c.pk for c in contacts]))
    assert campaign.targets.count() == count
    return campaign


def live_holders(campaign, now):
    """target -> volunteer for every lease the database holds live at ``now``."""
    return dict(
        CallTarget.objects.filter(
            campaign=campaign, state=State.ASSIGNED, lease_expires_at__gt=now
        ).values_list("pk", "held_by_id")
    )


def target_pk(lease):
    return lease.target.pk if lease else None


class Rounds:
    """THREADS volunteers claiming round after round (with ``parties`` threads in all): whom
    each was handed, and whom the database says they held while everybody held their person.

    A worker waits on ``start`` before its round's claim and on ``holding`` after it."""

    def __init__(self, targets, parties, now_of, **fields):
        self.campaign = campaign_with_targets(targets, **fields)
        self.volunteers = [make_volunteer(self.campaign) for _ in range(THREADS)]
        self.now_of = now_of
        self.held = [[None] * THREADS for _ in range(ROUNDS)]
        self.snapshots = []
        self.parties = parties
        self.start = threading.Barrier(parties, timeout=BARRIER_TIMEOUT)
        self.holding = threading.Barrier(parties, action=self._snapshot, timeout=BARRIER_TIMEOUT)

    def _snapshot(self):
        # Runs in one worker while every other worker waits holding its person.
        r = len(self.snapshots)
        self.snapshots.append(live_holders(self.campaign, self.now_of(r)))

    def claim(self, i, r):
        lease = rules.claim_next(self.campaign, self.volunteers[i], now=self.now_of(r))
        self.held[r][i] = target_pk(lease)
        return lease

    def run(self, work):
        run_threads(self.parties, work, self.start, self.holding)

    def checked(self):
        """Each round as (r, volunteer index -> target, target -> volunteer pk), once it is
        asserted that nobody was held twice and the database agreed with the workers."""
        for r, round_ in enumerate(self.held):
            given = {i: pk for i, pk in enumerate(round_) if pk is not None}
            assert not duplicates(given.values()), f"round {r}: one person held by two volunteers"
            expected = {pk: self.volunteers[i].pk for i, pk in given.items()}
            assert self.snapshots[r] == expected, (
                f"round {r}: the database disagrees with the leases"
            )
            yield r, given, expected


def test_fifty_volunteers_claiming_at_once_for_ten_rounds_never_share_a_person():
    targets = THREADS * ROUNDS - 20  # the last round runs short: some must get nobody
    rounds = Rounds(targets, THREADS, lambda r: NOON + dt.timedelta(minutes=r))
    campaign = rounds.campaign
    refused = []

    def work(i):
        volunteer = rounds.volunteers[i]
        for r in range(ROUNDS):
            rounds.start.wait()
            lease = rounds.claim(i, r)
            rounds.holding.wait()  # everybody holds their person at this moment
            if lease:
                try:
                    record(
                        campaign, volunteer, lease, "answered", key=f"{i}-{r}", now=rounds.now_of(r)
                    )
                except rules.CallingError as exc:  # asserted on below, after the leases
                    refused.append((r, i, exc))

    rounds.run(work)

    handed = []
    for r, given, _ in rounds.checked():
        # SKIP LOCKED leaves nobody idle while someone is free to call.
        assert len(given) == min(THREADS, targets - len(handed)), f"round {r}"
        handed.extend(given.values())
    assert not refused, "a volunteer could not record the call they were handed"
    assert not duplicates(handed), "a person was handed out again after their final outcome"
    assert len(handed) == targets
    assert Call.objects.filter(campaign=campaign).count() == len(handed)
    assert CallTarget.objects.filter(campaign=campaign, state=State.DONE).count() == targets
    assert not CallTarget.objects.filter(campaign=campaign, state=State.ASSIGNED).exists()


def test_leases_lapsing_and_taken_over_under_load_are_never_held_twice():
    targets = 40  # fewer people than volunteers: lapsed leases are fought over
    sweeper = THREADS  # one extra thread tidies lapsed leases in some rounds

    def round_now(r):
        return NOON + dt.timedelta(minutes=2 * r)  # every lease of the round before has lapsed

    def away(i, r):
        return (i + r) % 5 == 0  # ten volunteers sit each round out; their leases lapse

    def sweeps(r):
        return r % 3 == 2

    rounds = Rounds(targets, THREADS + 1, round_now, lease_minutes=1)
    campaign, volunteers = rounds.campaign, rounds.volunteers

    def work(i):
        for r in range(ROUNDS):
            rounds.start.wait()
            if i == sweeper:
                if sweeps(r):
                    rules.expire_leases(now=round_now(r))
            elif not away(i, r):
                rounds.claim(i, r)
            rounds.holding.wait()

    rounds.run(work)

    taken_over = 0
    previous = {}
    for r, given, expected in rounds.checked():
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
        pk: volunteers[i].pk for i, pk in enumerate(rounds.held[last]) if pk is not None
    }
    assert CallTarget.objects.filter(campaign=campaign, attempts__gt=0).count() == 0
    assert Call.objects.count() == 0


def test_one_volunteer_claiming_from_many_tabs_at_once_holds_one_person():
    campaign = make_campaign(targets=30)
    volunteer = make_volunteer(campaign)

    got = run_at_once(20, lambda i: target_pk(rules.claim_next(campaign, volunteer, now=NOON)))

    assert None not in got
    assert len(set(got)) == 1, f"one volunteer was handed {len(set(got))} people"
    assert list(
        CallTarget.objects.filter(campaign=campaign, state=State.ASSIGNED).values_list(
            "pk", "held_by_id"
        )
    ) == [(got[0], volunteer.pk)]


def recorded_twenty_times_at_once(code, key_of):
    """One claim's outcome submitted by twenty threads at once (thread i with key
    ``key_of(i)``): every one is answered with the one stored call. The target afterwards."""
    campaign = make_campaign(targets=2)
    volunteer = make_volunteer(campaign)
    lease = rules.claim_next(campaign, volunteer, now=NOON)
    later = NOON + dt.timedelta(minutes=2)

    calls = run_at_once(
        20, lambda i: record(campaign, volunteer, lease, code, key=key_of(i), now=later).pk
    )

    assert Call.objects.count() == 1
    assert set(calls) == {Call.objects.get().pk}
    return CallTarget.objects.get(pk=lease.target.pk)


def test_same_outcome_submitted_twenty_times_at_once_is_stored_once():
    target = recorded_twenty_times_at_once("no_answer", lambda i: "flaky-wifi-retry")

    assert target.attempts == 1, "the outcome was applied more than once"
    assert target.state == State.WAITING and target.held_by_id is None


def test_one_claim_submitted_under_twenty_keys_at_once_is_stored_once():
    target = recorded_twenty_times_at_once("answered", lambda i: f"tab-{i}")

    assert target.attempts == 1 and target.state == State.DONE
