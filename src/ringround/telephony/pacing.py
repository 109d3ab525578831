"""The dialer's pacing: how many contact lines to start now, keeping Ofcom's rules by design.

Pure functions of counts the app reads from stored calls each tick (``Floor`` for the phone
bank now, ``Record24h`` for the campaign's last 24 hours): no database, no clock, no state kept
between calls, so any app server may pace any campaign and ``bench/dialer`` runs this same code.

The 3 % cap is kept by the worst case, not the average. Before a predictive dial the pacing
supposes that every line ringing, and every line it is about to start, is answered by a person
at the same moment: those beyond the volunteers waiting now are abandoned. It starts only as
many lines as keep that worst case within ``TARGET`` (under ``CAP``), so the campaign's rate can
never cross the cap however the lines fall, and as the record nears the target the over-dial
shrinks to nothing: predictive backs off to power's figure before the limit, not after it.
Over-dialing is therefore earned: each live answer adds almost 3 % of a line to the budget, each
abandoned call and estimated false positive takes a whole one back, and at the start of an
evening (no live answers yet) predictive dials like power.

Ofcom's other rules (a message within 2 seconds of an abandoned call, 15 seconds' ring, no
repeat call to an abandoned number within 72 hours nor to an answering machine within 24 hours
without a live volunteer) are kept where calls are placed and answered, in the app.
"""

import enum
import math
from dataclasses import dataclass


class Mode(enum.StrEnum):
    PREVIEW = "preview"
    POWER = "power"
    PREDICTIVE = "predictive"


CAP = 0.03  # Ofcom: abandoned calls at most 3 % of live-answered calls, per campaign per 24 hours
TARGET = 0.029  # the worst case the pacing plans to: always short of the cap
MIN_RING_SECONDS = 15  # Ofcom: an unanswered call rings at least this long
# A predictive line rings out sooner than the line's setting: while it rings it holds part of the
# abandonment budget, and few people answer after 20 seconds (see ``ring_seconds``).
PREDICTIVE_RING_SECONDS = 20
ABANDON_MESSAGE_WITHIN = 2.0  # seconds: the recorded message after an abandoned call starts by then

# The false positives that really fell may be more than their estimate, and on a small phone
# bank a few more add points to the rate; the pacing plans as if there were this many standard
# deviations (of a Poisson count) more of them.
FALSE_POSITIVE_HEDGE = 1.0

# Before the recent window has figures of its own, pace as if this share of lines reached a
# person: a high guess, so that a new campaign starts too few lines rather than too many.
PRIOR_HUMAN_SHARE = 0.3
PRIOR_ATTEMPTS = 20
MAX_LINES_PER_VOLUNTEER = 8  # never more than this many lines per volunteer on the line


@dataclass(frozen=True)
class Record24h:
    """One campaign's last 24 hours, counted from stored calls."""

    live_answered: int  # answered by a person (abandoned ones included)
    abandoned: int  # answered by a person, no volunteer free within 2 s
    machine_answered: int  # answering-machine detection said "machine" (and we hung up)


@dataclass(frozen=True)
class Floor:
    """The phone bank now, counted from stored rows, and its recent figures (e.g. the
    campaign's last 30 minutes of calls)."""

    waiting: int  # volunteers on the line with nobody to talk to (a line may ring for them)
    wrapping_up: int  # volunteers writing up a call (free soon)
    talking: int
    # contact lines dialed, not yet joined to a volunteer nor ended: lines answered but still
    # being checked by machine detection, or held for a volunteer, are ringing too
    ringing: int
    attempts: int = 0
    answered_human: int = 0
    answered_machine: int = 0
    mean_talk_seconds: float = 60.0
    mean_wrap_seconds: float = 20.0
    mean_ring_seconds: float = 10.0  # from dialing to answer, for answered lines (not ring-out)

    @property
    def volunteers(self) -> int:
        return self.waiting + self.wrapping_up + self.talking


def false_positives(record: Record24h, amd_false_positive_rate: float) -> float:
    """Ofcom's reasoned estimate of people hung up on as machines: the machine verdicts times
    the share of them that were really a person (measured by listening to a sample)."""
    return record.machine_answered * max(0.0, amd_false_positive_rate)


def abandonment_rate(record: Record24h, amd_false_positive_rate: float) -> float:
    """Ofcom's abandoned-call rate: (abandoned + estimated AMD false positives) over (live
    answered + the same estimate), since a person hung up on as a machine was answered live
    and abandoned. 0.0 before anything was answered."""
    estimate = false_positives(record, amd_false_positive_rate)
    live = record.live_answered + estimate
    if live <= 0:
        return 0.0
    return (record.abandoned + estimate) / live


