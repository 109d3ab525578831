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
    """The phone bank now, counted from stored rows, as the pacing wants it."""
    seats = Seat.objects.filter(campaign=campaign, state=SeatState.READY)
    legs = Leg.objects.filter(campaign=campaign)
    live = legs.exclude(status__in=ENDED_STATUSES)
    recent = legs.filter(placed_at__gte=now - RECENT)
    counts = recent.aggregate(
        attempts=Count("pk"),
        human=Count("pk", filter=Q(answered_by=AnsweredBy.HUMAN)),
        machine=Count("pk", filter=Q(answered_by=AnsweredBy.MACHINE)),
        talk=Avg("duration", filter=Q(answered_by=AnsweredBy.HUMAN, abandoned=False)),
    )
    # Dial to answer, for answered lines (the latest few hundred are plenty for a mean).
    answered = recent.filter(answered_at__isnull=False).order_by("-placed_at")[:500]
    rings = [(a - p).total_seconds() for p, a in answered.values_list("placed_at", "answered_at")]
    talking = live.filter(seat__isnull=False, status=LegStatus.IN_PROGRESS).count()
    waiting = seats.filter(free_since__isnull=False).count()
    return pacing.Floor(
        waiting=waiting,
        wrapping_up=max(seats.count() - waiting - talking, 0),
        talking=talking,
        # Every line not yet joined to a volunteer: ringing, or answered and still being
        # told apart from a machine; each may yet need a volunteer.
        ringing=live.filter(seat__isnull=True).count(),
        attempts=counts["attempts"],
        answered_human=counts["human"],
        answered_machine=counts["machine"],
        mean_talk_seconds=float(counts["talk"] or 60.0),
        mean_wrap_seconds=20.0,
        mean_ring_seconds=sum(rings) / len(rings) if rings else 10.0,
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
