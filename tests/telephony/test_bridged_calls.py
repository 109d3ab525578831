"""A bridged call end to end, through the pages, against the fake provider over real HTTP:
the volunteer's leg, the contact's leg, the two joined, the status callbacks, the length on
the stored call; and neither number shown to the other side in any page, API answer or log."""

import logging

import pytest
from django.urls import reverse

from ringround.calling import rules
from ringround.calling.models import Call
from ringround.contacts.phones import display
from ringround.telephony import services
from ringround.telephony.models import Leg, Seat
from tests.api.conftest import token_client
from tests.factories import make_volunteer, open_campaign, organiser_of
from tests.telephony.bridge import CALLER_ID, Behaviour, bridge_line, start_fake

pytestmark = pytest.mark.django_db

VOLUNTEER_PHONE = "0113 496 0555"
VOLUNTEER_E164 = "+441134960555"


@pytest.fixture
def fake(monkeypatch, settings):
    fake = start_fake(monkeypatch, settings)
    yield fake
    fake.stop()


@pytest.fixture
def bridged(fake, client):
    campaign = open_campaign(targets=1)
    bridge_line(campaign.team, fake, by=organiser_of(campaign))
    services.set_dialing(campaign, connected=True, mode="preview")
    volunteer = make_volunteer(campaign)
    client.force_login(volunteer)
    return campaign, volunteer


def _numbers_of(phone: str) -> list[str]:
    """The ways a number can appear on a page."""
    return [phone, display(phone), display(phone).replace(" ", ""), phone.replace("+44", "0")]


def _card(client, campaign) -> str:
    response = client.get(reverse("calling:card", args=[campaign.public_id]))
    assert response.status_code == 200
    return response.content.decode()


def test_a_bridged_call_from_start_to_stored_length(fake, bridged, client, caplog):
    campaign, volunteer = bridged
    caplog.set_level(logging.DEBUG)
    client.post(reverse("calling:start", args=[campaign.public_id]))
    lease = rules.current_lease(campaign, volunteer)
    contact_phone = lease.contact.phone
    fake.behave(VOLUNTEER_E164, Behaviour(answer="human", ring_seconds=3, talk_seconds=3600))
    fake.behave(contact_phone, Behaviour(answer="human", ring_seconds=4, talk_seconds=75))
    pages = [_card(client, campaign)]
    assert "Ring me to start" in pages[-1]

    client.post(reverse("telephony:join", args=[campaign.public_id]), {"phone": VOLUNTEER_PHONE})
    seat = Seat.objects.get(campaign=campaign, volunteer=volunteer)
    assert seat.state == "ringing"
    fake.advance(3)
    seat.refresh_from_db()
    assert seat.state == "ready"
    pages.append(_card(client, campaign))
    assert "📞 Call" in pages[-1]

    client.post(reverse("telephony:dial", args=[campaign.public_id]), {"lease_token": lease.token})
    leg = Leg.objects.get(campaign=campaign)
    fake.advance(4)
    leg.refresh_from_db()
    assert leg.status == "in-progress" and leg.answered_by == "human"
    assert set(fake.conference_members(seat.room)) == {seat.call_sid, leg.call_sid}
    pages.append(_card(client, campaign))
    assert "Connected" in pages[-1] and "Hang up" in pages[-1]

    fake.advance(75)
    leg.refresh_from_db()
    assert leg.status == "completed" and leg.duration == 75
    pages.append(
        client.get(reverse("telephony:line_status", args=[campaign.public_id])).content.decode()
    )

    client.post(
        reverse("calling:record", args=[campaign.public_id]),
        {"lease_token": lease.token, "outcome": "answered", "idempotency_key": "k1"},
    )
    call = Call.objects.get(campaign=campaign)
    assert call.talk_seconds == 75
    leg.refresh_from_db()
    assert leg.call_id == call.pk

    # Each side saw the campaign's caller ID, never the other's number.
    assert set(fake.caller_ids_seen_by(contact_phone)) == {CALLER_ID}
    assert set(fake.caller_ids_seen_by(VOLUNTEER_E164)) == {CALLER_ID}
    for page in pages:
        for shown in _numbers_of(contact_phone):
            assert shown not in page
    for request in fake.requests:
        if request.get("to") == contact_phone or contact_phone in str(
            request.get("params", {}).get("To", "")
        ):
            assert VOLUNTEER_E164 not in str(request)
    logged = caplog.text
    for number in (contact_phone, VOLUNTEER_E164):
        assert number not in logged and display(number) not in logged


def test_the_length_reaches_a_call_recorded_before_the_line_hung_up(fake, bridged, client):
    campaign, volunteer = bridged
    lease = rules.claim_next(campaign, volunteer)
    fake.behave(VOLUNTEER_E164, Behaviour(answer="human", ring_seconds=1, talk_seconds=3600))
    fake.behave(lease.contact.phone, Behaviour(answer="human", ring_seconds=2, talk_seconds=40))
    services.join_line(campaign, volunteer, VOLUNTEER_PHONE, base=services.public_base())
    fake.advance(1)
    seat = services.live_seat(campaign, volunteer)
    services.dial_contact(seat, lease, base=services.public_base())
    fake.advance(10)
    client.post(
        reverse("calling:record", args=[campaign.public_id]),
        {"lease_token": lease.token, "outcome": "answered", "idempotency_key": "k2"},
    )
    call = Call.objects.get(campaign=campaign)
    assert call.talk_seconds is None
    fake.advance(40)
    call.refresh_from_db()
    assert call.talk_seconds == 40


def test_no_answer_is_filled_in_on_the_card(fake, bridged, client):
    campaign, volunteer = bridged
    lease = rules.claim_next(campaign, volunteer)
    fake.behave(VOLUNTEER_E164, Behaviour(answer="human", ring_seconds=1, talk_seconds=3600))
    fake.behave(lease.contact.phone, Behaviour(answer="no-answer"))
    services.join_line(campaign, volunteer, VOLUNTEER_PHONE, base=services.public_base())
    fake.advance(1)
    services.dial_contact(
        services.live_seat(campaign, volunteer), lease, base=services.public_base()
    )
    fake.advance(60)
    leg = Leg.objects.get(campaign=campaign)
    assert leg.status == "no-answer"
    page = _card(client, campaign)
    assert 'value="no_answer" data-follow-up="nothing" checked' in page or (
        'value="no_answer"' in page and "checked" in page.split('value="no_answer"')[1][:60]
    )
    assert "No answer" in page


def test_the_api_gives_no_number_when_calls_are_connected(fake, bridged):
    campaign, volunteer = bridged
    response = token_client(volunteer).post(
        f"/api/v1/campaigns/{campaign.public_id}/claim", "{}", content_type="application/json"
    )
    assert response.status_code == 200
    contact = response.json()["contact"]
    assert contact["phone"] == "" and contact["phone_display"] == ""
    lease = rules.current_lease(campaign, volunteer)
    for shown in _numbers_of(lease.contact.phone):
        assert shown not in response.content.decode()


def test_own_phone_campaigns_are_unchanged(client):
    campaign = open_campaign(targets=1)
    volunteer = make_volunteer(campaign)
    client.force_login(volunteer)
    client.post(reverse("calling:start", args=[campaign.public_id]))
    lease = rules.current_lease(campaign, volunteer)
    page = _card(client, campaign)
    assert f'href="tel:{lease.contact.phone}"' in page
    assert "Ring me to start" not in page
    assert not Leg.objects.exists() and not Seat.objects.exists()
