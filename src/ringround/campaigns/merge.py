"""Which merge fields a campaign's script may use, and a sample contact to preview it with.

A merge field is known if it is one of the contact's own fields (``MERGE_FIELD_SOURCES``) or
a custom field that at least one of the team's contacts has (imports name custom fields after
their column: "Ward" becomes ``ward``, and leave the field out of rows where it is empty).
Anything else would be blank on every volunteer's card ("calling people in ."), so the
script editor flags it and a campaign using one is not opened for calls.

Whether a custom field exists is asked of the database one name at a time, and only for
names the script uses that are not contact fields: an ``EXISTS`` that stops at the first
contact having it, so a script naming real fields costs a few index-free but short reads,
however long the list. A name nobody has is a full pass over the team's contacts, so
answers are cached briefly (a known name for longer: imports add names, only erasure takes
them away). The list of custom fields shown to the organiser as a hint is read from the
team's latest contacts only, so it can miss a rare one; the check itself never does.
"""

from django.core.cache import cache

from ringround.contacts.models import Contact

from .models import MERGE_FIELD_SOURCES
from .scripts import merge_field_names

KNOWN_SECONDS = 10 * 60
UNKNOWN_SECONDS = 10
HINT_SECONDS = 60
HINT_CONTACTS = 1000
MAX_NAMES_CHECKED = 30

CONTACT_MERGE_FIELDS = tuple(MERGE_FIELD_SOURCES)

# The preview's sample contact: every contact field filled, so nothing in it is blank but
# what volunteers may not see or what no contact has.
SAMPLE_CONTACT = {
    "first_name": "Alex",
    "last_name": "Example",
    "full_name": "Alex Example",
    "area": "Holborn and St Pancras",
    "postcode": "WC1X 8AA",
    "email": "alex@example.org",
    "email_as_typed": "alex at example dot org",
    "phone": "+44 20 7946 0000",
    "phones_not_valid": "020 7946 00",
}


def custom_field_exists(team_id: int, name: str) -> bool:
    """Whether any of the team's contacts has this custom field."""
    key = f"ringround:custom-field:{team_id}:{name}"
    known = cache.get(key)
    if known is None:
        known = Contact.objects.filter(team_id=team_id, custom_fields__has_key=name).exists()
        cache.set(key, known, KNOWN_SECONDS if known else UNKNOWN_SECONDS)
    return known


def custom_field_hints(team_id: int) -> list[str]:
    """Custom fields of the team's latest contacts, to list as merge fields it may use."""
    key = f"ringround:custom-field-hints:{team_id}"
    names = cache.get(key)
    if names is None:
        latest = Contact.objects.filter(team_id=team_id).order_by("-id")[:HINT_CONTACTS]
        names = set()
        for fields in latest.values_list("custom_fields", flat=True):
            names.update(str(name) for name in (fields or {}))
        names = sorted(names - set(CONTACT_MERGE_FIELDS))
        cache.set(key, names, HINT_SECONDS)
    return names


def unknown_merge_fields(campaign, script: str) -> list[str]:
    """The script's merge fields that no contact of the campaign's team has, sorted."""
    unknown = []
    others = [n for n in merge_field_names(script) if n not in MERGE_FIELD_SOURCES]
    for n, name in enumerate(others):
        # A name with a space cannot be a custom field (imports join words with "_"), and a
        # script naming dozens of strangers is not checked one query each.
        if " " in name or n >= MAX_NAMES_CHECKED or not custom_field_exists(campaign.team_id, name):
            unknown.append(name)
    return unknown


def known_merge_fields(campaign, script: str = "") -> list[str]:
    """The merge fields to offer the organiser: the contact's own, then custom fields (those
    seen on the team's latest contacts, and those the script uses that exist)."""
    used = set(merge_field_names(script)) - set(CONTACT_MERGE_FIELDS)
    custom = set(custom_field_hints(campaign.team_id))
    custom |= {
        name
        for name in sorted(used - custom)[:MAX_NAMES_CHECKED]
        if " " not in name and custom_field_exists(campaign.team_id, name)
    }
    return [*CONTACT_MERGE_FIELDS, *sorted(custom)]


def sample_fields(campaign, script: str = "") -> dict:
    """The sample contact, with a made-up value for every custom field the script may use."""
    fields = dict(SAMPLE_CONTACT)
    for name in known_merge_fields(campaign, script):
        fields.setdefault(name, f"sample {name.replace('_', ' ')}")
    return fields
