"""A calling evening, simulated event by event, paced by the real ``pacing.lines_to_dial``.

Used by ``bench/dialer`` (figures per dialing mode) and by the pacing's tests (a short seeded
evening keeps the 3 % cap in every mode). Each second the simulation counts its own lines and
volunteers the way the app counts stored rows (a ``Floor`` of the phone bank now with the last
30 minutes' figures, a rolling 24-hour ``Record24h``) and starts as many lines as the pacing
says, so the figures are the real code's. Pure Python: no Django, no database, no clock.

What a line does is drawn when it is dialed: about a fifth are answered (a quarter of those by
an answering machine), after a ring of about 9 seconds, unless it rings out first (after
``pacing.ring_seconds``: predictive lines sooner); of the rest some are busy or fail within
seconds and the others ring out. In power and predictive modes answering-machine detection
decides within 2 seconds and hangs up on machines, and takes a few people for machines (its
false positives, which Ofcom counts as abandoned). A person is joined to the volunteer who has
waited longest; with nobody free within 2 seconds of answering, the call is abandoned (the app
plays the recorded message). Talk time has a long tail (log-normal), then the volunteer wraps
up. In preview the volunteer reads the card, presses Call, hears it ring out or reach a machine,
and notes the outcome themselves.
"""

import heapq
import itertools
import math
import random
from collections import deque
from dataclasses import dataclass, field

from .pacing import (
    Floor,
    Mode,
    Record24h,
    abandonment_rate,
    lines_to_dial,
    ring_seconds,
    worst_case_rate,
)

RECENT_SECONDS = 30 * 60  # the Floor's recent figures: the last 30 minutes
DAY = RECORD_SECONDS = 24 * 3600  # Ofcom's period
RATE_SETTLES_AFTER = 100  # live answers before the running rate means something


@dataclass(frozen=True)
class Assumptions:
    """What a calling evening is like; each is a ``bench/dialer`` option."""

    answer_rate: float = 0.20  # lines answered at all (person or machine)
    machine_share: float = 0.25  # of answered lines, answering machines
    busy_share: float = 0.10  # of unanswered lines, busy or failed within seconds
    ring_seconds: float = 30.0  # an unanswered line rings this long (the line's setting, >= 15)
    short_predictive_ring: bool = True  # predictive lines ring out per ``pacing.ring_seconds``
    answer_after_seconds: float = 9.0  # mean ring before an answer
    talk_seconds: float = 60.0  # mean; log-normal, so a long tail
    talk_spread: float = 0.9  # sigma of log(talk)
    wrap_seconds: float = 20.0  # mean write-up after a conversation
    amd_seconds: float = 1.5  # machine detection's verdict, after the answer
    amd_false_positive_rate: float = 0.02  # of machine verdicts, people really
    read_seconds: float = 15.0  # preview: reading the card before pressing Call
    note_seconds: float = 6.0  # preview: noting no answer / machine by hand
    machine_listen_seconds: float = 6.0  # preview: hearing a machine's greeting, hanging up

    @property
    def person_taken_for_machine(self) -> float:
        """The chance detection takes a person for a machine, so that the share of machine
        verdicts that were people comes to ``amd_false_positive_rate``."""
        f = self.amd_false_positive_rate
        people = 1 - self.machine_share
        return f * self.machine_share / ((1 - f) * people) if people > 0 else 0.0


