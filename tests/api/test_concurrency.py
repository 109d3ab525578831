"""Invariants 1 and 3 through the API under real concurrency, on PostgreSQL: fifty volunteers'
clients claiming and recording at once never share a person, and never lose or double a call.

Each thread is one volunteer with a Django test client and its own database connection."""

import collections
import threading

import pytest

from ringround.calling.models import Call, CallTarget
from tests.factories import fresh_key, make_volunteer, open_campaign
from tests.threads import BARRIER_TIMEOUT, run_at_once, run_threads

from .conftest import outcome_body, post, token_client, url

pytestmark = pytest.mark.postgres_only

THREADS = 50
ROUNDS = 4


def test_fifty_clients_claiming_and_recording_at_once_never_share_lose_or_double_a_call():
    campaign = open_campaign(
        targets=THREADS * ROUNDS - 10, claims_per_hour=1000, contacts_per_hour=100_000
    )
    clients = [token_client(make_volunteer(campaign)) for _ in range(THREADS)]
    claimed = [[None] * THREADS for _ in range(ROUNDS)]
    acknowledged = [[] for _ in range(THREADS)]
    barrier = threading.Barrier(THREADS, timeout=BARRIER_TIMEOUT)

    def work(i):
        client = clients[i]
        for round_ in range(ROUNDS):
            barrier.wait()
            response = post(client, url(campaign, "claim"))
            assert response.status_code in (200, 204), response.content
            if response.status_code == 204:
                continue
            lease = response.json()
            claimed[round_][i] = lease["contact"]["phone"]
            key = fresh_key()
            for _ in range(2):  # a phone on a flaky line submits twice
                stored = post(
                    client,
                    url(campaign, "outcomes"),
                    outcome_body(lease["lease_token"], "refused", key),
                )
                assert stored.status_code in (200, 201), stored.content
            acknowledged[i].append(stored.json()["call_id"])

    run_threads(THREADS, work, barrier)

    for round_ in claimed:
        phones = [p for p in round_ if p]
        assert len(phones) == len(set(phones)), "a person was handed to two volunteers at once"
    everyone = [p for round_ in claimed for p in round_ if p]
    assert len(everyone) == THREADS * ROUNDS - 10, "everybody was called exactly once"
    assert len(set(everyone)) == len(everyone)
    stored = set(Call.objects.filter(campaign=campaign).values_list("public_id", flat=True))
    acked = [c for calls in acknowledged for c in calls]
    assert set(acked) == stored, "an acknowledged call is missing"
    assert len(stored) == len(acked) == len(everyone), "a call was stored twice"
    per_target = collections.Counter(Call.objects.values_list("target_id", flat=True))
    assert max(per_target.values()) == 1
    assert not CallTarget.objects.filter(campaign=campaign, state="assigned").exists()


def test_one_outcome_submitted_by_fifty_clients_at_once_is_stored_once():
    campaign = open_campaign(targets=1)
    volunteer = make_volunteer(campaign)
    clients = [token_client(volunteer) for _ in range(THREADS)]
    lease = post(clients[0], url(campaign, "claim")).json()

    def submit(i):
        response = post(
            clients[i],
            url(campaign, "outcomes"),
            outcome_body(lease["lease_token"], "busy", "same"),
        )
        assert response.status_code in (200, 201), response.content
        return response.status_code, response.json()["call_id"]

    answers = run_at_once(THREADS, submit)
    assert Call.objects.count() == 1
    assert {call_id for _, call_id in answers} == {Call.objects.get().public_id}
    assert [status for status, _ in answers].count(201) == 1
    assert CallTarget.objects.get().attempts == 1
