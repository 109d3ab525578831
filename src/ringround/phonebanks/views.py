"""Pages: the organiser's sessions (schedule, edit, cancel, who is coming) and the
volunteer's sign-up and cancel buttons. Thin: parse, call a service, render."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from ringround.accounts.permissions import organiser_required
from ringround.campaigns.models import Membership
from ringround.campaigns.permissions import campaign_for_organiser, campaign_for_volunteer

from . import services
from .forms import SessionForm
from .models import PhoneBankSession


def _session_of(campaign, phonebank_id) -> PhoneBankSession:
    session = campaign.phonebank_sessions.filter(public_id=phonebank_id).first()
    if session is None:
        raise Http404("No such session")
    session.campaign = campaign
    return session


@organiser_required
def sessions(request, public_id):
    campaign = campaign_for_organiser(request.user, public_id)
    form = SessionForm(request.POST or None, campaign=campaign)
    if request.method == "POST" and form.is_valid():
        session = services.schedule_session(campaign, request.user, **form.session_fields())
        messages.success(request, f"Session “{session.name}” scheduled.")
        return redirect("phonebanks:sessions", campaign.public_id)
    now = timezone.now()
    return render(
        request,
        "phonebanks/sessions.html",
        {
            "campaign": campaign,
            "tab": "sessions",
            "form": form,
            "upcoming": services.upcoming_sessions(campaign, now=now).select_related("host"),
            "past": campaign.phonebank_sessions.exclude(
                pk__in=services.upcoming_sessions(campaign, now=now)
            ).order_by("-starts_at")[:20],
        },
    )


@organiser_required
def session_detail(request, public_id, phonebank_id):
    campaign = campaign_for_organiser(request.user, public_id)
    session = _session_of(campaign, phonebank_id)
    form = SessionForm(request.POST or None, campaign=campaign, instance=session)
    if request.method == "POST" and not session.is_cancelled and form.is_valid():
        services.update_session(session, by=request.user, **form.session_fields())
        messages.success(request, "Session saved.")
        return redirect("phonebanks:session", campaign.public_id, session.public_id)
    return render(
        request,
        "phonebanks/session.html",
        {
            "campaign": campaign,
            "tab": "sessions",
            "session": session,
            "form": form,
            "coming": services.coming(session),
        },
    )


@require_POST
@organiser_required
def session_cancel(request, public_id, phonebank_id):
    campaign = campaign_for_organiser(request.user, public_id)
    session = _session_of(campaign, phonebank_id)
    emailed = services.cancel_session(session, by=request.user)
    messages.success(
        request, f"Session cancelled; {emailed} volunteer{'s' if emailed != 1 else ''} emailed."
    )
    return redirect("phonebanks:sessions", campaign.public_id)


def _volunteer_session(request, public_id, phonebank_id):
    campaign, membership = campaign_for_volunteer(request.user, public_id)
    return campaign, membership, _session_of(campaign, phonebank_id)


@require_POST
@login_required
def sign_up(request, public_id, phonebank_id):
    campaign, membership, session = _volunteer_session(request, public_id, phonebank_id)
    if membership.status == Membership.Status.SUSPENDED:
        messages.error(request, "Your calling for this campaign has been suspended.")
    else:
        try:
            services.sign_up(session, request.user)
        except services.SessionError as exc:
            messages.error(request, str(exc))
        else:
            messages.success(
                request, f"You are signed up to {session.name}. We have emailed you the details."
            )
    return redirect("calling:brief", campaign.public_id)


@require_POST
@login_required
def cancel_sign_up(request, public_id, phonebank_id):
    campaign, _, session = _volunteer_session(request, public_id, phonebank_id)
    if services.cancel_sign_up(session, request.user):
        messages.success(request, f"You have given up your place at {session.name}.")
    return redirect("calling:brief", campaign.public_id)
