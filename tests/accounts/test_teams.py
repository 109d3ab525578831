"""Teams and their people: a team admin invites, changes roles and removes, audited; an
organiser sees who has access and changes nothing; another team's people see nothing."""

import re

import pytest
from django.core import mail
from django.urls import reverse

from ringround.accounts import services
from ringround.accounts.models import Team, TeamMember, User
from ringround.audit.models import AuditEvent
from tests.factories import UserFactory, make_campaign, make_organiser, make_team, the_team

pytestmark = pytest.mark.django_db

ADMIN = TeamMember.Role.ADMIN
ORGANISER = TeamMember.Role.ORGANISER


@pytest.fixture
def team_admin(client):
    user = make_organiser(role=ADMIN)
    client.force_login(user)
    return user


def people_page(client, team=None):
    return client.get(reverse("accounts:team", args=[(team or the_team()).public_id]))


def test_the_people_page_shows_who_has_access_with_their_roles(client, team_admin):
    colleague = make_organiser(name="Cora Colleague")
    make_organiser(make_team(), name="Someone Elsewhere")
    page = people_page(client).content.decode()
    assert "Cora Colleague" in page and colleague.email in page and "Team admin" in page
    assert "Someone Elsewhere" not in page
    assert "Add someone" in page


def test_a_team_admin_invites_a_new_organiser_by_email_who_chooses_a_password(
    client, team_admin, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("accounts:team", args=[the_team().public_id]),
            {"email": "New.Person@Example.org", "name": "New Person", "role": ORGANISER},
        )
    assert response.status_code == 302
    user = User.objects.get(email="new.person@example.org")
    assert not user.has_usable_password()
    assert the_team().members.get(user=user).role == ORGANISER
    [message] = mail.outbox
    assert message.to == ["new.person@example.org"] and the_team().name in message.subject
    link = re.search(r"http://testserver(/accounts/reset/\S+)", message.body).group(1)
    client.logout()
    form = client.get(link, follow=True)
    assert form.status_code == 200 and "new_password1" in form.content.decode()
    done = client.post(
        form.redirect_chain[-1][0],
        {"new_password1": "a long new passphrase 42", "new_password2": "a long new passphrase 42"},
    )
    assert done.status_code == 302
    signed_in = client.post(
        reverse("accounts:login"),
        {"username": "new.person@example.org", "password": "a long new passphrase 42"},
    )
    assert signed_in.status_code == 302
    assert client.get(reverse("campaigns:list")).status_code == 200
    actions = set(AuditEvent.objects.values_list("action", flat=True))
    assert {"account.invited", "team.member_added"} <= actions


def test_inviting_an_existing_account_adds_it_without_a_new_password(
    client, team_admin, django_capture_on_commit_callbacks
):
    volunteer = UserFactory(email="vol@example.org")
    with django_capture_on_commit_callbacks(execute=True):
        client.post(
            reverse("accounts:team", args=[the_team().public_id]),
            {"email": "VOL@example.org", "name": "", "role": ADMIN},
        )
    assert the_team().members.get(user=volunteer).role == ADMIN
    volunteer.refresh_from_db()
    assert volunteer.check_password("correct horse battery")
    assert "/accounts/login/" in mail.outbox[0].body


def test_inviting_someone_already_in_the_team_says_so(client, team_admin):
    response = client.post(
        reverse("accounts:team", args=[the_team().public_id]),
        {"email": team_admin.email, "role": ORGANISER},
    )
    assert response.status_code == 400
    assert "already in" in response.content.decode()
    assert the_team().members.count() == 1


def test_a_team_admin_changes_a_role_and_removes_someone_after_confirming(client, team_admin):
    colleague = make_organiser()
    member = colleague.team_memberships.get()
    role_url = reverse("accounts:team_role", args=[the_team().public_id, member.pk])
    assert client.post(role_url, {"role": ADMIN}).status_code == 302
    member.refresh_from_db()
    assert member.role == ADMIN

    remove_url = reverse("accounts:team_remove", args=[the_team().public_id, member.pk])
    confirm = client.get(remove_url)
    assert confirm.status_code == 200 and "Remove from the team" in confirm.content.decode()
    assert TeamMember.objects.filter(pk=member.pk).exists(), "asking is not removing"
    assert client.post(remove_url).status_code == 302
    assert not TeamMember.objects.filter(pk=member.pk).exists()
    events = AuditEvent.objects.filter(object_id=the_team().public_id)
    assert {"team.role_changed", "team.member_removed"} <= set(
        events.values_list("action", flat=True)
    )


