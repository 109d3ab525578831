"""What each event says, built in the worker from the ids the event was announced with.

Personal data: the team owns its contacts, but a copy sent out is a copy out of our hands, so
an event names a contact only by Ringround's id and the team's own external id (membership
number, voter id): never a name, number, email, address or the call's notes. A receiver
that needs more looks the contact up in its own records by the external id."""

from ringround.calling.models import Call
from ringround.campaigns.models import Membership
from ringround.contacts.models import Contact, Suppression
from ringround.imports.models import Import


def _when(value):
    return value.isoformat() if value else None


def _contact(contact) -> dict:
    return {"id": contact.public_id, "external_id": contact.external_id or None}


def call_recorded(call_id: int) -> list[tuple[int, dict]]:
    call = (
        Call.objects.select_related("campaign", "outcome", "volunteer", "target__contact")
        .filter(pk=call_id)
        .first()
    )
    if call is None:
        return []
    data = {
        "call": call.public_id,
        "campaign": call.campaign.public_id,
        "volunteer": call.volunteer.public_id if call.volunteer else None,
        "contact": _contact(call.target.contact),
        "outcome": call.outcome.code,
        "answers": call.answers,
        "started_at": _when(call.started_at),
        "ended_at": _when(call.ended_at),
    }
    return [(call.campaign.team_id, data)]


def contact_suppressed(suppression_id: int) -> list[tuple[int, dict]]:
    """One event per team with contacts on that number (a team's own entry: that team only),
    each naming only that team's contacts."""
    suppression = Suppression.objects.select_related("campaign").filter(pk=suppression_id).first()
    if suppression is None:
        return []
    contacts = Contact.objects.filter(phone=suppression.phone).order_by("pk")
    if suppression.team_id:
        contacts = contacts.filter(team_id=suppression.team_id)
    by_team = {suppression.team_id: []} if suppression.team_id else {}
    for contact in contacts.only("public_id", "external_id", "team_id"):
        by_team.setdefault(contact.team_id, []).append(_contact(contact))
    campaign = suppression.campaign
    common = {
        "reason": suppression.reason,
        "every_team": suppression.team_id is None,
        "created_at": _when(suppression.created_at),
    }
    return [
        (
            team_id,
            {
                **common,
                # A campaign is named only to its own team: another team learns nothing of it.
                "campaign": campaign.public_id
                if campaign and campaign.team_id == team_id
                else None,
                "contacts": found,
            },
        )
        for team_id, found in by_team.items()
    ]


def volunteer_joined(membership_id: int) -> list[tuple[int, dict]]:
    membership = (
        Membership.objects.select_related("campaign", "user").filter(pk=membership_id).first()
    )
    if membership is None:
        return []
    data = {
        "campaign": membership.campaign.public_id,
        "volunteer": membership.user.public_id,
        "joined_at": _when(membership.joined_at),
    }
    return [(membership.campaign.team_id, data)]


def import_finished(import_id: int) -> list[tuple[int, dict]]:
    job = Import.objects.select_related("campaign").filter(pk=import_id).first()
    if job is None or job.team_id is None:
        return []
    data = {
        "import": job.public_id,
        "kind": job.kind,
        "status": job.status,
        "campaign": job.campaign.public_id if job.campaign else None,
        "counts": job.counts(),
        "targets_added": job.targets_added,
        "finished_at": _when(job.finished_at),
    }
    return [(job.team_id, data)]


BUILDERS = {
    "call.recorded": call_recorded,
    "contact.suppressed": contact_suppressed,
    "volunteer.joined": volunteer_joined,
    "import.finished": import_finished,
}


def build(kind: str, ref: int) -> list[tuple[int, dict]]:
    """(team id, data) for each team the event is for; none if what it names is gone."""
    return BUILDERS[kind](ref)
