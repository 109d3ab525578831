""" "Nobody to call" only when nobody may be handed out, and then saying why: the campaign
is not open, the list is finished, the rest are with other volunteers, everyone left waits
for a retry, or it is outside calling hours for everyone left (until when, in their zone).
Issue 11: the card said "everyone available has been called" while hundreds remained."""

import datetime as dt

import pytest

from ringround.calling import rules
from ringround.calling.models import CallTarget
from ringround.calling.services import why_nobody_to_call
from ringround.campaigns.models import Campaign
from ringround.contacts.models import Suppression
from tests.factories import claimed, make_campaign, make_volunteer, record, uk_hours_all_day

pytestmark = pytest.mark.django_db

NOON = dt.datetime(2027, 6, 1, 11, 0, tzinfo=dt.UTC)  # a Tuesday, 12:00 in London
LONDON = "Europe/London"


def test_nobody_is_missing_while_someone_may_be_called():
    campaign = make_campaign(targets=2)
    assert why_nobody_to_call(campaign, NOON) is None


def test_someone_back_in_the_pool_after_a_pause_is_someone_to_call():
    campaign, volunteer, _ = claimed(targets=1, now=NOON)
    rules.release(campaign, volunteer)
    assert why_nobody_to_call(campaign, NOON) is None


@pytest.mark.parametrize(
    ("status", "word"), [("paused", "paused"), ("finished", "finished"), ("draft", "draft")]
)
def test_a_campaign_not_taking_calls_says_so(status, word):
    campaign = make_campaign(targets=2)
    Campaign.objects.filter(pk=campaign.pk).update(status=status)
    campaign.refresh_from_db()
    nobody = why_nobody_to_call(campaign, NOON)
    assert nobody.reason == "not_open" and f"is {word} and not taking calls" in nobody.message


def test_when_everyone_has_been_called_the_list_is_finished():
    campaign, volunteer, lease = claimed(targets=1, now=NOON)
    record(campaign, volunteer, lease, "answered", now=NOON)
    nobody = why_nobody_to_call(campaign, NOON)
    assert nobody.reason == "finished" and "The list is finished." in nobody.message


def test_suppressed_and_used_up_people_do_not_count_as_left():
    campaign = make_campaign(targets=2)
    first, second = CallTarget.objects.filter(campaign=campaign).order_by("pk")
    Suppression.objects.create(phone=first.phone, reason=Suppression.Reason.REQUESTED)
    CallTarget.objects.filter(pk=second.pk).update(attempts=campaign.max_attempts)
    assert why_nobody_to_call(campaign, NOON).reason == "finished"


def test_when_everyone_left_waits_for_a_retry_it_says_until_when_in_their_zone():
    campaign, volunteer, lease = claimed(targets=1, now=NOON)
    record(campaign, volunteer, lease, "no_answer", now=NOON)  # retried 4 hours later
    nobody = why_nobody_to_call(campaign, NOON + dt.timedelta(minutes=1))
    assert nobody.reason == "waiting"
    assert nobody.until == NOON + dt.timedelta(hours=4)
    assert (nobody.time_zone, nobody.local_until, nobody.when) == (LONDON, "16:00", "at 16:00")


def test_outside_calling_hours_it_says_when_they_open_in_the_contacts_zone():
    campaign = make_campaign(targets=2)  # 09:00 to 21:00 in the contact's own time
    evening = dt.datetime(2027, 6, 1, 20, 30, tzinfo=dt.UTC)  # 21:30 in London
    nobody = why_nobody_to_call(campaign, evening)
    assert nobody.reason == "hours"
    assert nobody.until == dt.datetime(2027, 6, 2, 8, 0, tzinfo=dt.UTC)
    assert nobody.local_until == "09:00" and nobody.when == "tomorrow at 09:00"


def test_a_retry_due_after_hours_waits_for_the_hours():
    campaign, volunteer, lease = claimed(targets=1, now=dt.datetime(2027, 6, 1, 18, tzinfo=dt.UTC))
    record(campaign, volunteer, lease, "no_answer", now=dt.datetime(2027, 6, 1, 18, tzinfo=dt.UTC))
    nobody = why_nobody_to_call(campaign, dt.datetime(2027, 6, 1, 18, 5, tzinfo=dt.UTC))
    assert nobody.reason == "hours" and nobody.local_until == "09:00"


def test_on_a_day_without_calling_it_says_the_next_calling_day():
    campaign = make_campaign(targets=1, calling_days="5")  # Saturdays only
    uk_hours_all_day(campaign.team)  # the campaign's own days (the UK weekend opens at 10:00)
    nobody = why_nobody_to_call(campaign, NOON)
    assert nobody.reason == "hours"
    assert nobody.until == dt.datetime(2027, 6, 5, 8, 0, tzinfo=dt.UTC)
    assert nobody.when == "on Saturday at 09:00"


def test_when_the_rest_are_with_other_volunteers_it_says_so():
    campaign, _, _ = claimed(targets=1, now=NOON)
    other = make_volunteer(campaign)
    assert rules.claim_next(campaign, other, now=NOON) is None
    assert why_nobody_to_call(campaign, NOON).reason == "being_called"


def test_the_soonest_of_several_zones_is_the_one_given():
    campaign = make_campaign(targets=2)
    first, second = CallTarget.objects.filter(campaign=campaign).order_by("pk")
    # A number placed in New York with no statutory window (the campaign's hours alone).
    CallTarget.objects.filter(pk=first.pk).update(time_zone="America/New_York", legal_zone="")
    campaign.time_zones = [LONDON, "America/New_York"]
    campaign.save(update_fields=["time_zones"])
    late_in_london = dt.datetime(2027, 6, 1, 21, 0, tzinfo=dt.UTC)  # 22:00 London, 17:00 NY
    assert why_nobody_to_call(campaign, late_in_london) is None
    CallTarget.objects.filter(pk=first.pk).update(state="done")
    nobody = why_nobody_to_call(campaign, late_in_london)
    assert (nobody.reason, nobody.time_zone, nobody.local_until) == ("hours", LONDON, "09:00")
