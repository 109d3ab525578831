"""Organiser pages for the suppression list. Thin: they parse, call a service, and render.
(Suppressing stops call targets, so it is ``calling.targets``; a list file is an import.)"""

from django.contrib import messages
from django.core.paginator import Paginator
from django.shortcuts import redirect, render
from django.views.decorators.csrf import csrf_exempt, csrf_protect
from django.views.decorators.http import require_POST

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

from .forms import SuppressionForm
from .models import Suppression
from .phones import display

# -- suppression list ------------------------------------------------------------------------


@organiser_required
def suppressions(request):
    form = SuppressionForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        targets.suppress_number(
            form.cleaned_data["phone"],
            reason=form.cleaned_data["reason"],
            note=form.cleaned_data["note"],
            by=request.user,
            request=request,
        )
        messages.success(request, f"{display(form.cleaned_data['phone'])} will not be called.")
        return redirect("contacts:suppressions")
    return _suppressions_page(request, form, SuppressionUploadForm())


def _suppressions_page(request, form, upload_form, status=200, problem=""):
    query = request.GET.get("q", "").strip()
    rows = Suppression.objects.order_by("-created_at")
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
        },
        status=status,
    )


@organiser_required
@require_POST
def unsuppress(request):
    phone = request.POST.get("phone", "")
    if targets.unsuppress_number(phone, by=request.user, request=request):
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
            request, SuppressionForm(), SuppressionUploadForm(), status=413, problem=problem
        )
    request.upload_handlers.insert(0, SizeLimitHandler(request))
    return _suppression_import(request)


@csrf_protect
def _suppression_import(request):
    form = SuppressionUploadForm(request.POST, request.FILES)
    job = stored_upload(
        request,
        form,
        kind=Import.Kind.SUPPRESSIONS,
        options=lambda data: {
            "suppression_reason": data["reason"],
            "default_country": data["default_country"],
        },
    )
    if job is None:
        return _suppressions_page(request, SuppressionForm(), form, status=400)
    import_services.start_import(job, by=request.user, request=request)
    return redirect("imports:import", job.public_id)
