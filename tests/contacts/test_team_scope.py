"""A team owns its contacts, imports, suppression entries and campaigns: what an organiser of
one team can reach of another's (nothing), and how far a suppression reaches.

The attack from issue 10: an organiser of one group built a campaign targeting another
group's tag, set its claim limit to a million, joined it and read all the other group's
contacts."""

import pytest
from django.urls import reverse

from ringround.calling import rules
from ringround.calling import targets as call_targets
from ringround.calling.models import CallTarget
from ringround.campaigns import services as campaign_services
from ringround.contacts.models import Contact, Suppression
from ringround.imports import services as import_services
from ringround.privacy import services as privacy
from tests.factories import (
    AT_ANY_HOUR,
    ContactFactory,
    claim_and_record,
    make_campaign,
    make_organiser,
    make_team,
    make_volunteer,
    the_team,
)
from tests.imports.conftest import import_now, member_rows, write_csv

pytestmark = pytest.mark.django_db


def tagged(team, n, tag="members"):
    return [
        ContactFactory(team=team, tags=f",{tag},", email=f"p{team.pk}-{i}@example.org")
        for i in range(n)
    ]


def test_a_campaign_targeting_another_teams_tag_gets_nobody(client):
    tagged(the_team(), 5)
    attacker = make_organiser(make_team("Rival group"))
    campaign = make_campaign(
        attacker, targets=0, target_tags="members", claims_per_hour=1_000_000, **AT_ANY_HOUR
    )
    assert call_targets.add_contacts(campaign) == 0
    volunteer = make_volunteer(campaign)
    assert rules.claim_next(campaign, volunteer) is None
    # Asking for them by tag, by area or by another team's import adds nobody either.
    added = call_targets.add_contacts_to_campaign(campaign, tag="members", area="", by=attacker)
    assert added == 0
    victim_contacts = Contact.objects.filter(team=the_team())
    assert call_targets.add_contacts(campaign, victim_contacts) == 0
    assert not CallTarget.objects.filter(campaign=campaign).exists()


def test_a_campaign_targets_its_own_teams_contacts_only():
    own = tagged(the_team(), 3)
    tagged(make_team(), 4)
    campaign = make_campaign(targets=0, target_tags="members")
    assert call_targets.add_contacts(campaign) == 3
    assert set(campaign.targets.values_list("contact_id", flat=True)) == {c.pk for c in own}


def test_an_organiser_cannot_create_a_campaign_for_another_team(client):
    organiser = make_organiser()
    other = make_team()
    with pytest.raises(campaign_services.CampaignError):
        campaign_services.create_campaign(organiser, name="Sneaky", team=other)
    client.force_login(organiser)
    second = make_team("Second team")
    organiser.team_memberships.create(team=second)
    response = client.post(
        reverse("campaigns:create"),
        {
            "team": other.public_id,
            "name": "Sneaky",
            "calling_start": "09:00",
            "calling_end": "21:00",
            "calling_days": list("0123456"),
            "lease_minutes": 10,
            "max_attempts": 3,
            "claims_per_hour": 60,
            "visible_fields": ["first_name"],
        },
    )
    assert response.status_code == 200 and "Select a valid choice" in response.content.decode()
    assert not other.campaigns.exists()


def test_the_same_person_on_two_teams_lists_is_two_contacts(tmp_path):
    rows = member_rows(2)
    import_now(write_csv(tmp_path / "a.csv", rows))
    other = make_team()
    job = import_now(write_csv(tmp_path / "b.csv", rows), team=other)
    assert job.created == 2 and job.updated == 0
    assert Contact.objects.filter(team=the_team()).count() == 2
    assert Contact.objects.filter(team=other).count() == 2
    # Importing again into one team changes only that team's copy.
    changed = [[*row[:5], "changed@example.org", *row[6:]] for row in rows]
    import_now(write_csv(tmp_path / "c.csv", changed), team=other)
    assert not Contact.objects.filter(team=the_team(), email="changed@example.org").exists()


def test_an_import_cannot_add_to_another_teams_campaign_or_use_its_mapping(tmp_path):
    other_campaign = make_campaign(make_organiser(make_team()))
    path = write_csv(tmp_path / "a.csv", member_rows(1))
    with pytest.raises(ValueError, match="campaign of its own team"):
        import_services.create_import(path=path, team=the_team(), campaign=other_campaign)
    with pytest.raises(ValueError, match="into a team"):
        import_services.create_import(path=path)


def test_another_teams_imports_are_not_listed_or_reachable(client, tmp_path):
    other = make_team()
    job = import_now(write_csv(tmp_path / "secret.csv", member_rows(2)), team=other)
    client.force_login(make_organiser())
    assert "secret.csv" not in client.get(reverse("imports:imports")).content.decode()
    for name in ("imports:import", "imports:import_rejected"):
        assert client.get(reverse(name, args=[job.public_id])).status_code == 404


