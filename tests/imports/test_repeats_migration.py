"""Upgrading: imports made before the rule for repeated people could be chosen keep the rule
they ran under (later rows overwrite), so one resumed after the upgrade carries on as it
began; imports made after default to filling blanks."""

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

BEFORE = [("imports", "0004_worker_heartbeat")]
AFTER = [("imports", "0005_repeated_people")]


def migrate(targets):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    return executor.loader.project_state(targets).apps


@pytest.fixture
def before_the_rule(transactional_db):
    apps = migrate(BEFORE)
    yield apps
    migrate(MigrationExecutor(connection).loader.graph.leaf_nodes())


def test_earlier_imports_keep_overwriting_and_new_ones_fill_blanks(before_the_rule):
    apps = before_the_rule
    Team = apps.get_model("accounts", "Team")
    team = Team.objects.create(name="Old team", public_id="t-old")
    Import = apps.get_model("imports", "Import")
    Import.objects.create(public_id="i-old", team=team, file_path="/x.csv", original_name="x")

    apps = migrate(AFTER)
    Import = apps.get_model("imports", "Import")
    assert Import.objects.get(public_id="i-old").repeats == "keep_last"
    new = Import.objects.create(public_id="i-new", team_id=team.pk, file_path="/y.csv")
    assert new.repeats == "fill_blanks"
    assert new.rejection_summary == {}
