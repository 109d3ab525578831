"""Attacks on the newer features: phone-bank sessions, the room, the live room, exports and
webhooks. Team A owns campaign A; team B's organisers and campaign B's volunteers attack it.

Each test is one attack. A test that fails shows a hole; the others guard the refusals."""

import pytest
from django.urls import reverse
from django.utils import timezone

from ringround.calling import rules
from ringround.calling.models import CallTarget, HelpRequest
from ringround.contacts.models import Suppression
from ringround.phonebanks.models import PhoneBankSession, SignUp
from ringround.reports.models import Export
from ringround.webhooks import payloads
from ringround.webhooks.models import Endpoint
from tests.factories import (
    ContactFactory,
    make_organiser,
    make_team,
    make_volunteer,
    open_campaign,
    organiser_of,
)
from tests.phonebanks.factories import make_session
from tests.reports.factories import done_export
from tests.webhooks.factories import make_endpoint, pending_delivery

pytestmark = pytest.mark.django_db


@pytest.fixture
def world():
    team_a, team_b = make_team("Team A"), make_team("Team B")
    org_a, org_b = make_organiser(team_a), make_organiser(team_b)
    camp_a, camp_b = open_campaign(org_a, targets=2), open_campaign(org_b, targets=2)
    return {
        "team_a": team_a,
        "team_b": team_b,
        "org_a": org_a,
        "org_b": org_b,
        "camp_a": camp_a,
        "camp_b": camp_b,
        "vol_a": make_volunteer(camp_a),
        "vol_b": make_volunteer(camp_b),
    }


# -- phone-bank sessions ---------------------------------------------------------------------


def test_other_teams_organiser_cannot_see_edit_or_cancel_a_session(client, world):
    session = make_session(world["camp_a"])
    client.force_login(world["org_b"])
    args = [world["camp_a"].public_id, session.public_id]
    assert client.get(reverse("phonebanks:sessions", args=args[:1])).status_code == 404
    assert client.get(reverse("phonebanks:session", args=args)).status_code == 404
    assert client.post(reverse("phonebanks:session_cancel", args=args)).status_code == 404
    session.refresh_from_db()
    assert session.cancelled_at is None


def test_session_id_of_another_campaign_in_own_campaigns_url(client, world):
    session = make_session(world["camp_a"])
    client.force_login(world["org_b"])
    args = [world["camp_b"].public_id, session.public_id]
    assert client.get(reverse("phonebanks:session", args=args)).status_code == 404
    assert client.post(reverse("phonebanks:session_cancel", args=args)).status_code == 404
    session.refresh_from_db()
    assert session.cancelled_at is None


def test_host_cannot_be_someone_of_another_team(client, world):
    client.force_login(world["org_b"])
    response = client.post(
        reverse("phonebanks:sessions", args=[world["camp_b"].public_id]),
        {
            "starts_at": "2031-03-04T18:30",
            "ends_at": "2031-03-04T20:30",
            "capacity": 5,
            "host": world["org_a"].pk,
            "time_zone": "Europe/London",
        },
    )
    assert response.status_code == 200  # the form again, with an error
    assert not PhoneBankSession.objects.filter(host=world["org_a"]).exists()


def test_volunteer_cannot_open_organiser_session_pages(client, world):
    session = make_session(world["camp_a"])
    client.force_login(world["vol_a"])
    args = [world["camp_a"].public_id, session.public_id]
    assert client.get(reverse("phonebanks:sessions", args=args[:1])).status_code == 403
    assert client.get(reverse("phonebanks:session", args=args)).status_code == 403
    assert client.post(reverse("phonebanks:session_cancel", args=args)).status_code == 403


def test_volunteer_cannot_sign_up_to_another_campaigns_session(client, world):
    session = make_session(world["camp_a"])
    client.force_login(world["vol_b"])
    for campaign in (world["camp_a"], world["camp_b"]):
        url = reverse("phonebanks:sign_up", args=[campaign.public_id, session.public_id])
        assert client.post(url).status_code == 404
    assert not SignUp.objects.filter(session=session).exists()


