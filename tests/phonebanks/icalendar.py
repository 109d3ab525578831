"""A small iCalendar reader written from RFC 5545 for the tests, independent of the code that
writes the files: it checks the line endings and folding as it unfolds."""

import datetime as dt

REQUIRED_EVENT = {"UID", "DTSTAMP", "DTSTART", "DTEND", "SUMMARY", "DESCRIPTION"}


def unescape(value: str) -> str:
    out, chars = [], iter(value)
    for char in chars:
        if char == "\\":
            following = next(chars)
            out.append("\n" if following in "nN" else following)
        else:
            out.append(char)
    return "".join(out)


def parse(data: bytes) -> dict:
    """The one VEVENT's properties (name -> raw value) and the calendar's; asserts the form."""
    assert data.endswith(b"\r\n"), "the file ends with CRLF"
    raw_lines = data.split(b"\r\n")[:-1]
    for line in raw_lines:
        assert b"\n" not in line and b"\r" not in line, f"bare LF or CR in {line!r}"
        assert len(line) <= 75, f"line longer than 75 octets: {line!r}"
        line.decode("utf-8")  # folding never splits a UTF-8 character
    logical = []
    for line in raw_lines:
        if line[:1] in (b" ", b"\t"):
            assert logical, "a continuation line first"
            logical[-1] += line[1:]
        else:
            logical.append(line)
    stack, calendar, event = [], {}, None
    for line in (item.decode("utf-8") for item in logical):
        name_part, _, value = line.partition(":")
        name = name_part.split(";")[0].upper()
        if name == "BEGIN":
            stack.append(value)
            if value == "VEVENT":
                assert event is None, "one event"
                event = {}
        elif name == "END":
            assert stack.pop() == value, f"END:{value} out of place"
        elif stack == ["VCALENDAR"]:
            calendar[name] = value
        elif stack == ["VCALENDAR", "VEVENT"]:
            event[name] = value
    assert stack == [], "every BEGIN has its END"
    assert calendar.get("VERSION") == "2.0" and calendar.get("PRODID")
    assert event is not None and REQUIRED_EVENT <= set(event), set(event)
    return {"calendar": calendar, "event": event}


def utc(value: str) -> dt.datetime:
    assert value.endswith("Z"), f"{value} is not UTC"
    return dt.datetime.strptime(value, "%Y%m%dT%H%M%SZ").replace(tzinfo=dt.UTC)


def calendar_of(message) -> dict:
    """The parsed .ics attached to an email."""
    [(name, content, mimetype)] = message.attachments
    assert name.endswith(".ics") and mimetype.startswith("text/calendar")
    return parse(content.encode("utf-8") if isinstance(content, str) else content)
