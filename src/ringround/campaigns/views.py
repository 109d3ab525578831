"""Organiser pages: thin views over campaigns.services."""

from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from ringround.accounts.models import Team
from ringround.accounts.permissions import organiser_required
from ringround.calling import rules, targets
from ringround.calling import services as calling_services

from . import services
from .forms import CampaignForm, InviteForm, OutcomeCodeForm, QuestionForm, ScriptForm
from .models import Campaign, Membership
from .permissions import campaign_for_organiser
from .scripts import merge_field_names, render_script

SAMPLE_CONTACT = {
    "first_name": "Alex",
    "last_name": "Example",
    "full_name": "Alex Example",
    "area": "Holborn and St Pancras",
    "postcode": "WC1X 8AA",
    "email": "alex@example.org",
    "phone": "+44 20 7946 0000",
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
        campaign = services.create_campaign(request.user, **data)
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
            "invite_url": request.build_absolute_uri(f"/accounts/join/{campaign.invite_token}/"),
            "target_count": campaign.targets.count(),
            "statuses": Campaign.Status.choices,
        },
    )


@organiser_required
def campaign_edit(request, public_id):
    campaign = campaign_for_organiser(request.user, public_id)
    form = CampaignForm(request.POST or None, instance=campaign)
    if request.method == "POST" and form.is_valid():
        form.save()
        messages.success(request, "Settings saved.")
        return redirect("campaigns:detail", campaign.public_id)
    return render(
        request, "campaigns/form.html", {"form": form, "campaign": campaign, "tab": "settings"}
    )


@organiser_required
def campaign_script(request, public_id):
    campaign = campaign_for_organiser(request.user, public_id)
    form = ScriptForm(request.POST or None, instance=campaign)
    if request.method == "POST" and form.is_valid():
        form.save()
        messages.success(request, "Script saved.")
        return redirect("campaigns:script", campaign.public_id)
    return render(
        request,
        "campaigns/script.html",
        {
            "campaign": campaign,
            "form": form,
            "tab": "script",
            "preview": render_script(campaign.script, campaign.script_fields(SAMPLE_CONTACT)),
            "fields": merge_field_names(campaign.script),
            "hidden": sorted(
                set(merge_field_names(campaign.script)) & campaign.hidden_merge_fields()
            ),
        },
    )


@organiser_required
@require_POST
def script_preview(request, public_id):
    campaign = campaign_for_organiser(request.user, public_id)
    script = request.POST.get("script", "")[:50_000]
    return HttpResponse(render_script(script, campaign.script_fields(SAMPLE_CONTACT)))


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


@organiser_required
def campaign_invite(request, public_id):
    campaign = campaign_for_organiser(request.user, public_id)
    form = InviteForm(request.POST or None, initial={"expires_at": campaign.invite_expires_at})
    if request.method == "POST" and form.is_valid():
        if request.POST.get("action") == "regenerate":
            services.regenerate_invite(
                campaign, expires_at=form.cleaned_data["expires_at"], by=request.user
            )
            messages.success(request, "A new invite link is ready; the old one no longer works.")
        else:
            campaign.invite_expires_at = form.cleaned_data["expires_at"]
            campaign.save(update_fields=["invite_expires_at"])
            messages.success(request, "Expiry saved.")
        return redirect("campaigns:invite", campaign.public_id)
    return render(
        request,
        "campaigns/invite.html",
        {
            "campaign": campaign,
            "form": form,
            "tab": "invite",
            "invite_url": request.build_absolute_uri(f"/accounts/join/{campaign.invite_token}/"),
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
