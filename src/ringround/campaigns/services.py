"""Operations organisers perform on campaigns, and volunteers joining them."""

import datetime as dt

from django.db import transaction
from django.db.models import Case, F, Q, Value, When
from django.utils import timezone

from ringround import rawsql
from ringround.accounts.models import Team
from ringround.audit.services import record_event
from ringround.contacts.models import Contact
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
    organiser, *, name: str, team=None, brief: str = "", script: str = "", **fields
) -> Campaign:
    """A campaign of ``team`` (default: the organiser's team, if they have only one)."""
    teams = Team.objects.organised_by(organiser)
    if team is None:
        mine = list(teams[:2])
        if len(mine) != 1:
            raise CampaignError("Choose which team the campaign is for.")
        team = mine[0]
    elif not teams.filter(pk=team.pk).exists():
        raise CampaignError("You can only create campaigns for your own teams.")
    fields.setdefault("visible_fields", list(DEFAULT_VISIBLE_FIELDS))
    campaign = Campaign.objects.create(team=team, name=name, brief=brief, script=script, **fields)
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
    """The team's contacts the campaign's targeting selects: any of its tags, within any of
    its areas."""
    contacts = Contact.objects.filter(team_id=campaign.team_id)
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


def set_time_zones(campaign: Campaign, zones: list[str]) -> None:
    """Record the time zones the campaign's targets live in (``calling.targets`` knows)."""
    Campaign.objects.filter(pk=campaign.pk).update(time_zones=zones)
    campaign.time_zones = zones


@transaction.atomic
def set_volunteer_status(campaign: Campaign, user, status, *, by=None, request=None) -> Membership:
    """Suspend or reinstate a volunteer (``calling.services`` also ends a suspended
    volunteer's lease)."""
    membership = Membership.objects.select_for_update().get(campaign=campaign, user=user)
    membership.status = status
    membership.save(update_fields=["status"])
    action = "suspended" if status == Membership.Status.SUSPENDED else "reinstated"
    record_event(
        by,
        f"volunteer.{action}",
        membership,
        campaign=campaign,
        request=request,
        volunteer=user.public_id,
    )
    return membership


# -- the claim rate limit's counters ---------------------------------------------------------


def flag_rate_limited(campaign: Campaign, membership: Membership, now: dt.datetime) -> None:
    """The volunteer hit the claim rate limit: flagged to organisers once per window."""
    flagged = membership.flagged_at
    if flagged is not None and flagged >= membership.claims_window_start:
        return
    Membership.objects.filter(pk=membership.pk).update(flagged_at=now)
    record_event(
        membership.user,
        "volunteer.rate_limited",
        membership,
        campaign=campaign,
        claims=membership.claims_in_window,
    )


def count_claim(membership: Membership, now: dt.datetime) -> None:
    """A contact was handed to this volunteer: count it in this hour's window."""
    values = _claim_counted(Value(membership.claims_window_over(now)), now)
    Membership.objects.filter(pk=membership.pk).update(**values)


def count_claim_sql(*, membership: str, now: str, new_window: str) -> str:
    """``count_claim`` as an UPDATE for a hand-written statement; the arguments name its
    parameters (``new_window``: ``membership.claims_window_over(now)``)."""
    values = _claim_counted(rawsql.flag(new_window), rawsql.Param(now))
    return (
        f'UPDATE "{Membership._meta.db_table}" SET {rawsql.assignments(Membership, values)} '
        f'WHERE "id" = %({membership})s'
    )


def _claim_counted(new_window, now) -> dict:
    return {
        "claims_window_start": Case(When(new_window, then=now), default=F("claims_window_start")),
        "claims_in_window": Case(
            When(new_window, then=Value(1)), default=F("claims_in_window") + 1
        ),
    }
