"""The tallies the live room and results read are a recount of the calls, whatever order
claims, outcomes, retried submits, late outcomes and suppressing outcomes come in, on either
database (on PostgreSQL through the one-statement path, on SQLite step by step)."""

import datetime as dt
import random

import pytest

from ringround.calling import rules, tallies
from ringround.calling.models import Call
from ringround.campaigns import services as campaign_services
from ringround.contacts.models import Contact
from ringround.privacy.services import erase_contact
from tests.factories import fresh_key, make_volunteer, open_campaign

pytestmark = pytest.mark.django_db

NOON = dt.datetime(2027, 5, 4, 11, 0, tzinfo=dt.UTC)
CODES = [
    "answered",
    "answered",
    "no_answer",
    "busy",
    "voicemail",
    "wrong_number",
    "call_back",
    "refused",
    "do_not_call",
]


def campaign_with_survey(targets=14):
    campaign = open_campaign(targets=targets, claims_per_hour=1000, max_attempts=3)
    add = campaign_services.add_question
    add(campaign, text="Top issue?", kind="single", choices=["NHS", "Housing", "Jobs"])
    add(campaign, text="Help how?", kind="multiple", choices=["Leaflets", "Calls", "Lifts"])
    add(campaign, text="Anything else?", kind="text")
    return campaign


def random_answers(rng, questions) -> dict:
    single, multiple, text = questions
    answers = {}
    if rng.random() < 0.8:
        answers[single.key] = rng.choice(single.options())
    if rng.random() < 0.6:
        answers[multiple.key] = rng.sample(multiple.options(), rng.randint(1, 3))
    if rng.random() < 0.5:
        answers[text.key] = rng.choice(["Bins", "Potholes on Elm Road", "No"])
    return answers


def random_evening(campaign, seed: int, steps: int = 70) -> dict:
    """Volunteers claiming, recording (sometimes twice with one key, sometimes long after
    their lease lapsed and someone else took the contact) and handing back, in a seeded
    random order. Returns what happened, by kind."""
    rng = random.Random(seed)
    questions = list(campaign.questions.all())
    volunteers = [make_volunteer(campaign) for _ in range(4)]
    leases, last_keys, happened = {}, {}, {"stored": 0, "retried": 0, "refused": 0}
    now = NOON
    for _ in range(steps):
        now += dt.timedelta(minutes=rng.choice([0, 1, 2, 3, 12]), seconds=rng.randint(0, 59))
        volunteer = rng.choice(volunteers)
        action = rng.choices(["claim", "record", "release"], [4, 5, 1])[0]
        if action == "claim":
            lease = rules.claim_next(campaign, volunteer, now=now)
            if lease is not None:
                leases[volunteer.pk] = lease
        elif action == "release":
            rules.release(campaign, volunteer)
        elif volunteer.pk in leases:
            retry = volunteer.pk in last_keys and rng.random() < 0.25
            key = last_keys[volunteer.pk] if retry else fresh_key()
            code = rng.choice(CODES)
            extra = {}
            if code == "answered":
                extra["answers"] = random_answers(rng, questions)
            if code == "call_back":
                extra["callback_at"] = now + dt.timedelta(hours=2)
            try:
                rules.record_outcome(
                    campaign,
                    volunteer,
                    lease_token=leases[volunteer.pk].token,
                    outcome_code=code,
                    idempotency_key=key,
                    now=now,
                    **extra,
                )
            except rules.CallingError:
                happened["refused"] += 1
            else:
                happened["retried" if retry else "stored"] += 1
            last_keys[volunteer.pk] = key
    return happened


@pytest.mark.parametrize("seed", [1, 2, 3, 4])
def test_tallies_equal_a_recount_after_a_random_evening(seed):
    campaign = campaign_with_survey()
    happened = random_evening(campaign, seed)

    counted = tallies.read(campaign)
    assert counted == tallies.recount(campaign)
    calls = Call.objects.filter(campaign=campaign)
    assert sum(counted["hours"].values()) == calls.count() > 10
    assert happened["retried"], happened
    suppressing = calls.filter(outcome__suppresses=True)
    assert suppressing.exists()
    assert calls.filter(answers__has_key=campaign.questions.first().key).exists()


def test_the_evenings_include_late_outcomes():
    """At least one of the seeded evenings stores an outcome after the lease had lapsed and
    passed on, so the property above covers late outcomes."""
    late = 0
    for seed in (1, 2, 3, 4):
        campaign = campaign_with_survey()
        random_evening(campaign, seed)
        late += Call.objects.filter(campaign=campaign, lease_lost=True).count()
    assert late


def test_an_erasure_leaves_the_tallies_as_they_were():
    campaign = campaign_with_survey()
    random_evening(campaign, 5)
    before = tallies.read(campaign)
    called = Contact.objects.filter(targets__calls__isnull=False, targets__campaign=campaign)
    for contact in called.distinct():
        erase_contact(contact)
    assert tallies.read(campaign) == before


def test_rebuild_puts_back_tallies_lost_or_wrong():
    campaign = campaign_with_survey()
    random_evening(campaign, 6)
    before = tallies.read(campaign)
    from ringround.calling.models import CallTally

    CallTally.objects.filter(campaign=campaign).update(calls=99)
    tallies.rebuild(campaign)
    assert tallies.read(campaign) == before
