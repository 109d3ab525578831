"""On PostgreSQL the calling loop's statements are prepared once per connection and run on
that one (generic) plan: planned per call, the claim cost more to plan than to run once
thousands of volunteers held leases (bench/load --realistic)."""

import psycopg
import pytest
from django.db import connection
from django.utils import timezone

from ringround import rawsql
from ringround.calling import rules
from ringround.calling.models import CallTarget
from ringround.contacts import bulk
from tests.factories import make_volunteer, open_campaign, the_team

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


def test_each_lease_lookup_has_its_own_index_even_before_any_lease_is_held():
    """Statistics that say no lease is held (a campaign's first minute) made the two lease
    indexes look equally cheap for "the lease this volunteer holds" and for "a lapsed lease",
    and a plan kept with the wrong one walked every held lease on each claim."""
    campaign = open_campaign(targets=5)
    volunteer = make_volunteer(campaign)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE calling_calltarget")
        cursor.execute("SET enable_seqscan = off")
        try:
            own = CallTarget.objects.filter(campaign=campaign).held_by(volunteer).values("id")
            own_plan = own.explain()
            lapsed = CallTarget.objects.filter(campaign=campaign).lapsed(timezone.now())
            lapsed_plan = lapsed.values("id").explain()
        finally:
            cursor.execute("RESET enable_seqscan")
    assert "target_lease_expiry" not in own_plan
    assert "one_live_lease_per_volunteer" in own_plan
    assert "target_lease_expiry" in lapsed_plan
    assert "one_live_lease_per_volunteer" not in lapsed_plan


def _mode():
    with connection.cursor() as cursor:
        cursor.execute("SHOW plan_cache_mode")
        return cursor.fetchone()[0]


def test_a_batch_of_keys_is_planned_for_its_values_and_the_connection_keeps_its_setting():
    """An import's key lookups depend on how many keys they carry; on the generic plan the
    connection's other statements use, a million-row import took seven times as long."""
    connection.ensure_connection()
    with psycopg.Cursor(connection.connection) as cursor:
        with rawsql.planned_with_values(cursor):
            assert _mode() == "force_custom_plan"
    assert _mode() == "force_generic_plan"
    assert bulk.rows_matching(the_team().pk, ["+442079460001"], ["M1"]) == []
    assert _mode() == "force_generic_plan"
