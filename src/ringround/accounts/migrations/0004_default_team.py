"""Everything that existed before teams belongs to one default team, and everyone who could
organise becomes an organiser in it (an admin promotes the team's admins)."""

from django.db import migrations

from ringround.ids import new_public_id

DEFAULT_TEAM = "Default team"


def into_default_team(apps, schema_editor):
    User = apps.get_model("accounts", "User")
    Team = apps.get_model("accounts", "Team")
    TeamMember = apps.get_model("accounts", "TeamMember")
    Campaign = apps.get_model("campaigns", "Campaign")
    Contact = apps.get_model("contacts", "Contact")
    Import = apps.get_model("imports", "Import")
    SavedMapping = apps.get_model("imports", "SavedMapping")
    owned = (Campaign, Contact, Import, SavedMapping)
    organisers = set(User.objects.filter(can_organise=True).values_list("pk", flat=True))
    organisers |= set(
        Campaign.organisers.through.objects.values_list("user_id", flat=True).distinct()
    )
    if not organisers and not any(model.objects.exists() for model in owned):
        return  # a new install: its admin creates the first team
    team, _ = Team.objects.get_or_create(
        name=DEFAULT_TEAM, defaults={"public_id": new_public_id()}
    )
    TeamMember.objects.bulk_create(
        [TeamMember(team=team, user_id=pk, role="organiser") for pk in sorted(organisers)],
        ignore_conflicts=True,
    )
    for model in owned:
        model.objects.filter(team=None).update(team=team)


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0003_teams"),
        ("campaigns", "0004_campaign_team"),
        ("contacts", "0004_teams"),
        ("imports", "0002_teams"),
    ]

    operations = [migrations.RunPython(into_default_team, migrations.RunPython.noop)]
