"""Upgrading an install from before teams: everything it held belongs to one default team,
and everyone who could organise is an organiser in it."""

import pytest

from tests.migrating import migrate, migrate_to_latest

BEFORE = [
    ("accounts", "0002_usersession"),
    ("campaigns", "0003_alter_campaign_calling_end"),
    ("contacts", "0003_imports_app"),
    ("imports", "0001_initial"),
]
AFTER = [
    ("accounts", "0005_remove_user_can_organise"),
    ("campaigns", "0005_team_required"),
    ("contacts", "0005_team_required"),
    ("imports", "0003_team_required"),
]


@pytest.fixture
def old_install(transactional_db):
    apps = migrate(BEFORE)
    yield apps
    migrate_to_latest()


def test_existing_data_moves_into_one_default_team(old_install):
    apps = old_install
    User = apps.get_model("accounts", "User")
    Campaign = apps.get_model("campaigns", "Campaign")
    Contact = apps.get_model("contacts", "Contact")
    Import = apps.get_model("imports", "Import")
    Suppression = apps.get_model("contacts", "Suppression")
    User.objects.create(email="o@example.org", name="O", can_organise=True)
    listed = User.objects.create(email="l@example.org", name="L")
    volunteer = User.objects.create(email="v@example.org", name="V")
    campaign = Campaign.objects.create(name="Old campaign", public_id="c1", invite_token="t1")
    campaign.organisers.add(listed)
    Contact.objects.create(public_id="p1", phone="+442079460001", external_id="M1")
    Import.objects.create(public_id="i1", file_path="/x.csv", original_name="x.csv")
    Suppression.objects.create(phone="+442079460002")

    apps = migrate(AFTER)
    Team = apps.get_model("accounts", "Team")
    [team] = Team.objects.all()
    assert team.name == "Default team"
    members = {m.user.email: m.role for m in team.members.select_related("user")}
    assert members == {"o@example.org": "organiser", "l@example.org": "organiser"}
    assert volunteer.email not in members
    for model in (("campaigns", "Campaign"), ("contacts", "Contact"), ("imports", "Import")):
        assert set(apps.get_model(*model).objects.values_list("team_id", flat=True)) == {team.pk}
    # A suppression made before teams still applies to every campaign.
    assert apps.get_model("contacts", "Suppression").objects.get().team_id is None


def test_a_new_install_gets_no_team_until_an_admin_makes_one(old_install):
    apps = migrate(AFTER)
    assert not apps.get_model("accounts", "Team").objects.exists()
