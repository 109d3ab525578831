"""The calling loop's rules, in the order a call happens.

1. ``claim_next`` hands a volunteer the best ready person, leased to them alone.
2. ``heartbeat`` keeps that lease alive while the contact card is open.
3. ``record_outcome`` stores the call once, ends the lease and schedules any retry.
4. ``release`` hands the person back untouched (Pause / Stop).
5. ``expire_leases`` tidies leases nobody renewed back into the pool.
6. Predictive dialing: ``claim_for_dialer`` takes people for lines dialed before a volunteer
   is free, ``hand_to_volunteer`` gives the one who answers to a free volunteer, and
   ``record_unattended`` stores a line that ended with no volunteer (no answer, busy, a
   machine, or abandoned) as an attempt, with the outcome's retry rule.

Which targets may be handed out, in what order, and how each step changes a target are defined
once on ``CallTarget`` (models.py). On SQLite the steps below run them through the ORM: the
transaction is a write transaction (``IMMEDIATE``), so claims run one at a time, and the write
is a compare-and-swap ``UPDATE`` that only succeeds if the row is still claimable. On
PostgreSQL a claim and an outcome are each one statement compiled from the same definitions
(statements.py). On both, the database refuses a volunteer a second live lease in one
campaign.
A lease token, signed by the server, names the claim; an outcome is stored once per claim and
once per client idempotency key, even if the lease has since expired.
"""

import base64
import datetime as dt
import hashlib
import hmac
import json
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from ringround import events
from ringround.audit.services import record_event
from ringround.campaigns.models import Campaign, Membership, OutcomeCode, Question
from ringround.campaigns.services import (
    count_claim,
    count_handed_out,
    credit_call,
    flag_ceiling_reached,
    flag_rate_limited,
)
from ringround.compliance.models import TeamPolicy
from ringround.compliance.services import screening_problem
from ringround.contacts.models import Suppression

from . import statements, tallies, targets
from .models import Call, CallTarget

LEASE_SALT = "ringround.calling.lease"
LEASE_TOKEN_MAX_AGE = 7 * 24 * 3600
CLAIM_ATTEMPTS = 5
MAX_TEXT_ANSWER = 2000


def one_statement() -> bool:
    """Whether claims and outcomes go as single statements (PostgreSQL)."""
    return connection.vendor == "postgresql"


class CallingError(Exception):
    """A refusal the volunteer or client should see, in words."""

    code = "calling_error"


class CampaignNotOpen(CallingError):
    code = "campaign_not_open"


class NotAVolunteer(CallingError):
    code = "not_a_volunteer"


class RateLimited(CallingError):
    code = "rate_limited"


class CeilingReached(CallingError):
    code = "campaign_ceiling"


class ScreeningOutOfDate(CallingError):
    """The campaign calls UK numbers and its team's TPS/CTPS screening is not current."""

    code = "screening_out_of_date"


class InvalidLease(CallingError):
    code = "invalid_lease"


class InvalidOutcome(CallingError):
    code = "invalid_outcome"

    def __init__(self, message, errors=None):
        super().__init__(message)
        self.errors = errors or {}


@dataclass
class Lease:
    target: CallTarget
    token: str
    expires_at: dt.datetime
    view_recorded: bool = False  # the audit trail has this hand-over as a view of the contact

    @property
    def contact(self):
        return self.target.contact


# --- who may call ------------------------------------------------------------------------


def check_can_call(
    campaign: Campaign, volunteer, membership: Membership | None = None
) -> Membership:
    """The volunteer's membership, if they may be handed someone now (``membership``: the one
    the caller has just read, to save reading it again)."""
    if campaign.status != Campaign.Status.ACTIVE:
        raise CampaignNotOpen(f"{campaign.name} is not taking calls right now.")
    if (
        membership is None
        or membership.campaign_id != campaign.pk
        or membership.user_id != volunteer.pk
    ):
        membership = Membership.objects.filter(campaign=campaign, user=volunteer).first()
    if membership is None:
        raise NotAVolunteer("You have not joined this campaign.")
    if membership.status != Membership.Status.ACTIVE:
        raise NotAVolunteer(WAITING.get(membership.status, WAITING[Membership.Status.SUSPENDED]))
    return membership


