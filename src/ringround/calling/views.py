"""Volunteer pages: one person at a time, and never back to an earlier one."""

import datetime as dt
import uuid

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.cache import add_never_cache_headers
from django.views.decorators.http import require_POST

from ringround.accounts.permissions import organiser_required
from ringround.campaigns.models import Membership
from ringround.campaigns.permissions import campaign_for_organiser, campaign_for_volunteer
from ringround.telephony import services as telephony

from . import practice, rules, services
from . import room as room_service
from .models import CallTarget

SESSION_KEY = "calling_started"


def _never_cache(response):
    add_never_cache_headers(response)
    response["Cache-Control"] += ", no-store"
    return response


def _session_start(request, campaign) -> dt.datetime:
    started = request.session.get(SESSION_KEY, {}).get(campaign.public_id)
    return dt.datetime.fromisoformat(started) if started else timezone.now()


@login_required
def my_campaigns(request):
    memberships = Membership.objects.filter(user=request.user).select_related("campaign")
    return render(request, "calling/my_campaigns.html", {"memberships": memberships})


@login_required
def brief(request, public_id):
    campaign, membership = campaign_for_volunteer(request.user, public_id)
    holding = rules.current_lease(campaign, request.user) is not None
    return render(
        request,
        "calling/brief.html",
        {
            "campaign": campaign,
            "membership": membership,
            "holding": holding,
            "calls_today": services.calls_today(campaign),
        },
    )


@login_required
@require_POST
def start(request, public_id):
    campaign, _ = campaign_for_volunteer(request.user, public_id)
    sessions = request.session.get(SESSION_KEY, {})
    sessions.setdefault(campaign.public_id, timezone.now().isoformat())
    request.session[SESSION_KEY] = sessions
    return _claim_and_show(request, campaign)


def _claim_and_show(request, campaign):
    if telephony.dials_for_volunteers(campaign):
        return redirect("calling:card", campaign.public_id)  # the dialer hands people out
    try:
        rules.claim_next(campaign, request.user)
    except rules.CallingError as exc:
        messages.error(request, str(exc))
        return redirect("calling:brief", campaign.public_id)
    return redirect("calling:card", campaign.public_id)


@login_required
def card(request, public_id):
    """The person held for this volunteer; if none, why nobody is there (or that somebody
    is, one press away). Only ever answers a GET: every form on it posts and redirects back
    here, so Back never meets a form's result."""
    campaign, _ = campaign_for_volunteer(request.user, public_id)
    lease = rules.current_lease(campaign, request.user)
    returned = _returned_form(request, campaign, lease)
    context = {"campaign": campaign, "lease": lease}
    if lease is None and telephony.dials_for_volunteers(campaign):
        context["line"] = telephony.card_line(campaign, request.user, None)
        context["predictive"] = True
    elif lease is None:
        context["nobody"] = services.why_nobody_to_call(campaign)
    else:
        base = telephony.public_base(request)
        telephony.power_dial(campaign, request.user, lease, base=base)
        line = telephony.card_line(campaign, request.user, lease)
        if line is not None and line.suggestion and not returned.get("values"):
            returned = {**returned, "values": {"outcome": [line.suggestion]}}
        context.update(_card_context(campaign, returned))
        context["line"] = line
        context["card"] = services.contact_card(
            lease, viewer=request.user, request=request, hide_phone=line is not None
        )
        context.update(_room_context(campaign, request.user))
    return _never_cache(render(request, "calling/card.html", context))


def _card_context(campaign, returned):
    """What the card's form needs, with what the volunteer entered before an error."""
    questions = list(campaign.questions.all())
    errors = returned.get("errors", {})
    first_error = next(
        (key for key in ["outcome", *(q.key for q in questions), "callback_at"] if key in errors),
        "",
    )
    return {
        "questions": questions,
        "outcomes": campaign.outcomes.all(),
        "errors": errors,
        "first_error": first_error,
        "entered": returned.get("values", {}),
        "idempotency_key": returned.get("idempotency_key") or uuid.uuid4().hex,
    }


RETURNED_KEY = "calling_returned_form"


def _return_form(request, campaign, lease_token, errors, *, key=RETURNED_KEY, **also):
    """Keep what was entered and what was wrong, for the card to show after the redirect
    (``key``: the practice card keeps its own, with ``also``: which made-up person)."""
    request.session[key] = {
        **also,
        "campaign": campaign.public_id,
        "lease_token": lease_token,
        "idempotency_key": request.POST.get("idempotency_key", "")[:64],
        "errors": errors,
        "values": {
            name: request.POST.getlist(name)
            for name in request.POST
            if name in ("outcome", "notes", "callback_at") or _is_answer(name)
        },
    }


def _is_answer(key: str) -> bool:
    return key.startswith("q") and key[1:].isdigit()


def _returned_form(request, campaign, lease):
    """The form returned by the last save (shown once), if it was for the person held now."""
    returned = request.session.pop(RETURNED_KEY, None) or {}
    if lease is None or returned.get("campaign") != campaign.public_id:
        return {}
    if returned.get("lease_token") != lease.token:
        return {}
    return returned


