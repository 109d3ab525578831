"""Organiser pages for the suppression list. Thin: they parse, call a service, and render.
(Suppressing stops call targets, so it is ``calling.targets``; a list file is an import.)"""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.shortcuts import redirect, render
from django.views.decorators.csrf import csrf_exempt, csrf_protect
from django.views.decorators.http import require_POST

from ringround.accounts.models import Team
from ringround.accounts.permissions import organiser_required
from ringround.calling import targets
from ringround.imports import services as import_services
from ringround.imports.forms import SuppressionUploadForm
from ringround.imports.models import Import
from ringround.imports.uploads import (
    SizeLimitHandler,
    declared_too_big,
    stored_upload,
    upload_limit,
)

from .forms import SuppressionForm, scope_from, suppression_scopes
from .models import Suppression
from .phones import display

# -- suppression list ------------------------------------------------------------------------


@organiser_required
def suppressions(request):
    form = SuppressionForm(request.POST or None, user=request.user)
    if request.method == "POST" and form.is_valid():
        targets.suppress_number(
            form.cleaned_data["phone"],
            team=form.cleaned_data["scope"],
            reason=form.cleaned_data["reason"],
            note=form.cleaned_data["note"],
            by=request.user,
            request=request,
        )
        messages.success(request, f"{display(form.cleaned_data['phone'])} will not be called.")
        return redirect("contacts:suppressions")
    return _suppressions_page(request, form, SuppressionUploadForm(user=request.user))


def _suppressions_page(request, form, upload_form, status=200, problem=""):
    """The person's teams' entries, and for an admin those for every team too. (An organiser
    is told how many numbers every team's list holds, not which: they are other teams'
    people.)"""
    query = request.GET.get("q", "").strip()
    teams = Team.objects.organised_by(request.user)
    rows = Suppression.objects.select_related("team", "created_by", "campaign")
    if request.user.is_superuser:
        everywhere = None
    else:
        rows = rows.filter(team__in=teams)
        everywhere = Suppression.objects.filter(team=None).count()
    rows = rows.order_by("-created_at", "-pk")
    if query:
        rows = rows.filter(phone__contains="".join(ch for ch in query if ch.isdigit()))
    page = Paginator(rows, 50).get_page(request.GET.get("page"))
    recent = Import.objects.visible_to(request.user).filter(kind=Import.Kind.SUPPRESSIONS)[:5]
    return render(
        request,
        "contacts/suppressions.html",
        {
            "form": form,
            "upload_form": upload_form,
            "page": page,
            "query": query,
            "imports": recent,
            "upload_problem": problem,
            "everywhere": everywhere,
            "several_scopes": len(suppression_scopes(request.user)) > 1,
        },
        status=status,
    )


@organiser_required
@require_POST
def unsuppress(request):
    phone = request.POST.get("phone", "")
    try:
        team = scope_from(request.user, request.POST.get("scope", ""))
    except ValidationError:
        team = False  # not a list this person may change: as if the number were not on it
    if team is not False and targets.unsuppress_number(
        phone, team=team, by=request.user, request=request
    ):
        messages.success(request, f"{display(phone)} may be called again.")
    else:
        messages.error(request, "That number is not on the suppression list.")
    return redirect("contacts:suppressions")


@csrf_exempt  # the size is checked before the body is read; csrf_protect below checks the rest
@organiser_required
@require_POST
def suppression_import(request):
    if too_big := declared_too_big(request):
        problem = import_services.too_big_message(too_big, upload_limit())
        return _suppressions_page(
            request,
            SuppressionForm(user=request.user),
            SuppressionUploadForm(user=request.user),
            status=413,
            problem=problem,
        )
    request.upload_handlers.insert(0, SizeLimitHandler(request))
    return _suppression_import(request)


@csrf_protect
def _suppression_import(request):
    form = SuppressionUploadForm(request.POST, request.FILES, user=request.user)
    job = stored_upload(
        request,
        form,
        kind=Import.Kind.SUPPRESSIONS,
        options=lambda data: {
            "team": data["scope"],
            "suppression_reason": data["reason"],
            "default_country": data["default_country"],
        },
    )
    if job is None:
        return _suppressions_page(request, SuppressionForm(user=request.user), form, status=400)
    import_services.start_import(job, by=request.user, request=request)
    return redirect("imports:import", job.public_id)
