"""Connected calls, tried by people the suite does not otherwise play: a volunteer who wants the
line to ring numbers at the campaign's cost, or to reach someone else's contact; an organiser of
another team; a team organiser who is not its admin; a team admin pointing the provider address
at this machine."""

import pytest
from django.urls import reverse

from ringround.accounts.models import TeamMember
from ringround.calling import rules
from ringround.campaigns.models import Membership
from ringround.telephony import services
from ringround.telephony.models import Leg, Line, Seat
from tests.factories import make_organiser, make_team, make_volunteer, open_campaign, organiser_of
from tests.telephony.bridge import SITE, Behaviour, bridge_line, start_fake

pytestmark = pytest.mark.django_db


@pytest.fixture
def fake(monkeypatch, settings):
    fake = start_fake(monkeypatch, settings)
    yield fake
    fake.stop()


@pytest.fixture
def bridged(fake):
    campaign = open_campaign(targets=3)
    bridge_line(campaign.team, fake)
    services.set_dialing(campaign, connected=True, mode="preview")
    return campaign


@pytest.mark.parametrize(
    "number, problem",
    [
        ("09098 790000", "mobile or landline"),  # premium rate
        ("0871 984 6000", "mobile or landline"),  # shared cost
        ("+1 415 555 2671", "own country"),  # abroad, at the campaign's cost
        ("999", "not a phone number"),
        ("0113 496 0555; DROP TABLE", "not a phone number"),
    ],
)
def test_the_line_rings_only_a_volunteers_own_kind_of_number(bridged, number, problem):
    volunteer = make_volunteer(bridged)
    with pytest.raises(services.TelephonyError, match=problem):
        services.join_line(bridged, volunteer, number, base=SITE)
    assert not Seat.objects.exists()


def test_the_line_cannot_be_made_to_ring_a_phone_over_and_over(bridged, settings):
    settings.RINGROUND_LINE_RINGS_PER_HOUR = 3
    volunteer = make_volunteer(bridged)
    for _ in range(3):
        seat = services.join_line(bridged, volunteer, "0113 496 0555", base=SITE)
        services.leave_line(seat)
    with pytest.raises(services.TelephonyError, match="many times this hour"):
        services.join_line(bridged, volunteer, "0113 496 0555", base=SITE)


@pytest.mark.parametrize(
    "status", [Membership.Status.SUSPENDED, Membership.Status.PENDING_APPROVAL]
)
def test_a_volunteer_who_may_not_call_cannot_ring_the_line(bridged, status):
    volunteer = make_volunteer(bridged)
    Membership.objects.filter(user=volunteer).update(status=status)
    with pytest.raises(services.TelephonyError):
        services.join_line(bridged, volunteer, "0113 496 0555", base=SITE)
    assert not Seat.objects.exists()


def test_a_volunteer_cannot_dial_someone_elses_contact(fake, bridged, client):
    mallory, victim = make_volunteer(bridged), make_volunteer(bridged)
    fake.behave("+441134960555", Behaviour(answer="human", ring_seconds=1, talk_seconds=None))
    services.join_line(bridged, mallory, "0113 496 0555", base=SITE)
    fake.advance(1)
    theirs = rules.claim_next(bridged, victim)
    rules.claim_next(bridged, mallory)
    client.force_login(mallory)
    client.post(reverse("telephony:dial", args=[bridged.public_id]), {"lease_token": theirs.token})
    assert not Leg.objects.filter(target=theirs.target).exists()
    assert theirs.contact.phone not in str(fake.requests)


def test_a_volunteer_of_another_campaign_reaches_nothing(fake, bridged, client):
    other = open_campaign(targets=1)
    outsider = make_volunteer(other)
    client.force_login(outsider)
    for name in ("telephony:join", "telephony:dial", "telephony:hang_up", "telephony:leave"):
        response = client.post(reverse(name, args=[bridged.public_id]), {"phone": "0113 496 0555"})
        assert response.status_code == 404, name
    assert client.get(reverse("telephony:line_status", args=[bridged.public_id])).status_code == 404
    assert not Seat.objects.exists()


def test_an_organiser_of_another_team_cannot_read_or_change_the_line(fake, bridged, client):
    client.force_login(make_organiser(make_team("Elsewhere")))
    url = reverse("telephony:team_line", args=[bridged.team.public_id])
    assert client.get(url).status_code == 404
    response = client.post(url, {"provider": "own_phone", "ring_seconds": 30})
    assert response.status_code == 404
    assert Line.objects.get(team=bridged.team).bridges
    dialing = reverse("telephony:campaign_dialing", args=[bridged.public_id])
    assert client.post(dialing, {"mode": "preview"}).status_code == 404
    assert services.dialing_of(bridged).connected


def test_only_a_team_admin_changes_the_line(fake, bridged, client):
    client.force_login(organiser_of(bridged))
    url = reverse("telephony:team_line", args=[bridged.team.public_id])
    assert client.get(url).status_code == 200
    assert client.post(url, {"provider": "own_phone", "ring_seconds": 30}).status_code == 403
    assert Line.objects.get(team=bridged.team).bridges
    client.force_login(make_organiser(bridged.team, role=TeamMember.Role.ADMIN))
    response = client.post(url, {"provider": "own_phone", "ring_seconds": 30})
    assert response.status_code == 302
    assert not Line.objects.get(team=bridged.team).bridges


@pytest.mark.parametrize(
    "address",
    [
        "http://127.0.0.1:6379",
        "https://127.0.0.1",
        "https://10.0.0.8/api",
        "https://localhost",
        "ftp://x.example",
    ],
)
def test_the_provider_address_cannot_point_at_this_machine(bridged, settings, monkeypatch, address):
    settings.RINGROUND_TELEPHONY_ALLOW_PRIVATE = False
    monkeypatch.setenv("RINGROUND_ELSEWHERE_TOKEN", "x")
    with pytest.raises(services.TelephonyError):
        services.configure_line(
            bridged.team,
            provider="bridge",
            caller_id="+442079460999",
            base_url=address,
            account_sid="AC" + "2" * 32,
            token_variable="RINGROUND_ELSEWHERE_TOKEN",
        )
    assert Line.objects.get(team=bridged.team).base_url.startswith("http://127.0.0.1")


def test_the_token_is_never_stored_nor_shown(fake, bridged, client):
    line = Line.objects.get(team=bridged.team)
    assert fake.auth_token not in str(Line.objects.filter(pk=line.pk).values().get())
    client.force_login(make_organiser(bridged.team, role=TeamMember.Role.ADMIN))
    page = client.get(reverse("telephony:team_line", args=[bridged.team.public_id]))
    assert fake.auth_token not in page.content.decode()
