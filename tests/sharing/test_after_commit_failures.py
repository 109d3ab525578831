"""Work hung after a call's commit (badges, webhook events) that fails is logged, never turned
into an error answer for the call that was stored: found when a failover broke a badge's query
and Django's logging of the failed callback itself raised (a functools.partial has no
__qualname__), answering 500 to a phone whose call was safely stored."""

import json

import pytest
from django.db import OperationalError

from ringround.calling import rules
from ringround.calling.models import Call
from ringround.sharing import momentum
from ringround.webhooks import receivers
from tests.api.conftest import token_client
from tests.factories import make_volunteer, open_campaign

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_failing_after_commit_callback_leaves_the_answer_and_the_call(monkeypatch):
    def broken(*args, **kwargs):
        raise OperationalError("the database went away after the commit")

    monkeypatch.setattr(momentum, "call_counted", broken)
    monkeypatch.setattr(receivers, "_queue_if_wanted", broken)
    campaign = open_campaign(targets=1)
    volunteer = make_volunteer(campaign)
    client = token_client(volunteer)
    lease = rules.claim_next(campaign, volunteer)
    response = client.post(
        f"/api/v1/campaigns/{campaign.public_id}/outcomes",
        json.dumps({"lease_token": lease.token, "outcome": "no_answer", "idempotency_key": "k1"}),
        content_type="application/json",
    )
    assert response.status_code in (200, 201), response.content[:300]
    assert Call.objects.filter(campaign=campaign).count() == 1
