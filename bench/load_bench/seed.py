"""Seed the load database: migrate, one campaign open all day with N targets, volunteers with
API tokens. Run by bench/load in a subprocess (this one loads Django; the load generator
does not). Prints one JSON object: what the load generator needs to know."""

import argparse
import datetime as dt
import json
import os
import secrets
import sys
import time


def fill_missing(cursor, table, known: dict) -> dict:
    """Known column expressions, plus a plain value for any NOT NULL column without a default
    that this script does not know about (the schema grows; the bench should not break)."""
    cursor.execute(
        """SELECT column_name, data_type FROM information_schema.columns
           WHERE table_name = %s AND is_nullable = 'NO' AND column_default IS NULL
             AND is_identity = 'NO'""",
        [table],
    )
    by_type = {
        "jsonb": "'{}'::jsonb",
        "json": "'{}'::json",
        "boolean": "false",
        "integer": "0",
        "bigint": "0",
        "smallint": "0",
        "timestamp with time zone": "now()",
        "date": "current_date",
    }
    columns = dict(known)
    for name, data_type in cursor.fetchall():
        if name not in columns and name != "id":
            columns[name] = by_type.get(data_type, "''")
    return columns


def insert_select(cursor, table, columns: dict, source: str, params=None) -> int:
    names = ", ".join(columns)
    exprs = ", ".join(columns.values())
    cursor.execute(f"INSERT INTO {table} ({names}) SELECT {exprs} FROM {source}", params or [])
    return cursor.rowcount


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--targets", type=int, default=200_000)
    parser.add_argument("--volunteers", type=int, default=2000)
    parser.add_argument("--tokens-file", required=True)
    args = parser.parse_args()

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "ringround.settings")
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection, transaction
    from django.utils import timezone

    from ringround.accounts import services as account_services
    from ringround.accounts.models import User
    from ringround.api.models import ApiToken
    from ringround.api.services import TOKEN_PREFIX, hash_token
    from ringround.calling import targets as call_targets
    from ringround.campaigns import services as campaign_services
    from ringround.campaigns.models import Campaign, Membership
    from ringround.compliance import services as compliance
    from ringround.compliance.hours import legal_zone

    started = time.monotonic()
    call_command("migrate", "--no-input", verbosity=0)
    migrated = time.monotonic()

    with transaction.atomic():
        organiser = User.objects.create_user("organiser@load.test", None, name="Load organiser")
        team = account_services.create_team("Load test", by=None, first_admin=organiser)
        campaign = campaign_services.create_campaign(
            organiser,
            team=team,
            name="National members' ballot (load)",
            script="Hello {{ first_name }}, I'm calling from the campaign about the ballot.",
            calling_start=dt.time(0, 0),
            calling_end=dt.time(23, 59, 59, 999999),
            claims_per_hour=10_000_000,
            # A national campaign whose organiser sets its hourly ceiling: the derived one
            # is for campaigns nobody has sized yet.
            contacts_per_hour=10_000_000,
            lease_minutes=10,
            max_attempts=3,
        )
        Campaign.objects.filter(pk=campaign.pk).update(status=Campaign.Status.ACTIVE)
        # The team's UK window open all day (the bench runs at any hour), and its list screened
        # against the TPS today (a number none of its contacts has): claims of UK numbers need both.
        compliance.open_uk_hours_all_day(team)
        compliance.load_screening(team, b"0113 496 0999\n", kind="full")
        uk_mobile = legal_zone("+447700000001", "Europe/London", "Holborn and St Pancras")

        with connection.cursor() as cursor:
            contacts = fill_missing(
                cursor,
                "contacts_contact",
                {
                    "public_id": "'L' || lpad(g::text, 10, '0')",
                    "team_id": str(team.pk),
                    "first_name": "'Pat'",
                    "last_name": "'Member ' || g",
                    "phone": "'+447' || lpad(g::text, 9, '0')",
                    "phone_as_typed": "'07' || lpad(g::text, 9, '0')",
                    "phone_type": "'mobile'",
                    "other_phones": "'[]'::jsonb",
                    "email": "''",
                    "postcode": "''",
                    "area": "'Holborn and St Pancras'",
                    "tags": "''",
                    "external_id": "''",
                    "custom_fields": "'{}'::jsonb",
                    "time_zone": "'Europe/London'",
                    "source": "'bench/load'",
                    "created_at": "now()",
                    "updated_at": "now()",
                },
            )
            insert_select(
                cursor, "contacts_contact", contacts, "generate_series(1, %s) AS g", [args.targets]
            )
            targets = fill_missing(
                cursor,
                "calling_calltarget",
                {
                    "campaign_id": str(campaign.pk),
                    "contact_id": "c.id",
                    "phone": "c.phone",
                    "time_zone": "c.time_zone",
                    "legal_zone": f"'{uk_mobile}'",  # every bench number is a UK mobile
                    "state": "'ready'",
                    "priority": "(c.id %% 3)::int",
                    "attempts": "0",
                    "next_call_at": "now() - interval '1 hour'",
                },
            )
            insert_select(
                cursor,
                "calling_calltarget",
                targets,
                "contacts_contact AS c WHERE c.source = 'bench/load'",
            )
        call_targets.refresh_time_zones(campaign)

        users = User.objects.bulk_create(
            User(email=f"volunteer{i}@load.test", name=f"Volunteer {i}", password="!")
            for i in range(args.volunteers)
        )
        # Volunteers with a record of real calls: a new one's budget (20 an hour) is not
        # what this measures.
        Membership.objects.bulk_create(
            Membership(campaign=campaign, user=u, calls_recorded=10_000) for u in users
        )
        tokens = [TOKEN_PREFIX + secrets.token_urlsafe(32) for _ in users]
        # Tokens in use already (volunteers mid-session): the once-a-quarter-hour note of a
        # token's last use is not what a run measures, nor 40,000 of them in its first minute.
        used = timezone.now()
        ApiToken.objects.bulk_create(
            ApiToken(
                user=u,
                name="bench/load",
                prefix=t[:8],
                secret_hash=hash_token(t),
                last_used_at=used,
            )
            for u, t in zip(users, tokens, strict=True)
        )
    seeded = time.monotonic()
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")

    with open(args.tokens_file, "w") as f:
        json.dump(tokens, f)
    outcomes = dict(campaign.outcomes.values_list("code", "pk"))
    json.dump(
        {
            "campaign_id": campaign.pk,
            "public_id": campaign.public_id,
            "volunteer_ids": [u.pk for u in users],
            "outcomes": outcomes,
            "zones": campaign.time_zones,
            "migrate_s": round(migrated - started, 1),
            "seed_s": round(seeded - migrated, 1),
        },
        sys.stdout,
    )


if __name__ == "__main__":
    main()