def test_volunteer_cannot_sign_up_or_cancel_someone_else(client, world):
    session = make_session(world["camp_a"])
    other = make_volunteer(world["camp_a"])
    url = reverse("phonebanks:sign_up", args=[world["camp_a"].public_id, session.public_id])
    client.force_login(world["vol_a"])
    client.post(url, {"user": other.pk, "user_id": other.pk, "email": other.email})
    assert list(SignUp.objects.filter(session=session).values_list("user", flat=True)) == [
        world["vol_a"].pk
    ]
    # other signs up; vol_a's cancel gives up only vol_a's own place
    client.force_login(other)
    client.post(url)
    client.force_login(world["vol_a"])
    cancel = reverse(
        "phonebanks:cancel_sign_up", args=[world["camp_a"].public_id, session.public_id]
    )
    client.post(cancel, {"user": other.pk})
    client.post(cancel, {"user": other.pk})
    assert SignUp.objects.get(session=session, user=other).cancelled_at is None
    session.refresh_from_db()
    assert session.signed_up == 1


def test_suspended_volunteer_cannot_sign_up(client, world):
    from ringround.campaigns.models import Membership

    session = make_session(world["camp_a"])
    Membership.objects.filter(user=world["vol_a"]).update(status=Membership.Status.SUSPENDED)
    client.force_login(world["vol_a"])
    client.post(reverse("phonebanks:sign_up", args=[world["camp_a"].public_id, session.public_id]))
    assert not SignUp.objects.filter(session=session).exists()


# -- the room --------------------------------------------------------------------------------


def test_volunteer_of_another_campaign_cannot_read_the_room_or_raise_a_hand(client, world):
    client.force_login(world["vol_b"])
    camp = world["camp_a"].public_id
    assert client.get(reverse("calling:room", args=[camp])).status_code == 404
    assert client.post(reverse("calling:help", args=[camp])).status_code == 404
    assert not HelpRequest.objects.filter(campaign=world["camp_a"]).exists()


def test_volunteer_cannot_use_room_controls(client, world):
    client.force_login(world["vol_a"])
    url = reverse("calling:room_controls", args=[world["camp_a"].public_id])
    assert client.post(url, {"action": "broadcast", "text": "Go home"}).status_code == 403
    assert client.get(url).status_code == 403


def test_other_teams_organiser_cannot_use_room_controls(client, world):
    client.force_login(world["org_b"])
    url = reverse("calling:room_controls", args=[world["camp_a"].public_id])
    assert client.post(url, {"action": "broadcast", "text": "Go home"}).status_code == 404
    assert client.get(url).status_code == 404
    assert client.get(reverse("reports:live", args=[world["camp_a"].public_id])).status_code == 404


def test_forged_help_id_of_another_campaign_is_not_answered(client, world):
    hand = HelpRequest.objects.create(campaign=world["camp_a"], volunteer=world["vol_a"])
    client.force_login(world["org_b"])
    url = reverse("calling:room_controls", args=[world["camp_b"].public_id])
    client.post(url, {"action": "answered", "help": str(hand.pk)})
    hand.refresh_from_db()
    assert hand.answered_at is None


def test_forged_volunteer_of_another_campaign_is_not_taken_back(client, world):
    lease = rules.claim_next(world["camp_a"], world["vol_a"], now=timezone.now())
    assert lease is not None
    client.force_login(world["org_b"])
    url = reverse("calling:room_controls", args=[world["camp_b"].public_id])
    client.post(url, {"action": "take_back", "volunteer": world["vol_a"].public_id})
    assert CallTarget.objects.filter(
        campaign=world["camp_a"], held_by=world["vol_a"], state=CallTarget.State.ASSIGNED
    ).exists()


def test_live_room_lists_only_this_campaigns_hands(client, world):
    HelpRequest.objects.create(campaign=world["camp_a"], volunteer=world["vol_a"])
    client.force_login(world["org_b"])
    page = client.get(reverse("reports:live", args=[world["camp_b"].public_id]))
    assert page.status_code == 200
    assert world["vol_a"].name not in page.content.decode()


# -- exports ---------------------------------------------------------------------------------


def test_export_of_another_campaign_is_not_found(client, world):
    job = done_export(world["camp_a"])
    client.force_login(world["org_b"])
    for campaign in (world["camp_a"], world["camp_b"]):
        args = [campaign.public_id, job.public_id]
        assert client.get(reverse("reports:export_status", args=args)).status_code == 404
        assert client.get(reverse("reports:export_download", args=args)).status_code == 404


def test_volunteer_cannot_export(client, world):
    job = done_export(world["camp_a"])
    client.force_login(world["vol_a"])
    camp = world["camp_a"].public_id
    assert (
        client.post(reverse("reports:exports", args=[camp]), {"kind": "calls"}).status_code == 403
    )
    url = reverse("reports:export_download", args=[camp, job.public_id])
    assert client.get(url).status_code == 403


