"""Practice calls: the card as it will be, with fictional people, so that a newcomer can learn
it before calling anyone real. Nothing is stored: no call target, no call, no contact seen.

A practice call is checked by the calling loop's own rules (``rules.clean_answers``,
``rules.call_back_time``), so what the card refuses in practice it refuses for real."""

import datetime as dt

from django.utils import timezone

from ringround.campaigns.merge import sample_fields
from ringround.campaigns.models import Campaign, OutcomeCode
from ringround.campaigns.scripts import render_script
from ringround.contacts.phones import display

from . import rules
from .services import script_in_two

# Fictional people, with numbers from Ofcom's drama range (020 7946 0xxx): nobody real.
PEOPLE = (
    ("Sam", "Practice", "+442079460990"),
    ("Priya", "Example", "+442079460991"),
    ("Tomasz", "Sample", "+442079460992"),
    ("Grace", "Rehearsal", "+442079460993"),
)


def practice_card(campaign: Campaign, number: int) -> dict:
    """The card of fictional person ``number`` (any integer: the list goes round), shaped as
    ``services.contact_card``'s, with the campaign's script filled in for them."""
    first, last, phone = PEOPLE[number % len(PEOPLE)]
    merge = sample_fields(campaign, campaign.script)
    merge.update(first_name=first, last_name=last, full_name=f"{first} {last}", phone=phone)
    merge = campaign.script_fields(merge)
    shown = {
        name: merge.get(name, "")
        for name in campaign.fields_for_volunteer()
        if name not in ("phone", "tags")
    }
    opening, rest = script_in_two(campaign.script)
    show_phone = "phone" in campaign.fields_for_volunteer()
    return {
        "fields": shown,
        "phone": phone if show_phone else "",
        "phone_display": display(phone) if show_phone else "",
        "script_opening": render_script(opening, merge) if opening else "",
        "script_rest": render_script(rest, merge) if rest else "",
        "attempts": 0,
        "expires_at": timezone.now() + dt.timedelta(minutes=campaign.lease_minutes),
    }


def check_practice_call(
    campaign: Campaign,
    outcome_code: str,
    answers: dict,
    callback_at: dt.datetime | None,
    now: dt.datetime | None = None,
) -> OutcomeCode:
    """The outcome a practice call would have been saved with; ``rules.InvalidOutcome`` with
    the same errors a real call would get. Stores nothing."""
    outcome = campaign.outcomes.filter(code=outcome_code).first()
    if outcome is None:
        raise rules.InvalidOutcome(
            "Choose what happened on the call.", {"outcome": "Unknown outcome."}
        )
    rules.clean_answers(campaign, outcome, answers)
    rules.call_back_time(outcome, callback_at, now or timezone.now())
    return outcome
