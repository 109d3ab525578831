"""The calling loop's rules, in the order a call happens.

1. ``claim_next`` hands a volunteer the best ready person, leased to them alone.
2. ``heartbeat`` keeps that lease alive while the contact card is open.
3. ``record_outcome`` stores the call once, ends the lease and schedules any retry.
4. ``release`` hands the person back untouched (Pause / Stop).
5. ``expire_leases`` tidies leases nobody renewed back into the pool.

On PostgreSQL a claim is one statement: the candidate row is locked with ``FOR UPDATE SKIP
LOCKED`` (concurrent volunteers never wait on each other, and a row changed meanwhile is
checked again) and assigned by the same ``UPDATE``. On SQLite the transaction is a write
transaction (``IMMEDIATE``), so claims run one at a time, and the write is a compare-and-swap
``UPDATE`` that only succeeds if the row is still claimable. On both, the database refuses a
volunteer a second live lease in one campaign.
A lease token, signed by the server, names the claim; an outcome is stored once per claim and
once per client idempotency key, even if the lease has since expired.
"""

import datetime as dt
from dataclasses import dataclass

from django.core import signing
from django.db import IntegrityError, connection, transaction
from django.db.models import Case, Exists, F, OuterRef, Q, Value, When
from django.utils import timezone

from ringround.campaigns.models import Campaign, Membership, OutcomeCode, Question
from ringround.contacts.models import Suppression

from .models import Call, CallTarget

State = CallTarget.State
LEASE_SALT = "ringround.calling.lease"
LEASE_TOKEN_MAX_AGE = 7 * 24 * 3600
CLAIM_ATTEMPTS = 5
MAX_TEXT_ANSWER = 2000


class CallingError(Exception):
    """A refusal the volunteer or client should see, in words."""

    code = "calling_error"


class CampaignNotOpen(CallingError):
    code = "campaign_not_open"


class NotAVolunteer(CallingError):
    code = "not_a_volunteer"


class RateLimited(CallingError):
    code = "rate_limited"


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
        raise NotAVolunteer("Your calling for this campaign has been suspended by an organiser.")
    return membership


def check_claim_rate(campaign: Campaign, membership: Membership, now: dt.datetime) -> None:
    """Allow at most ``claims_per_hour`` new contacts per volunteer per hour, so nobody can
    page through the list; a burst beyond it is refused and flagged to the organisers.
    Only contacts actually handed out count (``count_claim``), not empty asks."""
    window_start = membership.claims_window_start
    if window_start is None or now - window_start >= dt.timedelta(hours=1):
        return
    if membership.claims_in_window >= campaign.claims_per_hour:
        if membership.flagged_at is None or membership.flagged_at < window_start:
            Membership.objects.filter(pk=membership.pk).update(flagged_at=now)
            from ringround.audit.services import record_event

            record_event(
                membership.user,
                "volunteer.rate_limited",
                membership,
                campaign=campaign,
                claims=membership.claims_in_window,
            )
        raise RateLimited(
            "You have been given a lot of contacts this hour. Take a short break; "
            "your organiser has been told in case something is wrong."
        )


def count_claim(membership: Membership, now: dt.datetime) -> None:
    window_start = membership.claims_window_start
    if window_start is None or now - window_start >= dt.timedelta(hours=1):
        Membership.objects.filter(pk=membership.pk).update(
            claims_window_start=now, claims_in_window=1
        )
    else:
        Membership.objects.filter(pk=membership.pk).update(
            claims_in_window=F("claims_in_window") + 1
        )


# --- 1. claim ----------------------------------------------------------------------------


def claimable_targets(campaign: Campaign, now: dt.datetime):
    """Targets that may be handed out now: ready or due for retry (or with a lapsed lease),
    inside calling hours in their own time zone, under the attempt limit, not suppressed."""
    open_zones = campaign.open_time_zones(now)
    suppressed = Suppression.objects.filter(phone=OuterRef("phone"))
    return CallTarget.objects.filter(
        Q(state__in=CallTarget.CLAIMABLE_STATES, next_call_at__lte=now)
        | Q(state=State.ASSIGNED, lease_expires_at__lte=now),
        campaign=campaign,
        time_zone__in=open_zones,
        attempts__lt=campaign.max_attempts,
    ).exclude(Exists(suppressed))


