"""Operations organisers perform on campaigns, and volunteers joining them."""

import datetime as dt

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from ringround.audit.services import record_event
from ringround.contacts.models import Contact, Suppression
from ringround.ids import new_token

from .models import DEFAULT_VISIBLE_FIELDS, Campaign, Membership, OutcomeCode, Question

# code, label, conversation?, retry after minutes (None: never), max attempts, suppresses?
DEFAULT_OUTCOMES = [
    ("answered", "Answered", True, None, 1, False),
    ("no_answer", "No answer", False, 240, 3, False),
    ("busy", "Busy", False, 60, 3, False),
    ("voicemail", "Voicemail", False, 24 * 60, 3, False),
    ("call_back", "Call back", True, 24 * 60, 3, False),
    ("wrong_number", "Wrong number", False, None, 1, True),
    ("refused", "Refused", True, None, 1, False),
    ("do_not_call", "Do not call again", False, None, 1, True),
]


class CampaignError(Exception):
    """A refusal an organiser or volunteer should see, in words."""


@transaction.atomic
def create_campaign(
    organiser, *, name: str, brief: str = "", script: str = "", **fields
) -> Campaign:
    fields.setdefault("visible_fields", list(DEFAULT_VISIBLE_FIELDS))
    campaign = Campaign.objects.create(name=name, brief=brief, script=script, **fields)
    campaign.organisers.add(organiser)
    OutcomeCode.objects.bulk_create(
        OutcomeCode(
            campaign=campaign,
            code=code,
            label=label,
            position=i,
            is_conversation=conversation,
            retry_after_minutes=retry,
            max_attempts=attempts,
            suppresses=suppresses,
        )
        for i, (code, label, conversation, retry, attempts, suppresses) in enumerate(
            DEFAULT_OUTCOMES
        )
    )
    record_event(organiser, "campaign.create", campaign, campaign=campaign)
    return campaign


def add_question(
    campaign, *, text, kind=Question.Kind.SINGLE, choices=(), required=False
) -> Question:
    position = campaign.questions.count()
    return Question.objects.create(
        campaign=campaign,
        text=text,
        kind=kind,
        choices=list(choices),
        required=required,
        position=position,
    )


def add_outcome(campaign, outcome: OutcomeCode) -> OutcomeCode:
    """A custom outcome, listed after the existing ones."""
    outcome.campaign = campaign
    outcome.position = campaign.outcomes.count()
    outcome.save()
    return outcome


@transaction.atomic
def move_question(question: Question, direction: int) -> None:
    """Swap a question with its neighbour (direction -1 up, +1 down)."""
    questions = list(question.campaign.questions.all())
    i = next(n for n, q in enumerate(questions) if q.pk == question.pk)
    j = i + direction
    if 0 <= j < len(questions):
        questions[i], questions[j] = questions[j], questions[i]
    for position, q in enumerate(questions):
        if q.position != position:
            Question.objects.filter(pk=q.pk).update(position=position)


def set_status(campaign: Campaign, status: str, *, by=None, request=None) -> Campaign:
    if status not in Campaign.Status.values:
        raise CampaignError("Unknown status.")
    if status == Campaign.Status.ACTIVE and not campaign.outcomes.exists():
        raise CampaignError("A campaign needs outcome codes before it can take calls.")
    campaign.status = status
    campaign.finished_at = timezone.now() if status == Campaign.Status.FINISHED else None
    campaign.save(update_fields=["status", "finished_at"])
    record_event(by, "campaign.status", campaign, campaign=campaign, request=request, status=status)
    return campaign


def regenerate_invite(
    campaign: Campaign, *, expires_at: dt.datetime | None = None, by=None
) -> Campaign:
    """A new invite link; the old one stops working at once."""
    campaign.invite_token = new_token()
    campaign.invite_expires_at = expires_at
    campaign.save(update_fields=["invite_token", "invite_expires_at"])
    record_event(by, "campaign.invite_regenerated", campaign, campaign=campaign)
    return campaign


