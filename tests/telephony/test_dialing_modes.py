"""Preview waits for the volunteer's press; power dials the next person as soon as the card
shows them; predictive dials more lines than volunteers and gives each person who answers to a
free volunteer, never the same person to two; settings are refused where they cannot work."""

from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse

from ringround.calling import rules
from ringround.calling.models import Call, CallTarget
from ringround.telephony import dialer, services
from ringround.telephony.models import Leg
from tests.factories import make_volunteer, open_campaign, organiser_of
from tests.telephony.bridge import SITE, Behaviour, bridge_line, start_fake

pytestmark = pytest.mark.django_db


@pytest.fixture
def fake(monkeypatch, settings):
    fake = start_fake(monkeypatch, settings)
    yield fake
    fake.stop()


def _seated(fake, campaign, n):
    volunteers = []
    for i in range(n):
        volunteer = make_volunteer(campaign)
        phone = f"+4411349607{i:02d}"
        fake.behave(phone, Behaviour(answer="human", ring_seconds=1, talk_seconds=3600))
        services.join_line(campaign, volunteer, phone, base=SITE)
        volunteers.append(volunteer)
    fake.advance(1)
    return volunteers


def test_connected_calls_need_a_provider_line():
    campaign = open_campaign(targets=1)
    with pytest.raises(services.TelephonyError, match="no provider line"):
        services.set_dialing(campaign, connected=True, mode="preview")
    with pytest.raises(services.TelephonyError, match="need calls connected"):
        services.set_dialing(campaign, connected=False, mode="predictive")


def test_preview_dials_only_when_the_volunteer_presses_call(fake, client):
    campaign = open_campaign(targets=2)
    bridge_line(campaign.team, fake)
    services.set_dialing(campaign, connected=True, mode="preview")
    [volunteer] = _seated(fake, campaign, 1)
    client.force_login(volunteer)
    client.post(reverse("calling:start", args=[campaign.public_id]))
    client.get(reverse("calling:card", args=[campaign.public_id]))
    assert not Leg.objects.exists()


def test_power_dials_the_next_person_as_soon_as_the_card_shows_them(fake, client):
    campaign = open_campaign(targets=2)
    bridge_line(campaign.team, fake)
    services.set_dialing(campaign, connected=True, mode="power")
    for target in campaign.targets.all():
        fake.behave(target.phone, Behaviour(answer="busy", ring_seconds=3))
    [volunteer] = _seated(fake, campaign, 1)
    client.force_login(volunteer)
    client.post(reverse("calling:start", args=[campaign.public_id]), follow=True)
    first = rules.current_lease(campaign, volunteer)
    assert Leg.objects.filter(target=first.target).count() == 1
    client.get(reverse("calling:card", args=[campaign.public_id]))
    assert Leg.objects.filter(target=first.target).count() == 1  # once, not on every look
    fake.advance(30)
    assert Leg.objects.get(target=first.target).status == "busy"
    client.post(
        reverse("calling:record", args=[campaign.public_id]),
        {"lease_token": first.token, "outcome": "busy", "idempotency_key": "p1"},
        follow=True,
    )
    second = rules.current_lease(campaign, volunteer)
    assert second.target.pk != first.target.pk
    assert Leg.objects.filter(target=second.target).count() == 1


def test_predictive_gives_each_answered_person_to_one_free_volunteer(fake):
    campaign = open_campaign(targets=30)
    bridge_line(campaign.team, fake)
    services.set_dialing(campaign, connected=True, mode="predictive")
    volunteers = _seated(fake, campaign, 3)
    for target in campaign.targets.all():
        fake.behave(target.phone, Behaviour(answer="human", ring_seconds=2, talk_seconds=30))
    legs = dialer.tick(campaign, base=SITE)
    assert legs, "the dialer started no lines with three volunteers waiting"
    fake.advance(3)
    held = [rules.current_lease(campaign, v) for v in volunteers]
    handed = [lease.target.pk for lease in held if lease is not None]
    assert len(handed) == len(set(handed)) == min(len(legs), 3)
    for lease in held:
        if lease is not None:
            leg = Leg.objects.get(target=lease.target)
            assert leg.seat.volunteer == lease.target.held_by
    abandoned = Leg.objects.filter(abandoned=True)
    assert abandoned.count() == max(len(legs) - 3, 0)
    for leg in abandoned:
        assert leg.target.held_by is None
    assert CallTarget.objects.filter(state="assigned").count() == len(handed)


def test_predictive_lines_that_nobody_answers_are_stored_as_attempts(fake):
    campaign = open_campaign(targets=5)
    bridge_line(campaign.team, fake)
    services.set_dialing(campaign, connected=True, mode="predictive")
    _seated(fake, campaign, 2)
    for target in campaign.targets.all():
        fake.behave(target.phone, Behaviour(answer="no-answer"))
    legs = dialer.tick(campaign, base=SITE)
    fake.advance(60)
    for leg in legs:
        leg.refresh_from_db()
        assert leg.status == "no-answer"
        target = CallTarget.objects.get(pk=leg.target_id)
        assert target.state == "waiting" and target.attempts == 1
    assert Call.objects.filter(volunteer__isnull=True).count() == len(legs)


def test_the_dialing_page_shows_the_figures_and_refuses_a_forged_mode(fake, client):
    campaign = open_campaign(targets=1)
    bridge_line(campaign.team, fake)
    client.force_login(organiser_of(campaign))
    url = reverse("telephony:campaign_dialing", args=[campaign.public_id])
    page = client.get(url).content.decode()
    assert "Ofcom" in page and "cap 3 %" in page
    response = client.post(url, {"connected": "on", "mode": "turbo"})
    assert response.status_code == 200
    assert services.dialing_of(campaign).pk is None
    client.post(url, {"connected": "on", "mode": "power"})
    assert services.dialing_of(campaign).mode == "power"


def test_the_dialer_worker_dials_for_predictive_campaigns(fake, settings):
    campaign = open_campaign(targets=10)
    bridge_line(campaign.team, fake)
    services.set_dialing(campaign, connected=True, mode="predictive")
    _seated(fake, campaign, 2)
    out = StringIO()
    call_command("dialer", "--once", stdout=out)
    placed = Leg.objects.filter(campaign=campaign).count()
    assert placed >= 2 and f"{placed} lines dialed" in out.getvalue()
    settings.RINGROUND_SITE_URL = ""
    with pytest.raises(CommandError, match="RINGROUND_SITE_URL"):
        call_command("dialer", "--once")
