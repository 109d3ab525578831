"""Connected calls, from the volunteer joining the line to the provider's last callback.

The order of a bridged call: the volunteer gives their number and the provider rings it
(``join_line``); when they answer they are put in a room of their own (``seat_answered``). Each
contact is then dialed into that room (``dial_contact``, or the dialer's pacing): when a person
answers they are joined to a free volunteer at once (``leg_answered``); with nobody free the
call is abandoned and a message saying who called starts at once. Every status the provider
reports is stored on the leg (``record_status``), and its length reaches the stored call
(``link_call``). Callbacks are believed only when signed and new (``check_callback``).

Ofcom's rules live here and in ``pacing``: the ring time (``ring_time``), the message after an
abandoned call, the 72-hour and 24-hour rules (``may_dial_unattended``) and the abandonment
record (``record_24h``), which the pacing backs off from before the 3 % cap.
"""

import datetime as dt
import functools
import hashlib
import ipaddress
import logging
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit

import phonenumbers
from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Count, Q
from django.urls import reverse
from django.utils import timezone

from ringround import rawsql
from ringround.audit.services import record_event
from ringround.calling import rules
from ringround.calling.services import note_talk_time
from ringround.calling.targets import suppress_number
from ringround.contacts.models import Contact, Suppression
from ringround.contacts.phones import InvalidPhone, display, normalise

from . import pacing, providers, twiml
from .models import (
    ENDED_STATUSES,
    AnsweredBy,
    CallbackReceipt,
    Dialing,
    DialingMode,
    InboundCall,
    Leg,
    LegStatus,
    Line,
    Provider,
    Seat,
    SeatState,
)

log = logging.getLogger(__name__)

MIN_RING_SECONDS = pacing.MIN_RING_SECONDS
ABANDONED_HOLD = dt.timedelta(hours=72)  # no call back to an abandoned number without a volunteer
MACHINE_HOLD = dt.timedelta(hours=24)  # nor to an answering machine
RECEIPTS_KEPT = dt.timedelta(days=2)


class TelephonyError(Exception):
    """Something a person can put right, said in words."""


class CallbackRefused(Exception):
    """A provider callback that is not signed by the line, or was acted on already."""


# --- the line and the campaign's settings ---------------------------------------------------


def line_of(team) -> Line | None:
    return Line.objects.filter(team=team).first()


def dialing_of(campaign) -> Dialing:
    """The campaign's dialing (an unsaved default, own phones, when never set)."""
    return Dialing.objects.filter(campaign=campaign).first() or Dialing(campaign=campaign)


def connected_line(campaign) -> Line | None:
    """The line a campaign's calls go through, or None: volunteers call from their own phones."""
    dialing = dialing_of(campaign)
    if not dialing.connected:
        return None
    line = line_of(campaign.team)
    return line if line is not None and line.bridges else None


def hides_numbers(campaign) -> bool:
    """Whether the campaign's calls go through a provider line. Every claim asks, so the
    query is compiled once and prepared (``rawsql``) rather than built by the ORM each time."""
    with rawsql.cursor() as cursor:
        cursor.execute(_hides_numbers_sql(), {"campaign": campaign.pk})
        return cursor.fetchone() is not None


@functools.cache
def _hides_numbers_sql() -> str:
    bridged = Dialing.objects.filter(
        campaign=rawsql.Param("campaign"),
        connected=True,
        campaign__team__line__provider=Provider.BRIDGE,
    )
    return rawsql.select(bridged.values("pk")[:1])


def dials_for_volunteers(campaign) -> bool:
    """Predictive: the dialer, not the volunteer, takes the next person."""
    return Dialing.objects.filter(
        campaign=campaign,
        connected=True,
        mode=DialingMode.PREDICTIVE,
        campaign__team__line__provider=Provider.BRIDGE,
    ).exists()


def provider_for(line: Line) -> providers.Provider:
    if line.bridges:
        return providers.TwilioBridge(line.base_url, line.account_sid, line.auth_token)
    return providers.OwnPhone()


