"""A new volunteer starts with a small claim budget that grows with real calls: recorded at
least RINGROUND_REAL_CALL_SECONDS after the contact was handed out."""

import datetime as dt

import pytest

from ringround.audit.models import AuditEvent
from ringround.calling import rules
from ringround.campaigns.models import Membership
from tests.factories import make_campaign, make_volunteer, record

pytestmark = pytest.mark.django_db
T0 = dt.datetime(2027, 4, 6, 12, 0, tzinfo=dt.UTC)


def at(seconds):
    return T0 + dt.timedelta(seconds=seconds)


def test_a_new_volunteer_is_given_at_most_twenty_in_their_first_hour():
    campaign = make_campaign(targets=40, claims_per_hour=120)
    volunteer = make_volunteer(campaign)
    for n in range(20):
        rules.claim_next(campaign, volunteer, now=at(n))
        rules.release(campaign, volunteer)
    with pytest.raises(rules.RateLimited, match="New volunteers are given up to 20"):
        rules.claim_next(campaign, volunteer, now=at(30))
    assert Membership.objects.get(user=volunteer).flagged_at == at(30)
    assert AuditEvent.objects.filter(action="volunteer.rate_limited").count() == 1


def test_real_calls_earn_more_claims_and_quick_ones_do_not(settings):
    settings.RINGROUND_NEW_VOLUNTEER_CLAIMS = 2
    settings.RINGROUND_CLAIMS_PER_CALL = 2
    campaign = make_campaign(targets=20, claims_per_hour=120)
    volunteer = make_volunteer(campaign)
    lease = rules.claim_next(campaign, volunteer, now=at(0))
    record(campaign, volunteer, lease, now=at(1))  # recorded at once: not a real call
    lease = rules.claim_next(campaign, volunteer, now=at(2))
    record(campaign, volunteer, lease, now=at(40))  # a real call: two more claims
    membership = Membership.objects.get(user=volunteer)
    assert (membership.claims_total, membership.calls_recorded) == (2, 1)
    for n in range(2):
        lease = rules.claim_next(campaign, volunteer, now=at(50 + n))
        rules.release(campaign, volunteer)
    with pytest.raises(rules.RateLimited):
        rules.claim_next(campaign, volunteer, now=at(60))


def test_the_budget_never_passes_the_campaigns_claims_per_hour():
    membership = Membership(calls_recorded=1000)
    assert membership.claim_budget(120) == 120
    assert Membership(calls_recorded=0).claim_budget(120) == 20
    assert Membership(calls_recorded=5).claim_budget(120) == 30