@dataclass
class Evening:
    """The figures of one simulated evening in one mode."""

    mode: str
    volunteers: int
    hours: float
    seed: int
    evenings: int = 1
    attempts: int = 0
    conversations: int = 0  # people joined to a volunteer
    talk_seconds: float = 0.0
    live_answered: int = 0  # people detected as people (abandoned ones included)
    abandoned: int = 0
    machine_answered: int = 0  # machine verdicts (false positives included)
    false_positives: int = 0  # people detection took for machines (known only here)
    # the record's rate at its highest, second by second, once RATE_SETTLES_AFTER people have
    # answered (before, a single machine verdict reads as 100 %: its false positive over itself)
    highest_rate: float = 0.0
    highest_worst_case: float = 0.0  # the worst case of the lines ringing, at its highest
    most_lines_per_volunteer: float = 0.0
    amd_false_positive_rate: float = 0.02

    @property
    def volunteer_hours(self) -> float:
        return self.volunteers * self.hours * self.evenings

    @property
    def contacts_per_volunteer_hour(self) -> float:
        return self.conversations / self.volunteer_hours

    @property
    def talk_minutes_per_volunteer_hour(self) -> float:
        return self.talk_seconds / 60 / self.volunteer_hours

    @property
    def record(self) -> Record24h:
        return Record24h(self.live_answered, self.abandoned, self.machine_answered)

    @property
    def abandonment_rate(self) -> float:
        """Ofcom's rate, with AMD's false positives estimated as the app estimates them."""
        return abandonment_rate(self.record, self.amd_false_positive_rate)

    @property
    def true_abandonment_rate(self) -> float:
        """The rate with the false positives as they really fell (known only in a simulation)."""
        live = self.live_answered + self.false_positives
        return (self.abandoned + self.false_positives) / live if live else 0.0

    def figures(self) -> dict:
        return {
            "mode": self.mode,
            "volunteers": self.volunteers,
            "hours": self.hours,
            "evenings": self.evenings,
            "seed": self.seed,
            "attempts": self.attempts,
            "contacts_reached": self.conversations,
            "contacts_per_volunteer_hour": round(self.contacts_per_volunteer_hour, 2),
            "talk_minutes_per_volunteer_hour": round(self.talk_minutes_per_volunteer_hour, 2),
            "live_answered": self.live_answered,
            "abandoned": self.abandoned,
            "machine_answered": self.machine_answered,
            "abandonment_rate": round(self.abandonment_rate, 5),
            "true_abandonment_rate": round(self.true_abandonment_rate, 5),
            "highest_rate": round(self.highest_rate, 5),
            "highest_worst_case": round(self.highest_worst_case, 5),
            "most_lines_per_volunteer": round(self.most_lines_per_volunteer, 2),
        }


@dataclass(eq=False)
class _Volunteer:
    state: str = "waiting"  # waiting | talking | wrapping | busy (preview: reading, noting)
    since: float = 0.0
    line: "_Line | None" = None  # power and preview: the line being dialed for them


@dataclass(eq=False)
class _Line:
    dialed_at: float
    volunteer: _Volunteer | None = None
    ended: bool = False
    joined: bool = False
    answered_at: float | None = None


@dataclass
class _Window:
    """Counts of events in the last ``seconds``, as a query over stored calls would give."""

    seconds: float
    events: deque = field(default_factory=deque)
    count: int = 0
    total: float = 0.0

    def add(self, at: float, value: float = 0.0) -> None:
        self.events.append((at, value))
        self.count += 1
        self.total += value

    def at(self, now: float) -> "_Window":
        while self.events and self.events[0][0] <= now - self.seconds:
            _, value = self.events.popleft()
            self.count -= 1
            self.total -= value
        return self

    def mean(self, default: float) -> float:
        return self.total / self.count if self.count else default