def ring_time(line: Line, mode: str = DialingMode.PREVIEW) -> int:
    """How long a call of this mode rings before it is given up (never under Ofcom's 15 s)."""
    return int(pacing.ring_seconds(mode, line.ring_seconds or 0))


def _e164(raw: str, what: str) -> str:
    try:
        return normalise(raw).e164
    except InvalidPhone as exc:
        raise TelephonyError(f"{what} is not a phone number we can call: {exc}") from exc


@transaction.atomic
def configure_line(
    team,
    *,
    provider: str,
    caller_id: str = "",
    caller_name: str = "",
    base_url: str = "",
    account_sid: str = "",
    token_variable: str = "",
    ring_seconds: int = 30,
    by=None,
    request=None,
) -> Line:
    if provider not in Provider.values:
        raise TelephonyError("Choose how calls are placed.")
    if int(ring_seconds) < MIN_RING_SECONDS:
        raise TelephonyError(f"Calls must ring for at least {MIN_RING_SECONDS} seconds (Ofcom).")
    line = line_of(team) or Line(team=team)
    line.provider = provider
    line.caller_name = (caller_name or team.name).strip()[:120]
    line.ring_seconds = int(ring_seconds)
    if provider == Provider.BRIDGE:
        if not caller_id:
            raise TelephonyError("A bridged line needs a caller ID that rings back to it.")
        if not account_sid:
            raise TelephonyError("Give the provider's account id.")
        line.caller_id = _e164(caller_id, "The caller ID")
        line.base_url = provider_address(base_url or line.base_url)
        line.account_sid = account_sid.strip()
        line.token_variable = (token_variable or line.token_variable).strip()
        if not line.auth_token:
            raise TelephonyError(
                f"The environment variable {line.token_variable} is not set on this server: "
                "put the provider's auth token there and restart Ringround."
            )
    line.save()
    record_event(by, "telephony.line_changed", line, request=request, provider=provider)
    return line


@transaction.atomic
def set_dialing(campaign, *, connected: bool, mode: str, by=None, request=None) -> Dialing:
    if mode not in DialingMode.values:
        raise TelephonyError("Choose a dialing mode.")
    line = line_of(campaign.team)
    if connected and (line is None or not line.bridges):
        raise TelephonyError(
            "The team has no provider line yet: a team admin sets one up under Team → Phone line."
        )
    if mode != DialingMode.PREVIEW and not connected:
        raise TelephonyError("Power and predictive dialing need calls connected through the line.")
    dialing = dialing_of(campaign)
    dialing.connected, dialing.mode = connected, mode
    dialing.save()
    record_event(by, "telephony.dialing_changed", campaign, request=request, mode=mode)
    return dialing


def provider_address(url: str) -> str:
    """The provider's API address: https, and on the public internet (the auth token is sent
    there), unless RINGROUND_TELEPHONY_ALLOW_PRIVATE is on (a local provider, or tests)."""
    parts = urlsplit(url)
    if settings.RINGROUND_TELEPHONY_ALLOW_PRIVATE:
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise TelephonyError("The provider's address must be an http(s) URL.")
        return url.rstrip("/")
    if parts.scheme != "https" or not parts.hostname:
        raise TelephonyError("The provider's address must start with https://.")
    try:
        addresses = {info[4][0] for info in socket.getaddrinfo(parts.hostname, 443)}
    except (OSError, UnicodeError) as exc:
        raise TelephonyError(
            f"The provider's address {parts.hostname} could not be found."
        ) from exc
    for address in addresses:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
        if not ip.is_global:
            raise TelephonyError(
                f"The provider's address {parts.hostname} is on a private network or this machine."
            )
    return url.rstrip("/")


# --- callback addresses and their signatures -------------------------------------------------


def public_base(request=None) -> str:
    """The address the provider reaches us at (``RINGROUND_SITE_URL``, else the request's)."""
    configured = settings.RINGROUND_SITE_URL
    if configured:
        return configured.rstrip("/")
    return f"{request.scheme}://{request.get_host()}" if request is not None else ""


