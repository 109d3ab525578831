"""An API world: a campaign open all day, one volunteer with a token, helpers to call the API."""

import json
from dataclasses import dataclass

import pytest
from django.test import Client

from ringround.api import services as api_services
from ringround.campaigns import services as campaign_services
from tests.factories import (
    UserFactory,
    make_organiser,
    make_team,
    make_volunteer,
    open_campaign,
    organiser_of,
)


def token_client(user) -> Client:
    _, token = api_services.create_token(user, "tests")
    return Client(headers={"Authorization": f"Bearer {token}"})


def url(campaign_or_id, action: str = "") -> str:
    public_id = getattr(campaign_or_id, "public_id", campaign_or_id)
    return f"/api/v1/campaigns/{public_id}" + (f"/{action}" if action else "")


def post(client, path, body=None):
    return client.post(path, json.dumps(body or {}), content_type="application/json")


def outcome_body(lease_token, outcome="no_answer", key="key-1", **extra):
    return {"lease_token": lease_token, "outcome": outcome, "idempotency_key": key, **extra}


@dataclass
class World:
    campaign: object
    organiser: object
    volunteer: object
    client: Client  # the volunteer, by API token

    def claim(self, client=None):
        return post(client or self.client, url(self.campaign, "claim"))

    def record(self, body, client=None):
        return post(client or self.client, url(self.campaign, "outcomes"), body)


@pytest.fixture
def world(db):
    organiser = make_organiser()
    campaign = open_campaign(organiser)
    campaign_services.add_question(campaign, text="Will you vote?", kind="yes_no", required=True)
    volunteer = make_volunteer(campaign)
    return World(campaign, organiser, volunteer, token_client(volunteer))


OUTSIDERS = ["stranger", "volunteer of another campaign", "organiser of another team"]


def outsider(who):
    """Someone with an account who has no business with the world's campaign (see OUTSIDERS)."""
    other = open_campaign(make_organiser(make_team()))
    if who == "stranger":
        return UserFactory()
    if who == "volunteer of another campaign":
        return make_volunteer(other)
    assert who == "organiser of another team", who
    return organiser_of(other)


def assert_error(response, status, code):
    assert response.status_code == status, response.content
    body = response.json()
    assert body["error"] == code, body
    assert body["message"]
    assert isinstance(body["errors"], dict)
    return body


@pytest.fixture(autouse=True)
def _fresh_token_cache():
    api_services.forget_cached_tokens()
    yield
    api_services.forget_cached_tokens()