CLAIM_ORDER = ("-priority", "next_call_at", "id")
RACE_LOST = object()  # _take_best: someone else took the candidate first; try again


def claim_next(
    campaign: Campaign,
    volunteer,
    *,
    now: dt.datetime | None = None,
    membership: Membership | None = None,
) -> Lease | None:
    """Lease the best claimable target to ``volunteer``; ``None`` when nobody is left to call.

    A volunteer who already holds a lease gets the same person back."""
    now = now or timezone.now()
    membership = check_can_call(campaign, volunteer, membership)
    held = _renew_held_lease(campaign, volunteer, now)
    if held:
        return held
    check_claim_rate(campaign, membership, now)
    expires_at = now + dt.timedelta(minutes=campaign.lease_minutes)
    take = _take_best_postgresql if connection.vendor == "postgresql" else _take_best
    for _ in range(CLAIM_ATTEMPTS):
        try:
            target = take(campaign, volunteer, now, expires_at)
        except IntegrityError:
            # The same volunteer claimed twice at once: the database kept one lease.
            held = _renew_held_lease(campaign, volunteer, now)
            if held:
                return held
            continue
        if target is None:
            return None
        if target is not RACE_LOST:
            count_claim(membership, now)
            target.campaign = campaign
            return Lease(target, lease_token(target), expires_at)
    return None


def _lapsed_then_ready(claimable):
    """Lapsed leases first (each was the best person when first handed out), then the ready
    and due targets; each part in claim order."""
    return (
        claimable.filter(state=State.ASSIGNED).order_by(*CLAIM_ORDER),
        claimable.filter(state__in=CallTarget.CLAIMABLE_STATES).order_by(*CLAIM_ORDER),
    )


def _take_best(campaign, volunteer, now, expires_at) -> CallTarget | None:
    """Any database (SQLite): inside a write transaction, pick the best claimable target, then
    assign it with a compare-and-swap UPDATE that only succeeds if it is still claimable.

    Returns the target, ``None`` if nobody is claimable, or ``RACE_LOST``."""
    claimable = claimable_targets(campaign, now)
    with transaction.atomic():
        for part in _lapsed_then_ready(claimable):
            candidate = part.select_for_update(skip_locked=True).only("id").first()
            if candidate is not None:
                break
        else:
            return None
        taken = claimable.filter(pk=candidate.pk).update(
            state=State.ASSIGNED, held_by=volunteer, leased_at=now, lease_expires_at=expires_at
        )
    if taken != 1:
        return RACE_LOST
    return CallTarget.objects.select_related("contact").get(pk=candidate.pk)


# The same choice on PostgreSQL, in one statement: the conditions of claimable_targets() and
# the order of _lapsed_then_ready(), written out (the calling tests run on both databases).
_CANDIDATE = """
    SELECT t.id FROM calling_calltarget t
     WHERE t.campaign_id = %(campaign)s AND {part}
       AND t.time_zone = ANY(%(open_zones)s) AND t.attempts < %(max_attempts)s
       AND NOT EXISTS (SELECT 1 FROM contacts_suppression s WHERE s.phone = t.phone)
     ORDER BY t.priority DESC, t.next_call_at, t.id
     LIMIT 1 FOR UPDATE SKIP LOCKED"""
CLAIM_ON_POSTGRESQL = f"""
UPDATE calling_calltarget
   SET state = 'assigned', held_by_id = %(volunteer)s, leased_at = %(now)s,
       lease_expires_at = %(expires_at)s
 WHERE id = COALESCE(
       ({_CANDIDATE.format(part="t.state = 'assigned' AND t.lease_expires_at <= %(now)s")}),
       ({_CANDIDATE.format(part="t.state IN ('ready', 'waiting') AND t.next_call_at <= %(now)s")}))
RETURNING *"""