def _url(base: str, name: str, *args) -> str:
    return base + reverse(f"telephony:{name}", args=args)


def check_callback(line: Line, url: str, params, signature: str, now=None) -> None:
    """Believe a callback only if the line's secret signed it and it was not acted on before.
    Call inside the transaction that acts on it: a failed action forgets the receipt."""
    if not signature or not line.bridges or not line.auth_token:
        raise CallbackRefused("unsigned")
    if not provider_for(line).is_signed(url, params, signature):
        raise CallbackRefused("bad signature")
    flat = sorted((k, v) for k in params for v in _values(params, k))
    digest = hashlib.sha256(f"{url}\n{flat!r}\n{signature}".encode()).hexdigest()
    try:
        with transaction.atomic():
            CallbackReceipt.objects.create(digest=digest, received_at=now or timezone.now())
    except IntegrityError as exc:
        raise CallbackRefused("replayed") from exc


def _values(params, key) -> list[str]:
    return params.getlist(key) if hasattr(params, "getlist") else [params[key]]


def forget_old_receipts(now=None) -> int:
    cutoff = (now or timezone.now()) - RECEIPTS_KEPT
    return CallbackReceipt.objects.filter(received_at__lt=cutoff).delete()[0]


# --- TwiML ------------------------------------------------------------------------------------


def _room(seat: Seat, *, starts: bool, ends: bool):
    """Into the volunteer's own room (``starts``: the room opens when this leg enters)."""
    return twiml.dial(
        twiml.conference(
            seat.room,
            start_conference_on_enter=starts,
            end_conference_on_exit=ends,
            beep=False,
            wait_url="",
        )
    )


def spoken_number(e164: str) -> str:
    return " ".join(display(e164).replace(" ", ""))


def abandoned_message(line: Line) -> str:
    """Said at once to a person the dialer reached with no volunteer free (Ofcom)."""
    return (
        f"Sorry, we could not put you through. This was a call from {line.caller_name}. "
        f"To call us back, ring {spoken_number(line.caller_id)}. "
        "If you would rather not be called again, ring that number and press 1."
    )


# --- the volunteer on the line ----------------------------------------------------------------


def live_seat(campaign, volunteer) -> Seat | None:
    return (
        Seat.objects.filter(campaign=campaign, volunteer=volunteer)
        .exclude(state=SeatState.ENDED)
        .first()
    )


def join_line(campaign, volunteer, phone: str, *, base: str, now=None) -> Seat:
    """Ring the volunteer's phone; when they answer they wait in a room of their own."""
    now = now or timezone.now()
    line = connected_line(campaign)
    if line is None:
        raise TelephonyError("This campaign's calls are made from your own phone.")
    try:
        rules.check_can_call(campaign, volunteer)
    except rules.CallingError as exc:
        raise TelephonyError(str(exc)) from exc
    seat = live_seat(campaign, volunteer)
    if seat is not None:
        return seat
    number = volunteer_number(phone, line)
    recent = Seat.objects.filter(
        campaign=campaign, volunteer=volunteer, started_at__gte=now - dt.timedelta(hours=1)
    )
    if recent.count() >= settings.RINGROUND_LINE_RINGS_PER_HOUR:
        raise TelephonyError(
            "The line has rung you many times this hour: wait a while, or call from your own phone."
        )
    try:
        seat = Seat.objects.create(
            campaign=campaign, volunteer=volunteer, phone=number, started_at=now
        )
    except IntegrityError:
        return live_seat(campaign, volunteer)
    dial = providers.Dial(
        to=number,
        caller_id=line.caller_id,
        answer_url=_url(base, "seat_answer", seat.public_id),
        status_url=_url(base, "seat_status", seat.public_id),
        ring_seconds=ring_time(line),
    )
    try:
        seat.call_sid = provider_for(line).place_call(dial)
    except providers.ProviderError as exc:
        seat.state, seat.ended_at = SeatState.ENDED, now
        seat.save(update_fields=["state", "ended_at"])
        raise TelephonyError(f"The line could not ring you: {exc}") from exc
    seat.save(update_fields=["call_sid"])
    record_event(volunteer, "telephony.joined_line", seat, campaign=campaign.public_id)
    return seat