def worst_case_rate(
    record: Record24h, floor: Floor, new_lines: int, *, amd_false_positive_rate: float = 0.02
) -> float:
    """The rate if every line ringing plus ``new_lines`` were answered at once, the worse of:
    all by people (the volunteers waiting take the first, the rest are abandoned), or all by
    machines (each adding its estimated false positive). Any mix falls between the two."""
    estimate = false_positives(record, amd_false_positive_rate)
    lines = max(0, floor.ringing) + max(0, new_lines)
    abandoned = record.abandoned + estimate
    live = record.live_answered + estimate
    people = (
        (abandoned + max(0, lines - max(0, floor.waiting))) / (live + lines)
        if live + lines
        else 0.0
    )
    more = max(0.0, amd_false_positive_rate) * lines
    machines = (abandoned + more) / (live + more) if live + more else 0.0
    return max(people, machines)


def ring_seconds(mode: Mode | str, configured: float) -> float:
    """How long a line of this mode rings before it is given up as unanswered: the line's
    setting, never under Ofcom's 15 seconds; and for predictive lines at most
    ``PREDICTIVE_RING_SECONDS``, since every second a line rings beyond the volunteers it holds
    a worst-case abandonment, and the budget it holds would start lines more likely to answer.
    (bench/dialer: at 20 seconds against 30 predictive reaches about a fifth more people.)"""
    ring = max(float(MIN_RING_SECONDS), float(configured))
    if Mode(mode) is Mode.PREDICTIVE:
        ring = min(ring, float(max(MIN_RING_SECONDS, PREDICTIVE_RING_SECONDS)))
    return ring


def power_lines(floor: Floor) -> int:
    """One line per waiting volunteer not already being dialed for."""
    return max(0, floor.waiting - max(0, floor.ringing))


def safe_total_lines(
    floor: Floor, record: Record24h, *, amd_false_positive_rate: float = 0.02, target=TARGET
) -> int:
    """The most lines (ringing included) whose worst case keeps the rate within ``target``.

    With k lines and w volunteers waiting, all answered by people adds k - w abandoned and k
    live: (A + k - w) / (L + k) <= target  <=>  k <= (w + target * L - A) / (1 - target), with
    A and L including the AMD estimate; all answered by machines adds f * k to both:
    k <= (target * L - A) / (f * (1 - target)). The estimate is planned with
    ``FALSE_POSITIVE_HEDGE`` more. Never fewer than the volunteers waiting: lines that each
    find a volunteer cannot be abandoned, and only lower the rate over time.
    """
    waiting = max(0, floor.waiting)
    estimate = false_positives(record, amd_false_positive_rate)
    planned = estimate + FALSE_POSITIVE_HEDGE * math.sqrt(estimate)
    slack = target * (record.live_answered + planned) - (record.abandoned + planned)
    most = math.floor((waiting + slack) / (1 - target) + 1e-9)
    per_line = max(0.0, amd_false_positive_rate) * (1 - target)
    if per_line * most > slack:  # (so per_line > 0 and the division is finite)
        most = math.floor(slack / per_line + 1e-9)
    return max(waiting, most)


def wanted_total_lines(floor: Floor) -> int:
    """Lines (ringing included) to keep the volunteers busy, on average: the volunteers
    expected free by the time a line is answered, divided by the share of lines that reach a
    person lately."""
    share = (max(0, floor.answered_human) + PRIOR_HUMAN_SHARE * PRIOR_ATTEMPTS) / (
        max(0, floor.attempts) + PRIOR_ATTEMPTS
    )
    share = min(1.0, max(share, 0.02))
    horizon = max(1.0, floor.mean_ring_seconds)
    wrap = max(1.0, floor.mean_wrap_seconds)
    talk = max(1.0, floor.mean_talk_seconds)
    free_soon = (
        max(0, floor.waiting)
        + max(0, floor.wrapping_up) * (1 - math.exp(-horizon / wrap))
        + max(0, floor.talking) * (1 - math.exp(-horizon / (talk + wrap)))
    )
    return math.ceil(free_soon / share - 1e-9)


def lines_to_dial(
    mode: Mode | str,
    floor: Floor,
    record: Record24h,
    *,
    amd_false_positive_rate: float = 0.02,
) -> int:
    """How many NEW contact lines to start now.

    preview: none (the volunteer presses Call). power: one per waiting volunteer not already
    being dialed for. predictive: enough to keep the volunteers busy, but never more than keep
    the worst case within ``TARGET``, and never fewer than power would start.
    """
    mode = Mode(mode)
    if mode is Mode.PREVIEW:
        return 0
    power = power_lines(floor)
    if mode is Mode.POWER:
        return power
    ringing = max(0, floor.ringing)
    total = min(
        wanted_total_lines(floor),
        safe_total_lines(floor, record, amd_false_positive_rate=amd_false_positive_rate),
        MAX_LINES_PER_VOLUNTEER * floor.volunteers,
    )
    return max(power, total - ringing)
