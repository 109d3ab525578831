"""Operations organisers perform on campaigns, and volunteers joining them."""

import datetime as dt
import difflib
from collections import Counter

from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.core import signing
from django.core.mail import send_mail
from django.db import transaction
from django.db.models import Case, F, Q, Value, When
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from ringround import events, rawsql
from ringround.accounts import limits
from ringround.accounts.models import Team, User
from ringround.accounts.permissions import is_organiser
from ringround.accounts.services import sign_up
from ringround.audit.services import client_ip, record_event
from ringround.compliance.models import TeamPolicy
from ringround.compliance.services import screening_problem
from ringround.contacts.models import Contact
from ringround.ids import new_token

from .merge import CONTACT_MERGE_FIELDS, custom_field_hints, unknown_merge_fields
from .models import DEFAULT_VISIBLE_FIELDS, Campaign, Membership, OutcomeCode, Question
from .scripts import braced

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


# What a campaign made on the "New campaign" page starts with, for the organiser to edit: a
# blank script and survey leave a newcomer guessing what goes where.
STARTER_SCRIPT = """Hello, is that **{{ first_name }}**? My name is … and I'm a volunteer with {name}.

We're calling people in {{ area }} to hear what matters to them. Have you got two minutes?

- If yes: ask the questions below.
- If now is a bad time: offer to call back, and choose *Call back*.
- If they ask not to be called again: choose *Do not call again*.

Thank you for your time, {{ first_name }}!
"""
STARTER_QUESTIONS = [
    ("Can we count on your support?", Question.Kind.SINGLE, ["Yes", "Maybe", "No"]),
    ("What matters most to you at the moment?", Question.Kind.TEXT, []),
]


class CampaignError(Exception):
    """A refusal an organiser or volunteer should see, in words."""


@transaction.atomic
def create_campaign(
    organiser,
    *,
    name: str,
    team=None,
    brief: str = "",
    script: str = "",
    starter: bool = False,
    **fields,
) -> Campaign:
    """A campaign of ``team`` (default: the organiser's team, if they have only one).
    ``starter``: begin with an example script and survey (``STARTER_SCRIPT``) to edit."""
    teams = Team.objects.organised_by(organiser)
    if team is None:
        mine = list(teams[:2])
        if len(mine) != 1:
            raise CampaignError("Choose which team the campaign is for.")
        team = mine[0]
    elif not teams.filter(pk=team.pk).exists():
        raise CampaignError("You can only create campaigns for your own teams.")
    fields.setdefault("visible_fields", list(DEFAULT_VISIBLE_FIELDS))
    if starter and not script:
        script = STARTER_SCRIPT.replace("{name}", name)
    campaign = Campaign.objects.create(team=team, name=name, brief=brief, script=script, **fields)
    if starter:
        for text, kind, choices in STARTER_QUESTIONS:
            add_question(campaign, text=text, kind=kind, choices=choices)
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
            follow_up=OutcomeCode.default_follow_up(code),
        )
        for i, (code, label, conversation, retry, attempts, suppresses) in enumerate(
            DEFAULT_OUTCOMES
        )
    )
    record_event(organiser, "campaign.create", campaign, campaign=campaign)
    return campaign