CALLABLE_TYPES = {
    phonenumbers.PhoneNumberType.MOBILE,
    phonenumbers.PhoneNumberType.FIXED_LINE,
    phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE,
}


def volunteer_number(raw: str, line: Line) -> str:
    """A number the line may ring at the campaign's cost: a mobile or a landline in the caller
    ID's own country, never a premium-rate, shared-cost or foreign number."""
    number = _e164(raw, "Your number")
    parsed = phonenumbers.parse(number)
    if phonenumbers.number_type(parsed) not in CALLABLE_TYPES:
        raise TelephonyError("Give a mobile or landline number: the line rings no other kind.")
    home = phonenumbers.region_code_for_number(phonenumbers.parse(line.caller_id))
    if phonenumbers.region_code_for_number(parsed) != home:
        raise TelephonyError(f"Give a number in the line's own country ({home}).")
    return number


def leave_line(seat: Seat, now=None) -> None:
    now = now or timezone.now()
    line = line_of(seat.campaign.team)
    if seat.call_sid and line is not None and line.bridges:
        try:
            provider_for(line).hang_up(seat.call_sid)
        except providers.ProviderError:
            log.warning("could not hang up seat %s", seat.public_id)
    Seat.objects.filter(pk=seat.pk).update(state=SeatState.ENDED, ended_at=now, free_since=None)


def seat_answered(seat: Seat, now=None) -> str:
    """The volunteer picked up: into their room, which ends when they hang up."""
    now = now or timezone.now()
    Seat.objects.filter(pk=seat.pk).exclude(state=SeatState.ENDED).update(
        state=SeatState.READY, answered_at=now, free_since=now
    )
    return twiml.response(
        twiml.say("You are on the line."),
        _room(seat, starts=True, ends=True),
    )


# --- a contact dialed into the room -----------------------------------------------------------


def current_leg(seat: Seat | None, target_id: int | None) -> Leg | None:
    if seat is None or target_id is None:
        return None
    return Leg.objects.filter(seat=seat, target_id=target_id).order_by("-placed_at", "-pk").first()


def dial_contact(seat: Seat, lease: rules.Lease, *, base: str, now=None) -> Leg:
    """Dial the contact held for this volunteer into their room (preview: they pressed Call;
    power: they finished the last call). The volunteer is on the line, so the 72 h and 24 h
    rules, which guard calls with nobody there, are kept by the volunteer being there."""
    now = now or timezone.now()
    line = connected_line(seat.campaign)
    if line is None:
        raise TelephonyError("This campaign's calls are made from your own phone.")
    if seat.state != SeatState.READY:
        raise TelephonyError("Answer your phone first: the line rings you before each evening.")
    if lease.target.campaign_id != seat.campaign_id or lease.target.held_by_id != seat.volunteer_id:
        raise TelephonyError("This contact is no longer held for you.")
    live = Leg.objects.filter(seat=seat).exclude(status__in=ENDED_STATUSES)
    if live.exists():
        raise TelephonyError("You are already on a call: hang up first.")
    dialing = dialing_of(seat.campaign)
    leg = Leg.objects.create(
        campaign=seat.campaign,
        target=lease.target,
        phone=lease.target.phone,
        seat=seat,
        mode=dialing.mode,
        placed_at=now,
        ring_seconds=ring_time(line),
    )
    Seat.objects.filter(pk=seat.pk).update(free_since=None)
    return place(line, leg, base, detect_machine=False)