@login_required
@require_POST
def record(request, public_id):
    campaign, _ = campaign_for_volunteer(request.user, public_id)
    answers = {
        key: request.POST.getlist(key)
        if len(request.POST.getlist(key)) > 1
        else request.POST.get(key)
        for key in request.POST
        if _is_answer(key)
    }
    lease_token = request.POST.get("lease_token", "")
    try:
        callback_at = _parse_callback(campaign, request.POST)
        call = rules.record_outcome(
            campaign,
            request.user,
            lease_token=lease_token,
            outcome_code=request.POST.get("outcome", ""),
            idempotency_key=request.POST.get("idempotency_key", ""),
            answers=answers,
            notes=request.POST.get("notes", ""),
            callback_at=callback_at,
        )
    except rules.InvalidOutcome as exc:
        _return_form(request, campaign, lease_token, exc.errors)
        messages.error(request, _not_saved(campaign, exc))
        anchor = f"#{_field_id(next(iter(exc.errors)))}" if exc.errors else ""
        return redirect(reverse("calling:card", args=[campaign.public_id]) + anchor)
    except rules.InvalidLease as exc:
        messages.error(request, str(exc))
        return redirect("calling:card", campaign.public_id)
    telephony.link_call(campaign, request.user, call)
    if request.POST.get("then") == "stop":
        return redirect("calling:summary", campaign.public_id)
    messages.success(request, "Saved. Here is the next person.")
    return _claim_and_show(request, campaign)


def _field_id(key: str) -> str:
    return {"outcome": "outcome-choices", "callback_at": "callback_at"}.get(key, f"question-{key}")


def _not_saved(campaign, exc) -> str:
    """The banner after a refused save names what to put right."""
    if not exc.errors:
        return f"Not saved yet: {exc}"
    names = {q.key: f"“{q.text}”" for q in campaign.questions.all()}
    names |= {"outcome": "What happened", "callback_at": "The call-back time"}
    first = next(iter(exc.errors))
    problem = f"{names.get(first, first)}: {exc.errors[first]}"
    more = len(exc.errors) - 1
    return f"Not saved yet. {problem}" + (f" (and {more} more below)" if more else "")


def _parse_callback(campaign, posted):
    """A "call back at" time typed in the volunteer's local time; the page's script sends
    the browser's offset from UTC in minutes (as JavaScript's getTimezoneOffset gives it).
    Whether it is in the future, and whether it counts at all, is the rules' to say; one
    that is not a time is an error only where a time follows the outcome chosen."""
    value, tz_offset = posted.get("callback_at"), posted.get("tz_offset")
    if not value:
        return None
    try:
        moment = dt.datetime.fromisoformat(value)
        offset = int(tz_offset) if tz_offset not in (None, "") else 0
    except ValueError as exc:
        chosen = campaign.outcomes.filter(code=posted.get("outcome", "")).first()
        if chosen is None or not chosen.asks_call_back_time:
            return None
        raise rules.InvalidOutcome(
            "The call-back time is not a time.", {"callback_at": "Give a date and a time."}
        ) from exc
    if not -16 * 60 <= offset <= 16 * 60:
        offset = 0
    if timezone.is_naive(moment):
        moment = moment.replace(tzinfo=dt.UTC) + dt.timedelta(minutes=offset)
    return moment


# --- practice -----------------------------------------------------------------------------


PRACTICE_KEY = "calling_practice_form"


@login_required
def practise(request, public_id):
    """The card with a fictional person: learn it before calling anyone. Any member may
    practise, also one still waiting to be confirmed or approved."""
    campaign, _ = campaign_for_volunteer(request.user, public_id)
    number = _practice_number(request.GET.get("person"))
    returned = request.session.pop(PRACTICE_KEY, None) or {}
    if returned.get("campaign") != campaign.public_id or returned.get("person") != number:
        returned = {}
    context = {"campaign": campaign, "practice": True, "person": number}
    context.update(_card_context(campaign, returned))
    context["card"] = practice.practice_card(campaign, number)
    context["lease"] = True  # the card's form is shown; practice has no lease
    return _never_cache(render(request, "calling/card.html", context))


def _practice_number(value) -> int:
    return int(value) % len(practice.PEOPLE) if value and value.isdigit() else 0


