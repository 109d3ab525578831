"""Every URL and API endpoint, as every role, against one table of who may use it.

A route missing from the table fails the test, so a new page cannot ship unchecked."""

import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver

from ringround.accounts.models import TeamInvitation, TeamMember
from ringround.calling import rules
from ringround.campaigns import services as campaign_services
from tests.accounts.permission_table_extra import (
    ANYONE,
    ORGANISERS,
    ROLES,
    SIGNED_IN,
    THIS_CAMPAIGNS_ORGANISER,
    THIS_CAMPAIGNS_VOLUNTEER,
    THIS_TEAMS_ADMINS,
)
from tests.factories import (
    UserFactory,
    make_campaign,
    make_organiser,
    make_team,
    make_volunteer,
    open_campaign,
    organiser_of,
)
from tests.phonebanks.factories import phonebank_ids
from tests.reports.factories import export_ids
from tests.sharing.factories import sharing_ids
from tests.webhooks.factories import webhook_ids

pytestmark = pytest.mark.django_db


# route name: (method, who may use it)
MATRIX = {
    "home": ("get", SIGNED_IN),
    "healthz": ("get", ANYONE),
    "accounts:login": ("get", ANYONE),
    "accounts:logout": ("post", ANYONE),
    "accounts:join": ("get", ANYONE),
    "accounts:verify_email": ("get", ANYONE),
    "accounts:account": ("get", SIGNED_IN),
    "accounts:end_session": ("post", SIGNED_IN),
    "accounts:2fa_setup": ("get", SIGNED_IN),
    "accounts:2fa_verify": ("get", SIGNED_IN),
    "accounts:password_reset": ("get", ANYONE),
    "accounts:password_reset_done": ("get", ANYONE),
    "accounts:password_reset_confirm": ("get", ANYONE),
    "accounts:password_reset_complete": ("get", ANYONE),
    "accounts:teams": ("get", ORGANISERS),
    "accounts:team": ("get", THIS_CAMPAIGNS_ORGANISER),
    "accounts:team_role": ("post", THIS_TEAMS_ADMINS),
    "accounts:team_remove": ("get", THIS_TEAMS_ADMINS),
    "accounts:team_invitation_cancel": ("post", THIS_TEAMS_ADMINS),
    # A link that names no invitation (here: a campaign's invite token) is nobody's.
    "accounts:invitation": ("get", set()),
    "campaigns:list": ("get", ORGANISERS),
    "campaigns:create": ("get", ORGANISERS),
    "campaigns:detail": ("get", THIS_CAMPAIGNS_ORGANISER),
    "campaigns:edit": ("get", THIS_CAMPAIGNS_ORGANISER),
    "campaigns:script": ("get", THIS_CAMPAIGNS_ORGANISER),
    "campaigns:script_preview": ("post", THIS_CAMPAIGNS_ORGANISER),
    "campaigns:survey": ("get", THIS_CAMPAIGNS_ORGANISER),
    "campaigns:question": ("get", THIS_CAMPAIGNS_ORGANISER),
    "campaigns:outcomes": ("get", THIS_CAMPAIGNS_ORGANISER),
    "campaigns:outcome": ("get", THIS_CAMPAIGNS_ORGANISER),
    "campaigns:invite": ("get", THIS_CAMPAIGNS_ORGANISER),
    "campaigns:volunteer_status": ("post", THIS_CAMPAIGNS_ORGANISER),
    "campaigns:suspend_volunteers": ("post", THIS_CAMPAIGNS_ORGANISER),
    "campaigns:status": ("post", THIS_CAMPAIGNS_ORGANISER),
    "campaigns:add_targets": ("post", THIS_CAMPAIGNS_ORGANISER),
    "reports:results": ("get", THIS_CAMPAIGNS_ORGANISER),
    "reports:live": ("get", THIS_CAMPAIGNS_ORGANISER),
    "reports:answers": ("get", THIS_CAMPAIGNS_ORGANISER),
    "reports:export_calls": ("get", THIS_CAMPAIGNS_ORGANISER),
    "reports:exports": ("get", THIS_CAMPAIGNS_ORGANISER),
    "reports:export_status": ("get", THIS_CAMPAIGNS_ORGANISER),
    "reports:export_download": ("get", THIS_CAMPAIGNS_ORGANISER),
    "contacts:suppressions": ("get", ORGANISERS),
    "contacts:unsuppress": ("post", ORGANISERS),
    "calling:my_campaigns": ("get", SIGNED_IN),
    "calling:brief": ("get", THIS_CAMPAIGNS_VOLUNTEER),
    "calling:start": ("post", THIS_CAMPAIGNS_VOLUNTEER),
    "calling:card": ("get", THIS_CAMPAIGNS_VOLUNTEER),
    "calling:record": ("post", THIS_CAMPAIGNS_VOLUNTEER),
    "calling:next": ("post", THIS_CAMPAIGNS_VOLUNTEER),
    "calling:heartbeat": ("post", THIS_CAMPAIGNS_VOLUNTEER),
    "calling:stop": ("post", THIS_CAMPAIGNS_VOLUNTEER),
    "calling:summary": ("get", THIS_CAMPAIGNS_VOLUNTEER),
    "calling:practise": ("get", THIS_CAMPAIGNS_VOLUNTEER),
    "calling:practise_save": ("post", THIS_CAMPAIGNS_VOLUNTEER),
    "calling:room": ("get", THIS_CAMPAIGNS_VOLUNTEER),
    "calling:help": ("post", THIS_CAMPAIGNS_VOLUNTEER),
    "calling:room_controls": ("get", THIS_CAMPAIGNS_ORGANISER),
    "phonebanks:sessions": ("get", THIS_CAMPAIGNS_ORGANISER),
    "phonebanks:session": ("get", THIS_CAMPAIGNS_ORGANISER),
    "phonebanks:session_cancel": ("post", THIS_CAMPAIGNS_ORGANISER),
    "phonebanks:sign_up": ("post", THIS_CAMPAIGNS_VOLUNTEER),
    "phonebanks:cancel_sign_up": ("post", THIS_CAMPAIGNS_VOLUNTEER),
}


