"""A campaign and its contacts for the compliance tests: contacts by number, claimed with a
controlled clock."""

import datetime as dt

from ringround.calling import rules
from ringround.calling import targets as call_targets
from ringround.calling.models import CallTarget
from ringround.contacts.models import Contact
from ringround.contacts.phones import time_zone_for
from tests.factories import ALL_DAY, make_campaign, make_volunteer

# A Tuesday, 12:00 in London: inside every legal window the tests do not move the clock for.
NOON = dt.datetime(2027, 6, 1, 11, 0, tzinfo=dt.UTC)


def campaign_with(*phones, organiser=None, areas=None, zones=None, **fields):
    """An active campaign calling all day, with a contact for each number (in the number's
    own time zone unless ``zones`` names one; ``areas``: the contact's area, by number)."""
    campaign = make_campaign(organiser, **{**ALL_DAY, **fields})
    add_people(campaign, *phones, areas=areas, zones=zones)
    return campaign


def add_people(campaign, *phones, areas=None, zones=None):
    contacts = [
        Contact.objects.create(
            team=campaign.team,
            first_name=f"Person {phone[-4:]}",
            phone=phone,
            time_zone=(zones or {}).get(phone) or time_zone_for(phone),
            area=(areas or {}).get(phone, ""),
        )
        for phone in phones
    ]
    call_targets.add_contacts(campaign, Contact.objects.filter(pk__in=[c.pk for c in contacts]))
    campaign.refresh_from_db()
    return contacts


def everyone_handed_out(campaign, now) -> list[str]:
    """Ask with fresh volunteers until nobody is left; the numbers they were given."""
    given = []
    for _ in range(50):
        lease = rules.claim_next(campaign, make_volunteer(campaign), now=now)
        if lease is None:
            return sorted(given)
        given.append(lease.target.phone)
    raise AssertionError("the campaign never ran out of people")


def target_of(campaign, phone) -> CallTarget:
    return CallTarget.objects.get(campaign=campaign, phone=phone)
