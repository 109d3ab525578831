"""The volunteer's calling loop over JSON: claim → (heartbeat) → outcome → claim …, or release.

Each endpoint parses, calls the one rule in ``ringround.calling.rules`` and shapes the answer;
the rules' refusals become JSON errors in ``errors.py``. Claim and outcome, the two requests of
every call, answer with a JsonResponse of their own rather than having ninja validate the
answer against its schema again (a measurable part of a cycle's CPU); the OpenAPI test holds
them to the schema."""

import datetime as dt

from django.http import Http404, HttpResponse, JsonResponse
from django.utils import timezone
from ninja import Field, Router, Schema
from pydantic import field_validator

from ringround.audit.services import client_ip
from ringround.calling import rules
from ringround.calling import services as calling_services
from ringround.campaigns.models import Campaign, Membership
from ringround.campaigns.permissions import (
    campaign_and_outcome_for_volunteer,
    campaign_for_volunteer,
)
from ringround.telephony import services as telephony

from .errors import ERROR_RESPONSES, ApiError, ErrorOut

router = Router(tags=["calling"])


class ContactOut(Schema):
    fields: dict[str, str] = Field(
        description="The contact's details this campaign shows its volunteers."
    )
    phone: str = Field(
        description="E.164, for dialling; empty if the campaign hides it or connects calls "
        "through its line (the volunteer never sees the number then)."
    )
    phone_display: str


class LeaseOut(Schema):
    lease_token: str = Field(description="Names this claim; send it back with the outcome.")
    expires_at: dt.datetime
    attempts: int = Field(description="Earlier attempts to reach this contact.")
    contact: ContactOut
    script_html: str = Field(description="The call script with the contact's details merged in.")


class OutcomeIn(Schema):
    lease_token: str
    outcome: str = Field(description="An outcome code of the campaign, e.g. 'answered'.")
    idempotency_key: str = Field(
        description="Unique per submission (1-64 characters); a retry with the same key is "
        "stored once."
    )
    answers: dict[str, str | int | list[str]] = Field(
        default_factory=dict, description="Survey answers by question key (q12: 'Yes')."
    )
    notes: str = ""
    callback_at: dt.datetime | None = Field(
        default=None, description="For a call back: when, in the future (UTC if no offset)."
    )

    @field_validator("lease_token", "outcome", "idempotency_key", "notes", "answers")
    @classmethod
    def no_nul_characters(cls, value):
        """A NUL character cannot be stored (PostgreSQL refuses it): refuse it up front."""
        texts = value.values() if isinstance(value, dict) else [value]
        for text in texts:
            items = text if isinstance(text, list) else [text]
            if any(isinstance(t, str) and "\x00" in t for t in items):
                raise ValueError("Contains a NUL character.")
        return value


class CallOut(Schema):
    call_id: str
    outcome: str
    recorded_at: dt.datetime
    lease_lost: bool = Field(description="Recorded after the contact had passed to someone else.")
    replayed: bool = Field(description="True when this submission had been stored already.")


class ReleasedOut(Schema):
    released: int


class HeartbeatOut(Schema):
    expires_at: dt.datetime


def campaign_to_call(user, public_id: str) -> tuple[Campaign, Membership | None]:
    """The campaign and the caller's membership, if the caller may see the campaign; whether
    they may call is then up to the rules.

    An organiser (or admin) who has not joined is told so (403); anyone else gets 404."""
    try:
        return campaign_for_volunteer(user, public_id)
    except Http404:
        if Campaign.objects.organised_by(user).filter(public_id=public_id).exists():
            raise rules.NotAVolunteer("You have not joined this campaign.") from None
        raise


@router.post(
    "/campaigns/{public_id}/claim",
    response={200: LeaseOut, 204: None, **ERROR_RESPONSES, 429: ErrorOut},
    summary="Claim the next person to call",
    description="Leases the best ready contact to the caller (or returns the one they already "
    "hold). 204 when nobody is left to call right now.",
)
def claim(request, public_id: str):
    return claim_response(request, request.auth, public_id)


def claim_response(request, user, public_id: str) -> HttpResponse:
    """The claim, for ``user`` (also called by CallingLoopMiddleware)."""
    campaign, membership = campaign_to_call(user, public_id)
    lease = rules.claim_next(
        campaign, user, membership=membership, record_view=True, ip_address=client_ip(request)
    )
    if lease is None:
        return HttpResponse(status=204)
    card = calling_services.contact_card(
        lease, viewer=user, request=request, hide_phone=telephony.hides_numbers(campaign)
    )
    return JsonResponse(
        {
            "lease_token": lease.token,
            "expires_at": lease.expires_at,
            "attempts": card["attempts"],
            "contact": {
                "fields": card["fields"],
                "phone": card["phone"],
                "phone_display": card["phone_display"],
            },
            "script_html": card["script_html"],
        }
    )


@router.post(
    "/campaigns/{public_id}/outcomes",
    response={200: CallOut, 201: CallOut, **ERROR_RESPONSES},
    summary="Record what happened on the call",
    description="Stores the call once per idempotency key (and once per claim): a retried "
    "submission answers 200 with the call already stored, a new one 201.",
)
def record_outcome(request, public_id: str, payload: OutcomeIn):
    return outcome_response(request, request.auth, public_id, payload)


def outcome_response(request, user, public_id: str, payload: OutcomeIn) -> JsonResponse:
    """Recording the outcome, for ``user`` (also called by CallingLoopMiddleware)."""
    try:
        campaign, _, outcome, questions = campaign_and_outcome_for_volunteer(
            user, public_id, payload.outcome
        )
    except Http404:
        campaign_to_call(user, public_id)  # 403 for an organiser who has not joined, else 404
        raise
    now = timezone.now()
    callback_at = payload.callback_at
    if callback_at is not None:
        if timezone.is_naive(callback_at):
            callback_at = timezone.make_aware(callback_at, dt.UTC)
        if callback_at <= now:
            raise ApiError(
                422,
                rules.InvalidOutcome.code,
                "A call back needs a time in the future.",
                {"callback_at": "Must be in the future."},
            )
    call = rules.record_outcome(
        campaign,
        user,
        lease_token=payload.lease_token,
        outcome_code=payload.outcome,
        idempotency_key=payload.idempotency_key,
        answers=payload.answers,
        notes=payload.notes,
        callback_at=callback_at,
        now=now,
        survey=(outcome, questions),
    )
    replayed = call.ended_at != now
    body = {
        "call_id": call.public_id,
        "outcome": payload.outcome if not replayed else call.outcome.code,
        "recorded_at": call.ended_at,
        "lease_lost": call.lease_lost,
        "replayed": replayed,
    }
    return JsonResponse(body, status=200 if replayed else 201)


@router.post(
    "/campaigns/{public_id}/release",
    response={200: ReleasedOut, **ERROR_RESPONSES},
    summary="Hand the current person back without calling",
)
def release(request, public_id: str):
    campaign, _ = campaign_to_call(request.auth, public_id)
    return {"released": rules.release(campaign, request.auth)}


@router.post(
    "/campaigns/{public_id}/heartbeat",
    response={200: HeartbeatOut, **ERROR_RESPONSES},
    summary="Keep the current lease alive",
    description="409 when the caller no longer holds anyone (the lease lapsed and was taken).",
)
def heartbeat(request, public_id: str):
    campaign, _ = campaign_to_call(request.auth, public_id)
    expires_at = rules.heartbeat(campaign, request.auth)
    if expires_at is None:
        raise ApiError(409, "no_lease", "You are not holding anyone in this campaign now.")
    return {"expires_at": expires_at}
