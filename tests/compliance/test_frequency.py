"""The team-wide frequency limit: once spoken to, a person is not called again by any of the
team's campaigns for ``TeamPolicy.frequency_days`` (default 7), enforced at claim time."""

import datetime as dt

import pytest

from ringround.calling import rules
from ringround.calling import targets as call_targets
from ringround.compliance.models import TeamPolicy
from tests.compliance.world import NOON, add_people, campaign_with, everyone_handed_out
from tests.factories import (
    ALL_DAY,
    make_campaign,
    make_organiser,
    make_team,
    make_volunteer,
    organiser_of,
    record,
)

pytestmark = pytest.mark.django_db

A, B = "+447700900001", "+447700900002"
DAY = dt.timedelta(days=1)


def two_campaigns_sharing(*phones):
    """Two campaigns of one team, each calling the same contacts."""
    first = campaign_with(*phones)
    second = make_campaign(organiser_of(first), name="Second", **ALL_DAY)
    call_targets.add_contacts(second, first.team.contacts.all())
    second.refresh_from_db()
    return first, second


def speak_to(campaign, phone, now, code="answered"):
    """A volunteer reaches ``phone`` in ``campaign`` (others hold whoever comes before)."""
    for _ in range(10):
        volunteer = make_volunteer(campaign)
        lease = rules.claim_next(campaign, volunteer, now=now)
        if lease.target.phone == phone:
            return record(campaign, volunteer, lease, code, now=now)
    raise AssertionError(f"{phone} was never handed out")


def test_someone_spoken_to_is_not_called_by_another_campaign_for_seven_days():
    first, second = two_campaigns_sharing(A, B)
    speak_to(first, A, NOON)

    assert everyone_handed_out(second, NOON + 7 * DAY - dt.timedelta(seconds=1)) == [B]


def test_after_seven_days_they_may_be_called_again():
    first, second = two_campaigns_sharing(A)
    speak_to(first, A, NOON)

    assert everyone_handed_out(second, NOON + 7 * DAY) == [A]


def test_a_call_that_reached_nobody_does_not_count():
    first, second = two_campaigns_sharing(A)
    speak_to(first, A, NOON, code="no_answer")

    assert everyone_handed_out(second, NOON + DAY) == [A]


def test_the_limit_is_the_teams_own_setting():
    first, second = two_campaigns_sharing(A)
    TeamPolicy.objects.create(team=first.team, frequency_days=2)
    speak_to(first, A, NOON)

    assert everyone_handed_out(second, NOON + DAY) == []
    assert everyone_handed_out(second, NOON + 2 * DAY) == [A]


def test_no_limit_when_the_team_sets_none():
    first, second = two_campaigns_sharing(A)
    TeamPolicy.objects.create(team=first.team, frequency_days=0)
    speak_to(first, A, NOON)

    assert everyone_handed_out(second, NOON + dt.timedelta(minutes=1)) == [A]


def test_the_same_campaigns_call_back_is_its_retry_rules_business():
    """A "call back" the person arranged is not held up by the conversation that arranged it."""
    campaign = campaign_with(A)
    volunteer = make_volunteer(campaign)
    lease = rules.claim_next(campaign, volunteer, now=NOON)
    record(campaign, volunteer, lease, "call_back", now=NOON, callback_at=NOON + DAY)

    assert everyone_handed_out(campaign, NOON + DAY) == [A]


def test_another_teams_calls_do_not_count():
    campaign = campaign_with(A)
    elsewhere = make_campaign(make_organiser(make_team("Elsewhere")))
    elsewhere.calling_start, elsewhere.calling_end = campaign.calling_start, campaign.calling_end
    elsewhere.save()
    add_people(elsewhere, A)
    speak_to(elsewhere, A, NOON)

    assert everyone_handed_out(campaign, NOON + DAY) == [A]


def test_someone_spoken_to_waits_in_the_other_campaigns_until_the_limit_ends():
    """Held back in the claim's order too, not only refused by it."""
    first, second = two_campaigns_sharing(A)
    speak_to(first, A, NOON)

    held = second.targets.get(phone=A)
    assert held.next_call_at == NOON + 7 * DAY
    assert first.targets.get(phone=A).state == "done"
