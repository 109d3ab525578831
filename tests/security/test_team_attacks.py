"""Attacks on one team's data (team A) by everyone who is not team A's admin: an organiser and
the team admin of another team (B), a plain organiser of A, a volunteer of one of A's
campaigns, and someone holding only an invite link.

Each test is one attack. A test that fails shows a hole; the others guard the refusals."""

import json
from dataclasses import dataclass

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from ringround.accounts.models import Team, TeamMember, User
from ringround.api import services as api_services
from ringround.calling import rules
from ringround.calling import targets as call_targets
from ringround.calling.models import CallTarget
from ringround.campaigns.models import Campaign, Membership
from ringround.contacts.forms import EVERY_TEAM
from ringround.contacts.models import Contact, Suppression
from ringround.imports import services as import_services
from ringround.imports.models import Import, SavedMapping
from tests.factories import (
    AT_ANY_HOUR,
    ContactFactory,
    claim_and_record,
    make_campaign,
    make_organiser,
    make_team,
    make_volunteer,
)
from tests.imports.conftest import csv_bytes, import_now, member_rows, write_csv

pytestmark = pytest.mark.django_db

SECRET_EMAIL = "a-secret-member@example.org"
SECRET_NAME = "Zebedee"


@pytest.fixture(autouse=True)
def _immediate_tasks(settings):
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}


@dataclass
class World:
    team_a: Team
    team_b: Team
    admin_a: object
    organiser_a: object
    admin_b: object
    organiser_b: object
    campaign_a: Campaign
    campaign_b: Campaign
    volunteer_a: object
    contact_a: Contact
    job_a: Import
    mapping_a: SavedMapping
    suppression_a: Suppression


@pytest.fixture
def world(tmp_path):
    team_a, team_b = make_team("Team A"), make_team("Team B")
    admin_a = make_organiser(team_a, role=TeamMember.Role.ADMIN, name="Alice Admin")
    organiser_a = make_organiser(team_a, name="Andy Organiser")
    admin_b = make_organiser(team_b, role=TeamMember.Role.ADMIN, name="Bella Admin")
    organiser_b = make_organiser(team_b, name="Ben Organiser")
    campaign_a = make_campaign(
        admin_a,
        name="A's secret ballot",
        brief="A's private brief",
        visible_fields=["first_name"],
        **AT_ANY_HOUR,
    )
    contact_a = ContactFactory(
        team=team_a, first_name=SECRET_NAME, email=SECRET_EMAIL, phone="+442079468888"
    )
    call_targets.add_contacts(campaign_a, Contact.objects.filter(pk=contact_a.pk))
    ContactFactory.create_batch(3, team=team_a, tags=",members,", area="Holborn")
    call_targets.add_contacts(campaign_a)
    campaign_b = make_campaign(admin_b, name="B's campaign", **AT_ANY_HOUR)
    volunteer_a = make_volunteer(campaign_a, name="Vera Volunteer")
    rows = member_rows(3) + [["M99999", "Reject", "Me", "", "not a number", "Holborn", "x"]]
    job_a = import_now(write_csv(tmp_path / "a-members.csv", rows), team=team_a, save_as="A map")
    mapping_a = SavedMapping.objects.get(team=team_a)
    suppression_a = call_targets.suppress_number("+442079469999", team=team_a, by=admin_a)
    return World(
        team_a,
        team_b,
        admin_a,
        organiser_a,
        admin_b,
        organiser_b,
        campaign_a,
        campaign_b,
        volunteer_a,
        contact_a,
        job_a,
        mapping_a,
        suppression_a,
    )


