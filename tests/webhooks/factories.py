"""Endpoints and deliveries for the webhook tests (and the permission table's world)."""

import datetime as dt

from ringround.webhooks import services
from ringround.webhooks.models import EVENTS

NOON = dt.datetime(2027, 6, 1, 11, 0, tzinfo=dt.UTC)


def make_endpoint(team, url, events=tuple(EVENTS), **fields):
    return services.create_endpoint(team, url=url, events=list(events), **fields)


def pending_delivery(endpoint, *, now=NOON, data=None):
    """A test event for the endpoint, stored and not yet sent."""
    (delivery,) = services.publish(
        "ping", [(endpoint.team_id, data or {"n": 1})], only=endpoint, now=now
    )
    return delivery


def webhook_ids(team) -> dict:
    """An endpoint of ``team`` with one delivery, as the permission table's URLs name them."""
    endpoint = make_endpoint(team, "https://crm.example.org/ringround")
    return {"endpoint_id": endpoint.public_id, "delivery_id": pending_delivery(endpoint).public_id}
