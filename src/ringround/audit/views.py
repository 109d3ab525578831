"""Admin pages over the audit trail: filter, page through, export. Nothing here changes it."""

import csv
import json

from django.core.paginator import Paginator
from django.http import HttpResponse, StreamingHttpResponse
from django.shortcuts import render
from django.utils import timezone

from ringround.accounts.permissions import admin_required
from ringround.csvsafe import Echo, neutralise

from .forms import AuditFilterForm
from .models import AuditEvent
from .services import record_event

PER_PAGE = 50
EXPORT_HEADER = [
    "at",
    "actor_email",
    "action",
    "object_type",
    "object_id",
    "campaign_id",
    "ip_address",
    "detail",
]


def _events():
    return AuditEvent.objects.select_related("actor").order_by("-at", "-id")


@admin_required
def events(request):
    form = AuditFilterForm(request.GET or None)
    if form.is_bound and not form.is_valid():
        page = Paginator(AuditEvent.objects.none(), PER_PAGE).get_page(1)
    else:
        rows = form.filter(_events()) if form.is_bound else _events()
        page = Paginator(rows, PER_PAGE).get_page(request.GET.get("page"))
        for event in page:
            event.detail_text = _detail_text(event.detail)
    known_actions = (
        AuditEvent.objects.order_by("action").values_list("action", flat=True).distinct()
    )
    return render(
        request,
        "audit/events.html",
        {"form": form, "page": page, "known_actions": list(known_actions)},
    )


@admin_required
def export_events(request):
    form = AuditFilterForm(request.GET)
    if not form.is_valid():
        errors = "; ".join(e for errs in form.errors.values() for e in errs)
        return HttpResponse(
            f"The filters are not valid: {errors}", status=400, content_type="text/plain"
        )
    record_event(request.user, "audit.export", None, request=request, filters=form.used())
    response = StreamingHttpResponse(
        _export_rows(form.filter(_events())), content_type="text/csv; charset=utf-8"
    )
    stamp = timezone.now().strftime("%Y%m%d-%H%M")
    response["Content-Disposition"] = f'attachment; filename="audit-{stamp}.csv"'
    return response


def _export_rows(events):
    writer = csv.writer(Echo())
    yield writer.writerow(EXPORT_HEADER)
    for event in events.iterator(chunk_size=2000):
        row = [
            event.at.isoformat(),
            event.actor.email if event.actor else "",
            event.action,
            event.object_type,
            event.object_id,
            event.campaign_id or "",
            event.ip_address or "",
            _detail_text(event.detail),
        ]
        yield writer.writerow([neutralise(v) for v in row])


def _detail_text(detail) -> str:
    return json.dumps(detail, sort_keys=True, ensure_ascii=False) if detail else ""
