"""Someone rings the caller ID back: they hear who called and why; pressing 1 suppresses their
number at once (audited); 2 puts them through to a volunteer on the line; otherwise they leave
a message, which organisers of the team (and nobody else) see beside the contact's name."""

import pytest
from django.urls import reverse

from ringround.audit.models import AuditEvent
from ringround.calling import rules
from ringround.contacts.models import Suppression
from ringround.telephony import services
from ringround.telephony.models import InboundCall
from tests.factories import make_organiser, make_team, make_volunteer, open_campaign, organiser_of
from tests.telephony.bridge import CALLER_ID, SITE, Behaviour, bridge_line, start_fake

pytestmark = pytest.mark.django_db


@pytest.fixture
def fake(monkeypatch, settings):
    fake = start_fake(monkeypatch, settings)
    yield fake
    fake.stop()


@pytest.fixture
def line(fake):
    campaign = open_campaign(targets=2)
    line = bridge_line(campaign.team, fake)
    services.set_dialing(campaign, connected=True, mode="preview")
    fake.set_incoming(CALLER_ID, SITE + reverse("telephony:inbound", args=[line.public_id]))
    return campaign, line


def test_pressing_1_suppresses_the_number_at_once(fake, line):
    campaign, _line = line
    target = campaign.targets.first()
    sid = fake.ring_in(target.phone, CALLER_ID)
    fake.advance(1)
    fake.press(sid, "1")
    fake.advance(5)
    assert Suppression.objects.filter(phone=target.phone, team=campaign.team).exists()
    target.refresh_from_db()
    assert target.state == "suppressed"
    inbound = InboundCall.objects.get(call_sid=sid)
    assert inbound.outcome == "opted_out" and inbound.contact_id == target.contact_id
    assert AuditEvent.objects.filter(action="telephony.opted_out_by_phone").exists()
    call = next(c for c in fake.calls if c.sid == sid)
    spoken = " ".join(text for _, text in call.said)
    assert "Riverside Labour" in spoken and "not call this number again" in spoken
    # Nobody in the campaign is handed the number afterwards.
    volunteer = make_volunteer(campaign)
    lease = rules.claim_next(campaign, volunteer)
    assert lease is None or lease.target.pk != target.pk


def test_pressing_2_puts_them_through_to_a_volunteer_on_the_line(fake, line):
    campaign, _line = line
    volunteer = make_volunteer(campaign)
    fake.behave("+441134960560", Behaviour(answer="human", ring_seconds=1, talk_seconds=3600))
    seat = services.join_line(campaign, volunteer, "+441134960560", base=SITE)
    fake.advance(1)
    sid = fake.ring_in("+442079460123", CALLER_ID)
    fake.advance(1)
    fake.press(sid, "2")
    fake.advance(5)
    seat.refresh_from_db()
    assert sid in fake.conference_members(seat.room)
    assert InboundCall.objects.get(call_sid=sid).outcome == "put_through"


def test_a_message_is_kept_and_shown_to_the_teams_organisers_only(fake, line, client):
    campaign, the_line = line
    target = campaign.targets.first()
    sid = fake.ring_in(target.phone, CALLER_ID)
    fake.advance(30)  # no key pressed: the message
    fake.hang_up(sid)
    fake.advance(1)
    inbound = InboundCall.objects.get(call_sid=sid)
    assert inbound.outcome == "message"
    page_url = reverse("telephony:team_line", args=[campaign.team.public_id])
    client.force_login(organiser_of(campaign))
    page = client.get(page_url).content.decode()
    assert target.contact.first_name in page and "Left a message" in page
    assert AuditEvent.objects.filter(action="telephony.callbacks_viewed").exists()
    client.force_login(make_organiser(make_team("Elsewhere")))
    assert client.get(page_url).status_code == 404
    client.force_login(make_volunteer(campaign))
    assert client.get(page_url).status_code in (302, 403, 404)
