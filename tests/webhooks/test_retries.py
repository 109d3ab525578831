"""A delivery the endpoint does not accept (an error status, no answer) is tried again after
30 s, 1 min, 2 min, … doubling, for up to a day after the event; then given up. Against a
real HTTP server on this machine that fails and then succeeds."""

import datetime as dt
import socket

import pytest

from ringround.webhooks import services
from ringround.webhooks.models import Attempt, Delivery
from tests.factories import the_team

from .factories import NOON, make_endpoint, pending_delivery

pytestmark = pytest.mark.django_db
State = Delivery.State


def seconds(n):
    return dt.timedelta(seconds=n)


def test_failures_are_retried_with_doubling_delays_until_the_endpoint_accepts(receiver):
    receiver.answers = [500, 503, 200]
    delivery = pending_delivery(make_endpoint(the_team(), receiver.url))

    first = services.send_delivery(delivery.pk, now=NOON)
    assert (first.number, first.status_code, first.succeeded) == (1, 500, False)
    delivery.refresh_from_db()
    assert delivery.state == State.PENDING and delivery.next_attempt_at == NOON + seconds(30)

    assert services.send_due(now=NOON + seconds(29)) == 0, "not before its time"
    assert services.send_due(now=NOON + seconds(30)) == 1
    delivery.refresh_from_db()
    assert delivery.next_attempt_at == NOON + seconds(30 + 60), "the delay doubled"
    assert delivery.last_status_code == 503

    assert services.send_due(now=NOON + seconds(89)) == 0
    assert services.send_due(now=NOON + seconds(90)) == 1
    delivery.refresh_from_db()
    assert delivery.state == State.SUCCEEDED and delivery.next_attempt_at is None
    assert services.send_due(now=NOON + seconds(10_000)) == 0, "delivered: never sent again"

    assert [r.delivery for r in receiver.received] == [(delivery.public_id, n) for n in (1, 2, 3)]
    assert len({r.body for r in receiver.received}) == 1, "the same event each time"
    log = list(delivery.attempt_log.values_list("number", "status_code", "succeeded"))
    assert log == [(1, 500, False), (2, 503, False), (3, 200, True)]
    assert all(a.duration_ms is not None for a in delivery.attempt_log.all())


def test_an_endpoint_that_never_accepts_is_given_up_a_day_after_the_event(receiver):
    receiver.answers = [500] * 100
    delivery = pending_delivery(make_endpoint(the_team(), receiver.url))
    now = NOON
    while services.send_delivery(delivery.pk, now=now) is not None:
        delivery.refresh_from_db()
        if delivery.state != State.PENDING:
            break
        now = delivery.next_attempt_at

    delivery.refresh_from_db()
    assert delivery.state == State.FAILED and delivery.next_attempt_at is None
    times = list(delivery.attempt_log.values_list("started_at", flat=True))
    gaps = [(b - a).total_seconds() for a, b in zip(times, times[1:], strict=False)]
    assert gaps == [30 * 2**n for n in range(len(gaps))]
    assert times[-1] <= NOON + dt.timedelta(hours=24) < times[-1] + seconds(gaps[-1] * 2)
    assert len(receiver.received) == len(times) == 12
    assert services.send_due(now=NOON + dt.timedelta(days=3)) == 0


def test_an_endpoint_that_cannot_be_reached_is_a_failure_with_the_reason_logged(receiver):
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    delivery = pending_delivery(make_endpoint(the_team(), f"http://127.0.0.1:{port}/x"))

    attempt = services.send_delivery(delivery.pk, now=NOON)

    assert attempt.succeeded is False and attempt.status_code is None
    assert "Connection" in attempt.error or "refused" in attempt.error.lower()
    assert Delivery.objects.get(pk=delivery.pk).state == State.PENDING


def test_a_slow_endpoint_is_cut_off_at_the_timeout(receiver, settings):
    settings.RINGROUND_WEBHOOKS_TIMEOUT = 0.3
    receiver.delay = 1.5
    delivery = pending_delivery(make_endpoint(the_team(), receiver.url))

    attempt = services.send_delivery(delivery.pk, now=NOON)

    assert attempt.succeeded is False and "timed out" in attempt.error.lower()
    assert attempt.duration_ms < 1200
    assert Attempt.objects.get(pk=attempt.pk).error == attempt.error
