"""No attempt is ever sent twice: a delivery's next attempt is claimed (a compare-and-swap on
its attempt count, and an attempt number unique per delivery) before anything is sent, so two
workers, or one task queued twice, send attempt 1 once."""

import datetime as dt

import pytest
from django.db import IntegrityError, transaction

from ringround.webhooks import services
from ringround.webhooks.models import Attempt, Delivery
from tests.factories import the_team
from tests.threads import run_at_once

from .factories import NOON, make_endpoint, pending_delivery


@pytest.mark.django_db
def test_a_delivery_sent_twice_over_sends_its_first_attempt_once(receiver):
    delivery = pending_delivery(make_endpoint(the_team(), receiver.url))

    assert services.send_delivery(delivery.pk, now=NOON).number == 1
    assert services.send_delivery(delivery.pk, now=NOON) is None

    assert [r.delivery for r in receiver.received] == [(delivery.public_id, 1)]


@pytest.mark.django_db
def test_a_claimed_attempt_is_not_claimed_again_until_its_lease_runs_out(receiver):
    delivery = pending_delivery(make_endpoint(the_team(), receiver.url))

    _, first = services.claim(delivery.pk, NOON)  # a worker that then dies, sending nothing
    assert services.claim(delivery.pk, NOON + dt.timedelta(seconds=30)) is None
    after = NOON + services.lease() + dt.timedelta(seconds=1)
    attempt = services.send_delivery(delivery.pk, now=after)

    assert (first.number, attempt.number) == (1, 2), "the next number, never 1 again"
    assert [r.delivery for r in receiver.received] == [(delivery.public_id, 2)]
    assert Delivery.objects.get(pk=delivery.pk).state == Delivery.State.SUCCEEDED


@pytest.mark.django_db
def test_an_attempt_number_is_stored_once_per_delivery(receiver):
    delivery = pending_delivery(make_endpoint(the_team(), receiver.url))
    Attempt.objects.create(delivery=delivery, number=1, started_at=NOON)

    with pytest.raises(IntegrityError), transaction.atomic():
        Attempt.objects.create(delivery=delivery, number=1, started_at=NOON)


@pytest.mark.django_db
def test_an_endpoint_turned_off_is_not_sent_to(receiver):
    endpoint = make_endpoint(the_team(), receiver.url)
    delivery = pending_delivery(endpoint)
    services.change_endpoint(endpoint, url=endpoint.url, events=endpoint.events, active=False)

    assert services.send_delivery(delivery.pk, now=NOON) is None
    assert services.send_due(now=NOON) == 0
    assert receiver.received == []


@pytest.mark.postgres_only
def test_workers_at_once_never_both_send_the_same_attempt(receiver):
    """Four workers each try every one of 8 deliveries (in different orders), three rounds
    (the endpoint fails the first two): each (delivery, attempt) reaches it exactly once."""
    endpoint = make_endpoint(the_team(), receiver.url)
    ids = [pending_delivery(endpoint, data={"n": n}).pk for n in range(8)]
    receiver.answers = [500] * 16

    for now in (NOON, NOON + dt.timedelta(seconds=30), NOON + dt.timedelta(seconds=90)):

        def work(i, now=now):
            order = ids[i:] + ids[:i]
            return [services.send_delivery(pk, now=now) for pk in order]

        results = run_at_once(4, work)
        numbers = [a.number for found in results for a in found if a is not None]
        assert len(numbers) == len(ids), "each delivery sent by exactly one worker"

    seen = [r.delivery for r in receiver.received]
    assert len(seen) == len(set(seen)) == 24
    assert {n for _, n in seen} == {1, 2, 3}
    assert {d.state for d in Delivery.objects.all()} == {Delivery.State.SUCCEEDED}
