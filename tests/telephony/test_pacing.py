"""The dialer's pacing keeps Ofcom's 3 % abandonment cap by its worst case, before the limit."""

import ast
import itertools
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ringround.telephony import pacing, simulation
from ringround.telephony.pacing import (
    CAP,
    TARGET,
    Floor,
    Mode,
    Record24h,
    abandonment_rate,
    lines_to_dial,
    power_lines,
    worst_case_rate,
)
from ringround.telephony.simulation import Assumptions, simulate


def floor(waiting=10, wrapping_up=5, talking=5, ringing=0, **recent) -> Floor:
    figures = dict(attempts=600, answered_human=90, answered_machine=30)
    figures.update(recent)
    return Floor(
        waiting=waiting, wrapping_up=wrapping_up, talking=talking, ringing=ringing, **figures
    )


def people_worst_case(record: Record24h, floor: Floor, new: int, fp_rate: float) -> float:
    """Every line ringing and every new line answered by a person at once, written out."""
    estimate = record.machine_answered * fp_rate
    lines = floor.ringing + new
    abandoned = record.abandoned + estimate + max(0, lines - floor.waiting)
    live = record.live_answered + estimate + lines
    return abandoned / live if live else 0.0


# --- the rate ---------------------------------------------------------------------------------


def test_rate_counts_amd_false_positives_as_abandoned_and_as_live_answered():
    record = Record24h(live_answered=100, abandoned=1, machine_answered=50)
    # 50 machine verdicts, 2 % of them people: one person hung up on, abandoned and live.
    assert abandonment_rate(record, 0.02) == pytest.approx(2 / 101)
    assert abandonment_rate(record, 0.0) == pytest.approx(1 / 100)


def test_rate_is_nought_before_anyone_answers():
    assert abandonment_rate(Record24h(0, 0, 0), 0.02) == 0.0


def test_rate_of_only_machines_is_all_false_positives():
    assert abandonment_rate(Record24h(0, 0, 10), 0.02) == pytest.approx(1.0)


# --- preview and power ------------------------------------------------------------------------


@pytest.mark.parametrize("waiting", [0, 1, 5, 40])
def test_preview_dials_nothing_the_volunteer_presses_call(waiting):
    assert lines_to_dial(Mode.PREVIEW, floor(waiting=waiting), Record24h(1000, 0, 300)) == 0


def test_power_dials_one_line_per_waiting_volunteer_not_already_dialed_for():
    record = Record24h(1000, 0, 300)
    assert lines_to_dial(Mode.POWER, floor(waiting=5, ringing=0), record) == 5
    assert lines_to_dial(Mode.POWER, floor(waiting=5, ringing=2), record) == 3
    assert lines_to_dial(Mode.POWER, floor(waiting=5, ringing=5), record) == 0
    assert lines_to_dial(Mode.POWER, floor(waiting=0, ringing=0), record) == 0


def test_power_does_not_over_dial_however_good_the_record():
    assert lines_to_dial("power", floor(waiting=3, ringing=0), Record24h(10**6, 0, 0)) == 3


def test_modes_are_the_apps_words_and_others_are_refused():
    assert [str(mode) for mode in Mode] == ["preview", "power", "predictive"]
    with pytest.raises(ValueError):
        lines_to_dial("progressive", floor(), Record24h(0, 0, 0))


# --- predictive -------------------------------------------------------------------------------


def test_predictive_over_dials_when_the_record_has_room():
    record = Record24h(live_answered=2000, abandoned=5, machine_answered=600)
    here = floor(waiting=10, ringing=0)
    lines = lines_to_dial(Mode.PREDICTIVE, here, record)
    assert lines > power_lines(here)
    assert people_worst_case(record, here, lines, 0.02) <= TARGET