def campaign_for_invite(token: str) -> Campaign:
    campaign = Campaign.objects.filter(invite_token=token).first()
    if campaign is None:
        raise CampaignError("This invite link is not valid. Ask your organiser for a new one.")
    if not campaign.invite_is_valid():
        raise CampaignError("This invite link has expired. Ask your organiser for a new one.")
    if campaign.status == Campaign.Status.FINISHED:
        raise CampaignError("This campaign has finished. Thank you for your help!")
    return campaign


def join_campaign(campaign: Campaign, user, *, token: str, request=None) -> Membership:
    if token != campaign.invite_token or not campaign.invite_is_valid():
        raise CampaignError("This invite link is not valid any more.")
    membership, created = Membership.objects.get_or_create(campaign=campaign, user=user)
    if created:
        record_event(user, "campaign.join", campaign, campaign=campaign, request=request)
    return membership


def matching_contacts(campaign: Campaign):
    """Contacts the campaign's targeting selects: any of its tags, within any of its areas."""
    contacts = Contact.objects.all()
    tags, areas = campaign.tag_list(), campaign.area_list()
    if tags:
        tag_filter = Q()
        for tag in tags:
            tag_filter |= Q(tags__contains=f",{tag},")
        contacts = contacts.filter(tag_filter)
    if areas:
        area_filter = Q()
        for area in areas:
            area_filter |= Q(area__iexact=area)
        contacts = contacts.filter(area_filter)
    return contacts


def add_targets(campaign: Campaign, contacts=None, *, batch_size: int = 5000) -> int:
    """Make call targets of contacts (default: the campaign's targeting); returns how many new.

    Contacts already targeted are left alone; suppressed numbers are added as suppressed."""
    from ringround.calling.models import CallTarget

    contacts = matching_contacts(campaign) if contacts is None else contacts
    existing = set(campaign.targets.values_list("contact_id", flat=True))
    suppressed = set(Suppression.objects.values_list("phone", flat=True))
    added = 0
    batch = []
    for contact_id, phone, tz in contacts.values_list("id", "phone", "time_zone").iterator(
        chunk_size=batch_size
    ):
        if contact_id in existing:
            continue
        state = CallTarget.State.SUPPRESSED if phone in suppressed else CallTarget.State.READY
        batch.append(
            CallTarget(
                campaign=campaign, contact_id=contact_id, phone=phone, time_zone=tz, state=state
            )
        )
        if len(batch) >= batch_size:
            added += _save_targets(batch)
            batch = []
    added += _save_targets(batch)
    refresh_time_zones(campaign)
    return added


def _save_targets(batch) -> int:
    from ringround.calling.models import CallTarget

    if batch:
        CallTarget.objects.bulk_create(batch, ignore_conflicts=True, batch_size=2000)
    return len(batch)


def refresh_time_zones(campaign: Campaign) -> None:
    zones = sorted(set(campaign.targets.values_list("time_zone", flat=True).distinct()))
    Campaign.objects.filter(pk=campaign.pk).update(time_zones=zones)
    campaign.time_zones = zones


@transaction.atomic
def suspend_volunteer(campaign: Campaign, user, *, by=None, request=None) -> Membership:
    """Stop a volunteer calling for this campaign; the person they hold is freed at once."""
    from ringround.calling.rules import release

    membership = Membership.objects.select_for_update().get(campaign=campaign, user=user)
    membership.status = Membership.Status.SUSPENDED
    membership.save(update_fields=["status"])
    release(campaign, user)
    record_event(
        by,
        "volunteer.suspended",
        membership,
        campaign=campaign,
        request=request,
        volunteer=user.public_id,
    )
    return membership


def reinstate_volunteer(campaign: Campaign, user, *, by=None, request=None) -> Membership:
    membership = Membership.objects.get(campaign=campaign, user=user)
    membership.status = Membership.Status.ACTIVE
    membership.save(update_fields=["status"])
    record_event(
        by,
        "volunteer.reinstated",
        membership,
        campaign=campaign,
        request=request,
        volunteer=user.public_id,
    )
    return membership
