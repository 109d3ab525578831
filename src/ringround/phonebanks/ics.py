"""An iCalendar (RFC 5545) file for one session, written by hand: it is a few lines, and a
library would be one more dependency for them. The rules that matter to calendar programs:
CRLF line endings, lines folded at 75 octets (never inside a UTF-8 character), and commas,
semicolons, backslashes and newlines escaped in text values."""

import datetime as dt

LINE_OCTETS = 75


def escape_text(value: str) -> str:
    """A TEXT value (RFC 5545 3.3.11)."""
    value = value.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,")
    return value.replace("\r\n", "\\n").replace("\r", "\\n").replace("\n", "\\n")


def fold(line: str) -> str:
    """``line`` split into lines of at most 75 octets, each continuation starting with a
    space (RFC 5545 3.1)."""
    parts, current, size = [], "", 0
    for char in line:
        width = len(char.encode("utf-8"))
        limit = LINE_OCTETS if not parts else LINE_OCTETS - 1  # the leading space counts
        if size + width > limit:
            parts.append(current)
            current, size = "", 0
        current += char
        size += width
    parts.append(current)
    return "\r\n ".join(parts)


def utc_stamp(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).strftime("%Y%m%dT%H%M%SZ")


def session_calendar(session, *, now: dt.datetime, site: str = "", method: str = "PUBLISH") -> str:
    """The calendar text for ``session``; ``method="CANCEL"`` withdraws it from a calendar
    that has it (same UID, higher SEQUENCE)."""
    cancelled = method == "CANCEL"
    description = [f"Phone bank for {session.campaign.name}."]
    if session.meeting_link:
        description.append(f"Join the call: {session.meeting_link}")
    if session.host_display:
        description.append(f"Host: {session.host_display}")
    lines = [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        "PRODID:-//Ringround//Phone-bank sessions//EN",
        "CALSCALE:GREGORIAN",
        f"METHOD:{method}",
        "BEGIN:VEVENT",
        f"UID:{session.public_id}@ringround",
        f"SEQUENCE:{1 if cancelled else 0}",
        f"DTSTAMP:{utc_stamp(now)}",
        f"DTSTART:{utc_stamp(session.starts_at)}",
        f"DTEND:{utc_stamp(session.ends_at)}",
        f"SUMMARY:{escape_text(session.name)}",
        f"DESCRIPTION:{escape_text(chr(10).join(description))}",
    ]
    if session.meeting_link:
        lines.append(f"LOCATION:{escape_text(session.meeting_link)}")
        lines.append(f"URL:{session.meeting_link}")
    lines.append(f"STATUS:{'CANCELLED' if cancelled else 'CONFIRMED'}")
    lines += ["END:VEVENT", "END:VCALENDAR"]
    return "".join(fold(line) + "\r\n" for line in lines)