def test_predictive_at_the_start_of_the_evening_dials_like_power():
    """No live answers yet, so no abandonment can be afforded: one line per waiting volunteer."""
    start = floor(waiting=10, ringing=0, attempts=0, answered_human=0, answered_machine=0)
    assert lines_to_dial(Mode.PREDICTIVE, start, Record24h(0, 0, 0)) == 10
    # A machine verdict or two, and a handful of people, still earn nothing.
    assert lines_to_dial(Mode.PREDICTIVE, start, Record24h(12, 0, 4)) == 10
    assert lines_to_dial(Mode.PREDICTIVE, floor(waiting=10, ringing=10), Record24h(0, 0, 0)) == 0


def test_predictive_starts_no_line_beyond_the_volunteers_until_a_live_answer_affords_it():
    here = floor(waiting=4, ringing=4)
    # One line beyond the volunteers, all abandoned in the worst case: 1 / (L + 5) <= 2.9 %.
    needed = next(
        live
        for live in itertools.count()
        if lines_to_dial(Mode.PREDICTIVE, here, Record24h(live, 0, 0)) > 0
    )
    assert (1 / (needed + 5)) <= TARGET < 1 / (needed - 1 + 5)


def test_predictive_backs_off_to_power_as_the_record_nears_three_per_cent():
    here = floor(waiting=8, ringing=2)
    figures = []
    for abandoned in range(0, 40):
        record = Record24h(live_answered=1000, abandoned=abandoned, machine_answered=300)
        figures.append(
            (abandonment_rate(record, 0.02), lines_to_dial(Mode.PREDICTIVE, here, record))
        )
    lines = [n for _, n in figures]
    assert lines == sorted(lines, reverse=True), "more abandoned calls never mean more lines"
    assert lines[0] > power_lines(here)
    first_at_power = next(rate for rate, n in figures if n == power_lines(here))
    assert first_at_power < CAP, "backs off before the limit, not after"
    assert all(n == power_lines(here) for rate, n in figures if rate >= TARGET)


def test_predictive_never_dials_below_power_even_over_the_cap():
    """Lines that each find a waiting volunteer cannot be abandoned: they only lower the rate."""
    over = Record24h(live_answered=100, abandoned=10, machine_answered=30)
    assert lines_to_dial(Mode.PREDICTIVE, floor(waiting=6, ringing=1), over) == 5


def test_three_volunteers_one_abandoned_call_in_forty_stops_the_over_dial():
    """A small phone bank: three volunteers, 40 people answered tonight, one abandoned (2.5 %).
    Another abandonment would be 2 in 41 (4.9 %), so predictive dials only as power does."""
    small = floor(waiting=2, wrapping_up=1, talking=0, ringing=1, attempts=200, answered_human=30)
    record = Record24h(live_answered=40, abandoned=1, machine_answered=13)
    assert lines_to_dial(Mode.PREDICTIVE, small, record) == power_lines(small) == 1
    # With the same bank and a clean record of 200 live answers, it may go one line beyond.
    clean = Record24h(live_answered=200, abandoned=0, machine_answered=60)
    lines = lines_to_dial(Mode.PREDICTIVE, small, clean)
    assert lines > power_lines(small)
    assert worst_case_rate(clean, small, lines) <= TARGET


def test_predictive_does_not_dial_more_than_it_wants_when_the_record_is_ample():
    quiet = floor(waiting=1, wrapping_up=0, talking=0, ringing=0, attempts=1000, answered_human=600)
    # Three lines in five reach a person lately: two lines are plenty for one volunteer.
    assert lines_to_dial(Mode.PREDICTIVE, quiet, Record24h(10**5, 0, 0)) == 2


def test_negative_counts_from_a_confused_caller_dial_nothing_extra():
    odd = Floor(waiting=-3, wrapping_up=-1, talking=-1, ringing=-5)
    assert lines_to_dial(Mode.PREDICTIVE, odd, Record24h(0, 0, 0)) == 0
    assert lines_to_dial(Mode.POWER, odd, Record24h(0, 0, 0)) == 0


