"""What the volunteer pages and the API need around the calling rules: the card's contents,
a volunteer's session summary, and an organiser suspending a volunteer. The rules themselves
live in ``rules.py``."""

import datetime as dt

from django.db import transaction
from django.db.models import Count, Q

from ringround.audit.services import client_ip
from ringround.campaigns.models import Membership, Question
from ringround.campaigns.scripts import render_script
from ringround.campaigns.services import set_volunteer_status
from ringround.contacts.phones import display

from .models import Call
from .rules import Lease, record_contact_view, release


def contact_card(lease: Lease, *, viewer, request=None) -> dict:
    """What a volunteer is shown of the person leased to them (audited: personal data)."""
    campaign = lease.target.campaign
    contact = lease.contact
    fields = campaign.fields_for_volunteer()
    shown = {name: getattr(contact, name) for name in fields if name not in ("phone", "tags")}
    if "tags" in fields:
        shown["tags"] = ", ".join(contact.tag_list)
    if not lease.view_recorded:
        record_contact_view(lease, viewer, client_ip(request))
    return {
        "fields": shown,
        "phone": contact.phone if "phone" in fields else "",
        "phone_display": display(contact.phone) if "phone" in fields else "",
        "script_html": render_script(
            campaign.script, campaign.script_fields(contact.merge_fields())
        ),
        "attempts": lease.target.attempts,
        "expires_at": lease.expires_at,
    }


def session_summary(campaign, volunteer, since: dt.datetime, until: dt.datetime) -> dict:
    calls = Call.objects.filter(campaign=campaign, volunteer=volunteer, ended_at__gte=since)
    figures = calls.aggregate(
        calls=Count("id"), conversations=Count("id", filter=Q(outcome__is_conversation=True))
    )
    figures["minutes"] = max(int((until - since).total_seconds() // 60), 0)
    figures["by_outcome"] = list(
        calls.values("outcome__label").annotate(n=Count("id")).order_by("-n", "outcome__label")
    )
    return figures


@transaction.atomic
def suspend_volunteer(campaign, user, *, by=None, request=None) -> Membership:
    """Stop a volunteer calling for this campaign; the person they hold is freed at once."""
    membership = set_volunteer_status(
        campaign, user, Membership.Status.SUSPENDED, by=by, request=request
    )
    release(campaign, user)
    return membership


@transaction.atomic
def suspend_volunteers(campaign, user_public_ids, *, by=None, request=None) -> list:
    """Several volunteers suspended at once (ticked on the volunteers page), each audited and
    each freed of the person they hold. Returns the memberships suspended."""
    members = (
        Membership.objects.filter(campaign=campaign, user__public_id__in=list(user_public_ids))
        .exclude(status=Membership.Status.SUSPENDED)
        .select_related("user")
        .order_by("user__name", "id")
    )
    return [suspend_volunteer(campaign, m.user, by=by, request=request) for m in members]


def reinstate_volunteer(campaign, user, *, by=None, request=None) -> Membership:
    return set_volunteer_status(campaign, user, Membership.Status.ACTIVE, by=by, request=request)


def forget_what_was_said(contact) -> int:
    """Erasure: the contact's calls keep their outcome and their choice answers (campaign
    figures do not change) but lose their notes and free-text answers. Returns how many calls
    the contact had."""
    kept = {
        question.key
        for question in Question.objects.filter(campaign__targets__contact=contact).exclude(
            kind=Question.Kind.TEXT
        )
    }
    calls = Call.objects.filter(target__contact=contact).only("id", "answers", "notes")
    count = 0
    for call in calls:
        count += 1
        answers = {key: value for key, value in (call.answers or {}).items() if key in kept}
        if answers != call.answers or call.notes:
            Call.objects.filter(pk=call.pk).update(answers=answers, notes="")
    return count
