"""Organiser pages: thin views over campaigns.services."""

from django.contrib import messages
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.html import format_html
from django.views.decorators.http import require_POST

from ringround.accounts.models import Team
from ringround.accounts.permissions import organiser_required
from ringround.calling import rules, targets
from ringround.calling import services as calling_services
from ringround.compliance.models import TeamPolicy
from ringround.compliance.services import screening_problem

from . import merge, services
from .forms import CampaignForm, InviteForm, OutcomeCodeForm, QuestionForm, ScriptForm
from .models import Campaign, Membership
from .permissions import campaign_for_organiser
from .scripts import braced, merge_field_names, render_script


def _script_check(campaign, script: str) -> dict:
    """The script editor's preview and merge-field check, for the page and its live update."""
    unknown = merge.unknown_merge_fields(campaign, script)
    hidden = sorted(set(merge_field_names(script)) & campaign.hidden_merge_fields())

    def blank(name):
        if name in unknown:
            return format_html('<mark class="merge-unknown">{}</mark>', braced(name))
        if name in hidden:
            return format_html('<mark class="merge-hidden">{} hidden</mark>', name)
        return ""

    fields = campaign.script_fields(merge.sample_fields(campaign, script))
    return {
        "preview": render_script(script, fields, blank=blank),
        "unknown": unknown,
        "suggestions": services.merge_field_suggestions(campaign, unknown),
        "known": merge.known_merge_fields(campaign, script),
        "hidden": hidden,
    }


@organiser_required
def campaign_list(request):
    campaigns = (
        Campaign.objects.organised_by(request.user).select_related("team").order_by("-created_at")
    )
    return render(request, "campaigns/list.html", {"campaigns": campaigns})


@organiser_required
def campaign_create(request):
    teams = Team.objects.organised_by(request.user)
    if not teams.exists():
        return render(request, "campaigns/no_team.html", status=403)
    form = CampaignForm(request.POST or None, teams=teams)
    if request.method == "POST" and form.is_valid():
        data = {k: v for k, v in form.cleaned_data.items()}
        campaign = services.create_campaign(request.user, starter=True, **data)
        messages.success(request, f"Campaign “{campaign.name}” created as a draft.")
        return redirect("campaigns:detail", campaign.public_id)
    return render(request, "campaigns/form.html", {"form": form, "creating": True})


@organiser_required
def campaign_detail(request, public_id):
    campaign = campaign_for_organiser(request.user, public_id)
    return render(
        request,
        "campaigns/detail.html",
        {
            "campaign": campaign,
            "tab": "overview",
            "invite_url": _invite_url(request, campaign),
            "target_count": campaign.targets.count(),
            "statuses": Campaign.Status.choices,
            "screening_problem": screening_problem(
                TeamPolicy.for_team(campaign.team_id), campaign.legal_zones, timezone.now()
            ),
        },
    )


@organiser_required
def campaign_edit(request, public_id):
    campaign = campaign_for_organiser(request.user, public_id)
    form = CampaignForm(request.POST or None, instance=campaign)
    if request.method == "POST" and form.is_valid():
        form.save()
        stopped = targets.refuse_register_contacts(campaign)
        messages.success(request, "Settings saved.")
        if stopped:
            messages.info(
                request,
                f"{stopped} people from the electoral register will not be called: this "
                "campaign is not an electoral one.",
            )
        return redirect("campaigns:detail", campaign.public_id)
    return render(
        request, "campaigns/form.html", {"form": form, "campaign": campaign, "tab": "settings"}
    )


@organiser_required
def campaign_script(request, public_id):
    campaign = campaign_for_organiser(request.user, public_id)
    form = ScriptForm(request.POST or None, instance=campaign)
    script = campaign.script
    if request.method == "POST" and form.is_valid():
        script = form.cleaned_data["script"]
        try:
            unknown = services.save_script(campaign, script, by=request.user, request=request)
        except services.CampaignError as exc:
            messages.error(request, str(exc))
        else:
            if unknown:
                messages.warning(
                    request, "Script saved, but it cannot be opened for calls like this."
                )
            else:
                messages.success(request, "Script saved.")
            return redirect("campaigns:script", campaign.public_id)
    context = {"campaign": campaign, "form": form, "tab": "script"}
    return render(request, "campaigns/script.html", context | _script_check(campaign, script))