floors = st.builds(
    Floor,
    waiting=st.integers(0, 60),
    wrapping_up=st.integers(0, 60),
    talking=st.integers(0, 60),
    ringing=st.integers(0, 300),
    attempts=st.integers(0, 5000),
    answered_human=st.integers(0, 1000),
    answered_machine=st.integers(0, 1000),
    mean_talk_seconds=st.floats(1, 1000),
    mean_wrap_seconds=st.floats(1, 300),
    mean_ring_seconds=st.floats(1, 60),
)


@st.composite
def records(draw):
    live = draw(st.integers(0, 20000))
    return Record24h(
        live_answered=live,
        abandoned=draw(st.integers(0, max(0, live))),
        machine_answered=draw(st.integers(0, 10000)),
    )


@settings(max_examples=1000, deadline=None)
@given(floors, records(), st.floats(0, 0.2))
def test_predictive_keeps_the_worst_case_under_the_cap_whenever_the_record_is(here, record, fp):
    """Whatever the floor: if the record is within the cap now, then every line ringing and
    every line started, all answered by people at once, still keeps it within the cap; and when
    it starts lines beyond the volunteers, not even all answered by machines breaks it."""
    if abandonment_rate(record, fp) > CAP:
        return
    lines = lines_to_dial(Mode.PREDICTIVE, here, record, amd_false_positive_rate=fp)
    assert lines >= power_lines(here)
    if lines > 0:
        assert people_worst_case(record, here, lines, fp) <= CAP + 1e-12
    if here.ringing + lines > here.waiting and lines > power_lines(here):
        assert worst_case_rate(record, here, lines, amd_false_positive_rate=fp) <= TARGET + 1e-12


@settings(max_examples=300, deadline=None)
@given(
    st.integers(0, 6),
    st.integers(0, 6),
    records(),
    st.floats(0, 0.2),
)
def test_no_way_the_lines_can_fall_is_worse_than_the_worst_case(waiting, lines, record, fp):
    """Each line reaches a person, a machine or nobody; people beyond the volunteers are
    abandoned. Every such outcome stays within ``worst_case_rate``."""
    here = Floor(waiting=waiting, wrapping_up=0, talking=0, ringing=lines)
    worst = worst_case_rate(record, here, 0, amd_false_positive_rate=fp)
    estimate = record.machine_answered * fp
    for people in range(lines + 1):
        for machines in range(lines - people + 1):
            abandoned = record.abandoned + estimate + max(0, people - waiting) + fp * machines
            live = record.live_answered + estimate + people + fp * machines
            if live:
                assert abandoned / live <= worst + 1e-12


# --- a simulated evening through the real pacing ----------------------------------------------


@pytest.fixture(scope="module")
def evenings():
    return {
        (mode, volunteers): simulate(mode, volunteers, hours=1.5, seed=7)
        for mode in Mode
        for volunteers in (3, 20)
    }


@pytest.mark.parametrize("volunteers", [3, 20])
@pytest.mark.parametrize("mode", list(Mode))
def test_a_simulated_evening_keeps_abandonment_within_three_per_cent(evenings, mode, volunteers):
    evening = evenings[(mode, volunteers)]
    assert evening.attempts > 0 and evening.conversations > 0
    assert evening.abandonment_rate <= CAP
    assert evening.highest_rate <= CAP  # at every second of the evening, not only at its end
    assert evening.highest_worst_case <= TARGET + 1e-12
    if mode is Mode.PREVIEW:
        assert evening.abandoned == 0 and evening.machine_answered == 0


@pytest.mark.parametrize("volunteers", [3, 20])
def test_power_reaches_more_contacts_than_preview(evenings, volunteers):
    preview = evenings[(Mode.PREVIEW, volunteers)]
    power = evenings[(Mode.POWER, volunteers)]
    assert power.contacts_per_volunteer_hour > preview.contacts_per_volunteer_hour
    assert power.abandoned == 0  # a line per waiting volunteer is never abandoned


