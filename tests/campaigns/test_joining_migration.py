"""Upgrading to earned claim budgets: volunteers who were calling before keep what their real
calls have earned, so an established caller is not treated as a newcomer."""

import datetime as dt

import pytest

from tests.migrating import migrate, migrate_to_latest

BEFORE = [("campaigns", "0005_team_required"), ("calling", "0004_vacuum_claim_index")]
AFTER = [("campaigns", "0006_joining"), ("calling", "0004_vacuum_claim_index")]
T0 = dt.datetime(2026, 11, 1, 18, 0, tzinfo=dt.UTC)


@pytest.fixture
def before_budgets(transactional_db):
    apps = migrate(BEFORE)
    yield apps
    migrate_to_latest()


def test_past_real_calls_are_credited_and_quick_or_late_ones_are_not(before_budgets):
    apps = before_budgets
    User = apps.get_model("accounts", "User")
    Team = apps.get_model("accounts", "Team")
    Campaign = apps.get_model("campaigns", "Campaign")
    Membership = apps.get_model("campaigns", "Membership")
    OutcomeCode = apps.get_model("campaigns", "OutcomeCode")
    Contact = apps.get_model("contacts", "Contact")
    CallTarget = apps.get_model("calling", "CallTarget")
    Call = apps.get_model("calling", "Call")
    team = Team.objects.create(name="T", public_id="t1")
    campaign = Campaign.objects.create(name="C", public_id="c1", invite_token="i1", team=team)
    outcome = OutcomeCode.objects.create(campaign=campaign, code="no_answer", label="No answer")
    caller = User.objects.create(email="caller@example.org", name="Caller", public_id="u1")
    newcomer = User.objects.create(email="new@example.org", name="New", public_id="u2")
    for user in (caller, newcomer):
        Membership.objects.create(campaign=campaign, user=user)
    contact = Contact.objects.create(team=team, public_id="p1", phone="+442079460001")
    target = CallTarget.objects.create(campaign=campaign, contact=contact, phone=contact.phone)

    def call(n, seconds, *, lease_lost=False):
        Call.objects.create(
            public_id=f"k{n}",
            campaign=campaign,
            target=target,
            volunteer=caller,
            outcome=outcome,
            started_at=T0 + dt.timedelta(hours=n),  # each its own hand-out
            ended_at=T0 + dt.timedelta(hours=n, seconds=seconds),
            idempotency_key=f"key-{n}",
            lease_lost=lease_lost,
        )

    call(1, 95)  # a real call
    call(2, 20)  # just long enough
    call(3, 4)  # recorded at once: earns nothing
    call(4, 300, lease_lost=True)  # the contact had passed to someone else

    apps = migrate(AFTER)
    credited = dict(
        apps.get_model("campaigns", "Membership").objects.values_list(
            "user__email", "calls_recorded"
        )
    )
    assert credited == {"caller@example.org": 2, "new@example.org": 0}