# What a volunteer who may not call is told (the brief page says the same at more length).
WAITING = {
    Membership.Status.PENDING_VERIFICATION: (
        "Confirm your email first: follow the link we emailed you, then you can start calling."
    ),
    Membership.Status.PENDING_APPROVAL: (
        "An organiser has to approve you before you can start calling. You will be able to "
        "call as soon as they do."
    ),
    Membership.Status.SUSPENDED: "Your calling for this campaign has been suspended by an organiser.",
}


def check_claim_rate(campaign: Campaign, membership: Membership, now: dt.datetime) -> None:
    """Allow at most the volunteer's claim budget of new contacts per hour (``claims_per_hour``
    once they have made real calls; fewer for a newcomer: ``Membership.claim_budget``), so
    nobody can page through the list; a burst beyond it is refused and flagged to the
    organisers. Only contacts actually handed out count (``count_claim``), not empty asks."""
    budget = membership.claim_budget(campaign.claims_per_hour)
    if membership.claim_limit_reached(budget, now):
        flag_rate_limited(campaign, membership, now)
        if budget < campaign.claims_per_hour:
            raise RateLimited(
                f"New volunteers are given up to {budget} contacts an hour; every call you "
                "record earns you more. Take a short break and carry on later."
            )
        raise RateLimited(
            "You have been given a lot of contacts this hour. Take a short break; "
            "your organiser has been told in case something is wrong."
        )


def contacts_per_hour(campaign: Campaign, now: dt.datetime) -> int:
    """The campaign's ceiling on contacts handed out per hour, all volunteers together: the
    organisers' figure, or else RINGROUND_CONTACTS_PER_HOUR_FLOOR plus
    RINGROUND_CONTACTS_PER_HOUR_PER_CALLER for each volunteer who recorded a conversation in
    the last day. Proven callers, never accounts: new accounts cost nothing, conversations
    do. The count is cached for a minute, so a claim costs one cache read."""
    if campaign.contacts_per_hour is not None:
        return campaign.contacts_per_hour
    key = f"ringround:callers:{campaign.pk}"
    callers = cache.get(key)
    if callers is None:
        callers = (
            Call.objects.filter(
                campaign=campaign,
                ended_at__gte=now - dt.timedelta(days=1),
                outcome__is_conversation=True,
            )
            .values("volunteer_id")
            .distinct()
            .count()
        )
        cache.set(key, callers, 60)
    return (
        settings.RINGROUND_CONTACTS_PER_HOUR_FLOOR
        + settings.RINGROUND_CONTACTS_PER_HOUR_PER_CALLER * callers
    )


def ceiling_refused(campaign: Campaign, ceiling: int, now: dt.datetime) -> CeilingReached:
    """The refusal at the campaign's ceiling, flagged to the organisers."""
    flag_ceiling_reached(campaign, ceiling, now)
    return CeilingReached(
        f"{campaign.name} has handed out as many contacts as it allows in an hour "
        f"({ceiling}). Try again a little later; your organisers have been told."
    )


# --- 1. claim ----------------------------------------------------------------------------


RACE_LOST = object()  # _take_best: someone else took the candidate first; try again
NO_ROOM = object()  # _take_best: the campaign's hourly ceiling is reached
STEP_BY_STEP = object()  # the one-statement claim met a case it leaves to the general path