@organiser_required
@require_POST
def script_preview(request, public_id):
    """The live preview while the script is typed, and (out of band) its merge-field check."""
    campaign = campaign_for_organiser(request.user, public_id)
    script = request.POST.get("script", "")[:50_000]
    context = {"campaign": campaign, **_script_check(campaign, script)}
    return render(request, "campaigns/_script_preview.html", context)


@organiser_required
def campaign_survey(request, public_id):
    campaign = campaign_for_organiser(request.user, public_id)
    form = QuestionForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        services.add_question(
            campaign,
            text=form.cleaned_data["text"],
            kind=form.cleaned_data["kind"],
            choices=form.cleaned_data["choices"],
            required=form.cleaned_data["required"],
            reveals_opinion=form.cleaned_data["reveals_opinion"],
        )
        messages.success(request, "Question added.")
        return redirect("campaigns:survey", campaign.public_id)
    return render(
        request,
        "campaigns/survey.html",
        {
            "campaign": campaign,
            "form": form,
            "tab": "survey",
            "questions": campaign.questions.all(),
        },
    )


@organiser_required
def question_edit(request, public_id, question_id):
    campaign = campaign_for_organiser(request.user, public_id)
    question = get_object_or_404(campaign.questions, pk=question_id)
    if request.method == "POST" and request.POST.get("action") == "delete":
        question.delete()
        messages.success(request, "Question deleted.")
        return redirect("campaigns:survey", campaign.public_id)
    if request.method == "POST" and request.POST.get("action") in ("up", "down"):
        services.move_question(question, -1 if request.POST["action"] == "up" else 1)
        return redirect("campaigns:survey", campaign.public_id)
    form = QuestionForm(request.POST or None, instance=question)
    if request.method == "POST" and form.is_valid():
        form.save()
        messages.success(request, "Question saved.")
        return redirect("campaigns:survey", campaign.public_id)
    return render(
        request,
        "campaigns/question_edit.html",
        {"campaign": campaign, "form": form, "tab": "survey"},
    )


@organiser_required
def campaign_outcomes(request, public_id):
    campaign = campaign_for_organiser(request.user, public_id)
    form = OutcomeCodeForm(request.POST or None, campaign=campaign)
    if request.method == "POST" and form.is_valid():
        outcome = services.add_outcome(campaign, form.save(commit=False))
        messages.success(request, f"Outcome “{outcome.label}” added.")
        return redirect("campaigns:outcomes", campaign.public_id)
    return render(
        request,
        "campaigns/outcomes.html",
        {
            "campaign": campaign,
            "form": form,
            "tab": "outcomes",
            "outcomes": campaign.outcomes.all(),
        },
    )


@organiser_required
def outcome_edit(request, public_id, outcome_id):
    campaign = campaign_for_organiser(request.user, public_id)
    outcome = get_object_or_404(campaign.outcomes, pk=outcome_id)
    if request.method == "POST" and request.POST.get("action") == "delete":
        if outcome.calls.exists():
            messages.error(
                request, "Calls have been recorded with this outcome; it cannot be deleted."
            )
        else:
            outcome.delete()
            messages.success(request, "Outcome deleted.")
        return redirect("campaigns:outcomes", campaign.public_id)
    form = OutcomeCodeForm(request.POST or None, instance=outcome, campaign=campaign)
    if request.method == "POST" and form.is_valid():
        form.save()
        messages.success(request, "Outcome saved.")
        return redirect("campaigns:outcomes", campaign.public_id)
    return render(
        request,
        "campaigns/outcome_edit.html",
        {"campaign": campaign, "form": form, "tab": "outcomes"},
    )


def _invite_url(request, campaign) -> str:
    return request.build_absolute_uri(f"/accounts/join/{campaign.invite_token}/")