def routes(patterns=None, prefix="", namespace=None):
    for pattern in get_resolver().url_patterns if patterns is None else patterns:
        if isinstance(pattern, URLResolver):
            inner = pattern.namespace or namespace
            if pattern.namespace and namespace:
                inner = f"{namespace}:{pattern.namespace}"
            yield from routes(pattern.url_patterns, prefix + str(pattern.pattern), inner)
        elif isinstance(pattern, URLPattern) and pattern.name:
            yield (f"{namespace}:{pattern.name}" if namespace else pattern.name), pattern


def checked_routes():
    return sorted(
        name
        for name, _ in routes()
        if not name.startswith("admin:") and name != "api-v1:api-root"  # ninja's own 404 root
    )


def test_every_route_is_in_the_table():
    from tests.accounts import permission_table_extra

    known = set(MATRIX) | set(permission_table_extra.MATRIX)
    missing = [name for name in checked_routes() if name not in known]
    assert missing == [], f"add these routes to the permission table: {missing}"


@pytest.fixture
def world():
    organiser = make_organiser()
    campaign = open_campaign(organiser, targets=2)
    question = campaign_services.add_question(campaign, text="Vote?", kind="yes_no")
    volunteer = make_volunteer(campaign)
    rules.claim_next(campaign, volunteer)
    other = make_campaign(make_organiser(make_team()), targets=1)
    team_admin = make_organiser(campaign.team, role=TeamMember.Role.ADMIN)
    people = {
        "stranger": None,
        "volunteer": volunteer,
        "other_volunteer": make_volunteer(other),
        "organiser": organiser,
        "team_admin": team_admin,
        "other_team_organiser": organiser_of(other),
        "admin": UserFactory(is_superuser=True, is_staff=True),
    }
    contact = campaign.targets.first().contact
    from ringround.imports.models import Import

    upload = Import.objects.create(
        team=campaign.team,
        created_by=organiser,
        campaign=campaign,
        file_path="/nonexistent.csv",
        original_name="members.csv",
        file_format="csv",
    )
    values = {
        "import_id": upload.public_id,
        "public_id": campaign.public_id,
        "token": campaign.invite_token,
        "question_id": question.pk,
        "outcome_id": campaign.outcomes.first().pk,
        "user_public_id": volunteer.public_id,
        "session_id": 1,
        "uidb64": "MQ",
        "contact_public_id": contact.public_id,
        "team_id": campaign.team.public_id,
        "member_id": organiser.team_memberships.get().pk,
        "invitation_id": TeamInvitation.objects.create(
            team=campaign.team, email="x@example.org"
        ).pk,
        "verify_token": campaign_services.verification_token(campaign, volunteer),
        **webhook_ids(campaign.team),
        **phonebank_ids(campaign),
        **export_ids(campaign),
        **sharing_ids(campaign, volunteer),
    }
    return {"people": people, "values": values, "contact": contact}


def url_for(name, pattern, values, contact):
    from django.urls import reverse

    kwargs = {}
    for key in pattern.pattern.converters:
        kwargs[key] = values[key]
    if name.startswith("privacy:") and "public_id" in kwargs:
        kwargs["public_id"] = contact.public_id
    if name == "accounts:password_reset_confirm":
        kwargs["token"] = "set-password"
    if name == "accounts:verify_email":
        kwargs["token"] = values["verify_token"]
    return reverse(name, kwargs=kwargs)


def is_denied(response) -> bool:
    if response.status_code in (401, 403, 404):
        return True
    return response.status_code == 302 and "/accounts/login/?next=" in response.get("Location", "")


def table():
    from tests.accounts import permission_table_extra

    return {**MATRIX, **permission_table_extra.MATRIX}


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("name", checked_routes())
def test_route_allows_exactly_the_roles_in_the_table(world, name, role):
    method, allowed = table()[name]
    pattern = dict(routes())[name]
    client = Client()
    person = world["people"][role]
    if person is not None:
        client.force_login(person)
    url = url_for(name, pattern, world["values"], world["contact"])
    if name.startswith("api-v1:") and method == "post":
        body = {"lease_token": "forged", "outcome": "answered", "idempotency_key": "k1"}
        response = client.post(url, body, content_type="application/json")
    else:
        response = getattr(client, method)(url)
    assert response.status_code < 500, (name, role, response.status_code)
    if role in allowed:
        assert not is_denied(response), f"{role} should be allowed {name} ({response.status_code})"
    else:
        assert is_denied(response), f"{role} should be refused {name} ({response.status_code})"


@pytest.mark.parametrize("role", ["volunteer", "organiser"])
def test_django_admin_is_for_staff_only(world, role):
    client = Client()
    client.force_login(world["people"][role])
    response = client.get("/admin/")
    assert response.status_code == 302 and "/admin/login/" in response["Location"]


def test_public_ids_in_urls_are_random_not_sequential(world):
    from ringround.campaigns.models import Campaign

    ids = list(Campaign.objects.values_list("public_id", flat=True))
    assert all(len(i) >= 12 and not i.isdigit() for i in ids)
    assert len(set(ids)) == len(ids)