def place(line: Line, leg: Leg, base: str, *, detect_machine: bool) -> Leg:
    dial = providers.Dial(
        to=leg.phone,
        caller_id=line.caller_id,
        answer_url=_url(base, "leg_answer", leg.public_id),
        status_url=_url(base, "leg_status", leg.public_id),
        ring_seconds=leg.ring_seconds,
        detect_machine=detect_machine,
    )
    try:
        leg.call_sid = provider_for(line).place_call(dial)
    except providers.ProviderError as exc:
        leg.status, leg.ended_at = LegStatus.FAILED, timezone.now()
        leg.save(update_fields=["status", "ended_at"])
        if leg.seat_id:
            Seat.objects.filter(pk=leg.seat_id).update(free_since=timezone.now())
        raise TelephonyError(f"The call could not be placed: {exc}") from exc
    leg.save(update_fields=["call_sid"])
    return leg


def hang_up(leg: Leg) -> None:
    line = line_of(leg.campaign.team)
    if leg.call_sid and not leg.ended and line is not None and line.bridges:
        try:
            provider_for(line).hang_up(leg.call_sid)
        except providers.ProviderError as exc:
            raise TelephonyError(f"The line did not hang up: {exc}") from exc


def leg_answered(leg: Leg, answered_by: str, now=None) -> str:
    """Somebody (or something) answered: a person goes to a free volunteer at once; with
    nobody free, the message saying who called starts at once (an abandoned call)."""
    now = now or timezone.now()
    line = line_of(leg.campaign.team)
    machine = answered_by.startswith("machine") or answered_by == "fax"
    with transaction.atomic():
        leg = Leg.objects.select_for_update().get(pk=leg.pk)
        leg.answered_at = leg.answered_at or now
        leg.answered_by = AnsweredBy.MACHINE if machine else AnsweredBy.HUMAN
        if leg.status not in ENDED_STATUSES:
            leg.status = LegStatus.IN_PROGRESS
        if machine and leg.mode != DialingMode.PREVIEW:
            leg.save()
            return twiml.response(twiml.hangup())
        seat = _seat_for(leg)
        if seat is not None and leg.seat_id is None:
            # Predictive: the person becomes the free volunteer's, or nobody's (abandoned).
            if rules.hand_to_volunteer(leg.target_id, seat.volunteer, now=now) is None:
                seat = None
        if seat is None:
            leg.abandoned, leg.message_at = True, now
            leg.save()
            return twiml.response(twiml.say(abandoned_message(line)), twiml.hangup())
        leg.seat = seat
        leg.save()
        Seat.objects.filter(pk=seat.pk).update(free_since=None)
    return twiml.response(_room(seat, starts=False, ends=False))


def _seat_for(leg: Leg) -> Seat | None:
    if leg.seat_id is not None:
        seat = Seat.objects.filter(pk=leg.seat_id, state=SeatState.READY).first()
        return seat
    return (
        Seat.objects.select_for_update(skip_locked=True)
        .filter(campaign_id=leg.campaign_id, state=SeatState.READY, free_since__isnull=False)
        .order_by("free_since")
        .first()
    )


_STATUSES = {s.value for s in LegStatus}


def record_status(leg: Leg, params, now=None) -> Leg:
    """What the provider says happened to a contact's leg, kept for the card and the record."""
    now = now or timezone.now()
    status = params.get("CallStatus", "")
    if status not in _STATUSES:
        return leg
    with transaction.atomic():
        leg = Leg.objects.select_for_update().get(pk=leg.pk)
        if leg.ended:
            return leg
        leg.status = status
        if status == LegStatus.IN_PROGRESS:
            leg.answered_at = leg.answered_at or now
        if status in ENDED_STATUSES:
            leg.ended_at = now
            duration = params.get("CallDuration", "")
            leg.duration = (
                int(duration) if duration.isdigit() else (0 if not leg.answered_at else None)
            )
            if leg.seat_id:
                Seat.objects.filter(pk=leg.seat_id, state=SeatState.READY).update(free_since=now)
        leg.save()
        if leg.ended and leg.call_id and leg.duration is not None:
            note_talk_time(leg.call_id, leg.duration)
        if leg.ended and leg.mode == DialingMode.PREDICTIVE and leg.target_id:
            _record_unattended(leg, now)
    return leg


