"""PostgreSQL: keep the head of the claim index clean.

Every claim leaves a dead entry at the head of ``target_claim_order`` (its row left the ready
state), and every claim's scan starts at that head. Since PostgreSQL 14 a vacuum that finds few
dead rows may skip its index pass, leaving those entries for the next claims to step over.
``vacuum_index_cleanup = on`` makes every vacuum clean the indexes, and vacuuming after every
5,000 changed rows (instead of a fifth of the table) keeps the head short while a campaign is
calling."""

from django.db import migrations

SETTINGS = (
    "vacuum_index_cleanup = on, autovacuum_vacuum_scale_factor = 0, "
    "autovacuum_vacuum_threshold = 5000"
)


def apply(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"ALTER TABLE calling_calltarget SET ({SETTINGS})")


def revert(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(
            "ALTER TABLE calling_calltarget RESET (vacuum_index_cleanup, "
            "autovacuum_vacuum_scale_factor, autovacuum_vacuum_threshold)"
        )


class Migration(migrations.Migration):
    dependencies = [("calling", "0003_fewer_indexes")]
    operations = [migrations.RunPython(apply, revert)]
