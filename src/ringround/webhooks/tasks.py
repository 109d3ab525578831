"""Background work: building events and sending deliveries run in the task worker
(``manage task_worker``), never in the request of the volunteer whose call made the event."""

from django.db import transaction
from django_tasks import task

from . import payloads, services
from .models import Delivery


@task()
def publish_event(kind: str, ref: int) -> dict:
    """Build the event from what ``ref`` names and queue a delivery to each endpoint."""
    deliveries = services.publish(kind, payloads.build(kind, ref))
    for delivery in deliveries:
        queue_send(delivery)
    return {"deliveries": len(deliveries)}


@task()
def send_delivery(delivery_id: int) -> dict:
    """Send the delivery's next attempt if it is due (a task queued twice, or late, sends
    nothing the second time: ``services.claim``), and queue the retry if it failed."""
    attempt = services.send_delivery(delivery_id)
    if attempt is None:
        return {"sent": False}
    if attempt.delivery.state == Delivery.State.PENDING:
        queue_send(attempt.delivery)
    return {"sent": True, "attempt": attempt.number, "status": attempt.status_code}


def queue_send(delivery: Delivery) -> None:
    """Queue the delivery's next attempt for its time, once the rows are committed. A backend
    that cannot wait (the tests' immediate one) leaves retries to ``manage send_webhooks``."""
    run_after = delivery.next_attempt_at
    backend = send_delivery.get_backend()

    def enqueue():
        if run_after is not None and backend.supports_defer:
            send_delivery.using(run_after=run_after).enqueue(delivery.pk)
        elif delivery.attempts == 0 or delivery.replay_requested:
            send_delivery.enqueue(delivery.pk)

    transaction.on_commit(enqueue)
