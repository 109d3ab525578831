"""The legal calling window of the place a contact lives, derived from their number and area.

A campaign's own calling hours are intersected with this window (``Campaign.open_legal_zones``):
a target carries a *legal zone*, ``"<jurisdiction>|<time zone>"`` (``"US-IN|America/Indiana/
Indianapolis"``), or ``""`` where no statutory window is known (the campaign's hours alone).
The window is read in the contact's own local time, so an Indiana number in the Central zone
opens an hour after one in the Eastern zone.

UK: no statute sets hours; the ICO expects calls at reasonable times. Ringround's default is
09:00-21:00 on weekdays and 10:00-18:00 at weekends, editable per team (``TeamPolicy``).
"""

import datetime as dt
from zoneinfo import ZoneInfo

ALL_WEEK = tuple(range(7))

# US calling hours, local time at the called person's location, as (start, end) every day.
# Federal: no telephone solicitation before 8 a.m. or after 9 p.m. (47 CFR 64.1200(c)(1);
# FTC Telemarketing Sales Rule, 16 CFR 310.4(c)); it applies in every state.
US_FEDERAL = (dt.time(8, 0), dt.time(21, 0))
# States whose own statute sets hours stricter than, or beside, the federal ones.
US_STATE_HOURS = {
    # California Public Utilities Code s. 2872(c): automatic dialing-announcing devices may
    # not place calls received in California between 9 p.m. and 9 a.m. California time.
    # Ringround applies the stricter start to every call (a dialer may be attached).
    "CA": (dt.time(9, 0), dt.time(21, 0)),
    # Indiana Attorney General, "Telephone Solicitations" (in.gov/attorneygeneral/2538.htm,
    # summarising IC 24-4.7 and IC 24-5-14): calling times are restricted to 8 a.m. - 9 p.m.
    # Indiana spans the Eastern and Central zones: the window is in the contact's own zone.
    "IN": (dt.time(8, 0), dt.time(21, 0)),
}

# Area codes of the states above (NANPA area code assignments, as of 2026).
US_AREA_CODES = {
    **dict.fromkeys(
        "209 213 279 310 323 341 350 408 415 424 442 510 530 559 562 619 626 628 650 657 661 "
        "669 707 714 747 760 805 818 820 831 840 858 909 916 925 949 951".split(),
        "CA",
    ),
    **dict.fromkeys("219 260 317 463 574 765 812 930".split(), "IN"),
}

# A contact's area naming a US state (its name or postal code) places them there, whatever
# their number's area code says (people keep their mobile numbers when they move).
US_STATES = {
    "AL": "Alabama", "AK": "Alaska", "AZ": "Arizona", "AR": "Arkansas", "CA": "California",
    "CO": "Colorado", "CT": "Connecticut", "DE": "Delaware", "DC": "District of Columbia",
    "FL": "Florida", "GA": "Georgia", "HI": "Hawaii", "ID": "Idaho", "IL": "Illinois",
    "IN": "Indiana", "IA": "Iowa", "KS": "Kansas", "KY": "Kentucky", "LA": "Louisiana",
    "ME": "Maine", "MD": "Maryland", "MA": "Massachusetts", "MI": "Michigan",
    "MN": "Minnesota", "MS": "Mississippi", "MO": "Missouri", "MT": "Montana",
    "NE": "Nebraska", "NV": "Nevada", "NH": "New Hampshire", "NJ": "New Jersey",
    "NM": "New Mexico", "NY": "New York", "NC": "North Carolina", "ND": "North Dakota",
    "OH": "Ohio", "OK": "Oklahoma", "OR": "Oregon", "PA": "Pennsylvania",
    "RI": "Rhode Island", "SC": "South Carolina", "SD": "South Dakota", "TN": "Tennessee",
    "TX": "Texas", "UT": "Utah", "VT": "Vermont", "VA": "Virginia", "WA": "Washington",
    "WV": "West Virginia", "WI": "Wisconsin", "WY": "Wyoming",
}  # fmt: skip
_STATE_BY_WORD = {
    **{code.lower(): code for code in US_STATES},
    **{name.lower(): code for code, name in US_STATES.items()},
}

UK = "GB"
# UK numbers: +44, and the Crown dependencies that share its numbering and the TPS.
UK_PREFIXES = ("+44",)


def jurisdiction_for(phone: str, area: str = "") -> str:
    """``"GB"``, ``"US-<state>"`` for a state with its own hours, ``"US"`` for the rest of the
    United States (federal hours), or ``""`` (no statutory window known)."""
    if phone.startswith(UK_PREFIXES):
        return UK
    if phone.startswith("+1") and len(phone) == 12:
        state = _STATE_BY_WORD.get((area or "").strip().lower())
        if state is None:
            state = US_AREA_CODES.get(phone[2:5])
            if state is None and phone[2:5] not in _CANADA_AND_CARIBBEAN:
                return "US"
        if state is None:
            return ""
        return f"US-{state}" if state in US_STATE_HOURS else "US"
    return ""


def legal_zone(phone: str, time_zone: str, area: str = "") -> str:
    """The target's legal zone: its jurisdiction and the time zone its window is read in."""
    jurisdiction = jurisdiction_for(phone, area)
    return f"{jurisdiction}|{time_zone}" if jurisdiction else ""


def calls_uk_numbers(legal_zones) -> bool:
    """Whether any of these legal zones is the UK's (TPS screening applies)."""
    return any(zone.startswith(f"{UK}|") for zone in legal_zones)


def window(jurisdiction: str, weekday: int, policy) -> tuple[dt.time, dt.time] | None:
    """The legal window on this weekday (Monday = 0), ``(start, end)`` with an end of 00:00
    meaning midnight; ``None``: no calls at all that day."""
    if jurisdiction == UK:
        if weekday < 5:
            return policy.uk_weekday_start, policy.uk_weekday_end
        return policy.uk_weekend_start, policy.uk_weekend_end
    if jurisdiction.startswith("US"):
        return US_STATE_HOURS.get(jurisdiction[3:], US_FEDERAL)
    return None


def is_legal_time(zone: str, now: dt.datetime, policy) -> bool:
    """Whether a contact in this legal zone may be called at ``now``."""
    if not zone:
        return True
    jurisdiction, _, tz_name = zone.partition("|")
    local = now.astimezone(ZoneInfo(tz_name))
    hours = window(jurisdiction, local.weekday(), policy)
    if hours is None:
        return False
    start, end = hours
    end = dt.time.max if end == dt.time(0, 0) else end
    return start <= local.time().replace(tzinfo=None) < end


# +1 area codes outside the United States and its territories: Canada and the Caribbean
# members of the NANP (no US state's hours; left to the campaign's own).
_CANADA_AND_CARIBBEAN = set(
    "204 226 236 249 250 263 289 306 343 354 365 367 368 382 403 416 418 428 431 437 438 450 "
    "468 474 506 514 519 548 579 581 584 587 600 604 613 639 647 672 683 705 709 742 753 778 "
    "780 782 807 819 825 867 873 879 902 905 "
    "242 246 264 268 284 345 441 473 649 658 664 721 758 767 784 809 829 "
    "849 868 869 876".split()
)
