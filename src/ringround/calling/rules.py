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

import base64
import datetime as dt
import hashlib
import hmac
import json
from contextlib import nullcontext
from dataclasses import dataclass

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models import Case, Exists, F, OuterRef, Q, Value, When
from django.utils import timezone

from ringround import rawsql
from ringround.campaigns.models import Campaign, Membership, OutcomeCode, Question
from ringround.contacts.models import Contact, Suppression
from ringround.ids import new_public_id

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
        raise NotAVolunteer("Your calling for this campaign has been suspended by an organiser.")
    return membership


def check_claim_rate(campaign: Campaign, membership: Membership, now: dt.datetime) -> None:
    """Allow at most ``claims_per_hour`` new contacts per volunteer per hour, so nobody can
    page through the list; a burst beyond it is refused and flagged to the organisers.
    Only contacts actually handed out count (``count_claim``), not empty asks."""
    if claim_limit_reached(campaign, membership, now):
        window_start = membership.claims_window_start
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


def claim_limit_reached(campaign: Campaign, membership: Membership, now: dt.datetime) -> bool:
    return (
        not _new_claims_window(membership, now)
        and membership.claims_in_window >= campaign.claims_per_hour
    )


def _new_claims_window(membership: Membership, now: dt.datetime) -> bool:
    window_start = membership.claims_window_start
    return window_start is None or now - window_start >= dt.timedelta(hours=1)