def claim_next(
    campaign: Campaign,
    volunteer,
    *,
    now: dt.datetime | None = None,
    membership: Membership | None = None,
    record_view: bool = False,
    ip_address: str | None = None,
) -> Lease | None:
    """Lease the best claimable target to ``volunteer``; ``None`` when nobody is left to call.

    A volunteer who already holds a lease gets the same person back (renewed); otherwise the
    claim rate is checked, the best target taken and the claim counted. On PostgreSQL those
    steps are one statement (``_claim_in_one_statement``); the step-by-step path below is the
    same rules, for SQLite and for the rare cases the statement leaves to it.

    ``record_view``: the caller shows the contact at once (the API's answer), so the view goes
    into the audit trail here, in the same statement on PostgreSQL."""
    now = now or timezone.now()
    membership = check_can_call(campaign, volunteer, membership)
    policy = check_screening(campaign, now)
    expires_at = now + dt.timedelta(minutes=campaign.lease_minutes)
    budget = membership.claim_budget(campaign.claims_per_hour)
    limit_reached = membership.claim_limit_reached(budget, now)
    ceiling = contacts_per_hour(campaign, now)
    if one_statement() and not limit_reached:
        view = (record_view, ip_address)
        lease = _claim_in_one_statement(
            campaign, volunteer, membership, now, expires_at, view, ceiling, policy
        )
        if lease is not STEP_BY_STEP:
            return lease
    lease = _claim_step_by_step(campaign, volunteer, membership, now, expires_at, ceiling, policy)
    if lease is not None and record_view:
        record_contact_view(lease, volunteer, ip_address)
    return lease


def check_screening(campaign: Campaign, now: dt.datetime) -> TeamPolicy:
    """The team's compliance settings, if its campaign may hand out contacts: a campaign that
    calls UK numbers stops while the team's TPS/CTPS screening is over 28 days old, and the
    volunteer is told why (the organisers see the date on the campaign's page)."""
    policy = TeamPolicy.of_campaign(campaign)
    if screening_problem(policy, campaign.legal_zones, now):
        raise ScreeningOutOfDate(
            f"{campaign.name} has paused its calls to UK numbers: the team's check against "
            "the Telephone Preference Service is out of date. Your organisers have been told "
            "and can start it again."
        )
    return policy


def record_contact_view(lease: Lease, viewer, ip_address: str | None = None) -> None:
    """The audit trail's entry for a volunteer shown the contact they hold."""
    campaign = lease.target.campaign
    record_event(
        viewer,
        statements.CONTACT_VIEW,
        lease.contact,
        campaign=campaign,
        ip_address=ip_address,
        fields=campaign.fields_for_volunteer(),
    )
    lease.view_recorded = True


def _claim_step_by_step(
    campaign, volunteer, membership, now, expires_at, ceiling, policy
) -> Lease | None:
    held = _renew_held_lease(campaign, volunteer, now, policy)
    if held:
        return held
    check_claim_rate(campaign, membership, now)
    for _ in range(CLAIM_ATTEMPTS):
        try:
            target = _take_best(campaign, volunteer, now, expires_at, ceiling, policy)
        except IntegrityError:
            # The same volunteer claimed twice at once: the database kept one lease.
            held = _renew_held_lease(campaign, volunteer, now, policy)
            if held:
                return held
            continue
        if target is None:
            return None
        if target is NO_ROOM:
            raise ceiling_refused(campaign, ceiling, now)
        if target is not RACE_LOST:
            count_claim(membership, now)
            target.campaign = campaign
            return Lease(target, lease_token(target), expires_at)
    return None


def _take_best(campaign, volunteer, now, expires_at, ceiling, policy) -> CallTarget | None:
    """Inside a write transaction, pick the best claimable target (lapsed leases first: each
    was the best person when first handed out; then the ready), count it against the
    campaign's hourly ceiling, then assign it with a compare-and-swap UPDATE that only
    succeeds if it is still claimable (if not, the count is rolled back with it).

    Returns the target, ``None`` if nobody is claimable, ``NO_ROOM`` or ``RACE_LOST``."""
    claimable = CallTarget.objects.claimable_now(campaign, now, policy)
    with transaction.atomic():
        for part in (claimable.lapsed(now), claimable.ready(now)):
            candidate = part.in_claim_order().select_for_update(skip_locked=True).only("id").first()
            if candidate is not None:
                break
        else:
            return None
        if not count_handed_out(campaign, ceiling, now):
            return NO_ROOM
        taken = claimable.filter(pk=candidate.pk).update(
            **CallTarget.leased_to(volunteer, now, expires_at)
        )
        if taken != 1:
            transaction.set_rollback(True)
    if taken != 1:
        return RACE_LOST
    return CallTarget.objects.select_related("contact").get(pk=candidate.pk)


