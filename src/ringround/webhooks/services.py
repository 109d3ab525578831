"""Endpoints, events and deliveries: what organisers do to them and how a delivery is sent.

Sending a delivery is three steps. ``claim`` takes the next attempt: a compare-and-swap on the
attempt count (UPDATE ... WHERE attempts = n, checked to have changed one row) in the same
transaction as the insert of attempt n + 1, whose number is unique per delivery; so two
workers can never both send attempt 1, on SQLite or PostgreSQL. Then the POST, outside any
transaction. Then ``_record_answer``: delivered, or the next retry after a doubling delay while
the event is less than a day old (RINGROUND_WEBHOOKS_RETRY_*), or given up.

Nothing here enqueues work: ``tasks`` does, calling these."""

import datetime as dt
import json

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.utils import timezone

from ringround.audit.services import record_event

from . import sending
from .models import EVENTS, PING, Attempt, Delivery, Endpoint, Event

SUBSCRIBED_CACHE_SECONDS = 10


class WebhookError(Exception):
    """What an organiser asked cannot be done; the message says why."""


# -- endpoints -------------------------------------------------------------------------------


def create_endpoint(team, *, url, events, description="", by=None, request=None) -> Endpoint:
    """A new endpoint; its secret (``endpoint.secret``) is for showing once, now."""
    endpoint = Endpoint.objects.create(
        team=team, url=url, events=_known(events), description=description, created_by=by
    )
    _forget_subscriptions(team.pk)
    record_event(by, "webhook.create", endpoint, request=request, url=url, events=endpoint.events)
    return endpoint


def change_endpoint(
    endpoint: Endpoint, *, url, events, description="", active=True, by=None, request=None
) -> Endpoint:
    endpoint.url, endpoint.events = url, _known(events)
    endpoint.description, endpoint.active = description, active
    endpoint.save(update_fields=["url", "events", "description", "active"])
    _forget_subscriptions(endpoint.team_id)
    record_event(
        by, "webhook.change", endpoint, request=request, url=url, events=endpoint.events,
        active=active,
    )  # fmt: skip
    return endpoint


def delete_endpoint(endpoint: Endpoint, *, by=None, request=None) -> None:
    """The endpoint goes, and its delivery log with it."""
    record_event(by, "webhook.delete", endpoint, request=request, url=endpoint.url)
    endpoint.delete()
    _forget_subscriptions(endpoint.team_id)


def roll_secret(endpoint: Endpoint, *, by=None, request=None) -> Endpoint:
    """A new secret at once (the old one stops signing): for showing once, now."""
    endpoint.secret_salt = Endpoint._meta.get_field("secret_salt").default()
    endpoint.save(update_fields=["secret_salt"])
    record_event(by, "webhook.secret_rolled", endpoint, request=request)
    return endpoint


def _known(events) -> list[str]:
    return [name for name in EVENTS if name in set(events)]


def subscribed_events(team_id: int | None) -> set[str]:
    """The events some active endpoint of the team takes (``None``: of any team). Asked on
    every call recorded, so kept for a few seconds; changed endpoints forget it here at once
    (other processes within SUBSCRIBED_CACHE_SECONDS)."""
    key = f"webhooks:subscribed:{team_id or 'any'}"
    found = cache.get(key)
    if found is None:
        endpoints = Endpoint.objects.filter(active=True)
        if team_id is not None:
            endpoints = endpoints.filter(team_id=team_id)
        found = sorted(
            {name for names in endpoints.values_list("events", flat=True) for name in names}
        )
        cache.set(key, found, SUBSCRIBED_CACHE_SECONDS)
    return set(found)


def _forget_subscriptions(team_id: int) -> None:
    cache.delete_many([f"webhooks:subscribed:{team_id}", "webhooks:subscribed:any"])


# -- events ----------------------------------------------------------------------------------


def publish(kind: str, items: list[tuple[int, dict]], *, only=None, now=None) -> list[Delivery]:
    """Store the event for each (team id, data) and a delivery to each of the team's active
    endpoints that takes it (``only``: to that endpoint alone, whatever it takes)."""
    now = now or timezone.now()
    deliveries = []
    with transaction.atomic():
        for team_id, data in items:
            if only is not None:
                endpoints = [only]
            else:
                endpoints = [
                    e
                    for e in Endpoint.objects.filter(team_id=team_id, active=True)
                    if kind in e.events
                ]
            if not endpoints:
                continue
            event = Event(team_id=team_id, kind=kind, created_at=now, payload={})
            event.payload = {
                "id": event.public_id,
                "type": kind,
                "created_at": now.isoformat(),
                "team": endpoints[0].team.public_id,
                "data": data,
            }
            event.save()
            deliveries += Delivery.objects.bulk_create(
                Delivery(event=event, endpoint=e, next_attempt_at=now, created_at=now)
                for e in endpoints
            )
    return deliveries


def ping(endpoint: Endpoint, *, by=None, request=None) -> Delivery:
    """A test event for this endpoint alone, so an organiser can check their receiver."""
    record_event(by, "webhook.ping", endpoint, request=request)
    (delivery,) = publish(
        PING, [(endpoint.team_id, {"endpoint": endpoint.public_id})], only=endpoint
    )
    return delivery


def body_of(event: Event) -> bytes:
    """The bytes sent (and signed) for an event: the same bytes on every attempt."""
    return json.dumps(event.payload, sort_keys=True, separators=(",", ":")).encode()


# -- sending ---------------------------------------------------------------------------------


def lease() -> dt.timedelta:
    """How long a claimed attempt may take before another worker may take the next one."""
    return dt.timedelta(seconds=4 * settings.RINGROUND_WEBHOOKS_TIMEOUT + 60)


