"""A person with something of every kind held about them, and people around them.

Sam Person (0117 496 0123, also 0113 496 0999) is in two campaigns, was called in one (an answered call with a survey answer, a
free-text answer and notes), has a second number already on the suppression list, and has
been seen by a volunteer (an audit event)."""

import datetime as dt
from dataclasses import dataclass

from ringround.audit.services import record_event
from ringround.calling import targets as call_targets
from ringround.calling.models import CallTarget
from ringround.campaigns import services as campaign_services
from ringround.campaigns.models import Campaign
from ringround.contacts.models import Contact, Suppression
from tests.factories import (
    ContactFactory,
    UserFactory,
    claim_and_record,
    make_campaign,
    make_volunteer,
    organiser_of,
)

NOON = dt.datetime(2027, 5, 4, 11, 0, tzinfo=dt.UTC)  # 12:00 in London
SECRET_TEXT = "I live at 5 Acacia Avenue"
SECRET_NOTE = "Her husband Jim answered first"


@dataclass
class World:
    admin: object
    person: Contact
    others: list
    campaign: Campaign
    finished: Campaign
    volunteer: object
    issue: object
    comment: object


def call(campaign, volunteer, outcome, answers=None, notes="", now=NOON):
    lease = claim_and_record(
        campaign, volunteer, outcome, answers=answers or {}, notes=notes, now=now
    )
    return lease.contact


def build_world() -> World:
    admin = UserFactory(is_superuser=True, is_staff=True, name="Ada Admin")
    person = ContactFactory(
        first_name="Sam",
        last_name="Person",
        phone="+441174960123",  # 0117 496 0123: a drama number no factory hands out
        phone_as_typed="0117 496 0123",
        email="Sam.Person@example.org",
        postcode="WC1X 8AA",
        other_phones=["+441134960999"],
        custom_fields={"ward": "King's Cross", "member_since": "2015"},
        external_id="M-12345",
        source="members.csv",
    )
    person.set_tags(["member", "donor"])
    person.save()
    others = [ContactFactory(email=f"neighbour{n}@example.org") for n in (1, 2)]
    Suppression.objects.create(phone="+441134960999", reason=Suppression.Reason.TPS)

    campaign = make_campaign(name="Members' ballot")
    issue = campaign_services.add_question(
        campaign, text="Top issue?", kind="single", choices=["NHS", "Housing"]
    )
    comment = campaign_services.add_question(campaign, text="Anything else?", kind="text")
    call_targets.add_contacts(
        campaign, Contact.objects.filter(pk__in=[person.pk] + [o.pk for o in others])
    )
    CallTarget.objects.filter(campaign=campaign, contact=person).update(priority=10)
    volunteer = make_volunteer(campaign, name="Vik Volunteer")
    called = call(
        campaign,
        volunteer,
        "answered",
        {issue.key: "NHS", comment.key: SECRET_TEXT},
        notes=SECRET_NOTE,
    )
    assert called.pk == person.pk
    call(campaign, volunteer, "answered", {issue.key: "Housing", comment.key: "Fine"})
    call(campaign, volunteer, "no_answer")
    record_event(volunteer, "contact.view", person, campaign=campaign, fields=["first_name"])

    finished = make_campaign(organiser_of(campaign), name="Old survey")
    call_targets.add_contacts(finished, Contact.objects.filter(pk=person.pk))
    campaign_services.set_status(finished, Campaign.Status.FINISHED)
    return World(admin, person, others, campaign, finished, volunteer, issue, comment)
