"""The exports page: ask for an export, watch it being written, download it. Organisers of
the campaign's team only (another team's campaign or export is a 404)."""

from django.conf import settings
from django.http import FileResponse, Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.cache import patch_cache_control
from django.views.decorators.http import require_http_methods

from ringround.accounts.permissions import organiser_required
from ringround.campaigns.permissions import campaign_for_organiser
from ringround.imports.workers import worker_alive

from . import exports
from .models import Export
from .tasks import start_export


def _export_for(user, public_id, export_id) -> Export:
    campaign = campaign_for_organiser(user, public_id)
    return get_object_or_404(
        Export.objects.select_related("campaign"), campaign=campaign, public_id=export_id
    )


def _status_context(job: Export) -> dict:
    return {
        "job": job,
        "kind": exports.EXPORTS.get(job.kind),
        "stalled": exports.is_stalled(job),
        "no_worker": job.status == Export.Status.QUEUED and not worker_alive(),
    }


@organiser_required
@require_http_methods(["GET", "POST"])
def exports_page(request, public_id):
    campaign = campaign_for_organiser(request.user, public_id)
    error = ""
    if request.method == "POST":
        kind, file_format = request.POST.get("kind", ""), request.POST.get("format", "")
        if kind in exports.EXPORTS and file_format in Export.Format.values:
            try:
                start_export(
                    campaign,
                    kind,
                    file_format,
                    by=request.user,
                    request=request,
                    reason=request.POST.get("reason", ""),
                )
            except exports.ReasonNeeded as exc:
                error = str(exc)
            else:
                return redirect("reports:exports", campaign.public_id)
        else:
            error = "Choose what to export and as what kind of file."
    jobs = exports.exports_of(campaign)
    return render(
        request,
        "reports/exports.html",
        {
            "campaign": campaign,
            "tab": "results",
            "kinds": list(exports.kinds()),
            "formats": Export.Format.choices,
            "jobs": [_status_context(job) for job in jobs],
            "error": error,
            "keep_hours": settings.RINGROUND_EXPORTS_KEEP_HOURS,
            "needs_reason": campaign.has_opinion_questions(),
        },
        status=400 if error else 200,
    )


@organiser_required
def export_status(request, public_id, export_id):
    """One export's status alone, polled by the page while it is written."""
    job = _export_for(request.user, public_id, export_id)
    return render(request, "reports/_export_status.html", _status_context(job))


@organiser_required
def export_download(request, public_id, export_id):
    job = _export_for(request.user, public_id, export_id)
    path = exports.full_path(job) if job.status == Export.Status.DONE else None
    if path is None:
        raise Http404("This export has no file to download.")
    exports.downloaded(job, by=request.user, request=request)
    response = FileResponse(path.open("rb"), as_attachment=True, filename=job.file_name)
    patch_cache_control(response, no_store=True, no_cache=True, private=True, max_age=0)
    return response