def _take_best_postgresql(campaign, volunteer, now, expires_at) -> CallTarget | None:
    """PostgreSQL: the same choice in one statement and one round trip.

    The best lapsed lease, else the best ready or due target, is locked with ``FOR UPDATE SKIP
    LOCKED`` (concurrent claimers pass over each other's rows instead of waiting, and a row
    changed meanwhile is re-checked against the conditions) and assigned by the same UPDATE.
    Each part walks its own partial index in claim order, so the cost does not grow with the
    size of the campaign. Returns the target or ``None`` if nobody is claimable."""
    claimed = CallTarget.objects.raw(
        CLAIM_ON_POSTGRESQL,
        {
            "campaign": campaign.pk,
            "volunteer": volunteer.pk,
            "now": now,
            "expires_at": expires_at,
            "open_zones": campaign.open_time_zones(now),
            "max_attempts": campaign.max_attempts,
        },
    )
    return next(iter(claimed), None)


def _renew_held_lease(campaign: Campaign, volunteer, now: dt.datetime) -> Lease | None:
    held = (
        CallTarget.objects.select_related("contact")
        .filter(campaign=campaign, held_by=volunteer, state=State.ASSIGNED)
        .first()
    )
    if held is None:
        return None
    if (
        held.lease_expires_at <= now
        and not claimable_targets(campaign, now).filter(pk=held.pk).exists()
    ):
        # The lease lapsed and the person may not be called now (calling hours are over, or
        # the number was suppressed): handing them back out would break the calling rules.
        CallTarget.objects.filter(pk=held.pk, held_by=volunteer, state=State.ASSIGNED).update(
            **_back_to_pool
        )
        return None
    expires_at = now + dt.timedelta(minutes=campaign.lease_minutes)
    renewed = CallTarget.objects.filter(pk=held.pk, held_by=volunteer, state=State.ASSIGNED).update(
        lease_expires_at=expires_at
    )
    if not renewed:
        return None
    held.lease_expires_at = expires_at
    return Lease(held, lease_token(held), expires_at)


def current_lease(campaign: Campaign, volunteer, *, now: dt.datetime | None = None) -> Lease | None:
    """The lease this volunteer holds now, if it is still theirs (without renewing it)."""
    now = now or timezone.now()
    held = (
        CallTarget.objects.select_related("contact")
        .filter(campaign=campaign, held_by=volunteer, state=State.ASSIGNED)
        .first()
    )
    if held is None:
        return None
    return Lease(held, lease_token(held), held.lease_expires_at)


def lease_token(target: CallTarget) -> str:
    return signing.dumps(
        {
            "t": target.pk,
            "c": target.campaign_id,
            "v": target.held_by_id,
            "at": target.leased_at.isoformat(),
        },
        salt=LEASE_SALT,
        compress=True,
    )


@dataclass(frozen=True)
class Claim:
    target_id: int
    volunteer_id: int
    leased_at: dt.datetime


def read_lease_token(token: str, campaign: Campaign, volunteer) -> Claim:
    try:
        data = signing.loads(token or "", salt=LEASE_SALT, max_age=LEASE_TOKEN_MAX_AGE)
        claim = Claim(int(data["t"]), int(data["v"]), dt.datetime.fromisoformat(data["at"]))
        if int(data["c"]) != campaign.pk:
            raise ValueError("another campaign")
    except (signing.BadSignature, KeyError, TypeError, ValueError) as exc:
        raise InvalidLease("This call is not yours to record (the lease is unknown).") from exc
    if claim.volunteer_id != volunteer.pk:
        raise InvalidLease("This call is not yours to record (the lease is someone else's).")
    return claim


# --- 2. heartbeat ------------------------------------------------------------------------