def test_someone_removed_from_the_team_loses_its_campaigns_at_once(client, team_admin):
    colleague = make_organiser()
    campaign = make_campaign(colleague)
    other_client = client.__class__()
    other_client.force_login(colleague)
    assert (
        other_client.get(reverse("campaigns:detail", args=[campaign.public_id])).status_code == 200
    )
    services.remove_team_member(colleague.team_memberships.get(), by=team_admin)
    colleague = User.objects.get(pk=colleague.pk)
    other_client.force_login(colleague)
    assert (
        other_client.get(reverse("campaigns:detail", args=[campaign.public_id])).status_code
        == 403  # an organiser of nothing now
    )
    assert other_client.get(reverse("campaigns:list")).status_code == 403


def test_the_last_team_admin_cannot_be_demoted_or_removed(team_admin):
    member = team_admin.team_memberships.get()
    with pytest.raises(services.TeamError, match="at least one team admin"):
        services.change_role(member, ORGANISER, by=team_admin)
    with pytest.raises(services.TeamError, match="at least one team admin"):
        services.remove_team_member(member, by=team_admin)
    assert TeamMember.objects.get(pk=member.pk).role == ADMIN


def test_an_organiser_sees_the_people_but_cannot_change_them(client):
    organiser = make_organiser()
    colleague = make_organiser()
    client.force_login(organiser)
    page = people_page(client).content.decode()
    assert colleague.email in page and "Add someone" not in page
    member = colleague.team_memberships.get()
    assert (
        client.post(
            reverse("accounts:team", args=[the_team().public_id]),
            {"email": "x@example.org", "role": ADMIN},
        ).status_code
        == 403
    )
    assert (
        client.post(
            reverse("accounts:team_role", args=[the_team().public_id, member.pk]),
            {"role": ADMIN},
        ).status_code
        == 403
    )
    assert (
        client.post(
            reverse("accounts:team_remove", args=[the_team().public_id, member.pk])
        ).status_code
        == 403
    )
    member.refresh_from_db()
    assert member.role == ORGANISER and not User.objects.filter(email="x@example.org").exists()


def test_another_teams_admin_cannot_see_or_touch_this_team(client):
    outsider = make_organiser(make_team(), role=ADMIN)
    victim = make_organiser()
    member = victim.team_memberships.get()
    client.force_login(outsider)
    assert people_page(client).status_code == 404
    for name in ("accounts:team_role", "accounts:team_remove"):
        url = reverse(name, args=[the_team().public_id, member.pk])
        assert client.post(url, {"role": ADMIN}).status_code == 404
    # Their own team's URL with this team's member id: not found either.
    url = reverse(
        "accounts:team_remove", args=[outsider.team_memberships.get().team.public_id, member.pk]
    )
    assert client.post(url).status_code == 404
    assert TeamMember.objects.filter(pk=member.pk, role=ORGANISER).exists()


def test_an_admin_creates_a_team_with_its_first_admin(client):
    admin = UserFactory(is_superuser=True, is_staff=True)
    future = UserFactory(email="lead@example.org")
    client.force_login(admin)
    response = client.post(
        reverse("accounts:teams"), {"name": "  Camden   Unison ", "first_admin": "lead@example.org"}
    )
    team = Team.objects.get(name="Camden Unison")
    assert response.status_code == 302
    assert team.members.get().user == future and team.members.get().role == ADMIN
    again = client.post(reverse("accounts:teams"), {"name": "camden unison"})
    assert again.status_code == 400 and "already a team" in again.content.decode()


def test_only_admins_create_teams(client, team_admin):
    client.post(reverse("accounts:teams"), {"name": "Breakaway"})
    assert not Team.objects.filter(name="Breakaway").exists()


def test_an_organiser_without_a_team_is_told_how_to_get_one(client):
    admin = UserFactory(is_superuser=True, is_staff=True)
    client.force_login(admin)
    response = client.get(reverse("campaigns:create"))
    assert response.status_code == 403 and "Create the first team" in response.content.decode()