def _record_unattended(leg: Leg, now) -> None:
    """A predictive line that ended with no volunteer on it is an attempt like any other;
    after an abandoned call or a machine the number rests 72 or 24 hours."""
    if leg.seat_id and not leg.abandoned:
        return  # a volunteer had them: the volunteer records the outcome
    if leg.abandoned:
        code, rest = "no_answer", ABANDONED_HOLD
    elif leg.answered_by == AnsweredBy.MACHINE:
        code, rest = "voicemail", MACHINE_HOLD
    else:
        code, rest = SUGGESTIONS.get(leg.status, "no_answer"), None
    rules.record_unattended(leg.target_id, code, now=now, not_before=now + rest if rest else None)


def record_seat_status(seat: Seat, params, now=None) -> None:
    status = params.get("CallStatus", "")
    now = now or timezone.now()
    if status in {s.value for s in ENDED_STATUSES}:
        Seat.objects.filter(pk=seat.pk).update(state=SeatState.ENDED, ended_at=now, free_since=None)


def link_call(campaign, volunteer, call) -> None:
    """The volunteer recorded the outcome: the leg of that contact points at the stored call,
    and its measured length (if the provider has said it) is written on it."""
    seat = (
        live_seat(campaign, volunteer)
        or Seat.objects.filter(campaign=campaign, volunteer=volunteer)
        .order_by("-started_at")
        .first()
    )
    leg = current_leg(seat, call.target_id)
    if leg is None:
        return
    Leg.objects.filter(pk=leg.pk, call__isnull=True).update(call=call)
    if leg.duration is not None:
        note_talk_time(call.pk, leg.duration)


SUGGESTIONS = {
    LegStatus.NO_ANSWER: "no_answer",
    LegStatus.BUSY: "busy",
    LegStatus.FAILED: "no_answer",
    LegStatus.CANCELED: "no_answer",
}


def suggested_outcome(leg: Leg | None) -> str:
    """The outcome the card fills in itself when the line knows it (no answer, busy, machine)."""
    if leg is None:
        return ""
    if leg.answered_by == AnsweredBy.MACHINE:
        return "voicemail"
    return SUGGESTIONS.get(leg.status, "")


@dataclass
class CardLine:
    """What the volunteer's card shows of the line."""

    line: Line
    seat: Seat | None
    leg: Leg | None
    mode: str

    @property
    def suggestion(self) -> str:
        return suggested_outcome(self.leg)

    @property
    def live(self) -> bool:
        return self.leg is not None and not self.leg.ended


def card_line(campaign, volunteer, lease) -> CardLine | None:
    line = connected_line(campaign)
    if line is None:
        return None
    seat = live_seat(campaign, volunteer)
    leg = current_leg(seat, lease.target.pk if lease else None)
    return CardLine(line=line, seat=seat, leg=leg, mode=dialing_of(campaign).mode)


def power_dial(campaign, volunteer, lease, *, base: str, now=None) -> Leg | None:
    """Power mode: the person just handed out is dialed without a press, once."""
    if dialing_of(campaign).mode != DialingMode.POWER or lease is None:
        return None
    seat = live_seat(campaign, volunteer)
    if seat is None or seat.state != SeatState.READY or current_leg(seat, lease.target.pk):
        return None
    try:
        return dial_contact(seat, lease, base=base, now=now)
    except TelephonyError:
        return None


# --- Ofcom's record ---------------------------------------------------------------------------


