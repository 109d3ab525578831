"""The new claim rules (TPS-screened without a statement, the frequency limit, the legal
windows) hold the same on PostgreSQL's one-statement claim and on the step-by-step ORM path:
the same world, asked at the same moments, hands out the same people on each."""

import datetime as dt

import pytest

from ringround.calling import rules, statements
from ringround.calling import targets as call_targets
from ringround.compliance import services
from tests.compliance.world import NOON, campaign_with, everyone_handed_out
from tests.factories import ALL_DAY, make_campaign, make_volunteer, organiser_of, record

pytestmark = [pytest.mark.postgres_only, pytest.mark.usefixtures("tps_required")]

SCREENED = "+447700900101"
STATEMENT = "+447700900102"  # screened, but said they do not object
SPOKEN_TO = "+447700900103"  # spoken to yesterday by the team's other campaign
FREE = "+447700900104"
CALIFORNIA = "+14155550123"  # 08:30 there at the moment asked: not yet
INDIANA = "+13175550123"  # 11:30 there: open
MOMENT = dt.datetime(2027, 6, 1, 15, 30, tzinfo=dt.UTC)  # 16:30 London


def world():
    phones = (SCREENED, STATEMENT, SPOKEN_TO, FREE, CALIFORNIA, INDIANA)
    campaign = campaign_with(*phones)
    team = campaign.team
    services.load_screening(team, b"07700900101\n07700900102\n", kind="full", now=NOON)
    contact = campaign.targets.get(phone=STATEMENT).contact
    services.record_no_objection(contact, how="writing", now=NOON)
    other = make_campaign(organiser_of(campaign), name="Other", **ALL_DAY)
    call_targets.add_contacts(other, team.contacts.filter(phone=SPOKEN_TO))
    volunteer = make_volunteer(other)
    lease = rules.claim_next(other, volunteer, now=MOMENT - dt.timedelta(days=1))
    record(other, volunteer, lease, "answered", now=MOMENT - dt.timedelta(days=1))
    return campaign


@pytest.mark.parametrize("one_statement", [False, True], ids=["orm", "one statement"])
def test_both_paths_hand_out_the_same_people_under_the_new_rules(monkeypatch, one_statement):
    used = []
    real_claim = statements.claim
    monkeypatch.setattr(statements, "claim", lambda params: used.append(1) or real_claim(params))
    monkeypatch.setattr(rules, "one_statement", lambda: one_statement)
    campaign = world()

    assert everyone_handed_out(campaign, MOMENT) == sorted([STATEMENT, FREE, INDIANA])
    assert bool(used) is one_statement
