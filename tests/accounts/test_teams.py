"""Teams and their people: a team admin invites, changes roles and removes, audited; an
organiser sees who has access and changes nothing; another team's people see nothing."""

import re

import pytest
from django.core import mail
from django.urls import reverse

from ringround.accounts import services
from ringround.accounts.models import Team, TeamInvitation, TeamMember, User
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


def invite(client, email, role=ORGANISER, team=None):
    return client.post(
        reverse("accounts:team", args=[(team or the_team()).public_id]),
        {"email": email, "role": role},
    )


def invitation_link(message) -> str:
    return re.search(r"http://testserver(/accounts/invitations/\S+/)", message.body).group(1)


def test_a_team_admin_invites_a_new_organiser_who_makes_an_account_from_the_link(
    client, team_admin, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = invite(client, "New.Person@Example.org")
    assert response.status_code == 302
    assert not User.objects.filter(email="new.person@example.org").exists(), "not until accepted"
    page = people_page(client).content.decode()
    assert "new.person@example.org" in page and "Invited, not yet joined" in page
    [message] = mail.outbox
    assert message.to == ["new.person@example.org"] and the_team().name in message.subject
    link = invitation_link(message)
    client.logout()
    form = client.get(link)
    assert form.status_code == 200 and "Create my account and join" in form.content.decode()
    weak = client.post(link, {"name": "New Person", "password": "short"})
    assert weak.status_code == 400 and not User.objects.filter(email="new.person@example.org")
    done = client.post(link, {"name": "New Person", "password": "a long new passphrase 42"})
    assert done.status_code == 302
    user = User.objects.get(email="new.person@example.org")
    assert user.name == "New Person" and the_team().members.get(user=user).role == ORGANISER
    assert client.get(reverse("campaigns:list")).status_code == 200
    assert client.get(link).status_code == 404, "an invitation is used once"
    actions = set(AuditEvent.objects.values_list("action", flat=True))
    assert {"team.invited", "team.invitation_accepted", "team.member_added"} <= actions


def test_an_existing_account_joins_only_when_its_owner_accepts(
    client, team_admin, django_capture_on_commit_callbacks
):
    volunteer = UserFactory(email="vol@example.org", name="Vera Volunteer")
    with django_capture_on_commit_callbacks(execute=True):
        response = invite(client, "VOL@example.org", role=ADMIN)
    page = client.get(response["Location"]).content.decode()
    assert "Vera Volunteer" not in page, "the admin learns nothing of whose address it is"
    assert not the_team().members.filter(user=volunteer).exists()
    link = invitation_link(mail.outbox[0])
    client.logout()
    assert "Sign in as vol@example.org" in client.get(link).content.decode()
    client.force_login(volunteer)
    assert client.post(link).status_code == 302
    assert the_team().members.get(user=volunteer).role == ADMIN
    volunteer.refresh_from_db()
    assert volunteer.check_password("correct horse battery")


def test_the_invitation_message_is_the_same_whether_or_not_the_address_has_an_account(
    client, team_admin
):
    UserFactory(email="known@example.org")
    known = client.get(invite(client, "known@example.org")["Location"]).content.decode()
    unknown = client.get(invite(client, "unknown@example.org")["Location"]).content.decode()

    def said(page, email):
        return re.search(r"Invitation sent to [^<]*", page).group(0).replace(email, "EMAIL")

    assert said(known, "known@example.org") == said(unknown, "unknown@example.org")


def test_an_invitation_cannot_be_accepted_by_another_account(client, team_admin):
    invitation = services.invite_organiser(
        the_team(), email="meant@example.org", role=ADMIN, by=team_admin
    )
    intruder = UserFactory(email="intruder@example.org")
    client.force_login(intruder)
    link = reverse("accounts:invitation", args=[invitation.token])
    assert client.post(link).status_code == 403
    assert not the_team().members.filter(user=intruder).exists()


def test_an_expired_or_cancelled_invitation_does_nothing(client, team_admin):
    invitation = services.invite_organiser(
        the_team(), email="late@example.org", role=ORGANISER, by=team_admin
    )
    link = reverse("accounts:invitation", args=[invitation.token])
    TeamInvitation.objects.filter(pk=invitation.pk).update(
        created_at=invitation.created_at - TeamInvitation.VALID_FOR
    )
    assert client.get(link).status_code == 404
    again = services.invite_organiser(
        the_team(), email="late@example.org", role=ORGANISER, by=team_admin
    )
    assert client.get(link).status_code == 404, "the old link stays dead"
    cancel = reverse("accounts:team_invitation_cancel", args=[the_team().public_id, again.pk])
    assert client.post(cancel).status_code == 302
    assert client.get(reverse("accounts:invitation", args=[again.token])).status_code == 404


def test_inviting_someone_already_in_the_team_says_so(client, team_admin):
    response = invite(client, team_admin.email)
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
