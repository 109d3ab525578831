"""Sessions for the phone-bank tests (and the permission table's world)."""

import datetime as dt

from ringround.phonebanks import services

NOON = dt.datetime(2027, 6, 1, 11, 0, tzinfo=dt.UTC)  # 12:00 in London
# Far enough ahead that pages, which ask the clock, show it as upcoming.
FUTURE = dt.datetime(2031, 3, 4, 18, 30, tzinfo=dt.UTC)


def make_session(campaign, *, starts_at=FUTURE, hours=2, **fields):
    fields.setdefault("capacity", 10)
    fields.setdefault("meeting_link", "https://meet.example.org/phone-bank")
    fields.setdefault("host_name", "Priya")
    return services.schedule_session(
        campaign,
        None,
        starts_at=starts_at,
        ends_at=starts_at + dt.timedelta(hours=hours),
        **fields,
    )


def phonebank_ids(campaign) -> dict:
    """A session of ``campaign``, as the permission table's URLs name it."""
    return {"phonebank_id": make_session(campaign).public_id}