def _claim_in_one_statement(
    campaign, volunteer, membership, now, expires_at, view, ceiling, policy
):
    """claim_next's steps in one round trip (statements.claim). Returns the lease, ``None`` if
    nobody is claimable, or ``STEP_BY_STEP`` when the volunteer held a lease the statement did
    not renew (it had lapsed, or changed meanwhile), claimed twice at once, or met the
    campaign's ceiling: the general path sorts those out (and refuses with the reason)."""
    params = {
        "campaign": campaign.pk,
        "team": campaign.team_id,
        "volunteer": volunteer.pk,
        "membership": membership.pk,
        "now": now,
        "expires_at": expires_at,
        "open_zones": campaign.open_time_zones(now),
        "open_legal": campaign.open_legal_zones(now, policy),
        "spoken_since": policy.spoken_since(now),
        "max_attempts": campaign.max_attempts,
        "new_window": membership.claims_window_over(now),
        "record_view": view[0],
        "ip_address": view[1],
        "view_detail": json.dumps({"fields": campaign.fields_for_volunteer()}),
        "ceiling": ceiling,
        "hour_ago": now - Campaign.HANDED_OUT_WINDOW,
    }
    try:
        target, contact, held_before, no_room = statements.claim(params)
    except IntegrityError:
        return STEP_BY_STEP
    if target is None:
        return STEP_BY_STEP if held_before or no_room else None
    target.contact = contact
    target.campaign = campaign
    return Lease(target, lease_token(target), expires_at, view_recorded=view[0])


def _renew_held_lease(
    campaign: Campaign, volunteer, now: dt.datetime, policy: TeamPolicy | None = None
) -> Lease | None:
    held = _held(campaign, volunteer).select_related("contact").first()
    if held is None:
        return None
    still_held = CallTarget.objects.filter(pk=held.pk).held_by(volunteer)
    if (
        held.lease_expires_at <= now
        and not CallTarget.objects.claimable_now(campaign, now, policy).filter(pk=held.pk).exists()
    ):
        # The lease lapsed and the person may not be called now (calling hours are over, or
        # the number was suppressed): handing them back out would break the calling rules.
        still_held.update(**CallTarget.back_to_pool())
        return None
    expires_at = now + dt.timedelta(minutes=campaign.lease_minutes)
    renewed = still_held.update(lease_expires_at=expires_at)
    if not renewed:
        return None
    held.lease_expires_at = expires_at
    return Lease(held, lease_token(held), expires_at)


def current_lease(campaign: Campaign, volunteer) -> Lease | None:
    """The lease this volunteer holds now, if it is still theirs (without renewing it)."""
    held = _held(campaign, volunteer).select_related("contact").first()
    if held is None:
        return None
    return Lease(held, lease_token(held), held.lease_expires_at)


def _held(campaign: Campaign, volunteer):
    return CallTarget.objects.filter(campaign=campaign).held_by(volunteer)


def lease_token(target: CallTarget) -> str:
    """``target.campaign.volunteer.leased-at-in-microseconds.signature``: what the outcome
    needs to name this claim, signed with an HMAC of the secret key (plain, so that it costs
    microseconds: one is made for every claim and checked for every outcome)."""
    payload = (
        f"{target.pk}.{target.campaign_id}.{target.held_by_id}.{_microseconds(target.leased_at)}"
    )
    return f"{payload}.{_lease_signature(payload, _lease_keys()[0])}"


@dataclass(frozen=True)
class Claim:
    target_id: int
    volunteer_id: int
    leased_at: dt.datetime