def claim(delivery_id: int, now: dt.datetime) -> tuple[Delivery, Attempt] | None:
    """Take the delivery's next attempt if it is due and nobody else has: the delivery (with
    endpoint and event) and the attempt, now in flight; ``None`` if not ours to send."""
    with transaction.atomic():
        seen = (
            Delivery.objects.due(now)
            .filter(pk=delivery_id, endpoint__active=True)
            .values("attempts", "replay_requested")
            .first()
        )
        if seen is None:
            return None
        number = seen["attempts"] + 1
        # Only columns of the row itself in the WHERE: PostgreSQL re-checks them on the
        # version a concurrent claim left, so the second of two claims changes nothing.
        won = (
            Delivery.objects.due(now)
            .filter(pk=delivery_id, attempts=seen["attempts"])
            .filter(replay_requested=seen["replay_requested"])
            .update(
                state=Delivery.State.SENDING,
                attempts=number,
                lease_until=now + lease(),
                replay_requested=False,
            )
        )
        if won != 1:
            return None
        attempt = Attempt.objects.create(
            delivery_id=delivery_id, number=number, replay=seen["replay_requested"], started_at=now
        )
    delivery = Delivery.objects.select_related("endpoint__team", "event").get(pk=delivery_id)
    return delivery, attempt


def headers_for(delivery: Delivery, attempt: Attempt) -> dict[str, str]:
    headers = {
        "Ringround-Event": delivery.event.kind,
        "Ringround-Event-Id": delivery.event.public_id,
        "Ringround-Delivery": delivery.public_id,
        "Ringround-Attempt": str(attempt.number),
    }
    if attempt.replay:
        headers["Ringround-Replay"] = "true"
    return headers


def send_delivery(delivery_id: int, *, now=None) -> Attempt | None:
    """Claim and send the delivery's next attempt, and record the answer; ``None`` if it was
    not due or another worker had it."""
    now = now or timezone.now()
    claimed = claim(delivery_id, now)
    if claimed is None:
        return None
    delivery, attempt = claimed
    answer = sending.post(
        delivery.endpoint.url,
        body_of(delivery.event),
        headers_for(delivery, attempt),
        secret=delivery.endpoint.secret,
    )
    return _record_answer(delivery, attempt, answer, now)


def retry_delay(attempts: int) -> dt.timedelta:
    """30 s, 1 min, 2 min, 4 min … after the 1st, 2nd, 3rd, 4th failure (by default)."""
    return dt.timedelta(seconds=settings.RINGROUND_WEBHOOKS_RETRY_SECONDS * 2 ** (attempts - 1))


def _record_answer(delivery, attempt, answer, now) -> Attempt:
    attempt.status_code, attempt.duration_ms = answer.status_code, answer.duration_ms
    attempt.error, attempt.succeeded = answer.error, answer.succeeded
    attempt.save(update_fields=["status_code", "duration_ms", "error", "succeeded"])
    next_at = None
    if answer.succeeded:
        state = Delivery.State.SUCCEEDED
    else:
        next_at = now + retry_delay(attempt.number)
        state = Delivery.State.PENDING if next_at <= delivery.gives_up_at else Delivery.State.FAILED
        if state == Delivery.State.FAILED:
            next_at = None
    # Only if no other worker took a later attempt meanwhile (after this one's lease ran out).
    Delivery.objects.filter(pk=delivery.pk, attempts=attempt.number).update(
        state=state,
        next_attempt_at=next_at,
        lease_until=None,
        last_status_code=answer.status_code,
        last_duration_ms=answer.duration_ms,
    )
    delivery.refresh_from_db()
    attempt.delivery = delivery
    return attempt


def due_deliveries(now=None, limit=500) -> list[int]:
    now = now or timezone.now()
    due = Delivery.objects.due(now).filter(endpoint__active=True).order_by("next_attempt_at")
    return list(due.values_list("pk", flat=True)[:limit])


def send_due(*, now=None, limit=500) -> int:
    """Send every delivery whose time has come (a retry whose task was lost, a worker that
    died mid-send): for ``manage send_webhooks``. How many attempts were made."""
    now = now or timezone.now()
    return sum(send_delivery(pk, now=now) is not None for pk in due_deliveries(now, limit))


def replay(delivery: Delivery, *, by=None, request=None, now=None) -> Delivery:
    """Send a delivery again, now, whatever became of it: its next attempt is marked as a
    replay, in the log and in a ``Ringround-Replay: true`` header."""
    now = now or timezone.now()
    if not delivery.endpoint.active:
        raise WebhookError("Turn the endpoint on before sending to it again.")
    changed = (
        Delivery.objects.filter(pk=delivery.pk)
        .exclude(state=Delivery.State.SENDING)
        .update(state=Delivery.State.PENDING, next_attempt_at=now, replay_requested=True)
    )
    if not changed:
        raise WebhookError("This delivery is being sent right now; try again in a moment.")
    record_event(by, "webhook.replay", delivery, request=request)
    delivery.refresh_from_db()
    return delivery


def purge_old(*, now=None) -> int:
    """Forget events (and their deliveries) older than RINGROUND_WEBHOOKS_KEEP_DAYS, so the
    ids they carry are not kept for ever."""
    now = now or timezone.now()
    cutoff = now - dt.timedelta(days=settings.RINGROUND_WEBHOOKS_KEEP_DAYS)
    deleted, _ = Event.objects.filter(created_at__lt=cutoff).delete()
    return deleted


def forget_contact(public_id: str) -> int:
    """Delete the events that name this contact, with their deliveries and attempts (their
    bodies hold the contact's external id and what was answered); how many."""
    if not public_id:
        return 0
    deleted, _ = Event.objects.filter(payload__icontains=f'"{public_id}"').delete()
    return deleted
