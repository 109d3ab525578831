"""Talking to the room during a phone bank: the organisers' message reaches every calling
volunteer's card and nobody else's; a volunteer's "I need help" reaches the organisers of that
campaign only; an organiser can take back the person a volunteer holds."""

import datetime as dt

import pytest
from django.test import Client
from django.urls import reverse

from ringround.audit.models import AuditEvent
from ringround.calling import room, rules
from ringround.calling.models import CallTarget, HelpRequest, RoomMessage
from tests.factories import (
    make_organiser,
    make_team,
    make_volunteer,
    open_campaign,
    organiser_of,
)

pytestmark = pytest.mark.django_db


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def controls(campaign):
    return reverse("calling:room_controls", args=[campaign.public_id])


@pytest.fixture
def evening():
    campaign = open_campaign(targets=4)
    volunteers = [make_volunteer(campaign) for _ in range(2)]
    for volunteer in volunteers:
        rules.claim_next(campaign, volunteer)
    elsewhere = open_campaign(make_organiser(make_team()), targets=1)
    outsider = make_volunteer(elsewhere)
    rules.claim_next(elsewhere, outsider)
    return campaign, volunteers, elsewhere, outsider


def card(client, campaign) -> str:
    return client.get(reverse("calling:card", args=[campaign.public_id])).content.decode()


def test_a_message_reaches_every_calling_card_of_the_campaign_and_no_other(evening):
    campaign, volunteers, elsewhere, outsider = evening
    organiser = signed_in(organiser_of(campaign))
    organiser.post(controls(campaign), {"action": "broadcast", "text": "  Pizza at 8!  "})
    for volunteer in volunteers:
        assert "Pizza at 8!" in card(signed_in(volunteer), campaign)
        partial = signed_in(volunteer).get(reverse("calling:room", args=[campaign.public_id]))
        assert "Pizza at 8!" in partial.content.decode()
    assert "Pizza at 8!" not in card(signed_in(outsider), elsewhere)
    organiser.post(controls(campaign), {"action": "withdraw"})
    assert "Pizza at 8!" not in card(signed_in(volunteers[0]), campaign)
    assert AuditEvent.objects.filter(action="room.broadcast").count() == 1


def test_an_empty_message_is_refused_and_an_old_one_stops_showing(evening):
    campaign, volunteers, *_ = evening
    with pytest.raises(room.RoomError):
        room.broadcast(campaign, "   ", by=organiser_of(campaign))
    message = room.broadcast(campaign, "Well done all", by=organiser_of(campaign))
    assert room.current_message(campaign) == message
    later = message.sent_at + room.MESSAGE_SHOWN_FOR + dt.timedelta(minutes=1)
    assert room.current_message(campaign, now=later) is None
    assert RoomMessage.objects.count() == 1


def test_asking_for_help_reaches_this_campaigns_organisers_once(evening):
    campaign, volunteers, elsewhere, outsider = evening
    asker = signed_in(volunteers[0])
    url = reverse("calling:help", args=[campaign.public_id])
    asker.post(url)
    answer = asker.post(url, HTTP_HX_REQUEST="true")
    assert "an organiser will be with you soon" in answer.content.decode()
    assert HelpRequest.objects.filter(answered_at=None).count() == 1
    page = signed_in(organiser_of(campaign)).get(controls(campaign)).content.decode()
    assert volunteers[0].name in page and "Asking for help (1)" in page
    other_page = signed_in(organiser_of(elsewhere)).get(controls(elsewhere)).content.decode()
    assert volunteers[0].name not in other_page
    assert signed_in(organiser_of(elsewhere)).get(controls(campaign)).status_code == 404
    help_request = HelpRequest.objects.get()
    signed_in(organiser_of(campaign)).post(
        controls(campaign), {"action": "answered", "help": str(help_request.pk)}
    )
    help_request.refresh_from_db()
    assert help_request.answered_at is not None
    assert "I need help" in card(asker, campaign), "the hand can go up again"


def test_an_organiser_takes_back_a_volunteers_contact(evening):
    campaign, volunteers, *_ = evening
    held = CallTarget.objects.get(campaign=campaign, held_by=volunteers[0])
    page = signed_in(organiser_of(campaign)).get(controls(campaign)).content.decode()
    assert "Calling now (2)" in page
    signed_in(organiser_of(campaign)).post(
        controls(campaign), {"action": "take_back", "volunteer": volunteers[0].public_id}
    )
    held.refresh_from_db()
    assert held.state == CallTarget.State.READY and held.held_by is None
    beat = signed_in(volunteers[0]).post(reverse("calling:heartbeat", args=[campaign.public_id]))
    assert beat.status_code == 409
    assert "You are not holding anyone" in card(signed_in(volunteers[0]), campaign)
    assert CallTarget.objects.filter(campaign=campaign, held_by=volunteers[1]).exists()


def test_volunteers_and_other_teams_cannot_use_the_organisers_side(evening):
    campaign, volunteers, elsewhere, outsider = evening
    volunteer = signed_in(volunteers[0])
    assert (
        volunteer.post(controls(campaign), {"action": "broadcast", "text": "x"}).status_code == 403
    )
    other = signed_in(organiser_of(elsewhere))
    for data in (
        {"action": "broadcast", "text": "x"},
        {"action": "take_back", "volunteer": volunteers[0].public_id},
    ):
        assert other.post(controls(campaign), data).status_code == 404
    assert not RoomMessage.objects.exists()
    assert CallTarget.objects.filter(campaign=campaign, held_by=volunteers[0]).exists()
    assert (
        signed_in(outsider).get(reverse("calling:room", args=[campaign.public_id])).status_code
        == 404
    )