def test_export_file_path_outside_the_exports_folder_is_not_served(client, world, tmp_path):
    job = done_export(world["camp_a"])
    Export.objects.filter(pk=job.pk).update(file_path="../../../etc/passwd")
    client.force_login(world["org_a"])
    url = reverse("reports:export_download", args=[world["camp_a"].public_id, job.public_id])
    assert client.get(url).status_code == 404


# -- webhooks --------------------------------------------------------------------------------


@pytest.fixture
def hooks(world, settings):
    settings.RINGROUND_WEBHOOKS_ALLOW_PRIVATE = True
    endpoint = make_endpoint(world["team_a"], "https://crm.example.org/ringround")
    delivery = pending_delivery(endpoint)
    return endpoint, delivery


def test_other_teams_organiser_cannot_reach_webhooks(client, world, hooks):
    endpoint, delivery = hooks
    client.force_login(world["org_b"])
    a, e, d = world["team_a"].public_id, endpoint.public_id, delivery.public_id
    assert client.get(reverse("webhooks:endpoints", args=[a])).status_code == 404
    assert client.get(reverse("webhooks:endpoint", args=[a, e])).status_code == 404
    assert client.post(reverse("webhooks:endpoint_secret", args=[a, e])).status_code == 404
    assert client.post(reverse("webhooks:endpoint_delete", args=[a, e])).status_code == 404
    assert client.get(reverse("webhooks:delivery", args=[a, e, d])).status_code == 404
    assert client.post(reverse("webhooks:delivery_replay", args=[a, e, d])).status_code == 404
    assert Endpoint.objects.filter(pk=endpoint.pk).exists()


def test_forged_endpoint_and_delivery_ids_under_own_team(client, world, hooks):
    endpoint, delivery = hooks
    own = make_endpoint(world["team_b"], "https://b.example.org/hook")
    client.force_login(world["org_b"])
    b = world["team_b"].public_id
    assert client.get(reverse("webhooks:endpoint", args=[b, endpoint.public_id])).status_code == 404
    assert (
        client.post(
            reverse("webhooks:endpoint", args=[b, endpoint.public_id]),
            {"url": "https://evil.example.org/", "events": ["ping"], "active": "on"},
        ).status_code
        == 404
    )
    assert (
        client.post(reverse("webhooks:endpoint_delete", args=[b, endpoint.public_id])).status_code
        == 404
    )
    # a delivery of team A's endpoint named under team B's own endpoint
    for view in ("webhooks:delivery", "webhooks:delivery_replay"):
        url = reverse(view, args=[b, own.public_id, delivery.public_id])
        assert client.post(url).status_code in (404, 405)
        assert client.get(url).status_code in (404, 405)
    endpoint.refresh_from_db()
    assert endpoint.url == "https://crm.example.org/ringround"


def test_volunteer_cannot_reach_webhooks(client, world, hooks):
    client.force_login(world["vol_a"])
    url = reverse("webhooks:endpoints", args=[world["team_a"].public_id])
    assert client.get(url).status_code == 403


def test_every_team_suppression_event_does_not_name_another_teams_campaign(world):
    """A do-not-call noted in team A's campaign is shared with every team (rightly), but the
    event sent to team B's endpoints must not carry team A's campaign id."""
    phone = "+442079460999"
    ContactFactory(team=world["team_a"], phone=phone, phone_as_typed=phone)
    ContactFactory(team=world["team_b"], phone=phone, phone_as_typed=phone)
    suppression = Suppression.objects.create(
        phone=phone, team=None, campaign=world["camp_a"], reason=Suppression.Reason.REQUESTED
    )
    items = dict(payloads.contact_suppressed(suppression.pk))
    assert world["team_b"].pk in items
    assert items[world["team_b"].pk]["campaign"] != world["camp_a"].public_id


def test_team_b_admin_cannot_reach_team_a_webhooks(client, world, hooks):
    endpoint, _ = hooks
    from ringround.accounts.models import TeamMember

    admin_b = make_organiser(world["team_b"], role=TeamMember.Role.ADMIN)
    client.force_login(admin_b)
    url = reverse("webhooks:endpoint", args=[world["team_a"].public_id, endpoint.public_id])
    assert client.get(url).status_code == 404


def test_organiser_of_campaign_sees_own_room(client, world):
    """Control: the refusals above are not just every page being broken."""
    client.force_login(organiser_of(world["camp_a"]))
    url = reverse("calling:room_controls", args=[world["camp_a"].public_id])
    assert client.get(url).status_code == 200