def test_predictive_reaches_more_contacts_than_power_on_a_big_phone_bank(evenings):
    power = evenings[(Mode.POWER, 20)]
    predictive = evenings[(Mode.PREDICTIVE, 20)]
    assert predictive.contacts_per_volunteer_hour > power.contacts_per_volunteer_hour
    assert predictive.most_lines_per_volunteer > 1


def test_the_same_seed_gives_the_same_evening():
    first = simulate(Mode.PREDICTIVE, 5, hours=0.5, seed=11).figures()
    assert simulate(Mode.PREDICTIVE, 5, hours=0.5, seed=11).figures() == first
    assert simulate(Mode.PREDICTIVE, 5, hours=0.5, seed=12).figures() != first


def test_the_simulation_paces_through_lines_to_dial(monkeypatch):
    """The figures are the real code's: every second the simulation asks the pacing, with a
    Floor and a Record24h it counted itself."""
    asked = []

    def watching(mode, floor, record, **options):
        asked.append((mode, floor, record))
        return pacing.lines_to_dial(mode, floor, record, **options)

    monkeypatch.setattr(simulation, "lines_to_dial", watching)
    evening = simulate(Mode.PREDICTIVE, 4, hours=0.25, seed=3)
    assert len(asked) == 15 * 60
    assert all(isinstance(f, Floor) and isinstance(r, Record24h) for _, f, r in asked)
    last = asked[-1][2]
    assert last.live_answered <= evening.live_answered
    assert max(f.ringing for _, f, _ in asked) > 0


def test_the_rolling_record_carries_one_evening_into_the_next_within_the_cap():
    evening = simulate(Mode.PREDICTIVE, 5, hours=1, seed=2, evenings=2)
    assert evening.evenings == 2 and evening.volunteer_hours == 10
    assert evening.highest_rate <= CAP
    assert evening.abandonment_rate <= CAP


def test_an_evening_needs_volunteers_and_time():
    with pytest.raises(ValueError):
        simulate(Mode.POWER, 0)
    with pytest.raises(ValueError):
        simulate(Mode.POWER, 3, hours=0)
    with pytest.raises(ValueError):
        simulate(Mode.POWER, 3, hours=25)


# --- ring time -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "mode, configured, rings",
    [
        (Mode.PREVIEW, 30, 30),
        (Mode.POWER, 45, 45),
        (Mode.PREDICTIVE, 30, 20),
        (Mode.PREDICTIVE, 18, 18),
        (Mode.PREVIEW, 10, 15),
        (Mode.POWER, 0, 15),
        (Mode.PREDICTIVE, 5, 15),
    ],
)
def test_lines_ring_at_least_fifteen_seconds_and_predictive_ones_at_most_twenty(
    mode, configured, rings
):
    assert pacing.ring_seconds(mode, configured) == rings


def test_the_simulation_rings_predictive_lines_out_as_the_pacing_says():
    short = simulate(Mode.PREDICTIVE, 5, hours=0.25, seed=5)
    long = simulate(
        Mode.PREDICTIVE, 5, hours=0.25, seed=5, assumptions=Assumptions(short_predictive_ring=False)
    )
    assert short.figures() != long.figures()
    assert short.attempts > long.attempts  # lines that ring out sooner free their place sooner


@pytest.mark.parametrize("module", [pacing, simulation])
def test_pacing_and_its_simulation_import_only_the_standard_library(module):
    """Pure code: no Django, no database, nothing of ringround's but the pacing itself."""
    tree = ast.parse(Path(module.__file__).read_text())
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative: only the pacing, from the simulation
                assert module is not pacing and node.module == "pacing"
                continue
            names = [node.module]
        else:
            continue
        for name in names:
            assert name.split(".")[0] in sys.stdlib_module_names, name