def login(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def token_client(user) -> Client:
    _, token = api_services.create_token(user, "attack")
    return Client(headers={"Authorization": f"Bearer {token}"})


def leaks(response, *secrets) -> list[str]:
    body = b"".join(response.streaming_content) if response.streaming else response.content
    text = body.decode(errors="replace")
    return [s for s in secrets if s in text]


CAMPAIGN_GETS = [
    "campaigns:detail",
    "campaigns:edit",
    "campaigns:script",
    "campaigns:survey",
    "campaigns:outcomes",
    "campaigns:invite",
    "reports:results",
    "reports:export_calls",
]
CAMPAIGN_POSTS = [
    ("campaigns:edit", {"name": "Hijacked", **{}}),
    ("campaigns:script", {"script": "Hijacked {{ email }}"}),
    ("campaigns:script_preview", {"script": "{{ first_name }}"}),
    ("campaigns:survey", {"text": "Hijacked?", "kind": "yes_no"}),
    ("campaigns:outcomes", {"label": "Hijack", "code": "hijack", "max_attempts": 1}),
    ("campaigns:invite", {"action": "regenerate"}),
    ("campaigns:status", {"status": "finished"}),
    ("campaigns:add_targets", {}),
]


# --- (a) an organiser of team B ------------------------------------------------------------


@pytest.mark.parametrize("name", CAMPAIGN_GETS)
def test_b_organiser_cannot_open_a_campaign_page_or_export(world, name):
    client = login(world.organiser_b)
    response = client.get(reverse(name, args=[world.campaign_a.public_id]))
    assert response.status_code == 404
    # The HTMX partial of the results is refused too.
    response = client.get(
        reverse("reports:results", args=[world.campaign_a.public_id]), HTTP_HX_REQUEST="true"
    )
    assert response.status_code == 404


@pytest.mark.parametrize(("name", "data"), CAMPAIGN_POSTS)
def test_b_organiser_cannot_change_a_campaign(world, name, data):
    client = login(world.organiser_b)
    before = Campaign.objects.get(pk=world.campaign_a.pk)
    response = client.post(reverse(name, args=[world.campaign_a.public_id]), data)
    assert response.status_code == 404
    after = Campaign.objects.get(pk=world.campaign_a.pk)
    assert (after.name, after.script, after.status, after.invite_token) == (
        before.name,
        before.script,
        before.status,
        before.invite_token,
    )
    assert not after.questions.exists()
    assert not after.outcomes.filter(code="hijack").exists()


def test_b_organiser_cannot_edit_a_question_outcome_or_suspend_a_volunteer(world):
    client = login(world.organiser_b)
    question = world.campaign_a.questions.create(text="Q", kind="yes_no")
    outcome = world.campaign_a.outcomes.get(code="no_answer")
    public = world.campaign_a.public_id
    assert (
        client.post(
            reverse("campaigns:question", args=[public, question.pk]), {"action": "delete"}
        ).status_code
        == 404
    )
    assert (
        client.post(
            reverse("campaigns:outcome", args=[public, outcome.pk]), {"action": "delete"}
        ).status_code
        == 404
    )
    response = client.post(
        reverse("campaigns:volunteer_status", args=[public, world.volunteer_a.public_id]),
        {"action": "suspend"},
    )
    assert response.status_code == 404
    assert world.campaign_a.questions.filter(pk=question.pk).exists()
    assert Membership.objects.get(user=world.volunteer_a).status == Membership.Status.ACTIVE
    # Nor a question of A's campaign through B's own campaign's URL.
    response = client.post(
        reverse("campaigns:question", args=[world.campaign_b.public_id, question.pk]),
        {"action": "delete"},
    )
    assert response.status_code == 404
    assert world.campaign_a.questions.filter(pk=question.pk).exists()


def test_b_organiser_does_not_see_a_campaigns_in_lists(world):
    client = login(world.organiser_b)
    for path in (reverse("campaigns:list"), reverse("imports:imports")):
        response = client.get(path)
        assert response.status_code == 200
        assert not leaks(response, world.campaign_a.name, world.campaign_a.public_id)


def test_b_organiser_cannot_create_a_campaign_for_team_a(world):
    client = login(world.organiser_b)
    response = client.post(
        reverse("campaigns:create"),
        {
            "team": world.team_a.public_id,
            "name": "Sneaky",
            "calling_start": "00:00",
            "calling_end": "23:59",
            "calling_days": list("0123456"),
            "lease_minutes": 10,
            "max_attempts": 3,
            "claims_per_hour": 1000,
            "visible_fields": ["first_name", "email", "phone"],
            "target_tags": "members",
        },
    )
    assert response.status_code == 200
    assert not world.team_a.campaigns.filter(name="Sneaky").exists()
    assert not Campaign.objects.filter(name="Sneaky").exists()


def test_b_campaign_targeting_as_tags_reaches_none_of_a_contacts(world):
    client = login(world.organiser_b)
    world.campaign_b.target_tags = "members"
    world.campaign_b.target_areas = "Holborn"
    world.campaign_b.save()
    client.post(reverse("campaigns:add_targets", args=[world.campaign_b.public_id]))
    assert not CallTarget.objects.filter(
        campaign=world.campaign_b, contact__team=world.team_a
    ).exists()


@pytest.mark.parametrize(
    "name", ["imports:import", "imports:import_progress", "imports:import_rejected"]
)
def test_b_organiser_cannot_read_a_import_preview_or_rejected_rows(world, name):
    client = login(world.organiser_b)
    response = client.get(reverse(name, args=[world.job_a.public_id]))
    assert response.status_code == 404
    assert not leaks(response, "not a number", "First0")


def test_b_organiser_cannot_resume_or_add_targets_from_a_import(world):
    client = login(world.organiser_b)
    public = world.job_a.public_id
    assert client.post(reverse("imports:import_resume", args=[public])).status_code == 404
    response = client.post(
        reverse("imports:import_targets", args=[public]),
        {"campaign": world.campaign_b.public_id, "which": "import"},
    )
    assert response.status_code == 404
    assert not world.campaign_b.targets.exists()


def test_b_organiser_cannot_use_a_saved_mapping_via_query_param(world, tmp_path):
    job_b = import_services.create_import(
        path=write_csv(
            tmp_path / "b.csv", member_rows(1), header=["X", "Y", "Z", "W", "V", "U", "T"]
        ),
        team=world.team_b,
        by=world.organiser_b,
    )
    before = list(job_b.mapping)
    client = login(world.organiser_b)
    response = client.get(
        reverse("imports:import", args=[job_b.public_id]), {"mapping": world.mapping_a.pk}
    )
    assert response.status_code == 200
    assert not leaks(response, "A map")
    job_b.refresh_from_db()
    assert job_b.mapping == before


def test_a_forged_mapping_query_param_does_not_crash_the_mapping_page(world, tmp_path):
    """``?mapping=`` is fed straight into ``pk=``: a non-number is a server error (500)."""
    job_b = import_services.create_import(
        path=write_csv(tmp_path / "b.csv", member_rows(1)), team=world.team_b, by=world.admin_b
    )
    client = login(world.organiser_b)
    client.raise_request_exception = False
    response = client.get(reverse("imports:import", args=[job_b.public_id]), {"mapping": "x"})
    assert response.status_code in (200, 400, 404)


def _upload(client, path, data, content=None):
    # A well-declared source, so that a refusal is for the team or campaign named.
    data = {"source_kind": "membership", "lawful_basis": "contract", "purpose": "Ballot", **data}
    data["file"] = SimpleUploadedFile(
        "list.csv", content or csv_bytes(member_rows(2)), content_type="text/csv"
    )
    return client.post(path, data)


def test_b_organiser_cannot_import_into_team_a_or_a_campaign(world):
    client = login(world.organiser_b)
    for data in (
        {"team": world.team_a.public_id, "default_country": "GB"},
        {"campaign": world.campaign_a.public_id, "default_country": "GB"},
        {
            "team": world.team_b.public_id,
            "campaign": world.campaign_a.public_id,
            "default_country": "GB",
        },
    ):
        response = _upload(client, reverse("imports:imports"), data)
        assert response.status_code == 400, data
    assert not Import.objects.filter(created_by=world.organiser_b).exists()


def test_b_organiser_adding_own_import_to_a_campaign_is_refused(world, tmp_path):
    job_b = import_now(write_csv(tmp_path / "b.csv", member_rows(2, 500)), team=world.team_b)
    client = login(world.organiser_b)
    for which, extra in (
        ("import", {}),
        ("tag", {"tag": "members"}),
        ("area", {"area": "Holborn"}),
    ):
        response = client.post(
            reverse("imports:import_targets", args=[job_b.public_id]),
            {"campaign": world.campaign_a.public_id, "which": which, **extra},
        )
        assert response.status_code in (400, 404)
    assert world.campaign_a.targets.count() == 4
    assert not world.campaign_a.targets.filter(contact__team=world.team_b).exists()


def test_b_organiser_does_not_see_or_lift_a_suppressions(world):
    client = login(world.organiser_b)
    response = client.get(reverse("contacts:suppressions"), {"q": "9999"})
    assert response.status_code == 200
    assert not leaks(response, "+442079469999", "Team A")
    for scope in (world.team_a.public_id, EVERY_TEAM, ""):
        client.post(reverse("contacts:unsuppress"), {"phone": "+442079469999", "scope": scope})
    assert Suppression.objects.filter(pk=world.suppression_a.pk).exists()


def test_b_organiser_cannot_suppress_for_team_a_or_every_team(world):
    client = login(world.organiser_b)
    phone = world.contact_a.phone
    for scope in (world.team_a.public_id, EVERY_TEAM):
        response = client.post(
            reverse("contacts:suppressions"),
            {"phone": phone, "scope": scope, "reason": "requested"},
        )
        assert response.status_code == 200
    assert not Suppression.objects.filter(phone=phone).exclude(team=world.team_b).exists()
    target = CallTarget.objects.get(campaign=world.campaign_a, contact=world.contact_a)
    assert target.state == CallTarget.State.READY


def test_b_organiser_suppression_import_for_a_or_every_team_is_refused(world):
    client = login(world.organiser_b)
    content = f"phone\r\n{world.contact_a.phone}\r\n".encode()
    for scope in (world.team_a.public_id, EVERY_TEAM):
        response = _upload(
            client,
            reverse("contacts:suppression_import"),
            {"scope": scope, "reason": "tps", "default_country": "GB"},
            content,
        )
        assert response.status_code == 400
    assert not Import.objects.filter(kind=Import.Kind.SUPPRESSIONS).exists()
    assert not Suppression.objects.filter(phone=world.contact_a.phone).exists()


def test_b_suppression_import_does_not_stop_a_targets(world):
    client = login(world.organiser_b)
    content = f"phone\r\n{world.contact_a.phone}\r\n".encode()
    response = _upload(
        client,
        reverse("contacts:suppression_import"),
        {"scope": world.team_b.public_id, "reason": "tps", "default_country": "GB"},
        content,
    )
    assert response.status_code == 302
    assert Suppression.objects.get(phone=world.contact_a.phone).team == world.team_b
    target = CallTarget.objects.get(campaign=world.campaign_a, contact=world.contact_a)
    assert target.state == CallTarget.State.READY
    # And A's volunteer is still handed that person.
    handed = set()
    for _ in range(4):
        lease = rules.claim_next(world.campaign_a, world.volunteer_a)
        if lease is None:
            break
        handed.add(lease.contact.pk)
        rules.release(world.campaign_a, world.volunteer_a)
        CallTarget.objects.filter(pk=lease.target.pk).update(priority=-1)
    assert world.contact_a.pk in handed


def test_b_volunteers_do_not_call_does_not_stop_a_targets(world, django_user_model):
    shared = world.contact_a.phone
    ContactFactory(team=world.team_b, phone=shared)
    call_targets.add_contacts(world.campaign_b)
    volunteer_b = make_volunteer(world.campaign_b)
    from django.utils import timezone

    claim_and_record(world.campaign_b, volunteer_b, "do_not_call", now=timezone.now())
    target = CallTarget.objects.get(campaign=world.campaign_a, contact=world.contact_a)
    assert target.state == CallTarget.State.READY
    assert not Suppression.objects.filter(phone=shared, team=None).exists()
    assert Suppression.objects.filter(phone=shared, team=world.team_b).exists()


def test_b_import_cannot_take_a_campaign_in_the_background(world, tmp_path):
    path = write_csv(tmp_path / "b.csv", member_rows(2, 700))
    with pytest.raises(ValueError):
        import_services.create_import(path=path, team=world.team_b, campaign=world.campaign_a)
    job = import_services.create_import(path=path, team=world.team_b)
    with pytest.raises(ValueError):
        import_services.set_mapping(job, job.mapping, campaign=world.campaign_a)
    with pytest.raises(ValueError):
        import_services.create_import(path=path, team=world.team_b, saved_mapping=world.mapping_a)


def test_b_import_with_a_numbers_does_not_touch_a_contacts(world, tmp_path):
    header = ["First name", "Telephone", "Email"]
    rows = [["Overwritten", world.contact_a.phone, "attacker@example.org"]]
    import_now(write_csv(tmp_path / "b.csv", rows, header=header), team=world.team_b)
    assert Contact.objects.filter(team=world.team_b, phone=world.contact_a.phone).exists()
    world.contact_a.refresh_from_db()
    assert (world.contact_a.first_name, world.contact_a.email) == (SECRET_NAME, SECRET_EMAIL)
    target = CallTarget.objects.get(campaign=world.campaign_a, contact=world.contact_a)
    assert target.phone == world.contact_a.phone


def test_b_organiser_team_pages_refuse_team_a(world):
    client = login(world.organiser_b)
    assert client.get(reverse("accounts:team", args=[world.team_a.public_id])).status_code == 404
    response = client.get(reverse("accounts:teams"))
    assert not leaks(response, "Team A", world.team_a.public_id)


@pytest.mark.parametrize(
    "path",
    ["/audit/", "/audit/export.csv", "/privacy/", "/admin/"],
)
def test_organisers_cannot_reach_admin_only_pages(world, path):
    for user in (world.organiser_b, world.admin_b, world.organiser_a):
        response = login(user).get(path)
        assert response.status_code in (302, 403), (user, path)
        assert not leaks(response, SECRET_EMAIL)


def test_organisers_cannot_use_privacy_actions(world):
    public = world.contact_a.public_id
    for user in (world.organiser_b, world.admin_b, world.organiser_a):
        client = login(user)
        assert client.post("/privacy/", {"query": SECRET_EMAIL}).status_code == 403
        assert client.post(f"/privacy/contacts/{public}/access/").status_code == 403
        assert (
            client.post(f"/privacy/contacts/{public}/erase/", {"confirm": "on"}).status_code == 403
        )
        assert client.post("/privacy/object/", {"phone": world.contact_a.phone}).status_code == 403
    world.contact_a.refresh_from_db()
    assert world.contact_a.email == SECRET_EMAIL


# --- the API, as B's organiser (token and session) --------------------------------------------


@pytest.mark.parametrize("as_token", [True, False])
def test_b_organiser_api_sees_nothing_of_a(world, as_token):
    client = token_client(world.organiser_b) if as_token else login(world.organiser_b)
    listed = client.get("/api/v1/campaigns").json()
    assert world.campaign_a.public_id not in {c["public_id"] for c in listed}
    base = f"/api/v1/campaigns/{world.campaign_a.public_id}"
    assert client.get(base).status_code == 404
    assert client.get(f"{base}/stats").status_code == 404
    headers = {}
    if not as_token:
        client = Client(enforce_csrf_checks=False)
        client.force_login(world.organiser_b)
    for action in ("claim", "release", "heartbeat"):
        response = client.post(f"{base}/{action}", "{}", content_type="application/json", **headers)
        assert response.status_code == 404, action
        assert not leaks(response, SECRET_NAME, SECRET_EMAIL)
    body = {"lease_token": "1.1.1.1.x", "outcome": "answered", "idempotency_key": "k"}
    response = client.post(f"{base}/outcomes", json.dumps(body), content_type="application/json")
    assert response.status_code == 404


def test_an_organiser_removed_from_a_loses_the_api_at_once(world):
    client = token_client(world.organiser_a)
    base = f"/api/v1/campaigns/{world.campaign_a.public_id}"
    assert client.get(f"{base}/stats").status_code == 200
    TeamMember.objects.filter(user=world.organiser_a).delete()
    assert client.get(f"{base}/stats").status_code == 404
    assert client.get(base).status_code == 404


# --- (b) an organiser (not admin) of team A -----------------------------------------------------


def test_a_organiser_cannot_promote_self_add_people_or_remove_the_admin(world):
    client = login(world.organiser_a)
    team = world.team_a.public_id
    own = TeamMember.objects.get(user=world.organiser_a)
    admin = TeamMember.objects.get(user=world.admin_a)
    assert (
        client.post(
            reverse("accounts:team_role", args=[team, own.pk]), {"role": "admin"}
        ).status_code
        == 403
    )
    assert (
        client.post(
            reverse("accounts:team_role", args=[team, admin.pk]), {"role": "organiser"}
        ).status_code
        == 403
    )
    assert client.get(reverse("accounts:team_remove", args=[team, admin.pk])).status_code == 403
    assert client.post(reverse("accounts:team_remove", args=[team, admin.pk])).status_code == 403
    response = client.post(
        reverse("accounts:team", args=[team]),
        {"email": "friend@example.org", "name": "Friend", "role": "admin"},
    )
    assert response.status_code == 403
    own.refresh_from_db()
    admin.refresh_from_db()
    assert own.role == "organiser" and admin.role == "admin"
    assert world.team_a.members.count() == 2


def test_a_organiser_cannot_create_teams(world):
    client = login(world.organiser_a)
    client.post(reverse("accounts:teams"), {"name": "Takeover", "first_admin": ""})
    assert not Team.objects.filter(name="Takeover").exists()


# --- (c) the team admin of team B ---------------------------------------------------------------


def test_b_admin_cannot_manage_team_a_people(world):
    client = login(world.admin_b)
    team_a = world.team_a.public_id
    team_b = world.team_b.public_id
    admin_a = TeamMember.objects.get(user=world.admin_a)
    organiser_a = TeamMember.objects.get(user=world.organiser_a)
    # A's page, and A's members through A's URLs.
    assert client.get(reverse("accounts:team", args=[team_a])).status_code == 404
    response = client.post(
        reverse("accounts:team", args=[team_a]),
        {"email": world.admin_b.email, "name": "", "role": "admin"},
    )
    assert response.status_code == 404
    for member in (admin_a, organiser_a):
        for team in (team_a, team_b):  # B's own URL with A's member id too
            response = client.post(
                reverse("accounts:team_role", args=[team, member.pk]), {"role": "admin"}
            )
            assert response.status_code == 404
            response = client.post(reverse("accounts:team_remove", args=[team, member.pk]))
            assert response.status_code == 404
    admin_a.refresh_from_db()
    organiser_a.refresh_from_db()
    assert (admin_a.role, organiser_a.role) == ("admin", "organiser")
    assert not TeamMember.objects.filter(team=world.team_a, user=world.admin_b).exists()


def test_b_admin_cannot_probe_an_email_for_its_owners_name_or_enrol_them(world):
    """Inviting an email that has an account adds that account to B at once, without its
    owner agreeing, and B's people page then shows the name it was registered with (and the
    message tells B whether the email has an account): B's admin can look up who is behind
    any email, e.g. A's volunteers and organisers."""
    client = login(world.admin_b)
    response = client.post(
        reverse("accounts:team", args=[world.team_b.public_id]),
        {"email": world.volunteer_a.email, "name": "", "role": "organiser"},
        follow=True,
    )
    assert not TeamMember.objects.filter(team=world.team_b, user=world.volunteer_a).exists()
    assert not leaks(response, "Vera Volunteer")


def test_b_admin_adding_a_admin_to_b_gives_b_nothing_of_a(world):
    """Inviting A's admin into B does not open A's data to B's people."""
    client = login(world.admin_b)
    client.post(
        reverse("accounts:team", args=[world.team_b.public_id]),
        {"email": world.admin_a.email, "name": "", "role": "organiser"},
    )
    organiser_b = login(world.organiser_b)
    assert (
        organiser_b.get(reverse("campaigns:detail", args=[world.campaign_a.public_id])).status_code
        == 404
    )
    assert TeamMember.objects.get(team=world.team_a, user=world.admin_a).role == "admin"


# --- (d) a volunteer of one of team A's campaigns ----------------------------------------------


def test_a_volunteer_cannot_reach_organiser_pages(world):
    client = login(world.volunteer_a)
    public = world.campaign_a.public_id
    for name in CAMPAIGN_GETS:
        assert client.get(reverse(name, args=[public])).status_code == 403, name
    for path in (
        reverse("campaigns:list"),
        reverse("imports:imports"),
        reverse("imports:import", args=[world.job_a.public_id]),
        reverse("imports:import_rejected", args=[world.job_a.public_id]),
        reverse("contacts:suppressions"),
        reverse("accounts:teams"),
        reverse("accounts:team", args=[world.team_a.public_id]),
    ):
        response = client.get(path)
        assert response.status_code == 403, path
        assert not leaks(response, SECRET_EMAIL, "not a number")
    response = client.post(
        reverse("campaigns:volunteer_status", args=[public, world.volunteer_a.public_id]),
        {"action": "reinstate"},
    )
    assert response.status_code == 403


def test_a_volunteer_api_gets_no_figures_and_no_other_campaign(world):
    other_a = make_campaign(world.admin_a, name="A's other campaign", **AT_ANY_HOUR)
    client = token_client(world.volunteer_a)
    listed = {c["public_id"]: c for c in client.get("/api/v1/campaigns").json()}
    assert set(listed) == {world.campaign_a.public_id}
    assert listed[world.campaign_a.public_id]["organiser"] is False
    base = f"/api/v1/campaigns/{world.campaign_a.public_id}"
    assert client.get(f"{base}/stats").status_code == 403
    assert client.get(f"/api/v1/campaigns/{other_a.public_id}").status_code == 404
    other = f"/api/v1/campaigns/{other_a.public_id}/claim"
    assert client.post(other, "{}", content_type="application/json").status_code == 404
    login_client = login(world.volunteer_a)
    assert login_client.get(reverse("calling:brief", args=[other_a.public_id])).status_code == 404


def test_a_volunteer_sees_only_the_fields_the_campaign_shows(world):
    client = token_client(world.volunteer_a)
    seen = []
    for _ in range(6):
        response = client.post(
            f"/api/v1/campaigns/{world.campaign_a.public_id}/claim",
            "{}",
            content_type="application/json",
        )
        if response.status_code != 200:
            break
        body = response.json()
        seen.append(body)
        assert set(body["contact"]["fields"]) <= {"first_name"}
        assert body["contact"]["phone"] == ""
        assert SECRET_EMAIL not in json.dumps(body)
        lease = body["lease_token"]
        client.post(
            f"/api/v1/campaigns/{world.campaign_a.public_id}/outcomes",
            json.dumps({"lease_token": lease, "outcome": "wrong_number", "idempotency_key": lease}),
            content_type="application/json",
        )
    assert seen


def test_a_volunteer_cannot_record_on_someone_elses_lease(world):
    other = make_volunteer(world.campaign_a)
    lease = rules.claim_next(world.campaign_a, other)
    client = token_client(world.volunteer_a)
    body = {"lease_token": lease.token, "outcome": "do_not_call", "idempotency_key": "steal"}
    response = client.post(
        f"/api/v1/campaigns/{world.campaign_a.public_id}/outcomes",
        json.dumps(body),
        content_type="application/json",
    )
    assert response.status_code in (400, 403, 409, 422)
    assert not world.campaign_a.calls.exists()
    assert not Suppression.objects.filter(phone=lease.target.phone).exists()


# --- (e) someone holding only an invite link ---------------------------------------------------


def test_an_invite_link_alone_shows_only_the_campaign_name(world):
    client = Client()
    response = client.get(reverse("accounts:join", args=[world.campaign_a.invite_token]))
    assert response.status_code == 200
    assert not leaks(response, "A's private brief", SECRET_NAME, SECRET_EMAIL, "Alice Admin")
    public = world.campaign_a.public_id
    for path in (
        reverse("campaigns:detail", args=[public]),
        reverse("reports:export_calls", args=[public]),
        reverse("calling:brief", args=[public]),
        reverse("imports:import_rejected", args=[world.job_a.public_id]),
    ):
        assert client.get(path).status_code == 302, path
    assert Client().get(f"/api/v1/campaigns/{public}").status_code == 401


def test_an_invite_link_makes_a_volunteer_not_an_organiser(world):
    client = Client()
    response = client.post(
        reverse("accounts:join", args=[world.campaign_a.invite_token]),
        {"name": "Eve", "email": "eve@example.org", "password": "a long unusual passphrase 42"},
    )
    assert response.status_code == 200 and b"Check your email" in response.content
    assert not TeamMember.objects.filter(user__email="eve@example.org").exists()
    client.force_login(User.objects.get(email="eve@example.org"))
    assert (
        client.get(reverse("campaigns:detail", args=[world.campaign_a.public_id])).status_code
        == 403
    )
    assert client.get(reverse("contacts:suppressions")).status_code == 403


def test_an_old_invite_link_stops_working_after_regeneration(world):
    old = world.campaign_a.invite_token
    login(world.admin_a).post(
        reverse("campaigns:invite", args=[world.campaign_a.public_id]), {"action": "regenerate"}
    )
    response = Client().get(reverse("accounts:join", args=[old]))
    assert response.status_code == 404
