import datetime as dt
import uuid

import pytest

from ringround.calling import rules
from ringround.calling.models import Call, CallTarget
from tests.factories import make_campaign, make_volunteer

NOON = dt.datetime(2027, 6, 1, 11, 0, tzinfo=dt.UTC)


@pytest.mark.django_db
def test_claim_and_record_round_trip():
    campaign = make_campaign(targets=3)
    volunteer = make_volunteer(campaign)
    lease = rules.claim_next(campaign, volunteer, now=NOON)
    assert lease is not None
    again = rules.claim_next(campaign, volunteer, now=NOON)
    assert again.target.pk == lease.target.pk
    call = rules.record_outcome(
        campaign,
        volunteer,
        lease_token=lease.token,
        outcome_code="answered",
        idempotency_key=str(uuid.uuid4()),
        now=NOON,
    )
    assert Call.objects.count() == 1
    assert CallTarget.objects.get(pk=lease.target.pk).state == "done"
    assert call.outcome.code == "answered"