def count_claim(membership: Membership, now: dt.datetime) -> None:
    if _new_claims_window(membership, now):
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
    steps are one statement (``_claim_on_postgresql``); the step-by-step path below is the
    same rules, for SQLite and for the rare cases the statement leaves to it.

    ``record_view``: the caller shows the contact at once (the API's answer), so the view goes
    into the audit trail here, in the same statement on PostgreSQL."""
    now = now or timezone.now()
    membership = check_can_call(campaign, volunteer, membership)
    expires_at = now + dt.timedelta(minutes=campaign.lease_minutes)
    if connection.vendor == "postgresql" and not claim_limit_reached(campaign, membership, now):
        view = (record_view, ip_address)
        lease = _claim_on_postgresql(campaign, volunteer, membership, now, expires_at, view)
        if lease is not STEP_BY_STEP:
            return lease
    lease = _claim_step_by_step(campaign, volunteer, membership, now, expires_at)
    if lease is not None and record_view:
        record_contact_view(lease, volunteer, ip_address)
    return lease


def record_contact_view(lease: Lease, viewer, ip_address: str | None = None) -> None:
    """The audit trail's entry for a volunteer shown the contact they hold."""
    from ringround.audit.services import record_event

    campaign = lease.target.campaign
    record_event(
        viewer,
        "contact.view",
        lease.contact,
        campaign=campaign,
        ip_address=ip_address,
        fields=campaign.fields_for_volunteer(),
    )
    lease.view_recorded = True


def _claim_step_by_step(campaign, volunteer, membership, now, expires_at) -> Lease | None:
    held = _renew_held_lease(campaign, volunteer, now)
    if held:
        return held
    check_claim_rate(campaign, membership, now)
    for _ in range(CLAIM_ATTEMPTS):
        try:
            target = _take_best(campaign, volunteer, now, expires_at)
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
    """Inside a write transaction, pick the best claimable target, then assign it with a
    compare-and-swap UPDATE that only succeeds if it is still claimable.

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


# claim_next on PostgreSQL, in one statement: renew the lease the volunteer holds, or else take
# the best lapsed lease or ready target (the conditions of claimable_targets() and the order of
# _lapsed_then_ready(), written out) and count the claim; then read the contact. Candidates
# are locked with FOR UPDATE SKIP LOCKED, so concurrent claimers pass over each other's rows
# instead of waiting, and a row changed meanwhile is checked again; each part walks its own
# partial index in claim order, so the cost does not grow with the size of the campaign.
_CANDIDATE = """
    SELECT t.id FROM calling_calltarget t
     WHERE t.campaign_id = %(campaign)s AND {part}
       AND t.time_zone = ANY(%(open_zones)s) AND t.attempts < %(max_attempts)s
       AND NOT EXISTS (SELECT 1 FROM contacts_suppression s WHERE s.phone = t.phone)
     ORDER BY t.priority DESC, t.next_call_at, t.id
     LIMIT 1 FOR UPDATE SKIP LOCKED"""
_HELD = """campaign_id = %(campaign)s AND held_by_id = %(volunteer)s AND state = 'assigned'"""
_TARGET = rawsql.Columns(CallTarget, "t")
_CONTACT = rawsql.Columns(Contact, "c")
CLAIM_ON_POSTGRESQL = f"""
WITH own AS (
    SELECT id FROM calling_calltarget WHERE {_HELD}
), renewed AS (
    UPDATE calling_calltarget SET lease_expires_at = %(expires_at)s
     WHERE id IN (SELECT id FROM own) AND {_HELD} AND lease_expires_at > %(now)s
    RETURNING *
), taken AS (
    UPDATE calling_calltarget
       SET state = 'assigned', held_by_id = %(volunteer)s, leased_at = %(now)s,
           lease_expires_at = %(expires_at)s
     WHERE NOT EXISTS (SELECT 1 FROM own) AND id = COALESCE(
       ({_CANDIDATE.format(part="t.state = 'assigned' AND t.lease_expires_at <= %(now)s")}),
       ({_CANDIDATE.format(part="t.state IN ('ready', 'waiting') AND t.next_call_at <= %(now)s")}))
    RETURNING *
), viewed AS (  -- the audit trail's row, as record_contact_view() writes it
    INSERT INTO audit_auditevent (at, actor_id, action, object_type, object_id, campaign_id,
                                  ip_address, detail)
    SELECT %(now)s, %(volunteer)s, 'contact.view', 'contact', c.public_id, %(campaign)s,
           %(ip_address)s::inet, %(view_detail)s::jsonb
      FROM (SELECT contact_id FROM renewed UNION ALL SELECT contact_id FROM taken) t
      JOIN contacts_contact c ON c.id = t.contact_id
     WHERE %(record_view)s
), counted AS (
    UPDATE campaigns_membership
       SET claims_window_start = CASE WHEN %(new_window)s THEN %(now)s
                                      ELSE claims_window_start END,
           claims_in_window = CASE WHEN %(new_window)s THEN 1 ELSE claims_in_window + 1 END
     WHERE id = %(membership)s AND EXISTS (SELECT 1 FROM taken)
)
SELECT {_TARGET.sql}, {_CONTACT.sql},
       EXISTS (SELECT 1 FROM own) AS held_before
  FROM (SELECT 1) AS one
  LEFT JOIN (SELECT * FROM renewed UNION ALL SELECT * FROM taken) t ON true
  LEFT JOIN contacts_contact c ON c.id = t.contact_id"""


def _claim_on_postgresql(campaign, volunteer, membership, now, expires_at, view):
    """claim_next's steps in one round trip. Returns the lease, ``None`` if nobody is
    claimable, or ``STEP_BY_STEP`` when the volunteer held a lease the statement did not renew
    (it had lapsed, or changed meanwhile) or claimed twice at once: the general path sorts
    those out."""
    params = {
        "campaign": campaign.pk,
        "volunteer": volunteer.pk,
        "membership": membership.pk,
        "now": now,
        "expires_at": expires_at,
        "open_zones": campaign.open_time_zones(now),
        "max_attempts": campaign.max_attempts,
        "new_window": _new_claims_window(membership, now),
        "record_view": view[0],
        "ip_address": view[1],
        "view_detail": json.dumps({"fields": campaign.fields_for_volunteer()}),
    }
    try:
        # Inside a transaction (tests, or a caller's atomic block) a refused statement must
        # not spoil the rest of it; on its own it needs no transaction of its own.
        with transaction.atomic() if connection.in_atomic_block else nullcontext():
            [(target, contact, held_before)] = rawsql.fetch(
                CLAIM_ON_POSTGRESQL, params, _TARGET, _CONTACT
            )
    except IntegrityError:
        return STEP_BY_STEP
    if target is None:
        return STEP_BY_STEP if held_before else None
    target.contact = contact
    target.campaign = campaign
    return Lease(target, lease_token(target), expires_at, view_recorded=view[0])


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
    survey: tuple[OutcomeCode | None, list[Question]] | None = None,
) -> Call:
    """Store the call once, end the lease and apply the outcome's retry rule.

    Returns the stored call; the same call again for a repeated key or a repeated claim.
    ``survey``: the outcome of ``outcome_code`` and its questions, if the caller has read them
    already (``permissions.campaign_and_outcome_for_volunteer``)."""
    now = now or timezone.now()
    key = (idempotency_key or "").strip()
    if _has_nul(key, notes, answers, outcome_code, lease_token):
        raise InvalidOutcome("The form contains a character that cannot be stored (NUL).")
    if not key or len(key) > 64:
        raise InvalidOutcome("The form is missing its submission key; reload the page.")
    try:
        claim = read_lease_token(lease_token, campaign, volunteer, now)
        outcome, questions = survey or outcome_and_questions(campaign, outcome_code)
        if outcome is None:
            raise InvalidOutcome(
                "Choose what happened on the call.", {"outcome": "Unknown outcome."}
            )
        clean = clean_answers(campaign, outcome, answers or {}, questions)
    except CallingError:
        # A retry of a call stored already gets that call, even if it would not pass now.
        existing = Call.objects.filter(volunteer=volunteer, idempotency_key=key).first()
        if existing is not None:
            return existing
        raise
    notes = (notes or "")[:MAX_TEXT_ANSWER]
    one_statement = connection.vendor == "postgresql" and not outcome.suppresses
    store = _store_call_on_postgresql if one_statement else _store_call
    try:
        call = store(campaign, volunteer, claim, outcome, clean, notes, key, now, callback_at)
    except IntegrityError:
        call = None
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


_OUTCOME = rawsql.Columns(OutcomeCode, "o")
_QUESTION = rawsql.Columns(Question, "q")
_OUTCOME_AND_QUESTIONS = f"""
    SELECT {_OUTCOME.sql}, {_QUESTION.sql}
      FROM campaigns_outcomecode o
      LEFT JOIN campaigns_question q ON q.campaign_id = o.campaign_id AND o.is_conversation
     WHERE o.campaign_id = %s AND o.code = %s
     ORDER BY q.position, q.id"""


def outcome_and_questions(
    campaign: Campaign, code: str
) -> tuple[OutcomeCode | None, list[Question]]:
    """The campaign's outcome of this code (``None`` if none), and the survey if it is a
    conversation (one query: this is read for every call)."""
    rows = rawsql.fetch(
        _OUTCOME_AND_QUESTIONS, [campaign.pk, code], _OUTCOME, _QUESTION, repeated=1
    )
    if not rows:
        return None, []
    return rows[0][0], [question for _, question in rows if question is not None]


def _store_call(campaign, volunteer, claim, outcome, answers, notes, key, now, callback_at):
    """Store the call and apply the outcome to the target, in one transaction with the target
    locked. A second call for the same key or claim fails on a unique constraint."""
    with transaction.atomic():
        target = (
            CallTarget.objects.select_for_update()
            .filter(pk=claim.target_id, campaign=campaign)
            .first()
        )
        if target is None:
            return None
        still_ours = target.held_by_id == volunteer.pk and target.state == State.ASSIGNED
        lapsed_to_pool = target.held_by_id is None and target.state in CallTarget.CLAIMABLE_STATES
        call = _call(campaign, volunteer, claim, outcome, answers, notes, key, now)
        call.lease_lost = not (still_ours or lapsed_to_pool)
        call.save(force_insert=True)
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
    return call


# _store_call on PostgreSQL in one statement (outcomes that do not suppress the number): lock
# the target, store the call unless its key or claim is stored already, and apply the outcome
# as _apply_outcome does, unless the lease had passed to someone else.
STORE_CALL_ON_POSTGRESQL = """
WITH target AS (
    SELECT id, COALESCE(held_by_id = %(volunteer)s AND state = 'assigned', false)
               OR (held_by_id IS NULL AND state IN ('ready', 'waiting')) AS ours
      FROM calling_calltarget WHERE id = %(target)s AND campaign_id = %(campaign)s
       FOR UPDATE
), stored AS (
    INSERT INTO calling_call (public_id, campaign_id, target_id, volunteer_id, outcome_id,
                              answers, notes, started_at, ended_at, idempotency_key, lease_lost)
    SELECT %(public_id)s, %(campaign)s, id, %(volunteer)s, %(outcome)s, %(answers)s::jsonb,
           %(notes)s, %(started_at)s, %(now)s, %(key)s, NOT ours
      FROM target
        ON CONFLICT DO NOTHING
    RETURNING id, lease_lost
), applied AS (
    UPDATE calling_calltarget t
       SET attempts = t.attempts + 1, last_outcome_id = %(outcome)s, held_by_id = NULL,
           lease_expires_at = NULL,
           state = CASE WHEN NOT %(retries)s THEN 'done'
                        WHEN t.attempts + 1 < %(limit)s THEN 'waiting'
                        ELSE 'exhausted' END,
           next_call_at = CASE WHEN %(retries)s AND t.attempts + 1 < %(limit)s
                               THEN %(retry_at)s ELSE t.next_call_at END
      FROM stored
     WHERE t.id = %(target)s AND NOT stored.lease_lost
)
SELECT id, lease_lost FROM stored"""


def _store_call_on_postgresql(
    campaign, volunteer, claim, outcome, answers, notes, key, now, callback_at
):
    """``_store_call`` in one round trip; ``None`` if the call was stored already."""
    public_id = new_public_id()
    retry_at = now + dt.timedelta(minutes=outcome.retry_after_minutes or 0)
    params = {
        "volunteer": volunteer.pk,
        "target": claim.target_id,
        "campaign": campaign.pk,
        "public_id": public_id,
        "outcome": outcome.pk,
        "answers": json.dumps(answers),
        "notes": notes,
        "started_at": claim.leased_at,
        "now": now,
        "key": key,
        "retries": outcome.retries,
        "limit": min(outcome.max_attempts, campaign.max_attempts),
        "retry_at": callback_at or retry_at,
    }
    with transaction.atomic() if connection.in_atomic_block else nullcontext():
        with rawsql.cursor() as cursor:
            cursor.execute(STORE_CALL_ON_POSTGRESQL, params)
            row = cursor.fetchone()
    if row is None:
        return None
    call = _call(campaign, volunteer, claim, outcome, answers, notes, key, now)
    call.pk, call.public_id, call.lease_lost = row[0], public_id, row[1]
    call._state.adding, call._state.db = False, connection.alias
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


def clean_answers(
    campaign: Campaign, outcome: OutcomeCode, raw: dict, questions: list[Question] | None = None
) -> dict:
    """Survey answers checked against the questions (``questions``: read already); only a
    conversation carries answers."""
    if not outcome.is_conversation:
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