@login_required
@require_POST
def practise_save(request, public_id):
    """Check a practice call as a real one is checked; store nothing; show the next person."""
    campaign, _ = campaign_for_volunteer(request.user, public_id)
    number = _practice_number(request.POST.get("person"))
    card_url = reverse("calling:practise", args=[campaign.public_id])
    answers = {
        key: request.POST.getlist(key)
        if len(request.POST.getlist(key)) > 1
        else request.POST.get(key)
        for key in request.POST
        if _is_answer(key)
    }
    try:
        callback_at = _parse_callback(campaign, request.POST)
        outcome = practice.check_practice_call(
            campaign, request.POST.get("outcome", ""), answers, callback_at
        )
    except rules.InvalidOutcome as exc:
        _return_form(request, campaign, "", exc.errors, key=PRACTICE_KEY, person=number)
        messages.error(request, _not_saved(campaign, exc))
        anchor = f"#{_field_id(next(iter(exc.errors)))}" if exc.errors else ""
        return redirect(f"{card_url}?person={number}{anchor}")
    messages.success(
        request,
        f"Practice: “{outcome.label}” would be saved now. Nothing was stored. "
        "Here is another practice person, or start calling for real.",
    )
    if request.POST.get("then") == "stop":
        return redirect("calling:brief", campaign.public_id)
    return redirect(f"{card_url}?person={number + 1}")


@login_required
@require_POST
def next_contact(request, public_id):
    campaign, _ = campaign_for_volunteer(request.user, public_id)
    return _claim_and_show(request, campaign)


@login_required
@require_POST
def heartbeat(request, public_id):
    campaign, _ = campaign_for_volunteer(request.user, public_id)
    expires = rules.heartbeat(campaign, request.user)
    if expires is None:
        response = HttpResponse("This contact is no longer held for you.", status=409)
        response["HX-Refresh"] = "true"
        return response
    return HttpResponse(
        f'Held for you until <time datetime="{expires.isoformat()}" data-local>'
        f"{expires:%H:%M} UTC</time>."
    )


@login_required
@require_POST
def stop(request, public_id):
    campaign, _ = campaign_for_volunteer(request.user, public_id)
    rules.release(campaign, request.user)
    return redirect("calling:summary", campaign.public_id)


@login_required
def summary(request, public_id):
    campaign, _ = campaign_for_volunteer(request.user, public_id)
    started = _session_start(request, campaign)
    figures = services.session_summary(campaign, request.user, started, timezone.now())
    # The count is up to a minute old: never fewer than this volunteer's own calls.
    figures["calls_today"] = max(services.calls_today(campaign), figures["calls"])
    sessions = request.session.get(SESSION_KEY, {})
    if sessions.pop(campaign.public_id, None):
        request.session[SESSION_KEY] = sessions
    return _never_cache(
        render(request, "calling/summary.html", {"campaign": campaign, "figures": figures})
    )


# --- talking to the room -----------------------------------------------------------------


@login_required
def room(request, public_id):
    """What the card shows of the room, polled: the organisers' message, and whether this
    volunteer's hand is up."""
    campaign, _ = campaign_for_volunteer(request.user, public_id)
    return render(request, "calling/_room.html", _room_context(campaign, request.user))


def _room_context(campaign, volunteer) -> dict:
    return {
        "campaign": campaign,
        "room_message": room_service.current_message(campaign),
        "help_request": room_service.own_help_request(campaign, volunteer),
    }


@login_required
@require_POST
def ask_for_help(request, public_id):
    campaign, _ = campaign_for_volunteer(request.user, public_id)
    room_service.ask_for_help(campaign, request.user, request=request)
    if request.htmx:
        return render(request, "calling/_room.html", _room_context(campaign, request.user))
    messages.info(request, "An organiser has been told you would like help.")
    return redirect("calling:card", campaign.public_id)


@organiser_required
def room_controls(request, public_id):
    """The organisers' side of the room: a message to everyone calling, the hands up, and
    who holds whom (to take a contact back). Every change posts here and redirects back."""
    campaign = campaign_for_organiser(request.user, public_id)
    if request.method == "POST":
        action = request.POST.get("action", "")
        try:
            if action == "broadcast":
                room_service.broadcast(
                    campaign, request.POST.get("text", ""), by=request.user, request=request
                )
                messages.success(request, "Sent: it shows on every card within seconds.")
            elif action == "withdraw":
                room_service.withdraw(campaign, by=request.user, request=request)
                messages.success(request, "The message is off the cards.")
            elif action == "answered":
                room_service.answer_help(
                    campaign, _int(request.POST.get("help")), by=request.user, request=request
                )
            elif action == "take_back":
                freed = room_service.take_back(
                    campaign, request.POST.get("volunteer", ""), by=request.user, request=request
                )
                messages.success(
                    request,
                    "Taken back: the person goes back to the list."
                    if freed
                    else "They were not holding anyone.",
                )
            else:
                messages.error(request, "Unknown action.")
        except room_service.RoomError as exc:
            messages.error(request, str(exc))
        return redirect("calling:room_controls", campaign.public_id)
    holding = (
        CallTarget.objects.filter(campaign=campaign, state=CallTarget.State.ASSIGNED)
        .select_related("held_by")
        .order_by("leased_at")
    )
    context = {
        "campaign": campaign,
        "tab": "room",
        "room_message": room_service.current_message(campaign),
        "waiting": room_service.waiting_for_help(campaign),
        "holding": holding,
    }
    return render(request, "calling/room_controls.html", context)


def _int(value) -> int:
    return int(value) if value and str(value).isdigit() else 0