def read_lease_token(
    token: str, campaign: Campaign, volunteer, now: dt.datetime | None = None
) -> Claim:
    token = token or ""
    payload, _, signature = token.rpartition(".")
    signed = token.isascii() and any(
        hmac.compare_digest(signature, _lease_signature(payload, key)) for key in _lease_keys()
    )
    try:
        if not signed:
            raise ValueError("bad signature")
        target_id, campaign_id, volunteer_id, leased_at = (int(part) for part in payload.split("."))
        claim = Claim(target_id, volunteer_id, _EPOCH + dt.timedelta(microseconds=leased_at))
        if campaign_id != campaign.pk:
            raise ValueError("another campaign")
        if (now or timezone.now()) - claim.leased_at > dt.timedelta(seconds=LEASE_TOKEN_MAX_AGE):
            raise ValueError("too old")
    except (ValueError, OverflowError) as exc:
        raise InvalidLease("This call is not yours to record (the lease is unknown).") from exc
    if claim.volunteer_id != volunteer.pk:
        raise InvalidLease("This call is not yours to record (the lease is someone else's).")
    return claim


_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
_keys: dict = {}


def _microseconds(moment: dt.datetime) -> int:
    return (moment - _EPOCH) // dt.timedelta(microseconds=1)


def _lease_keys() -> list[bytes]:
    """The signing keys: from SECRET_KEY, then from each of SECRET_KEY_FALLBACKS (tokens made
    before a key rotation still check)."""
    secrets = (settings.SECRET_KEY, *getattr(settings, "SECRET_KEY_FALLBACKS", ()))
    if secrets not in _keys:
        _keys.clear()
        _keys[secrets] = [
            hashlib.sha256(f"{LEASE_SALT}:{secret}".encode()).digest() for secret in secrets
        ]
    return _keys[secrets]


