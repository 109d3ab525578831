"""A team's compliance pages: its records for the data-protection officer, its TPS/CTPS
screening, "does not object" statements and settings. Organisers of the team (and admins) see
them and keep the screening; the team's admins change the settings. Another team's: 404."""

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from ringround.accounts.permissions import may_manage_team, organiser_required, team_for_organiser
from ringround.audit.services import record_event
from ringround.calling import targets
from ringround.privacy import records

from . import services
from .forms import NoObjectionForm, PolicyForm, ScreeningForm
from .hours import UK

UK_ZONE = f"{UK}|Europe/London"


def _page(request, team, *, screening_form=None, statement_form=None, status=200):
    figures = records.team_figures(team)
    context = {
        "team": team,
        "figures": figures,
        "manages": may_manage_team(request.user, team),
        "screening_form": screening_form or ScreeningForm(),
        "statement_form": statement_form or NoObjectionForm(),
        "screening_problem": services.screening_problem(
            figures.policy, [UK_ZONE], figures.now, subject="The team's campaigns cannot call"
        ),
    }
    return render(request, "compliance/page.html", context, status=status)


@organiser_required
def compliance_page(request, team_id):
    team = team_for_organiser(request.user, team_id)
    return _page(request, team)


@organiser_required
@require_POST
def screening_upload(request, team_id):
    team = team_for_organiser(request.user, team_id)
    form = ScreeningForm(request.POST, request.FILES)
    if form.is_valid():
        uploaded = form.cleaned_data["file"]
        try:
            screening = services.load_screening(
                team,
                uploaded.read(),
                kind=form.cleaned_data["kind"],
                file_name=uploaded.name or "",
                by=request.user,
                request=request,
            )
        except services.ScreeningFileError as exc:
            form.add_error("file", str(exc))
        else:
            targets.stop_screened(team)
            targets.reopen_unscreened(team, screening.removed_numbers)
            messages.success(
                request,
                f"Screening loaded: {screening.numbers} numbers screened ({screening.added} "
                f"added, {screening.removed} removed). UK numbers may be called until "
                f"{services.TeamPolicy.for_team(team.pk).screening_expires_at():%d %B %Y}.",
            )
            return redirect("compliance:page", team.public_id)
    return _page(request, team, screening_form=form, status=400)


@organiser_required
@require_POST
def no_objection(request, team_id):
    team = team_for_organiser(request.user, team_id)
    form = NoObjectionForm(request.POST)
    if form.is_valid():
        try:
            recorded = services.record_no_objection_for_number(
                team,
                form.cleaned_data["phone"],
                how=form.cleaned_data["how"],
                note=form.cleaned_data["note"],
                by=request.user,
                request=request,
            )
        except services.ComplianceError as exc:
            form.add_error("phone", str(exc))
        else:
            for statement in recorded:
                targets.reopen_for_statement(statement.contact)
            messages.success(
                request,
                f"Recorded for {len(recorded)} contact{'s' if len(recorded) != 1 else ''}: "
                "they may be called though their number is on TPS/CTPS.",
            )
            return redirect("compliance:page", team.public_id)
    return _page(request, team, statement_form=form, status=400)


@organiser_required
def policy_settings(request, team_id):
    team = team_for_organiser(request.user, team_id)
    if not may_manage_team(request.user, team):
        raise PermissionDenied("Only the team's admins change its compliance settings.")
    policy = services.TeamPolicy.for_team(team.pk)
    form = PolicyForm(request.POST or None, instance=policy)
    if request.method == "POST" and form.is_valid():
        values = {name: form.cleaned_data[name] for name in services.POLICY_FIELDS}
        services.save_policy(team, by=request.user, request=request, **values)
        messages.success(request, "Compliance settings saved.")
        return redirect("compliance:page", team.public_id)
    status = 400 if request.method == "POST" else 200
    return render(request, "compliance/settings.html", {"team": team, "form": form}, status=status)


@organiser_required
def record_download(request, team_id):
    """The record of processing, as a Markdown file (its download is audited)."""
    team = team_for_organiser(request.user, team_id)
    document = records.record_of_processing(records.team_figures(team))
    record_event(request.user, "compliance.record_downloaded", team, request=request)
    response = HttpResponse(document, content_type="text/markdown; charset=utf-8")
    response["Content-Disposition"] = (
        f'attachment; filename="record-of-processing-{team.public_id}.md"'
    )
    return response