def record_24h(campaign, now=None) -> pacing.Record24h:
    """The campaign's last 24 hours, the figures the 3 % cap is kept by."""
    since = (now or timezone.now()) - dt.timedelta(hours=24)
    counts = Leg.objects.filter(campaign=campaign, placed_at__gte=since).aggregate(
        live=Count("pk", filter=Q(answered_by=AnsweredBy.HUMAN)),
        abandoned=Count("pk", filter=Q(abandoned=True)),
        machine=Count("pk", filter=Q(answered_by=AnsweredBy.MACHINE)),
    )
    return pacing.Record24h(
        live_answered=counts["live"],
        abandoned=counts["abandoned"],
        machine_answered=counts["machine"],
    )


def held_back(now=None):
    """The numbers not to dial with no volunteer guaranteed (a query of phones)."""
    now = now or timezone.now()
    return Leg.objects.filter(
        Q(abandoned=True, placed_at__gte=now - ABANDONED_HOLD)
        | Q(answered_by=AnsweredBy.MACHINE, placed_at__gte=now - MACHINE_HOLD)
    ).values("phone")


def ofcom_figures(campaign, now=None) -> dict:
    """The figures kept for the record and shown to organisers."""
    now = now or timezone.now()
    line = line_of(campaign.team)
    record = record_24h(campaign, now)
    rate = pacing.abandonment_rate(record, line.amd_false_positive_rate if line else 0.0)
    legs = Leg.objects.filter(campaign=campaign, placed_at__gte=now - dt.timedelta(hours=24))
    in_time = [
        leg
        for leg in legs.filter(abandoned=True)
        if leg.message_at
        and leg.answered_at
        and (leg.message_at - leg.answered_at).total_seconds() <= pacing.ABANDON_MESSAGE_WITHIN
    ]
    unanswered = legs.filter(status__in=[LegStatus.NO_ANSWER]).order_by("ring_seconds").first()
    return {
        "record": record,
        "rate": rate,
        "rate_percent": f"{rate * 100:.1f}",
        "messages_in_time": len(in_time),
        "shortest_ring": unanswered.ring_seconds if unanswered else None,
        "held_back": campaign.targets.filter(phone__in=held_back(now)).count(),
        "forbidden": ", ".join(never_predictive_prefixes()),
    }


def never_predictive_prefixes() -> list[str]:
    """Numbers the deployment says predictive dialing may never call (``+1``: US mobiles
    without consent, TCPA; a +1 number cannot be told mobile from landline)."""
    return list(settings.RINGROUND_PREDICTIVE_NEVER)


def may_dial_unattended(phone: str, now=None) -> bool:
    """Without a live volunteer guaranteed: not a number abandoned in the last 72 hours, nor
    one an answering machine took in the last 24."""
    now = now or timezone.now()
    recent = Leg.objects.filter(phone=phone)
    return not (
        recent.filter(abandoned=True, placed_at__gte=now - ABANDONED_HOLD).exists()
        or recent.filter(answered_by=AnsweredBy.MACHINE, placed_at__gte=now - MACHINE_HOLD).exists()
    )


# --- someone rings the caller ID back ---------------------------------------------------------


def line_by_caller_id(number: str) -> Line | None:
    return Line.objects.filter(caller_id=number, provider=Provider.BRIDGE).first()


def inbound_answered(line: Line, params, *, base: str, now=None) -> tuple[InboundCall, str]:
    """Say who called and why, and offer: 1 never again, 2 a volunteer, or a message."""
    now = now or timezone.now()
    try:
        phone = normalise(params.get("From", "")).e164
    except InvalidPhone:
        phone = ""
    contact = (
        Contact.objects.filter(team=line.team, phone=phone).order_by("-pk").first()
        if phone
        else None
    )
    call = InboundCall.objects.create(
        line=line, call_sid=params.get("CallSid", ""), phone=phone, contact=contact, received_at=now
    )
    menu = (
        f"Hello, this is {line.caller_name}. We called you as part of our phone bank. "
        "If you never want us to call you again, press 1. To speak to a volunteer, press 2. "
        "Or stay on the line to leave a message after the tone."
    )
    record_url = _url(base, "inbound_message", call.public_id)
    return call, twiml.response(
        twiml.gather(
            twiml.say(menu),
            num_digits=1,
            timeout=6,
            action=_url(base, "inbound_key", call.public_id),
        ),
        twiml.say("Please leave your message after the tone."),
        twiml.record(max_length=120, action=record_url),
    )