def _lease_signature(payload: str, key: bytes) -> str:
    digest = hmac.new(key, payload.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


# --- 2. heartbeat ------------------------------------------------------------------------


def heartbeat(
    campaign: Campaign, volunteer, *, now: dt.datetime | None = None
) -> dt.datetime | None:
    """Extend the volunteer's live lease; ``None`` if they no longer hold one."""
    now = now or timezone.now()
    expires_at = now + dt.timedelta(minutes=campaign.lease_minutes)
    renewed = _held(campaign, volunteer).update(lease_expires_at=expires_at)
    return expires_at if renewed else None


# --- 3. record the outcome -----------------------------------------------------------------


def record_outcome(
    campaign: Campaign,
    volunteer,
    *,
    lease_token: str,
    outcome_code: str,
    idempotency_key: str,
    answers: dict | None = None,
    notes: str = "",
    callback_at: dt.datetime | None = None,
    now: dt.datetime | None = None,
    survey: tuple[OutcomeCode | None, list[Question]] | None = None,
) -> Call:
    """Store the call once, end the lease and apply the outcome's retry rule. What the
    volunteer fills in after the outcome counts only where it follows that outcome
    (``OutcomeCode.follow_up``): answers after the survey, a time after "call back".

    Returns the stored call; the same call again for a repeated key or a repeated claim.
    ``survey``: the outcome of ``outcome_code`` and its questions, if the caller has read them
    already (``campaigns.permissions.campaign_and_outcome_for_volunteer``)."""
    now = now or timezone.now()
    key = (idempotency_key or "").strip()
    if _has_nul(key, notes, answers, outcome_code, lease_token):
        raise InvalidOutcome("The form contains a character that cannot be stored (NUL).")
    if not key or len(key) > 64:
        raise InvalidOutcome("The form is missing its submission key; reload the page.")
    try:
        claim = read_lease_token(lease_token, campaign, volunteer, now)
        outcome, questions = survey or OutcomeCode.objects.with_survey(campaign, outcome_code)
        if outcome is None:
            raise InvalidOutcome(
                "Choose what happened on the call.", {"outcome": "Unknown outcome."}
            )
        clean = clean_answers(campaign, outcome, answers or {}, questions)
        callback_at = call_back_time(outcome, callback_at, now)
    except CallingError:
        # A retry of a call stored already gets that call, even if it would not pass now.
        existing = Call.objects.filter(volunteer=volunteer, idempotency_key=key).first()
        if existing is not None:
            return existing
        raise
    notes = (notes or "")[:MAX_TEXT_ANSWER]
    call = _call(campaign, volunteer, claim, outcome, clean, notes, key, now)
    terms = _outcome_terms(campaign, outcome, now, callback_at)
    terms["real_call"] = is_real_call(call)
    terms["tally"] = tallies.call_terms(call, outcome, questions)
    # A suppressing outcome also adds to the suppression list: the step-by-step path.
    store = _store_in_one_statement if one_statement() and not outcome.suppresses else _store_call
    try:
        call = store(call, volunteer, outcome, terms)
    except IntegrityError:
        call = None
    if call is not None and outcome.is_conversation:
        days = TeamPolicy.of_campaign(campaign).frequency_days
        if days:
            targets.hold_after_conversation(call.target_id, call.ended_at + dt.timedelta(days=days))
    if call is None:
        # A retried submit (same key), or a second one for this claim: the first is the call.
        call = Call.objects.filter(volunteer=volunteer, idempotency_key=key).first()
        if call is None:
            call = Call.objects.filter(
                target_id=claim.target_id, volunteer=volunteer, started_at=claim.leased_at
            ).first()
        if call is None:
            raise InvalidLease("This call is not yours to record (the contact is unknown).")
    return call


def is_real_call(call: Call) -> bool:
    """Whether a recorded call earns its volunteer more claims (``Membership.claim_budget``):
    its outcome came at least RINGROUND_REAL_CALL_SECONDS after the contact was handed out,
    long enough to have dialled. Paging through contacts and recording at once earns none."""
    return call.ended_at - call.started_at >= dt.timedelta(
        seconds=settings.RINGROUND_REAL_CALL_SECONDS
    )


def _outcome_terms(campaign, outcome, now, callback_at) -> dict:
    """What ``CallTarget.after_outcome`` needs to know of this outcome."""
    retry_at = now + dt.timedelta(minutes=outcome.retry_after_minutes or 0)
    return {
        "suppresses": outcome.suppresses,
        "retries": outcome.retries,
        "limit": min(outcome.max_attempts, campaign.max_attempts),
        "retry_at": callback_at or retry_at,
    }


def _store_call(call, volunteer, outcome, terms) -> Call | None:
    """Store the call and apply the outcome to the target, in one transaction with the target
    locked; a real call made while the lease was still the volunteer's earns them claims.
    A second call for the same key or claim fails on a unique constraint."""
    terms = dict(terms)
    real_call = terms.pop("real_call")
    tally = terms.pop("tally")
    with transaction.atomic():
        target = (
            CallTarget.objects.select_for_update()
            .filter(pk=call.target_id, campaign=call.campaign)
            .annotate(ours=CallTarget.lease_still_ours(volunteer, call.started_at))
            .first()
        )
        if target is None:
            return None
        call.lease_lost = not target.ours
        call.save(force_insert=True)
        tallies.count_call(tally)
        if target.ours:
            CallTarget.objects.filter(pk=target.pk).update(
                **CallTarget.after_outcome(outcome=outcome, **terms)
            )
            if real_call:
                credit_call(call.campaign_id, volunteer.pk)
        if outcome.suppresses:
            reason = (
                Suppression.Reason.WRONG_NUMBER
                if outcome.code == "wrong_number"
                else Suppression.Reason.REQUESTED
            )
            targets.suppress_number(
                target.phone,
                team=call.campaign.team,
                reason=reason,
                by=volunteer,
                note=f"Outcome: {outcome.label}",
                campaign=call.campaign,
            )
    events.call_recorded.send(sender=Call, call=call)
    return call


def _store_in_one_statement(call, volunteer, outcome, terms) -> Call | None:
    """``_store_call`` in one round trip (statements.store_call); ``None`` if the call was
    stored already."""
    row = statements.store_call(call, **terms)
    if row is None:
        return None
    call.pk, call.lease_lost = row
    call._state.adding, call._state.db = False, connection.alias
    events.call_recorded.send(sender=Call, call=call)
    return call


def _call(campaign, volunteer, claim, outcome, answers, notes, key, now) -> Call:
    """The call to store for this claim (not saved)."""
    return Call(
        campaign=campaign,
        target_id=claim.target_id,
        volunteer=volunteer,
        outcome=outcome,
        answers=answers,
        notes=notes,
        started_at=claim.leased_at,
        ended_at=now,
        idempotency_key=key,
    )


def _has_nul(*values) -> bool:
    """PostgreSQL text cannot hold NUL characters; refuse them with a clear error."""
    for value in values:
        if isinstance(value, dict):
            if _has_nul(*value.keys(), *value.values()):
                return True
        elif isinstance(value, list | tuple):
            if _has_nul(*value):
                return True
        elif isinstance(value, str) and "\x00" in value:
            return True
    return False


def clean_answers(
    campaign: Campaign, outcome: OutcomeCode, raw: dict, questions: list[Question] | None = None
) -> dict:
    """Survey answers checked against the questions (``questions``: read already). Only an
    outcome the survey follows carries answers, and only there is a required question
    required: a refusal or an unanswered call is saved without inventing answers."""
    if not outcome.asks_survey:
        return {}
    clean, errors = {}, {}
    for question in campaign.questions.all() if questions is None else questions:
        value = raw.get(question.key)
        if question.kind == Question.Kind.MULTIPLE:
            values = value if isinstance(value, list) else ([value] if value else [])
            values = [str(v) for v in values if str(v).strip()]
            if any(v not in question.options() for v in values):
                errors[question.key] = "Pick from the choices given."
            elif values:
                clean[question.key] = values
        else:
            if isinstance(value, list):
                value = value[0] if value else ""
            value = str(value or "").strip()
            if question.kind == Question.Kind.TEXT:
                if len(value) > MAX_TEXT_ANSWER:
                    errors[question.key] = f"Keep it under {MAX_TEXT_ANSWER} characters."
            elif value and value not in question.options():
                errors[question.key] = "Pick from the choices given."
            if value and question.key not in errors:
                clean[question.key] = value
        if question.required and question.key not in clean and question.key not in errors:
            errors[question.key] = "This question needs an answer."
    if errors:
        raise InvalidOutcome("Some answers need another look.", errors)
    return clean


def call_back_time(
    outcome: OutcomeCode, callback_at: dt.datetime | None, now: dt.datetime
) -> dt.datetime | None:
    """The time the volunteer arranged to call back, where it follows the outcome (else
    ``None``: the outcome's own retry rule applies). It has to be in the future."""
    if callback_at is None or not outcome.asks_call_back_time:
        return None
    if callback_at <= now:
        raise InvalidOutcome(
            "The call-back time has passed.", {"callback_at": "Choose a time in the future."}
        )
    return callback_at


# --- 4. hand back, 5. expire ----------------------------------------------------------------


def release(campaign: Campaign, volunteer) -> int:
    """Hand back whoever this volunteer holds, without counting an attempt."""
    return _held(campaign, volunteer).update(**CallTarget.back_to_pool())


def expire_leases(*, now: dt.datetime | None = None) -> int:
    """Return every lapsed lease to the pool (claims already treat them as free)."""
    now = now or timezone.now()
    return CallTarget.objects.lapsed(now).update(**CallTarget.back_to_pool()) + free_lapsed_dialing(
        now=now
    )


# --- predictive dialing -----------------------------------------------------------------------

DIALER_HOLD = dt.timedelta(minutes=3)  # a dialed line that never reports back is freed after this


def claim_for_dialer(
    campaign: Campaign, count: int, *, now=None, held_back=None, never_prefixes=()
) -> list[CallTarget]:
    """Take up to ``count`` claimable targets for lines dialed before any volunteer is free.
    They are held by nobody (``CallTarget.dialing``) until a person answers or the line ends.
    ``held_back``: numbers (a query of phones) not to be dialed without a live volunteer
    guaranteed; ``never_prefixes``: numbers the law forbids dialing so (US mobiles, TCPA)."""
    now = now or timezone.now()
    if count <= 0 or not campaign.is_active:
        return []
    try:
        policy = check_screening(campaign, now)
    except ScreeningOutOfDate:
        return []  # the organisers are told on the campaign's page; the dialer waits
    claimable = CallTarget.objects.claimable_now(campaign, now, policy)
    if held_back is not None:
        claimable = claimable.exclude(phone__in=held_back)
    for prefix in never_prefixes:
        claimable = claimable.exclude(phone__startswith=prefix)
    ceiling = contacts_per_hour(campaign, now)
    with transaction.atomic():
        chosen = list(
            claimable.in_claim_order()
            .select_for_update(skip_locked=True)
            .values_list("pk", flat=True)[:count]
        )
        taken = []
        for pk in chosen:
            if not count_handed_out(campaign, ceiling, now):
                break
            taken.append(pk)
        CallTarget.objects.filter(pk__in=taken).update(**CallTarget.dialing(now, now + DIALER_HOLD))
    return list(CallTarget.objects.filter(pk__in=taken, state=CallTarget.State.DIALING))


def hand_to_volunteer(target_id: int, volunteer, *, now=None) -> Lease | None:
    """A person answered a dialed line: they become this volunteer's lease (``None`` if the
    line was freed meanwhile, or the volunteer holds somebody already)."""
    now = now or timezone.now()
    target = CallTarget.objects.filter(pk=target_id).select_related("campaign").first()
    if target is None:
        return None
    expires_at = now + dt.timedelta(minutes=target.campaign.lease_minutes)
    try:
        with transaction.atomic():
            taken = CallTarget.objects.filter(pk=target_id, state=CallTarget.State.DIALING).update(
                **CallTarget.leased_to(volunteer, now, expires_at)
            )
    except IntegrityError:
        return None
    if not taken:
        return None
    held = CallTarget.objects.select_related("contact", "campaign").get(pk=target_id)
    return Lease(held, lease_token(held), expires_at)


def record_unattended(
    target_id: int, outcome_code: str, *, now=None, not_before=None
) -> Call | None:
    """A dialed line ended with no volunteer on it: store the attempt (no volunteer) and apply
    the outcome's retry rule, but never retry before ``not_before`` (Ofcom's 72-hour rule after
    an abandoned call, 24 hours after a machine)."""
    now = now or timezone.now()
    target = (
        CallTarget.objects.filter(pk=target_id, state=CallTarget.State.DIALING)
        .select_related("campaign__team")
        .first()
    )
    if target is None:
        return None
    campaign = target.campaign
    outcome = OutcomeCode.objects.filter(campaign=campaign, code=outcome_code).first()
    if outcome is None:
        CallTarget.objects.filter(pk=target_id, state=CallTarget.State.DIALING).update(
            **CallTarget.back_to_pool()
        )
        return None
    call = Call(
        campaign=campaign,
        target_id=target.pk,
        volunteer=None,
        outcome=outcome,
        started_at=target.leased_at,
        ended_at=now,
        idempotency_key=f"dialer:{target.pk}:{_microseconds(target.leased_at)}",
    )
    terms = _outcome_terms(campaign, outcome, now, None)
    if not_before is not None and terms["retry_at"] < not_before:
        terms["retry_at"] = not_before
    with transaction.atomic():
        still_dialing = CallTarget.objects.select_for_update().filter(
            pk=target.pk, state=CallTarget.State.DIALING, leased_at=target.leased_at
        )
        if not still_dialing.exists():
            return None
        call.save(force_insert=True)
        tallies.count_call(tallies.call_terms(call, outcome, []))
        still_dialing.update(**CallTarget.after_outcome(outcome=outcome, **terms))
    events.call_recorded.send(sender=Call, call=call)
    return call


def free_lapsed_dialing(*, now=None) -> int:
    """Lines the dialer took whose provider never reported back go back to the pool."""
    now = now or timezone.now()
    return CallTarget.objects.filter(
        state=CallTarget.State.DIALING, lease_expires_at__lt=now
    ).update(**CallTarget.back_to_pool())