def test_adding_an_imports_contacts_to_another_teams_campaign_is_refused(client, tmp_path):
    organiser = make_organiser()
    job = import_now(write_csv(tmp_path / "a.csv", member_rows(2)))
    second = make_team("Second team")
    organiser.team_memberships.create(team=second)
    elsewhere = make_campaign(organiser, team=second)
    client.force_login(organiser)
    response = client.post(
        reverse("imports:import_targets", args=[job.public_id]),
        {"campaign": elsewhere.public_id, "which": "import"},
    )
    assert response.status_code == 400  # not one of this import's team's campaigns
    assert not elsewhere.targets.exists()


# -- how far a suppression reaches -------------------------------------------------------


def two_teams_calling_one_number():
    """Two teams' campaigns each with the same person (a contact of each team)."""
    ours = make_campaign(targets=0, name="Spring phone bank", **AT_ANY_HOUR)
    theirs = make_campaign(make_organiser(make_team("Union branch")), targets=0, **AT_ANY_HOUR)
    also_ours = make_campaign(organiser_of_team(ours), targets=0, name="Second", **AT_ANY_HOUR)
    phone = "+442079460555"
    for campaign in (ours, theirs, also_ours):
        contact = Contact.objects.filter(team=campaign.team, phone=phone).first()
        contact = contact or ContactFactory(team=campaign.team, phone=phone)
        call_targets.add_contacts(campaign, Contact.objects.filter(pk=contact.pk))
    return ours, also_ours, theirs, phone


def organiser_of_team(campaign):
    return campaign.team.members.first().user


def state(campaign, phone):
    return CallTarget.objects.get(campaign=campaign, phone=phone).state


def test_a_volunteers_do_not_call_suppresses_for_the_team_not_for_everyone():
    ours, also_ours, theirs, phone = two_teams_calling_one_number()
    volunteer = make_volunteer(ours)
    claim_and_record(ours, volunteer, "do_not_call", now=None)
    [entry] = Suppression.objects.filter(phone=phone)
    assert entry.team == ours.team and entry.campaign == ours
    assert entry.created_by == volunteer and entry.reason == Suppression.Reason.REQUESTED
    assert state(also_ours, phone) == CallTarget.State.SUPPRESSED
    assert state(theirs, phone) == CallTarget.State.READY
    other_volunteer = make_volunteer(theirs)
    assert rules.claim_next(theirs, other_volunteer).target.phone == phone


def test_an_organiser_reviews_and_undoes_a_volunteers_suppression(client):
    ours, also_ours, theirs, phone = two_teams_calling_one_number()
    claim_and_record(ours, make_volunteer(ours), "do_not_call", now=None)
    client.force_login(organiser_of_team(ours))
    page = client.get(reverse("contacts:suppressions")).content.decode()
    assert phone in page and "Do not call again" in page and ours.name in page
    response = client.post(
        reverse("contacts:unsuppress"), {"phone": phone, "scope": ours.team.public_id}
    )
    assert response.status_code == 302
    assert not Suppression.objects.exists()
    assert state(also_ours, phone) == CallTarget.State.READY


def test_another_teams_organiser_neither_sees_nor_lifts_a_teams_suppression(client):
    ours, also_ours, theirs, phone = two_teams_calling_one_number()
    claim_and_record(ours, make_volunteer(ours), "do_not_call", now=None)
    client.force_login(organiser_of_team(theirs))
    assert phone not in client.get(reverse("contacts:suppressions")).content.decode()
    for scope in (ours.team.public_id, theirs.team.public_id, "every-team"):
        client.post(reverse("contacts:unsuppress"), {"phone": phone, "scope": scope})
    assert Suppression.objects.filter(phone=phone, team=ours.team).exists()
    assert state(also_ours, phone) == CallTarget.State.SUPPRESSED


def test_an_objection_through_the_privacy_pages_applies_to_every_team():
    ours, also_ours, theirs, phone = two_teams_calling_one_number()
    privacy.object_to_contact(phone)
    assert Suppression.objects.get(phone=phone).team is None
    for campaign in (ours, also_ours, theirs):
        assert state(campaign, phone) == CallTarget.State.SUPPRESSED


def test_an_organiser_cannot_suppress_for_every_team_or_for_another_team(client):
    ours, also_ours, theirs, phone = two_teams_calling_one_number()
    client.force_login(organiser_of_team(ours))
    for scope in ("every-team", theirs.team.public_id):
        response = client.post(
            reverse("contacts:suppressions"),
            {"scope": scope, "phone": phone, "reason": "requested", "note": ""},
        )
        assert response.status_code == 200  # the form again, with the error
    assert not Suppression.objects.exists()
    assert state(theirs, phone) == CallTarget.State.READY


def test_a_teams_do_not_call_list_stops_only_its_own_campaigns(tmp_path):
    ours, also_ours, theirs, phone = two_teams_calling_one_number()
    path = write_csv(tmp_path / "dnc.csv", [["020 7946 0555"]], header=["Number"])
    job = import_now(path, kind="suppressions", team=ours.team)
    assert job.created == 1
    assert state(also_ours, phone) == CallTarget.State.SUPPRESSED
    assert state(theirs, phone) == CallTarget.State.READY