@organiser_required
def campaign_invite(request, public_id):
    campaign = campaign_for_organiser(request.user, public_id)
    form = InviteForm(request.POST or None, campaign=campaign)
    if request.method == "POST" and form.is_valid():
        expires_at, zone = form.cleaned_data["expires_at"], form.cleaned_data["time_zone"]
        if request.POST.get("action") == "regenerate":
            services.regenerate_invite(campaign, expires_at=expires_at, zone=zone, by=request.user)
            messages.success(request, "A new invite link is ready; the old one no longer works.")
        else:
            services.set_invite_expiry(campaign, expires_at, zone=zone, by=request.user)
            messages.success(request, "Expiry saved.")
        return redirect("campaigns:invite", campaign.public_id)
    invite_url = _invite_url(request, campaign)
    return render(
        request,
        "campaigns/invite.html",
        {
            "campaign": campaign,
            "form": form,
            "tab": "invite",
            "invite_url": invite_url,
            "invite_qr": services.invite_qr_svg(invite_url),
            "contacts_per_hour": rules.contacts_per_hour(campaign, timezone.now()),
            **services.volunteers_overview(campaign),
        },
    )


@organiser_required
@require_POST
def campaign_status(request, public_id):
    campaign = campaign_for_organiser(request.user, public_id)
    try:
        services.set_status(
            campaign, request.POST.get("status", ""), by=request.user, request=request
        )
        messages.success(request, f"Campaign is now {campaign.get_status_display().lower()}.")
    except services.CampaignError as exc:
        messages.error(request, str(exc))
    return redirect("campaigns:detail", campaign.public_id)


@organiser_required
@require_POST
def campaign_add_targets(request, public_id):
    campaign = campaign_for_organiser(request.user, public_id)
    added = targets.add_contacts(campaign)
    messages.success(request, f"{added} contacts added to the calling list.")
    return redirect("campaigns:detail", campaign.public_id)


@organiser_required
@require_POST
def volunteer_status(request, public_id, user_public_id):
    campaign = campaign_for_organiser(request.user, public_id)
    membership = get_object_or_404(
        campaign.memberships.select_related("user"), user__public_id=user_public_id
    )
    if request.POST.get("action") == "suspend":
        calling_services.suspend_volunteer(
            campaign, membership.user, by=request.user, request=request
        )
        messages.success(request, f"{membership.user.name} is suspended and holds no contact now.")
    elif request.POST.get("action") == "reinstate":
        calling_services.reinstate_volunteer(
            campaign, membership.user, by=request.user, request=request
        )
        messages.success(request, f"{membership.user.name} may call again.")
    elif request.POST.get("action") in ("approve", "reject"):
        decide = (
            services.approve_volunteer
            if request.POST["action"] == "approve"
            else services.reject_volunteer
        )
        try:
            decide(campaign, membership.user, by=request.user, request=request)
        except services.CampaignError as exc:
            messages.error(request, str(exc))
        else:
            done = "may call now" if request.POST["action"] == "approve" else "was turned away"
            messages.success(request, f"{membership.user.name} {done}.")
    else:
        messages.error(request, "Unknown action.")
    return redirect("campaigns:invite", campaign.public_id)


@organiser_required
@require_POST
def suspend_volunteers(request, public_id):
    """Suspend the ticked volunteers: first a page asking to confirm, naming them; then, on
    confirming, each is suspended and freed of the person they hold."""
    campaign = campaign_for_organiser(request.user, public_id)
    chosen = request.POST.getlist("volunteer")[:1000]
    members = list(
        campaign.memberships.filter(user__public_id__in=chosen)
        .exclude(status=Membership.Status.SUSPENDED)
        .select_related("user")
        .order_by("user__name")
    )
    if not members:
        messages.error(request, "Tick the volunteers to suspend first.")
        return redirect("campaigns:invite", campaign.public_id)
    if request.POST.get("confirmed") != "yes":
        context = {"campaign": campaign, "tab": "invite", "members": members}
        return render(request, "campaigns/suspend_confirm.html", context)
    suspended = calling_services.suspend_volunteers(
        campaign, [m.user.public_id for m in members], by=request.user, request=request
    )
    messages.success(request, f"{len(suspended)} volunteers suspended; they hold no contacts now.")
    return redirect("campaigns:invite", campaign.public_id)
