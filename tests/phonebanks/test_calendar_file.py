"""The .ics file a volunteer's calendar reads: RFC 5545's required properties in UTC, CRLF
lines folded at 75 octets, and text escaped."""

import pytest

from ringround.phonebanks.ics import fold, session_calendar
from tests.factories import make_campaign
from tests.phonebanks.factories import NOON, make_session
from tests.phonebanks.icalendar import parse, unescape, utc

pytestmark = pytest.mark.django_db


def test_calendar_has_the_sessions_times_in_utc_and_its_link():
    session = make_session(make_campaign(), starts_at=NOON)
    event = parse(session_calendar(session, now=NOON).encode())["event"]
    assert utc(event["DTSTART"]) == session.starts_at
    assert utc(event["DTEND"]) == session.ends_at
    assert utc(event["DTSTAMP"]) == NOON
    assert event["UID"] == f"{session.public_id}@ringround"
    assert "https://meet.example.org/phone-bank" in unescape(event["DESCRIPTION"])
    assert event["URL"] == "https://meet.example.org/phone-bank"
    assert unescape(event["LOCATION"]) == "https://meet.example.org/phone-bank"


def test_commas_semicolons_and_newlines_are_escaped_and_long_lines_folded():
    campaign = make_campaign(name="Unite; North West, Salford")
    title = "Évening call; bring tea, biscuits\nand a charger — " + "ü" * 60
    session = make_session(campaign, starts_at=NOON, title=title)
    text = session_calendar(session, now=NOON)
    assert "\r\n " in text  # folded
    event = parse(text.encode())["event"]
    assert unescape(event["SUMMARY"]) == title
    assert event["SUMMARY"].startswith("Évening call\\; bring tea\\, biscuits\\nand")
    assert "Unite; North West, Salford" in unescape(event["DESCRIPTION"])


def test_folding_never_splits_a_character_and_keeps_lines_to_75_octets():
    line = "DESCRIPTION:" + "€" * 100
    folded = fold(line).encode()
    assert all(len(part) <= 75 for part in folded.split(b"\r\n"))
    assert folded.replace(b"\r\n ", b"").decode() == line


def test_a_cancellation_withdraws_the_same_event():
    session = make_session(make_campaign(), starts_at=NOON)
    sent = parse(session_calendar(session, now=NOON).encode())
    withdrawn = parse(session_calendar(session, now=NOON, method="CANCEL").encode())
    assert withdrawn["event"]["UID"] == sent["event"]["UID"]
    assert withdrawn["calendar"]["METHOD"] == "CANCEL"
    assert withdrawn["event"]["STATUS"] == "CANCELLED"
    assert int(withdrawn["event"]["SEQUENCE"]) > int(sent["event"]["SEQUENCE"])