def heartbeat(
    campaign: Campaign, volunteer, *, now: dt.datetime | None = None
) -> dt.datetime | None:
    """Extend the volunteer's live lease; ``None`` if they no longer hold one."""
    now = now or timezone.now()
    expires_at = now + dt.timedelta(minutes=campaign.lease_minutes)
    renewed = CallTarget.objects.filter(
        campaign=campaign, held_by=volunteer, state=State.ASSIGNED
    ).update(lease_expires_at=expires_at)
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
) -> Call:
    """Store the call once, end the lease and apply the outcome's retry rule.

    Returns the stored call; the same call again for a repeated key or a repeated claim."""
    now = now or timezone.now()
    key = (idempotency_key or "").strip()
    if _has_nul(key, notes, answers, outcome_code, lease_token):
        raise InvalidOutcome("The form contains a character that cannot be stored (NUL).")
    if not key or len(key) > 64:
        raise InvalidOutcome("The form is missing its submission key; reload the page.")
    existing = Call.objects.filter(volunteer=volunteer, idempotency_key=key).first()
    if existing is not None:
        return existing
    claim = read_lease_token(lease_token, campaign, volunteer)
    outcome = OutcomeCode.objects.filter(campaign=campaign, code=outcome_code).first()
    if outcome is None:
        raise InvalidOutcome("Choose what happened on the call.", {"outcome": "Unknown outcome."})
    clean = clean_answers(campaign, outcome, answers or {})
    notes = (notes or "")[:MAX_TEXT_ANSWER]
    try:
        with transaction.atomic():
            target = CallTarget.objects.select_for_update().get(
                pk=claim.target_id, campaign=campaign
            )
            # A second submission for this claim (another key) fails on one_call_per_claim
            # and is answered below with the call already stored.
            still_ours = target.held_by_id == volunteer.pk and target.state == State.ASSIGNED
            lapsed_to_pool = (
                target.held_by_id is None and target.state in CallTarget.CLAIMABLE_STATES
            )
            call = Call.objects.create(
                campaign=campaign,
                target=target,
                volunteer=volunteer,
                outcome=outcome,
                answers=clean,
                notes=notes,
                started_at=claim.leased_at,
                ended_at=now,
                idempotency_key=key,
                lease_lost=not (still_ours or lapsed_to_pool),
            )
            if still_ours or lapsed_to_pool:
                _apply_outcome(campaign, target, outcome, now, callback_at)
            if outcome.suppresses:
                from ringround.contacts.services import suppress_number

                reason = (
                    Suppression.Reason.WRONG_NUMBER
                    if outcome.code == "wrong_number"
                    else Suppression.Reason.REQUESTED
                )
                suppress_number(
                    target.phone, reason=reason, by=volunteer, note=f"Outcome: {outcome.label}"
                )
    except IntegrityError:
        # A retried submit raced the first one: the first one is the call.
        existing = Call.objects.filter(volunteer=volunteer, idempotency_key=key).first()
        if existing is None:
            existing = Call.objects.filter(
                target_id=claim.target_id, volunteer=volunteer, started_at=claim.leased_at
            ).first()
        if existing is None:
            raise
        return existing
    return call


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


def _apply_outcome(campaign, target, outcome, now, callback_at=None) -> None:
    target.attempts += 1
    target.last_outcome = outcome
    target.held_by = None
    target.lease_expires_at = None
    limit = min(outcome.max_attempts, campaign.max_attempts)
    if outcome.suppresses:
        target.state = State.SUPPRESSED
    elif outcome.retries and target.attempts < limit:
        target.state = State.WAITING
        target.next_call_at = callback_at or now + dt.timedelta(minutes=outcome.retry_after_minutes)
    elif outcome.retries:
        target.state = State.EXHAUSTED
    else:
        target.state = State.DONE
    target.save(
        update_fields=[
            "attempts",
            "last_outcome",
            "held_by",
            "lease_expires_at",
            "state",
            "next_call_at",
        ]
    )


def clean_answers(campaign: Campaign, outcome: OutcomeCode, raw: dict) -> dict:
    """Survey answers checked against the questions; only a conversation carries answers."""
    if not outcome.is_conversation:
        return {}
    clean, errors = {}, {}
    for question in campaign.questions.all():
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


# --- 4. hand back, 5. expire ----------------------------------------------------------------

_back_to_pool = {
    "state": Case(When(attempts=0, then=Value(State.READY)), default=Value(State.WAITING)),
    "held_by": None,
    "lease_expires_at": None,
}


def release(campaign: Campaign, volunteer) -> int:
    """Hand back whoever this volunteer holds, without counting an attempt."""
    return CallTarget.objects.filter(
        campaign=campaign, held_by=volunteer, state=State.ASSIGNED
    ).update(**_back_to_pool)


def expire_leases(*, now: dt.datetime | None = None) -> int:
    """Return every lapsed lease to the pool (claims already treat them as free)."""
    now = now or timezone.now()
    return CallTarget.objects.filter(state=State.ASSIGNED, lease_expires_at__lte=now).update(
        **_back_to_pool
    )
