"""On PostgreSQL the calling loop's statements are prepared once per connection and run on
that one (generic) plan: planned per call, the claim cost more to plan than to run once
thousands of volunteers held leases (bench/load --realistic)."""

import pytest
from django.db import connection

from ringround.calling import rules
from tests.factories import make_volunteer, open_campaign

pytestmark = [pytest.mark.django_db, pytest.mark.postgres_only]


def _plans(fragment):
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT generic_plans, custom_plans FROM pg_prepared_statements"
            " WHERE statement LIKE %s",
            [f"%{fragment}%"],
        )
        return cursor.fetchall()


def test_connections_run_prepared_statements_on_their_generic_plan():
    with connection.cursor() as cursor:
        cursor.execute("SHOW plan_cache_mode")
        assert cursor.fetchone() == ("force_generic_plan",)


def test_the_claim_is_planned_once_and_then_only_run():
    campaign = open_campaign(targets=10)
    for _ in range(8):
        assert rules.claim_next(campaign, make_volunteer(campaign)) is not None
    [(generic, custom)] = _plans("WITH own AS")
    assert custom == 0
    assert generic >= 5  # prepared after its second use; every later claim on the same plan
