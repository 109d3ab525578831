"""Ofcom's persistent-misuse rules, kept by the product with a controlled clock: calls ring at
least 15 seconds; a message saying who called starts within 2 seconds of an abandoned call;
abandoned calls stay under 3 % of live-answered calls over a rolling 24 hours (the pacing backs
off before the cap); no call without a live volunteer to a number abandoned in the last 72
hours, or taken by an answering machine in the last 24."""

import datetime as dt

import pytest
from django.utils import timezone

from ringround.calling import rules
from ringround.calling.models import Call, CallTarget
from ringround.calling.targets import add_contacts
from ringround.contacts.models import Contact
from ringround.telephony import dialer, pacing, services
from ringround.telephony.models import Leg, Seat
from tests.factories import ContactFactory, make_volunteer, open_campaign
from tests.telephony.bridge import SITE, Behaviour, bridge_line, start_fake

pytestmark = pytest.mark.django_db

T0 = dt.datetime(2026, 5, 6, 18, 0, tzinfo=dt.UTC)


@pytest.fixture
def fake(monkeypatch, settings):
    fake = start_fake(monkeypatch, settings)
    yield fake
    fake.stop()


def predictive(fake, targets=5):
    campaign = open_campaign(targets=targets)
    bridge_line(campaign.team, fake)
    services.set_dialing(campaign, connected=True, mode="predictive")
    return campaign


def _leg(campaign, *, at, phone="+442079460500", **fields) -> Leg:
    return Leg.objects.create(campaign=campaign, phone=phone, placed_at=at, **fields)


# --- 15 seconds -----------------------------------------------------------------------------


def test_a_line_cannot_be_set_to_ring_under_15_seconds(fake):
    campaign = open_campaign(targets=1)
    with pytest.raises(services.TelephonyError, match="15 seconds"):
        bridge_line(campaign.team, fake, ring_seconds=10)


def test_every_call_placed_rings_at_least_15_seconds(fake):
    campaign = open_campaign(targets=1)
    line = bridge_line(campaign.team, fake, ring_seconds=15)
    services.Line.objects.filter(pk=line.pk).update(ring_seconds=5)  # a row changed by hand
    services.set_dialing(campaign, connected=True, mode="preview")
    volunteer = make_volunteer(campaign)
    services.join_line(campaign, volunteer, "+441134960557", base=SITE)
    timeouts = [
        int(r["params"]["Timeout"]) for r in fake.requests if "Timeout" in r.get("params", {})
    ]
    assert timeouts and min(timeouts) >= 15


# --- 2 seconds ------------------------------------------------------------------------------


def test_an_abandoned_call_hears_who_called_within_two_seconds(fake):
    campaign = predictive(fake, targets=1)
    phone = campaign.targets.get().phone
    fake.behave(phone, Behaviour(answer="human", ring_seconds=3, talk_seconds=60))
    # A volunteer on the line but busy: nobody is free when the person answers.
    volunteer = make_volunteer(campaign)
    fake.behave("+441134960558", Behaviour(answer="human", ring_seconds=1, talk_seconds=3600))
    services.join_line(campaign, volunteer, "+441134960558", base=SITE)
    fake.advance(1)
    Seat.objects.update(free_since=timezone.now())
    legs = dialer.tick(campaign, base=SITE)
    assert len(legs) == 1
    Seat.objects.update(free_since=None)
    fake.advance(5)
    leg = Leg.objects.get(pk=legs[0].pk)
    assert leg.abandoned and leg.answered_by == "human"
    call = next(c for c in fake.calls if c.sid == leg.call_sid)
    started, said = call.said[0]
    assert started - call.answered_at <= 2.0
    assert "Riverside Labour" in said and "press 1" in said
    assert services.ofcom_figures(campaign)["messages_in_time"] == 1


# --- 3 % over 24 hours ----------------------------------------------------------------------


def test_the_record_is_a_rolling_24_hours(fake):
    campaign = predictive(fake)
    _leg(campaign, at=T0 - dt.timedelta(hours=25), answered_by="human", abandoned=True)
    _leg(campaign, at=T0 - dt.timedelta(hours=23), answered_by="human", abandoned=True)
    _leg(campaign, at=T0 - dt.timedelta(hours=1), answered_by="human")
    _leg(campaign, at=T0 - dt.timedelta(hours=1), answered_by="machine")
    record = services.record_24h(campaign, T0)
    assert (record.live_answered, record.abandoned, record.machine_answered) == (2, 1, 1)
    later = services.record_24h(campaign, T0 + dt.timedelta(hours=2))
    assert (later.live_answered, later.abandoned) == (1, 0)


