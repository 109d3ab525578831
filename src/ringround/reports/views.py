from django.http import StreamingHttpResponse
from django.shortcuts import render
from django.utils import timezone

from ringround.accounts.permissions import organiser_required
from ringround.audit.services import record_event
from ringround.campaigns.permissions import campaign_for_organiser

from . import services


@organiser_required
def results(request, public_id):
    campaign = campaign_for_organiser(request.user, public_id)
    context = {
        "campaign": campaign,
        "tab": "results",
        "figures": services.campaign_figures(campaign),
    }
    template = "reports/_figures.html" if request.htmx else "reports/results.html"
    return render(request, template, context)


@organiser_required
def export_calls(request, public_id):
    campaign = campaign_for_organiser(request.user, public_id)
    record_event(request.user, "export.calls", campaign, campaign=campaign, request=request)
    response = StreamingHttpResponse(
        services.export_rows(campaign), content_type="text/csv; charset=utf-8"
    )
    stamp = timezone.now().strftime("%Y%m%d-%H%M")
    response["Content-Disposition"] = (
        f'attachment; filename="calls-{campaign.public_id}-{stamp}.csv"'
    )
    return response
