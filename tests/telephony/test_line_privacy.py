"""What the line keeps of people goes when they are erased, and when no rule needs it any more:
dialed numbers after the 72-hour rest, volunteers' numbers once off the line, call-backs'
numbers and messages; the counts Ofcom asks for stay."""

import datetime as dt

import pytest
from django.utils import timezone

from ringround.privacy.services import erase_contact
from ringround.telephony import services
from ringround.telephony.models import InboundCall, Leg, Seat
from tests.factories import make_volunteer, open_campaign
from tests.telephony.bridge import bridge_line, start_fake

pytestmark = pytest.mark.django_db


@pytest.fixture
def line(monkeypatch, settings):
    fake = start_fake(monkeypatch, settings)
    campaign = open_campaign(targets=2)
    line = bridge_line(campaign.team, fake)
    yield campaign, line
    fake.stop()


def test_erasing_a_contact_erases_the_lines_copies_of_them(line):
    campaign, the_line = line
    target = campaign.targets.first()
    contact = target.contact
    leg = Leg.objects.create(
        campaign=campaign, target=target, phone=target.phone, answered_by="human"
    )
    inbound = InboundCall.objects.create(
        line=the_line,
        call_sid="CA1",
        phone=target.phone,
        contact=contact,
        recording_url="https://example.org/recording",
        outcome="message",
    )
    erase_contact(contact)
    leg.refresh_from_db()
    inbound.refresh_from_db()
    assert leg.phone == "" and leg.answered_by == "human"
    assert inbound.phone == "" and inbound.recording_url == "" and inbound.contact is None
    assert inbound.outcome == "message"


def test_numbers_are_forgotten_once_no_rule_needs_them(line):
    campaign, the_line = line
    now = timezone.now()
    old, recent = now - dt.timedelta(days=5), now - dt.timedelta(days=2)
    old_leg = Leg.objects.create(
        campaign=campaign, phone="+442079460001", placed_at=old, abandoned=True
    )
    new_leg = Leg.objects.create(
        campaign=campaign, phone="+442079460002", placed_at=recent, abandoned=True
    )
    volunteer = make_volunteer(campaign)
    seat = Seat.objects.create(
        campaign=campaign, volunteer=volunteer, phone="+441134960555", state="ended", started_at=old
    )
    inbound = InboundCall.objects.create(
        line=the_line, call_sid="CA2", phone="+442079460003", received_at=old
    )
    assert services.forget_old_numbers(now) == 3
    for row in (old_leg, new_leg, seat, inbound):
        row.refresh_from_db()
    assert old_leg.phone == "" and old_leg.abandoned
    assert new_leg.phone == "+442079460002"  # still inside the 72-hour rest
    assert seat.phone == "" and inbound.phone == ""
    assert services.record_24h(campaign, now).abandoned == 0
