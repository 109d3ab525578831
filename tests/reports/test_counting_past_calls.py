"""Upgrading to tallies: the calls stored before them are counted, so a running campaign's
results and live room carry on from where they were."""

import datetime as dt

import pytest

from ringround.calling import tallies
from ringround.campaigns.models import Campaign
from tests.migrating import migrate, migrate_to_latest

BEFORE = [("calling", "0005_tallies")]
T0 = dt.datetime(2026, 11, 1, 18, 20, tzinfo=dt.UTC)


@pytest.fixture
def before_counting(transactional_db):
    apps = migrate(BEFORE)
    yield apps
    migrate_to_latest()


def test_calls_stored_before_the_tallies_are_counted_on_upgrade(before_counting):
    apps = before_counting
    get = apps.get_model
    team = get("accounts", "Team").objects.create(name="T", public_id="t1")
    campaign = get("campaigns", "Campaign").objects.create(
        name="C", public_id="c1", invite_token="i1", team=team
    )
    outcomes = {
        code: get("campaigns", "OutcomeCode").objects.create(
            campaign=campaign, code=code, label=code, is_conversation=code == "answered"
        )
        for code in ("answered", "no_answer")
    }
    Question = get("campaigns", "Question")
    single = Question.objects.create(campaign=campaign, kind="single", text="?", choices=["A", "B"])
    text = Question.objects.create(campaign=campaign, kind="text", text="Else?")
    caller = get("accounts", "User").objects.create(email="c@example.org", public_id="u1")
    contact = get("contacts", "Contact").objects.create(
        team=team, public_id="p1", phone="+442079460001"
    )
    target = get("calling", "CallTarget").objects.create(
        campaign=campaign, contact=contact, phone=contact.phone
    )
    for n, (code, answers) in enumerate(
        [
            ("answered", {f"q{single.pk}": "A", f"q{text.pk}": "Buses"}),
            ("answered", {f"q{single.pk}": "B"}),
            ("no_answer", {}),
        ]
    ):
        get("calling", "Call").objects.create(
            public_id=f"k{n}",
            campaign=campaign,
            target=target,
            volunteer=caller,
            outcome=outcomes[code],
            answers=answers,
            started_at=T0 + dt.timedelta(minutes=50 * n),
            ended_at=T0 + dt.timedelta(minutes=50 * n, seconds=90),
            idempotency_key=f"key-{n}",
        )

    migrate_to_latest()
    campaign = Campaign.objects.get(public_id="c1")
    counted = tallies.read(campaign)
    assert counted == tallies.recount(campaign)
    assert sum(counted["hours"].values()) == 3 and len(counted["hours"]) == 3  # three hours
    assert counted["volunteers"][caller.pk][:2] == (3, 2)
    assert counted["answers"][(f"q{text.pk}", "")] == 1
