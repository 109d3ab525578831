"""Volunteer pages: one person at a time, and never back to an earlier one."""

import datetime as dt
import uuid

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.cache import add_never_cache_headers
from django.views.decorators.http import require_POST

from ringround.campaigns.models import Membership
from ringround.campaigns.permissions import campaign_for_volunteer

from . import rules, services

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
        {"campaign": campaign, "membership": membership, "holding": holding},
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
    try:
        rules.claim_next(campaign, request.user)
    except rules.CallingError as exc:
        messages.error(request, str(exc))
        return redirect("calling:brief", campaign.public_id)
    return redirect("calling:card", campaign.public_id)


@login_required
def card(request, public_id, *, errors=None, status=200):
    campaign, _ = campaign_for_volunteer(request.user, public_id)
    lease = rules.current_lease(campaign, request.user)
    context = {"campaign": campaign, "lease": lease, "errors": errors or {}, "posted": request.POST}
    if lease is not None:
        context.update(
            card=services.contact_card(lease, viewer=request.user, request=request),
            questions=campaign.questions.all(),
            outcomes=campaign.outcomes.all(),
            idempotency_key=request.POST.get("idempotency_key") or uuid.uuid4().hex,
        )
    return _never_cache(render(request, "calling/card.html", context, status=status))


@login_required
@require_POST
def record(request, public_id):
    campaign, _ = campaign_for_volunteer(request.user, public_id)
    answers = {
        key: request.POST.getlist(key)
        if len(request.POST.getlist(key)) > 1
        else request.POST.get(key)
        for key in request.POST
        if key.startswith("q") and key[1:].isdigit()
    }
    callback_at = _parse_callback(request.POST.get("callback_at"), request.POST.get("tz_offset"))
    try:
        rules.record_outcome(
            campaign,
            request.user,
            lease_token=request.POST.get("lease_token", ""),
            outcome_code=request.POST.get("outcome", ""),
            idempotency_key=request.POST.get("idempotency_key", ""),
            answers=answers,
            notes=request.POST.get("notes", ""),
            callback_at=callback_at,
        )
    except rules.InvalidOutcome as exc:
        messages.error(request, str(exc))
        return card(request, public_id, errors=exc.errors, status=400)
    except rules.InvalidLease as exc:
        messages.error(request, str(exc))
        return redirect("calling:card", campaign.public_id)
    if request.POST.get("then") == "stop":
        return redirect("calling:summary", campaign.public_id)
    messages.success(request, "Saved. Here is the next person.")
    return _claim_and_show(request, campaign)


def _parse_callback(value, tz_offset=None):
    """A "call back at" time typed in the volunteer's local time; the page's script sends
    the browser's offset from UTC in minutes (as JavaScript's getTimezoneOffset gives it)."""
    if not value:
        return None
    try:
        moment = dt.datetime.fromisoformat(value)
        offset = int(tz_offset) if tz_offset not in (None, "") else 0
    except ValueError:
        return None
    if not -16 * 60 <= offset <= 16 * 60:
        offset = 0
    if timezone.is_naive(moment):
        moment = moment.replace(tzinfo=dt.UTC) + dt.timedelta(minutes=offset)
    return moment if moment > timezone.now() else None


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
    sessions = request.session.get(SESSION_KEY, {})
    if sessions.pop(campaign.public_id, None):
        request.session[SESSION_KEY] = sessions
    return _never_cache(
        render(request, "calling/summary.html", {"campaign": campaign, "figures": figures})
    )
