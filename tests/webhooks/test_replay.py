"""An organiser can send any delivery again: a new attempt, numbered on from the last, marked
as a replay in the log and in a ``Ringround-Replay: true`` header."""

import pytest
from django.test import Client

from ringround.audit.models import AuditEvent
from ringround.webhooks import services
from ringround.webhooks.models import Delivery
from tests.factories import make_organiser, the_team

from .factories import NOON, make_endpoint, pending_delivery

pytestmark = pytest.mark.django_db


def replay_url(delivery):
    endpoint = delivery.endpoint
    return (
        f"/accounts/teams/{endpoint.team.public_id}/webhooks/{endpoint.public_id}"
        f"/deliveries/{delivery.public_id}/replay/"
    )


def test_replaying_a_delivered_event_sends_a_new_attempt_marked_as_a_replay(
    receiver, django_capture_on_commit_callbacks
):
    organiser = make_organiser()
    delivery = pending_delivery(make_endpoint(the_team(), receiver.url))
    services.send_delivery(delivery.pk, now=NOON)
    client = Client()
    client.force_login(organiser)

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(replay_url(delivery))

    assert response.status_code == 302
    first, again = receiver.received
    assert first.delivery == (delivery.public_id, 1) and "Ringround-Replay" not in first.headers
    assert again.delivery == (delivery.public_id, 2)
    assert again.headers["Ringround-Replay"] == "true"
    assert again.body == first.body
    log = list(delivery.attempt_log.values_list("number", "replay", "succeeded"))
    assert log == [(1, False, True), (2, True, True)]
    page = client.get(response["Location"])
    assert 'Attempt 2 <span class="hook-replay">replay</span>' in page.content.decode()
    assert AuditEvent.objects.filter(action="webhook.replay", actor=organiser).exists()


def test_a_replay_of_a_given_up_delivery_is_tried_once_more_and_not_retried(receiver):
    receiver.answers = [500] * 20
    delivery = pending_delivery(make_endpoint(the_team(), receiver.url))
    Delivery.objects.filter(pk=delivery.pk).update(state=Delivery.State.FAILED, attempts=12)

    services.replay(delivery)
    attempt = services.send_delivery(delivery.pk, now=NOON.replace(day=3))

    assert (attempt.number, attempt.replay, attempt.succeeded) == (13, True, False)
    delivery.refresh_from_db()
    assert delivery.state == Delivery.State.FAILED, "a day has passed: no more retries"
    assert services.send_due(now=NOON.replace(day=9)) == 0


def test_a_delivery_being_sent_cannot_be_replayed_until_it_is_done(receiver):
    delivery = pending_delivery(make_endpoint(the_team(), receiver.url))
    services.claim(delivery.pk, NOON)

    with pytest.raises(services.WebhookError, match="being sent"):
        services.replay(delivery)
    assert Delivery.objects.get(pk=delivery.pk).replay_requested is False