def add_question(
    campaign,
    *,
    text,
    kind=Question.Kind.SINGLE,
    choices=(),
    required=False,
    reveals_opinion=False,
) -> Question:
    position = campaign.questions.count()
    return Question.objects.create(
        campaign=campaign,
        text=text,
        kind=kind,
        choices=list(choices),
        required=required,
        reveals_opinion=reveals_opinion,
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


def merge_field_suggestions(campaign: Campaign, unknown: list[str]) -> list[tuple[str, str]]:
    """``(unknown, known)`` pairs where an unknown merge field looks like a typo of a known one."""
    known = [*CONTACT_MERGE_FIELDS, *custom_field_hints(campaign.team_id)]
    pairs = []
    for name in unknown:
        close = difflib.get_close_matches(name.replace(" ", "_").lower(), known, n=1)
        if close:
            pairs.append((name, close[0]))
    return pairs


def merge_field_problem(campaign: Campaign, unknown: list[str]) -> str:
    """Words for a script's unknown merge fields: which they are, and what may be used."""
    known = [*CONTACT_MERGE_FIELDS, *custom_field_hints(campaign.team_id)]
    named = ", ".join(braced(name) for name in unknown)
    hints = "; ".join(
        f"{braced(close)} for {braced(name)}"
        for name, close in merge_field_suggestions(campaign, unknown)
    )
    return (
        f"The script uses merge fields that no contact has: {named}. "
        + (f"Did you mean {hints}? " if hints else "")
        + f"Merge fields you can use: {', '.join(known)}."
    )


def save_script(campaign: Campaign, script: str, *, by=None, request=None) -> list[str]:
    """Save the script; returns its unknown merge fields (``unknown_merge_fields``), which a
    draft may have while it is written, but a campaign taking calls may not: volunteers would
    read them blank at once."""
    unknown = unknown_merge_fields(campaign, script)
    if unknown and campaign.is_active:
        raise CampaignError(
            merge_field_problem(campaign, unknown)
            + " The campaign is taking calls, so the script was not saved."
        )
    campaign.script = script
    campaign.save(update_fields=["script"])
    record_event(by, "campaign.script", campaign, campaign=campaign, request=request)
    return unknown


def set_status(campaign: Campaign, status: str, *, by=None, request=None, now=None) -> Campaign:
    if status not in Campaign.Status.values:
        raise CampaignError("Unknown status.")
    if status == Campaign.Status.ACTIVE and not campaign.outcomes.exists():
        raise CampaignError("A campaign needs outcome codes before it can take calls.")
    if status == Campaign.Status.ACTIVE:
        problem = screening_problem(
            TeamPolicy.for_team(campaign.team_id), campaign.legal_zones, now or timezone.now()
        )
        if problem:
            raise CampaignError(problem)
        unknown = unknown_merge_fields(campaign, campaign.script)
        if unknown:
            raise CampaignError(
                merge_field_problem(campaign, unknown)
                + " Correct the script before opening the campaign for calls."
            )
    campaign.status = status
    campaign.finished_at = timezone.now() if status == Campaign.Status.FINISHED else None
    campaign.save(update_fields=["status", "finished_at"])
    record_event(by, "campaign.status", campaign, campaign=campaign, request=request, status=status)
    return campaign


def regenerate_invite(
    campaign: Campaign,
    *,
    expires_at: dt.datetime | None = None,
    zone: str | None = None,
    by=None,
) -> Campaign:
    """A new invite link; the old one stops working at once."""
    campaign.invite_token = new_token()
    campaign.invite_expires_at = expires_at
    campaign.invite_time_zone = zone or campaign.invite_time_zone
    campaign.save(update_fields=["invite_token", "invite_expires_at", "invite_time_zone"])
    record_event(by, "campaign.invite_regenerated", campaign, campaign=campaign)
    return campaign


def set_invite_expiry(
    campaign: Campaign, expires_at: dt.datetime | None, *, zone: str, by=None
) -> Campaign:
    """When the invite link stops working, and the time zone it was given in (and is shown in)."""
    campaign.invite_expires_at = expires_at
    campaign.invite_time_zone = zone
    campaign.save(update_fields=["invite_expires_at", "invite_time_zone"])
    record_event(
        by,
        "campaign.invite_expiry",
        campaign,
        campaign=campaign,
        expires_at=expires_at.isoformat() if expires_at else None,
    )
    return campaign


def invite_qr_svg(url: str) -> str:
    """The invite link as a QR code, an SVG to put in the page (no image request; prints
    sharp on a poster or a leaflet)."""
    import qrcode
    import qrcode.image.svg

    image = qrcode.make(url, image_factory=qrcode.image.svg.SvgPathImage, box_size=8)
    svg = image.to_string(encoding="unicode")
    return svg.replace(
        "<svg ", '<svg class="qr" role="img" aria-label="QR code for the invite link" ', 1
    )


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
    """A signed-in person joins by the invite link. They may call at once only if the
    campaign's way of joining allows it: their email confirmed (for this campaign or an
    earlier one) and, if organisers approve volunteers, approved."""
    if token != campaign.invite_token or not campaign.invite_is_valid():
        raise CampaignError("This invite link is not valid any more.")
    verified = _email_confirmed(user)
    status = _status_on_joining(campaign, verified=verified)
    membership, created = Membership.objects.get_or_create(
        campaign=campaign,
        user=user,
        defaults={
            "status": status,
            "verified_at": timezone.now() if verified else None,
            "sign_up_address": client_ip(request),
        },
    )
    if created:
        record_event(
            user, "campaign.join", campaign, campaign=campaign, request=request, status=status
        )
        events.volunteer_joined.send(sender=Membership, membership=membership)
    if membership.status == Membership.Status.PENDING_VERIFICATION:
        send_join_email(campaign, user, site=_site(request), existing=False)  # again, if asked
    return membership


def _email_confirmed(user) -> bool:
    """Whether this person has shown they read their email: they confirmed it for a
    campaign, or they are an organiser or admin (accounts made by hand)."""
    if is_organiser(user):
        return True
    return Membership.objects.filter(user=user, verified_at__isnull=False).exists()


def _status_on_joining(campaign: Campaign, *, verified: bool) -> str:
    if campaign.needs_verification and not verified:
        return Membership.Status.PENDING_VERIFICATION
    if campaign.needs_approval:
        return Membership.Status.PENDING_APPROVAL
    return Membership.Status.ACTIVE


# -- signing up through an invite link ---------------------------------------------------------


class SignUpsThrottled(CampaignError):
    """Too many sign-ups through this invite link: from this address, or in all, this hour."""


VERIFY_SALT = "ringround.campaigns.verify-email"


def admit_sign_up(campaign: Campaign, address: str | None, *, now=None) -> None:
    """Count a sign-up through the campaign's invite link, or refuse it (``SignUpsThrottled``)
    past RINGROUND_SIGNUPS_PER_ADDRESS_PER_HOUR from one address or
    RINGROUND_SIGNUPS_PER_CAMPAIGN_PER_HOUR in all. Counted in the database (``limits``: every
    app server and process counts together), increment first, so two at once cannot both
    slip under the limit.
    A refusal is a burst: audited and shown to the organisers once an hour per address."""
    now = now or timezone.now()
    hour = int(now.timestamp() // 3600)
    address = address or "unknown"
    per_address = f"sign-ups:{campaign.pk}:{address}:{hour}"
    if _counted(per_address) > settings.RINGROUND_SIGNUPS_PER_ADDRESS_PER_HOUR:
        _flag_sign_up_burst(campaign, address, hour, now, limit="address")
        raise SignUpsThrottled(
            "Too many sign-ups for this campaign from your network in the last hour. "
            "Try again later, or ask your organiser."
        )
    in_all = f"sign-ups:{campaign.pk}:{hour}"
    if _counted(in_all) > settings.RINGROUND_SIGNUPS_PER_CAMPAIGN_PER_HOUR:
        _flag_sign_up_burst(campaign, "", hour, now, limit="campaign")
        raise SignUpsThrottled(
            "This campaign has had a great many sign-ups in the last hour. "
            "Try again in an hour, or ask your organiser."
        )


def _counted(key: str) -> int:
    return limits.count(key, window_seconds=3600 + 60)


def _flag_sign_up_burst(campaign, address, hour, now, *, limit) -> None:
    if not limits.first_time(
        f"sign-up-burst:{campaign.pk}:{address}:{hour}", window_seconds=3600 + 60
    ):
        return
    Campaign.objects.filter(pk=campaign.pk).update(sign_up_burst_at=now)
    campaign.sign_up_burst_at = now
    record_event(
        None,
        "campaign.sign_up_burst",
        campaign,
        campaign=campaign,
        ip_address=address or None,
        limit=limit,
    )


def sign_up_by_invite(
    campaign: Campaign, *, token: str, name: str, email: str, password: str, request=None
) -> None:
    """Someone without a session signs up through the invite link. What they see next is the
    same whether or not the email has an account ("check your email"): a new account joins
    pending its email confirmation; an existing account is changed in no way, and its holder
    is emailed a link that joins them once followed. Nobody is signed in here."""
    if token != campaign.invite_token or not campaign.invite_is_valid():
        raise CampaignError("This invite link is not valid any more.")
    address = client_ip(request)
    admit_sign_up(campaign, address)
    email = email.strip().lower()
    existing = User.objects.filter(email__iexact=email).first()
    if existing is not None:
        make_password(password)  # the same work as a new account, so it takes as long
        record_event(
            None, "campaign.sign_up_existing", campaign, campaign=campaign, request=request
        )
        send_join_email(campaign, existing, site=_site(request), existing=True)
        return
    with transaction.atomic():
        user = sign_up(name=name, email=email, password=password, request=request)
        status = (
            Membership.Status.PENDING_VERIFICATION
            if campaign.needs_verification
            else Membership.Status.PENDING_APPROVAL
        )
        Membership.objects.create(
            campaign=campaign, user=user, status=status, sign_up_address=address
        )
        record_event(
            user, "campaign.join", campaign, campaign=campaign, request=request, status=status
        )
    send_join_email(campaign, user, site=_site(request), existing=False)


def _site(request) -> str:
    return request.build_absolute_uri("/").rstrip("/") if request is not None else ""


def verification_token(campaign: Campaign, user) -> str:
    """A signed, timestamped link token naming the person, the campaign and its invite link
    (a new invite link cancels links not yet followed by people not yet members)."""
    return signing.dumps(
        {"u": user.public_id, "c": campaign.public_id, "t": campaign.invite_token},
        salt=VERIFY_SALT,
    )


def send_join_email(campaign: Campaign, user, *, site: str, existing: bool) -> None:
    """The email after an invite sign-up: a link confirming the email (and, for an account
    that existed already, joining it: its holder may not have asked)."""
    member = Membership.objects.filter(campaign=campaign, user=user).first()
    context = {
        "campaign": campaign,
        "user": user,
        "existing": existing,
        "already_member": existing and member is not None,
        "confirm_url": site
        + reverse("accounts:verify_email", args=[verification_token(campaign, user)]),
        "login_url": site + reverse("accounts:login"),
        "reset_url": site + reverse("accounts:password_reset"),
        "days": settings.RINGROUND_VERIFY_EMAIL_DAYS,
        "needs_verification": campaign.needs_verification or existing,
    }
    send_mail(
        f"Joining {campaign.name} on Ringround",
        render_to_string("campaigns/email/join.txt", context),
        None,
        [user.email],
    )


def read_verification(token: str) -> tuple[Campaign, User]:
    """The campaign and person a link names; ``CampaignError`` if it is forged or too old."""
    try:
        payload = signing.loads(
            token,
            salt=VERIFY_SALT,
            max_age=dt.timedelta(days=settings.RINGROUND_VERIFY_EMAIL_DAYS),
        )
        campaign = Campaign.objects.get(public_id=payload["c"])
        user = User.objects.get(public_id=payload["u"])
    except signing.SignatureExpired as exc:
        raise CampaignError(
            "This link has expired. Open the invite link again to get a new one."
        ) from exc
    except (signing.BadSignature, KeyError, TypeError, Campaign.DoesNotExist, User.DoesNotExist):
        raise CampaignError("This link is not valid. Open the invite link again.") from None
    return campaign, user


@transaction.atomic
def confirm_email(token: str, *, request=None) -> Membership:
    """The volunteer followed the emailed link: their membership moves on, to active or (if
    organisers approve volunteers) to waiting for approval. Following it again changes
    nothing; a suspended volunteer stays suspended."""
    campaign, user = read_verification(token)
    membership = Membership.objects.select_for_update().filter(campaign=campaign, user=user).first()
    if membership is None:
        payload = signing.loads(token, salt=VERIFY_SALT)
        if payload["t"] != campaign.invite_token or not campaign.invite_is_valid():
            raise CampaignError("This invite link is not valid any more.")
        if campaign.status == Campaign.Status.FINISHED:
            raise CampaignError("This campaign has finished. Thank you for your help!")
        membership = Membership.objects.create(
            campaign=campaign, user=user, status=Membership.Status.PENDING_VERIFICATION
        )
        record_event(user, "campaign.join", campaign, campaign=campaign, request=request)
    if membership.status != Membership.Status.PENDING_VERIFICATION:
        return membership
    membership.verified_at = timezone.now()
    membership.status = _status_on_joining(campaign, verified=True)
    membership.save(update_fields=["verified_at", "status"])
    events.volunteer_joined.send(sender=Membership, membership=membership)
    record_event(
        user,
        "volunteer.email_confirmed",
        membership,
        campaign=campaign,
        request=request,
        volunteer=user.public_id,
        status=membership.status,
    )
    return membership


# -- organisers deciding who calls -------------------------------------------------------------


@transaction.atomic
def approve_volunteer(campaign: Campaign, user, *, by=None, request=None) -> Membership:
    """An organiser lets a volunteer waiting for approval call."""
    membership = Membership.objects.select_for_update().get(campaign=campaign, user=user)
    if membership.status != Membership.Status.PENDING_APPROVAL:
        raise CampaignError(f"{user.name} is not waiting for approval.")
    membership.status = Membership.Status.ACTIVE
    membership.save(update_fields=["status"])
    events.volunteer_joined.send(sender=Membership, membership=membership)
    record_event(
        by,
        "volunteer.approved",
        membership,
        campaign=campaign,
        request=request,
        volunteer=user.public_id,
    )
    return membership


@transaction.atomic
def reject_volunteer(campaign: Campaign, user, *, by=None, request=None) -> None:
    """An organiser turns away someone who has not started calling (waiting to confirm their
    email or for approval): their membership goes; the audit trail keeps the decision."""
    membership = Membership.objects.select_for_update().get(campaign=campaign, user=user)
    if not membership.is_pending:
        raise CampaignError(f"{user.name} is a volunteer already: suspend them instead.")
    record_event(
        by,
        "volunteer.rejected",
        membership,
        campaign=campaign,
        request=request,
        volunteer=user.public_id,
        was=membership.status,
    )
    membership.delete()


def volunteers_overview(campaign: Campaign, limit: int = 500) -> dict:
    """The volunteers page: who waits, and what looks like harvesting (many sign-ups from one
    address; contacts handed out that no real call followed; the claim limit hit)."""
    memberships = list(campaign.memberships.select_related("user").order_by("-joined_at")[:limit])
    by_address = Counter(m.sign_up_address for m in memberships if m.sign_up_address)
    crowded = {
        address: n
        for address, n in by_address.items()
        if n >= settings.RINGROUND_SIGNUPS_FLAGGED_PER_ADDRESS
    }
    for m in memberships:
        m.flags = []
        if m.sign_up_address in crowded:
            m.flags.append(f"{crowded[m.sign_up_address]} sign-ups from {m.sign_up_address}")
        if m.unmatched_claims() >= settings.RINGROUND_FLAG_UNMATCHED_CLAIMS:
            m.flags.append(f"{m.unmatched_claims()} contacts handed out without a real call")
        if m.flagged_at:
            m.flags.append(f"hit the claim limit {timezone.localtime(m.flagged_at):%d %b %H:%M}")
    return {
        "volunteers": memberships,
        "pending": [m for m in memberships if m.is_pending],
        "flagged": [m for m in memberships if m.flags and m.status != Membership.Status.SUSPENDED],
        "crowded_addresses": sorted(crowded.items(), key=lambda item: -item[1]),
    }


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


def set_time_zones(campaign: Campaign, zones: list[str], legal_zones: list[str]) -> None:
    """Record the time zones and legal zones the campaign's targets live in
    (``calling.targets`` knows)."""
    Campaign.objects.filter(pk=campaign.pk).update(time_zones=zones, legal_zones=legal_zones)
    campaign.time_zones = zones
    campaign.legal_zones = legal_zones


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
        "claims_total": F("claims_total") + 1,
    }


# -- the campaign's hourly ceiling ---------------------------------------------------------------


def count_handed_out(campaign: Campaign, ceiling: int, now: dt.datetime) -> bool:
    """Count one more contact handed out in the campaign's hour, if its ceiling allows it;
    ``False`` if the ceiling is reached. One conditional UPDATE: claims at the same moment
    wait for each other's count, so together they cannot pass the ceiling."""
    hour_ago = now - Campaign.HANDED_OUT_WINDOW
    under_ceiling = Campaign.objects.filter(pk=campaign.pk).with_room(ceiling, hour_ago)
    return bool(under_ceiling.update(**Campaign.handed_out_counted(now, hour_ago)))


def count_handed_out_sql(*, campaign: str, ceiling: str, now: str, hour_ago: str) -> str:
    """``count_handed_out`` as an UPDATE for a hand-written statement (the arguments name its
    parameters; ``hour_ago``: ``now`` less ``Campaign.HANDED_OUT_WINDOW``)."""
    P = rawsql.Param
    under_ceiling = Campaign.objects.filter(pk=P(campaign)).with_room(P(ceiling), P(hour_ago))
    values = Campaign.handed_out_counted(P(now), P(hour_ago))
    return (
        f'UPDATE "{Campaign._meta.db_table}" SET {rawsql.assignments(Campaign, values)} '
        f"WHERE {rawsql.condition(under_ceiling)}"
    )


def flag_ceiling_reached(campaign: Campaign, ceiling: int, now: dt.datetime) -> None:
    """Claims were refused at the campaign's ceiling: flagged to organisers once an hour."""
    flagged = Campaign.objects.filter(pk=campaign.pk).filter(
        Q(ceiling_reached_at__isnull=True) | Q(ceiling_reached_at__lt=F("handed_out_window_start"))
    )
    if flagged.update(ceiling_reached_at=now):
        campaign.ceiling_reached_at = now
        record_event(None, "campaign.ceiling_reached", campaign, campaign=campaign, ceiling=ceiling)


# -- real calls earn claims ------------------------------------------------------------------


def credit_call(campaign_id: int, volunteer_id: int) -> None:
    """A real call was recorded: it counts towards the volunteer's claim budget."""
    Membership.objects.filter(campaign_id=campaign_id, user_id=volunteer_id).update(
        **_call_credited()
    )


def credit_call_sql(*, campaign: str, volunteer: str) -> str:
    """``credit_call`` as an UPDATE for a hand-written statement (arguments name parameters)."""
    members = Membership.objects.filter(
        campaign_id=rawsql.Param(campaign), user_id=rawsql.Param(volunteer)
    )
    return (
        f'UPDATE "{Membership._meta.db_table}" SET '
        f"{rawsql.assignments(Membership, _call_credited())} WHERE {rawsql.condition(members)}"
    )


def _call_credited() -> dict:
    return {"calls_recorded": F("calls_recorded") + 1}