class _Bank:
    """One phone bank on one evening: the volunteers, the lines, the events."""

    def __init__(
        self, mode: Mode, volunteers: int, hours: float, seed: int, a: Assumptions, evenings: int
    ):
        self.mode = mode
        self.a = a
        self.rng = random.Random(f"{seed}-{mode}-{volunteers}")
        self.length = hours * 3600
        self.evenings = evenings
        self.volunteers = [_Volunteer() for _ in range(volunteers)]
        self.lines: set[_Line] = set()
        self.held: deque[_Line] = deque()  # people answered, waiting (< 2 s) for a volunteer
        self.queue: list = []
        self.order = itertools.count()
        self.ring_out = ring_seconds(
            mode if a.short_predictive_ring else Mode.POWER, a.ring_seconds
        )
        self.evening = Evening(
            mode=str(mode),
            volunteers=volunteers,
            hours=hours,
            seed=seed,
            evenings=evenings,
            amd_false_positive_rate=a.amd_false_positive_rate,
        )
        recent = RECENT_SECONDS
        self.attempts = _Window(recent)
        self.humans = _Window(recent)
        self.machines = _Window(recent)
        self.talks = _Window(recent)
        self.wraps = _Window(recent)
        self.rings = _Window(recent)
        self.live24 = _Window(RECORD_SECONDS)
        self.abandoned24 = _Window(RECORD_SECONDS)
        self.machines24 = _Window(RECORD_SECONDS)

    # --- drawing what happens -------------------------------------------------------------

    def lognormal(self, mean: float, sigma: float) -> float:
        return self.rng.lognormvariate(math.log(mean) - sigma * sigma / 2, sigma)

    def at(self, when: float, action, *args) -> None:
        heapq.heappush(self.queue, (when, next(self.order), action, args))

    # --- the floor, counted as the app counts rows ----------------------------------------

    def floor(self, now: float) -> Floor:
        states = [v.state for v in self.volunteers]
        return Floor(
            waiting=states.count("waiting"),
            wrapping_up=states.count("wrapping"),
            talking=states.count("talking"),
            ringing=sum(1 for line in self.lines if not line.joined),
            attempts=self.attempts.at(now).count,
            answered_human=self.humans.at(now).count,
            answered_machine=self.machines.at(now).count,
            mean_talk_seconds=self.talks.at(now).mean(self.a.talk_seconds),
            mean_wrap_seconds=self.wraps.at(now).mean(self.a.wrap_seconds),
            mean_ring_seconds=self.rings.at(now).mean(self.a.answer_after_seconds),
        )

    def record(self, now: float) -> Record24h:
        return Record24h(
            live_answered=self.live24.at(now).count,
            abandoned=self.abandoned24.at(now).count,
            machine_answered=self.machines24.at(now).count,
        )

    # --- lines ----------------------------------------------------------------------------

    def dial(self, now: float, volunteer: _Volunteer | None) -> None:
        a = self.a
        line = _Line(dialed_at=now, volunteer=volunteer)
        if volunteer is not None:
            volunteer.line = line
        self.lines.add(line)
        self.evening.attempts += 1
        self.attempts.add(now)
        roll = self.rng.random()
        ring = max(2.0, self.lognormal(a.answer_after_seconds, 0.5))
        if roll < a.answer_rate and ring < self.ring_out:  # later answers miss the ring-out
            machine = self.rng.random() < a.machine_share
            self.at(now + ring, self.answered, line, machine)
        elif self.rng.random() < a.busy_share:
            self.at(now + self.rng.uniform(2.0, 6.0), self.unanswered, line)
        else:
            self.at(now + self.ring_out, self.unanswered, line)

    def finish_line(self, line: _Line) -> None:
        line.ended = True
        self.lines.discard(line)
        if line.volunteer is not None and line.volunteer.line is line:
            line.volunteer.line = None

    def unanswered(self, now: float, line: _Line) -> None:
        self.finish_line(line)
        self.after_non_connect(now, line.volunteer)

    def answered(self, now: float, line: _Line, machine: bool) -> None:
        line.answered_at = now
        self.rings.add(now, now - line.dialed_at)
        if self.mode is Mode.PREVIEW:
            if machine:  # the volunteer hears the greeting and hangs up
                self.at(now + self.a.machine_listen_seconds, self.unanswered, line)
            else:
                self.count_person(now)
                self.join(now, line, line.volunteer)
            return
        taken_for_machine = not machine and self.rng.random() < self.a.person_taken_for_machine
        self.at(now + self.a.amd_seconds, self.detected, line, machine, taken_for_machine)

    def count_person(self, now: float) -> None:
        self.evening.live_answered += 1
        self.humans.add(now)
        self.live24.add(now)

    def detected(self, now: float, line: _Line, machine: bool, taken_for_machine: bool) -> None:
        if machine or taken_for_machine:
            self.evening.machine_answered += 1
            self.machines.add(now)
            self.machines24.add(now)
            if taken_for_machine:  # a person hung up on: Ofcom's false positive
                self.evening.false_positives += 1
            self.finish_line(line)
            self.after_non_connect(now, line.volunteer)
            return
        self.count_person(now)
        volunteer = line.volunteer or self.longest_waiting()
        if volunteer is not None:
            self.join(now, line, volunteer)
        else:
            self.held.append(line)
            self.at(line.answered_at + 2.0, self.give_up, line)

    def give_up(self, now: float, line: _Line) -> None:
        """Nobody came free within 2 seconds: abandoned, and the recorded message plays."""
        if line.joined or line.ended:
            return
        self.held.remove(line)
        self.evening.abandoned += 1
        self.abandoned24.add(now)
        self.finish_line(line)

    # --- volunteers -----------------------------------------------------------------------

    def longest_waiting(self) -> _Volunteer | None:
        free = [v for v in self.volunteers if v.state == "waiting" and v.line is None]
        return min(free, key=lambda v: v.since) if free else None

    def join(self, now: float, line: _Line, volunteer: _Volunteer) -> None:
        line.joined = True
        talk = self.lognormal(self.a.talk_seconds, self.a.talk_spread)
        if self.calling(line.answered_at):  # dialing stops at the end; later answers not counted
            self.evening.conversations += 1
            self.evening.talk_seconds += talk
        if volunteer.line is not None and volunteer.line is not line:
            raise AssertionError("a volunteer joined to a line dialed for someone else")
        volunteer.state, volunteer.since = "talking", now
        self.at(now + talk, self.hang_up, line, volunteer, talk)

    def hang_up(self, now: float, line: _Line, volunteer: _Volunteer, talk: float) -> None:
        self.talks.add(now, talk)
        self.finish_line(line)
        volunteer.state, volunteer.since = "wrapping", now
        wrap = self.lognormal(self.a.wrap_seconds, 0.5)
        self.at(now + wrap, self.wrapped, volunteer, wrap)

    def wrapped(self, now: float, volunteer: _Volunteer, wrap: float) -> None:
        self.wraps.add(now, wrap)
        self.free(now, volunteer)

    def after_non_connect(self, now: float, volunteer: _Volunteer | None) -> None:
        if volunteer is None:
            return
        if self.mode is Mode.PREVIEW:  # noting the outcome by hand, then the next card
            volunteer.state = "busy"
            self.at(now + self.a.note_seconds, self.free, volunteer)
        else:
            volunteer.since = min(volunteer.since, now)

    def free(self, now: float, volunteer: _Volunteer) -> None:
        volunteer.state, volunteer.since = "waiting", now
        if self.held and self.mode is not Mode.PREVIEW:
            self.join(now, self.held.popleft(), volunteer)
            return
        if self.mode is Mode.PREVIEW and self.calling(now):
            volunteer.state = "busy"  # reading the next card
            self.at(now + self.lognormal(self.a.read_seconds, 0.5), self.press_call, volunteer)

    def press_call(self, now: float, volunteer: _Volunteer) -> None:
        if not self.calling(now):
            volunteer.state = "waiting"
            return
        volunteer.state = "waiting"
        self.dial(now, volunteer)

    # --- the evening ----------------------------------------------------------------------

    def pace(self, now: float) -> None:
        floor = self.floor(now)
        record = self.record(now)
        e = self.evening
        if record.live_answered >= RATE_SETTLES_AFTER:
            rate = abandonment_rate(record, e.amd_false_positive_rate)
            e.highest_rate = max(e.highest_rate, rate)
        n = lines_to_dial(
            self.mode, floor, record, amd_false_positive_rate=self.a.amd_false_positive_rate
        )
        if n <= 0:
            return
        if self.mode is Mode.POWER:
            free = [v for v in self.volunteers if v.state == "waiting" and v.line is None]
            for volunteer in free[:n]:
                self.dial(now, volunteer)
        else:
            for _ in range(n):
                self.dial(now, None)
        ringing = floor.ringing + n
        e.most_lines_per_volunteer = max(e.most_lines_per_volunteer, ringing / len(self.volunteers))
        if ringing > floor.waiting:  # lines beyond the volunteers: the worst case it accepted
            worst = worst_case_rate(
                record, floor, n, amd_false_positive_rate=self.a.amd_false_positive_rate
            )
            e.highest_worst_case = max(e.highest_worst_case, worst)

    def calling(self, now: float) -> bool:
        """Within an evening: from the same time each day, for its length."""
        return now < self.evenings * DAY and now % DAY < self.length

    def run(self) -> Evening:
        for evening in range(self.evenings):
            start = evening * DAY
            if self.mode is Mode.PREVIEW:
                for volunteer in self.volunteers:
                    self.at(start, self.free, volunteer)
            else:
                for second in range(int(self.length)):
                    self.at(start + second, self.pace)
        while self.queue:
            when, _, action, args = heapq.heappop(self.queue)
            action(when, *args)
        return self.evening


def simulate(
    mode: Mode | str,
    volunteers: int,
    *,
    hours: float = 3.0,
    seed: int = 1,
    assumptions: Assumptions | None = None,
    evenings: int = 1,
) -> Evening:
    """An evening of ``volunteers`` on the line in ``mode`` (or several, a day apart, so the
    rolling 24-hour record carries one into the next); dialing stops at the end of each, calls
    already placed run their course."""
    if volunteers < 1 or hours <= 0 or hours > 24 or evenings < 1:
        raise ValueError("an evening needs at least one volunteer and some time in a day")
    bank = _Bank(Mode(mode), volunteers, hours, seed, assumptions or Assumptions(), evenings)
    return bank.run()
