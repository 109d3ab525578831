"""The last place under real concurrency, on PostgreSQL: many volunteers press Sign up at
the same moment for a session with few places; exactly as many win as there are places."""

import datetime as dt

import pytest

from ringround.phonebanks import services
from ringround.phonebanks.models import PhoneBankSession, SignUp
from tests.factories import make_campaign, make_volunteer
from tests.phonebanks.factories import NOON, make_session
from tests.threads import run_at_once

pytestmark = pytest.mark.postgres_only
BEFORE = NOON - dt.timedelta(days=1)


def sign_up_all_at_once(session, people):
    def attempt(i):
        try:
            services.sign_up(session, people[i], now=BEFORE)
            return "in"
        except services.SessionFull:
            return "full"

    return run_at_once(len(people), attempt)


@pytest.mark.parametrize("places", [1, 3])
def test_many_at_once_for_the_last_places_only_that_many_win(places):
    campaign = make_campaign()
    session = make_session(campaign, starts_at=NOON, capacity=places)
    people = [make_volunteer(campaign) for _ in range(12)]
    results = sign_up_all_at_once(session, people)
    assert results.count("in") == places
    assert results.count("full") == len(people) - places
    assert SignUp.objects.filter(session=session, cancelled_at__isnull=True).count() == places
    assert PhoneBankSession.objects.get(pk=session.pk).signed_up == places


def test_one_person_pressing_twice_at_once_holds_one_place():
    campaign = make_campaign()
    session = make_session(campaign, starts_at=NOON, capacity=5)
    person = make_volunteer(campaign)
    assert sign_up_all_at_once(session, [person] * 6) == ["in"] * 6
    assert PhoneBankSession.objects.get(pk=session.pk).signed_up == 1
    assert SignUp.objects.filter(session=session).count() == 1