def _worst_case(record, lines, fp) -> float:
    """The 24-hour rate if every line now dialed beyond the volunteers waiting were answered
    at once and abandoned (a line with a volunteer waiting for it cannot be)."""
    worse = pacing.Record24h(
        live_answered=record.live_answered + lines,
        abandoned=record.abandoned + lines,
        machine_answered=record.machine_answered,
    )
    return pacing.abandonment_rate(worse, fp)


@pytest.mark.parametrize("abandoned", [0, 10, 20, 25, 29, 30])
def test_the_pacing_backs_off_before_the_cap(fake, abandoned):
    campaign = predictive(fake, targets=40)
    now = timezone.now()
    Leg.objects.bulk_create(
        Leg(
            campaign=campaign,
            placed_at=now - dt.timedelta(hours=2),
            phone=f"+44207946{n:04d}",
            answered_by="human",
            abandoned=n < abandoned,
            status="completed",
        )
        for n in range(1000)
    )
    volunteers = [make_volunteer(campaign) for _ in range(3)]
    for n, volunteer in enumerate(volunteers):
        Seat.objects.create(
            campaign=campaign,
            volunteer=volunteer,
            phone=f"+4411349606{n:02d}",
            state="ready",
            free_since=now,
        )
    record = services.record_24h(campaign)
    legs = dialer.tick(campaign, base=SITE)
    line = services.line_of(campaign.team)
    beyond = max(len(legs) - len(volunteers), 0)
    assert _worst_case(record, beyond, line.amd_false_positive_rate) <= pacing.CAP
    if abandoned >= 30:
        assert legs == [] or len(legs) <= len(volunteers)


# --- 72 hours after an abandoned call, 24 after a machine --------------------------------------


def _due_target(campaign, phone):
    contact = ContactFactory(team=campaign.team, phone=phone)
    add_contacts(campaign, Contact.objects.filter(pk=contact.pk))
    CallTarget.objects.filter(campaign=campaign, contact=contact).update(
        next_call_at=T0 - dt.timedelta(days=30)
    )
    return CallTarget.objects.get(campaign=campaign, contact=contact)


@pytest.mark.parametrize(
    "kind, hours",
    [({"abandoned": True, "answered_by": "human"}, 72), ({"answered_by": "machine"}, 24)],
)
def test_no_unattended_call_back_inside_the_rest(fake, kind, hours):
    campaign = predictive(fake, targets=0)
    target = _due_target(campaign, "+442079460777")
    _leg(campaign, at=T0, phone=target.phone, **kind)

    def dialed(at):
        taken = rules.claim_for_dialer(campaign, 5, now=at, held_back=services.held_back(at))
        CallTarget.objects.filter(pk__in=[t.pk for t in taken]).update(**CallTarget.back_to_pool())
        return [t.pk for t in taken]

    assert dialed(T0 + dt.timedelta(hours=hours - 1)) == []
    assert services.may_dial_unattended(target.phone, T0 + dt.timedelta(hours=hours - 1)) is False
    assert dialed(T0 + dt.timedelta(hours=hours + 1)) == [target.pk]


def test_a_live_volunteer_may_still_call_a_resting_number(fake):
    campaign = predictive(fake, targets=0)
    services.set_dialing(campaign, connected=True, mode="preview")
    target = _due_target(campaign, "+442079460778")
    _leg(campaign, at=T0, phone=target.phone, abandoned=True, answered_by="human")
    lease = rules.claim_next(campaign, make_volunteer(campaign), now=T0 + dt.timedelta(hours=1))
    assert lease is not None and lease.target.pk == target.pk


def test_an_abandoned_line_is_stored_as_an_attempt_that_rests_72_hours(fake):
    campaign = predictive(fake, targets=0)
    target = _due_target(campaign, "+442079460779")
    [taken] = rules.claim_for_dialer(campaign, 1, now=T0)
    call = rules.record_unattended(
        taken.pk, "no_answer", now=T0, not_before=T0 + services.ABANDONED_HOLD
    )
    assert call is not None and call.volunteer is None
    target.refresh_from_db()
    assert target.state == "waiting" and target.next_call_at >= T0 + dt.timedelta(hours=72)
    assert target.attempts == 1
    assert Call.objects.filter(target=target).count() == 1


def test_predictive_never_dials_numbers_the_law_forbids(fake):
    campaign = predictive(fake, targets=0)
    _due_target(campaign, "+14155550123")
    uk = _due_target(campaign, "+442079460780")
    taken = rules.claim_for_dialer(
        campaign, 5, now=T0, never_prefixes=services.never_predictive_prefixes()
    )
    assert [t.pk for t in taken] == [uk.pk]


def test_the_dialer_stops_while_the_tps_screening_is_out_of_date(fake, tps_required):
    campaign = predictive(fake, targets=0)
    _due_target(campaign, "+442079460781")
    assert rules.claim_for_dialer(campaign, 5, now=T0) == []