def inbound_key(call: InboundCall, digits: str, *, base: str, now=None) -> str:
    line = call.line
    if digits == "1":
        if call.phone:
            suppress_number(
                call.phone,
                team=line.team,
                reason=Suppression.Reason.REQUESTED,
                note="Pressed 1 on the call-back line.",
            )
            record_event(None, "telephony.opted_out_by_phone", call, team=line.team.public_id)
        InboundCall.objects.filter(pk=call.pk).update(outcome=InboundCall.Outcome.OPTED_OUT)
        return twiml.response(
            twiml.say("Thank you. We will not call this number again. Goodbye."), twiml.hangup()
        )
    if digits == "2":
        with transaction.atomic():
            seat = (
                Seat.objects.select_for_update(skip_locked=True)
                .filter(campaign__team=line.team, state=SeatState.READY, free_since__isnull=False)
                .order_by("free_since")
                .first()
            )
            if seat is not None:
                Seat.objects.filter(pk=seat.pk).update(free_since=None)
                InboundCall.objects.filter(pk=call.pk).update(
                    outcome=InboundCall.Outcome.PUT_THROUGH
                )
                return twiml.response(
                    twiml.say("Putting you through to a volunteer."),
                    _room(seat, starts=False, ends=False),
                )
        InboundCall.objects.filter(pk=call.pk).update(outcome=InboundCall.Outcome.NOBODY_FREE)
    return twiml.response(
        twiml.say(
            "Nobody is free to take your call just now. Please leave a message after the tone."
        ),
        twiml.record(max_length=120, action=_url(base, "inbound_message", call.public_id)),
    )


def inbound_message(call: InboundCall, params) -> str:
    seconds = params.get("RecordingDuration", "")
    InboundCall.objects.filter(pk=call.pk).exclude(outcome=InboundCall.Outcome.OPTED_OUT).update(
        outcome=InboundCall.Outcome.MESSAGE,
        recording_url=params.get("RecordingUrl", "")[:500],
        recording_seconds=int(seconds) if seconds.isdigit() else None,
    )
    return twiml.response(twiml.say("Thank you. Goodbye."), twiml.hangup())


def callbacks_for(team, limit: int = 50):
    return (
        InboundCall.objects.filter(line__team=team)
        .select_related("contact")
        .order_by("-received_at", "-pk")[:limit]
    )


# --- what the line keeps of people ------------------------------------------------------------

NUMBERS_KEPT = dt.timedelta(days=4)  # long enough for the 72-hour rule, no longer


def forget_contact(public_id: str) -> int:
    """A contact was erased: the line's copies of their number (dialed legs, call-backs and
    their messages) go too. Listens for ``events.contact_erased`` (connected in ``apps.py``)."""
    legs = Leg.objects.filter(target__contact__public_id=public_id).update(phone="")
    calls = InboundCall.objects.filter(contact__public_id=public_id).update(
        phone="", recording_url="", recording_seconds=None, contact=None
    )
    return legs + calls


def contact_erased(sender, public_id, **kwargs) -> None:
    forget_contact(public_id)


def forget_old_numbers(now=None) -> int:
    """Numbers are kept only as long as a rule needs them: dialed numbers past the 72-hour
    rest, volunteers' numbers once off the line, call-backs' numbers and messages after the
    same days (the figures stay)."""
    cutoff = (now or timezone.now()) - NUMBERS_KEPT
    return (
        Leg.objects.filter(placed_at__lt=cutoff).exclude(phone="").update(phone="")
        + Seat.objects.filter(state=SeatState.ENDED, started_at__lt=cutoff)
        .exclude(phone="")
        .update(phone="")
        + InboundCall.objects.filter(received_at__lt=cutoff)
        .exclude(phone="", recording_url="")
        .update(phone="", recording_url="")
    )
