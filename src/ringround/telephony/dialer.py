"""The predictive dialer's tick: for a campaign dialing predictively, count the phone bank now
and its last 24 hours from stored rows, ask the pacing how many lines to start, take that many
people and dial them. Stateless, so any app server (or the ``dialer`` worker) may run it."""

import datetime as dt

from django.db.models import Avg, Count, Q
from django.utils import timezone

from ringround.calling import rules
from ringround.campaigns.models import Campaign

from . import pacing, services
from .models import (
    ENDED_STATUSES,
    AnsweredBy,
    Dialing,
    DialingMode,
    Leg,
    LegStatus,
    Seat,
    SeatState,
)

RECENT = dt.timedelta(minutes=30)  # the window the answer rate and call lengths are read over


def floor_of(campaign, now) -> pacing.Floor:
    seats = Seat.objects.filter(campaign=campaign, state=SeatState.READY)
    legs = Leg.objects.filter(campaign=campaign)
    live = legs.exclude(status__in=ENDED_STATUSES)
    recent = legs.filter(placed_at__gte=now - RECENT).aggregate(
        attempts=Count("pk"),
        human=Count("pk", filter=Q(answered_by=AnsweredBy.HUMAN)),
        machine=Count("pk", filter=Q(answered_by=AnsweredBy.MACHINE)),
        talk=Avg("duration", filter=Q(answered_by=AnsweredBy.HUMAN, abandoned=False)),
        ring=Avg("ring_seconds"),
    )
    talking = live.filter(seat__isnull=False, status=LegStatus.IN_PROGRESS).count()
    waiting = seats.filter(free_since__isnull=False).count()
    return pacing.Floor(
        waiting=waiting,
        wrapping_up=max(seats.count() - waiting - talking, 0),
        talking=talking,
        ringing=live.filter(answered_at__isnull=True).count(),
        attempts=recent["attempts"],
        answered_human=recent["human"],
        answered_machine=recent["machine"],
        mean_talk_seconds=float(recent["talk"] or 60.0),
        mean_wrap_seconds=20.0,
        mean_ring_seconds=float(recent["ring"] or 20.0),
    )


def tick(campaign, *, base: str, now=None) -> list[Leg]:
    """Start the lines the pacing allows now; returns the legs placed."""
    now = now or timezone.now()
    dialing = services.dialing_of(campaign)
    line = services.connected_line(campaign)
    if line is None or dialing.mode != DialingMode.PREDICTIVE or not campaign.is_active:
        return []
    lines = pacing.lines_to_dial(
        pacing.Mode.PREDICTIVE,
        floor_of(campaign, now),
        services.record_24h(campaign, now),
        amd_false_positive_rate=line.amd_false_positive_rate,
    )
    targets = rules.claim_for_dialer(
        campaign,
        lines,
        now=now,
        held_back=services.held_back(now),
        never_prefixes=services.never_predictive_prefixes(),
    )
    placed = []
    for target in targets:
        leg = Leg.objects.create(
            campaign=campaign,
            target=target,
            phone=target.phone,
            mode=DialingMode.PREDICTIVE,
            placed_at=now,
            ring_seconds=services.ring_time(line, DialingMode.PREDICTIVE),
        )
        try:
            placed.append(services.place(line, leg, base, detect_machine=True))
        except services.TelephonyError:
            rules.record_unattended(target.pk, "no_answer", now=now)
    return placed


def predictive_campaigns():
    return Dialing.objects.filter(
        mode=DialingMode.PREDICTIVE, connected=True, campaign__status=Campaign.Status.ACTIVE
    ).select_related("campaign__team")
