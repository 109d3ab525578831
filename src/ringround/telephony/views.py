"""The provider's callbacks (signed, never replayed), the volunteer's line controls on the card,
and the organisers' settings: the team's line and each campaign's dialing."""

from functools import wraps

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from ringround.accounts.permissions import may_manage_team, organiser_required, team_for_organiser
from ringround.audit.services import record_event
from ringround.calling import rules
from ringround.campaigns.permissions import campaign_for_organiser, campaign_for_volunteer
from ringround.contacts.phones import display

from . import services
from .forms import DialingForm, LineForm
from .models import InboundCall, Leg, Line, Seat

XML = "application/xml"


def _refused(reason: str) -> HttpResponse:
    return HttpResponse(f"Refused: {reason}.", status=403, content_type="text/plain")


def provider_callback(model, *, line_of):
    """A view the provider calls: the object by its public id, the request's signature checked
    against its line's secret and against replays, all in one transaction with the action."""

    def decorate(view):
        @csrf_exempt
        @require_POST
        @wraps(view)
        def wrapped(request, public_id):
            found = model.objects.filter(public_id=public_id).first()
            if found is None:
                raise Http404
            line = line_of(found)
            if line is None:
                return _refused("no line")
            url = (
                request.build_absolute_uri()
                if not services.public_base()
                else (services.public_base() + request.get_full_path())
            )
            try:
                with transaction.atomic():
                    services.check_callback(
                        line, url, request.POST, request.headers.get("X-Twilio-Signature", "")
                    )
                    body = view(request, found, line)
            except services.CallbackRefused as exc:
                return _refused(str(exc))
            return HttpResponse(body or "", content_type=XML)

        return wrapped

    return decorate


def _team_line(thing):
    return services.line_of(thing.campaign.team)


@provider_callback(Seat, line_of=_team_line)
def seat_answer(request, seat, line):
    return services.seat_answered(seat)


@provider_callback(Seat, line_of=_team_line)
def seat_status(request, seat, line):
    services.record_seat_status(seat, request.POST)
    return ""


@provider_callback(Leg, line_of=_team_line)
def leg_answer(request, leg, line):
    return services.leg_answered(leg, request.POST.get("AnsweredBy", "human"))


@provider_callback(Leg, line_of=_team_line)
def leg_status(request, leg, line):
    services.record_status(leg, request.POST)
    return ""


@provider_callback(Line, line_of=lambda line: line)
def inbound(request, line, _line):
    _call, body = services.inbound_answered(line, request.POST, base=services.public_base(request))
    return body


@provider_callback(InboundCall, line_of=lambda call: call.line)
def inbound_key(request, call, line):
    return services.inbound_key(
        call, request.POST.get("Digits", ""), base=services.public_base(request)
    )


@provider_callback(InboundCall, line_of=lambda call: call.line)
def inbound_message(request, call, line):
    return services.inbound_message(call, request.POST)


# --- the volunteer's card ---------------------------------------------------------------------


def _back_to_card(campaign):
    return redirect("calling:card", campaign.public_id)


@login_required
@require_POST
def join(request, public_id):
    campaign, _ = campaign_for_volunteer(request.user, public_id)
    try:
        services.join_line(
            campaign,
            request.user,
            request.POST.get("phone", ""),
            base=services.public_base(request),
        )
        messages.success(request, "Your phone is ringing: answer it to go on the line.")
    except services.TelephonyError as exc:
        messages.error(request, str(exc))
    return _back_to_card(campaign)


@login_required
@require_POST
def leave(request, public_id):
    campaign, _ = campaign_for_volunteer(request.user, public_id)
    seat = services.live_seat(campaign, request.user)
    if seat is not None:
        services.leave_line(seat)
        messages.success(request, "You are off the line.")
    return _back_to_card(campaign)


@login_required
@require_POST
def dial(request, public_id):
    campaign, _ = campaign_for_volunteer(request.user, public_id)
    lease = rules.current_lease(campaign, request.user)
    seat = services.live_seat(campaign, request.user)
    if lease is None or lease.token != request.POST.get("lease_token", ""):
        messages.error(request, "This contact is no longer held for you.")
    elif seat is None:
        messages.error(request, "Join the line first: give your number and answer your phone.")
    else:
        try:
            services.dial_contact(seat, lease, base=services.public_base(request))
        except services.TelephonyError as exc:
            messages.error(request, str(exc))
    return _back_to_card(campaign)


@login_required
@require_POST
def hang_up(request, public_id):
    campaign, _ = campaign_for_volunteer(request.user, public_id)
    lease = rules.current_lease(campaign, request.user)
    seat = services.live_seat(campaign, request.user)
    leg = services.current_leg(seat, lease.target.pk if lease else None)
    if leg is not None:
        try:
            services.hang_up(leg)
        except services.TelephonyError as exc:
            messages.error(request, str(exc))
    return _back_to_card(campaign)


@login_required
def line_status(request, public_id):
    """The line's part of the card, polled while a call is on."""
    campaign, _ = campaign_for_volunteer(request.user, public_id)
    lease = rules.current_lease(campaign, request.user)
    if lease is not None and request.GET.get("waiting"):
        response = HttpResponse(status=204)
        response["HX-Refresh"] = "true"  # the dialer has put someone through: show their card
        return response
    context = {"campaign": campaign, "lease": lease}
    context["line"] = services.card_line(campaign, request.user, lease)
    return render(request, "telephony/_card_line.html", context)


# --- organisers -------------------------------------------------------------------------------


@organiser_required
def team_line(request, team_id):
    """A team admin sets up the team's line; anyone organising in the team sees the call-backs."""
    team = team_for_organiser(request.user, team_id)
    may_change = may_manage_team(request.user, team)
    line = services.line_of(team)
    form = LineForm.for_line(request.POST or None, line, team)
    if request.method == "POST":
        if not may_change:
            raise PermissionDenied
        if form.is_valid():
            try:
                services.configure_line(team, **form.cleaned_data, by=request.user, request=request)
                messages.success(request, "The phone line is saved.")
                return redirect("telephony:team_line", team.public_id)
            except services.TelephonyError as exc:
                form.add_error(None, str(exc))
    callbacks = list(services.callbacks_for(team))
    if callbacks:
        record_event(request.user, "telephony.callbacks_viewed", team, count=len(callbacks))
    return render(
        request,
        "telephony/team_line.html",
        {
            "team": team,
            "line": line,
            "form": form,
            "may_change": may_change,
            "callbacks": callbacks,
            "caller_id_display": display(line.caller_id) if line and line.caller_id else "",
        },
    )


@organiser_required
def campaign_dialing(request, public_id):
    campaign = campaign_for_organiser(request.user, public_id)
    dialing = services.dialing_of(campaign)
    form = DialingForm(
        request.POST or None, initial={"connected": dialing.connected, "mode": dialing.mode}
    )
    if request.method == "POST" and form.is_valid():
        try:
            services.set_dialing(campaign, **form.cleaned_data, by=request.user, request=request)
            messages.success(request, "Dialing saved.")
            return redirect("telephony:campaign_dialing", campaign.public_id)
        except services.TelephonyError as exc:
            form.add_error(None, str(exc))
    context = {
        "campaign": campaign,
        "tab": "dialing",
        "form": form,
        "line": services.line_of(campaign.team),
        "figures": services.ofcom_figures(campaign),
    }
    return render(request, "telephony/campaign_dialing.html", context)
