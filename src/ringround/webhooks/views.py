"""A team's webhooks: its endpoints, each one's delivery log, and sending again. Its
organisers and team admins (and admins) see them; anyone else gets a 404."""

from django.contrib import messages
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from ringround.accounts.permissions import organiser_required, team_for_organiser

from . import services, tasks
from .forms import EndpointForm
from .models import EVENTS, Delivery, Endpoint

LOG_LENGTH = 50


def _endpoint(request, team_id, endpoint_id):
    team = team_for_organiser(request.user, team_id)
    return get_object_or_404(
        Endpoint.objects.select_related("team"), team=team, public_id=endpoint_id
    )


def _secret_page(request, endpoint, *, new):
    """The one time the secret is shown: not kept by the browser or any cache."""
    return render(
        request, "webhooks/secret.html", {"team": endpoint.team, "endpoint": endpoint, "new": new}
    )


@organiser_required
@never_cache
def endpoints(request, team_id):
    team = team_for_organiser(request.user, team_id)
    form = EndpointForm(request.POST or None, creating=True)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        endpoint = services.create_endpoint(
            team,
            url=data["url"],
            events=data["events"],
            description=data["description"],
            by=request.user,
            request=request,
        )
        return _secret_page(request, endpoint, new=True)
    listed = team.webhook_endpoints.all()
    return render(
        request,
        "webhooks/endpoints.html",
        {"team": team, "endpoints": listed, "form": form, "events": EVENTS},
        status=400 if form.errors else 200,
    )


@organiser_required
def endpoint(request, team_id, endpoint_id):
    """One endpoint: its settings, and the last deliveries to it with how each went."""
    endpoint = _endpoint(request, team_id, endpoint_id)
    form = EndpointForm(request.POST or None, instance=endpoint)
    if request.method == "POST" and form.is_valid():
        services.change_endpoint(endpoint, **form.cleaned_data, by=request.user, request=request)
        messages.success(request, "Saved.")
        return redirect("webhooks:endpoint", endpoint.team.public_id, endpoint.public_id)
    deliveries = endpoint.deliveries.select_related("event")[:LOG_LENGTH]
    return render(
        request,
        "webhooks/endpoint.html",
        {"team": endpoint.team, "endpoint": endpoint, "form": form, "deliveries": deliveries},
        status=400 if form.errors else 200,
    )


@organiser_required
def endpoint_delete(request, team_id, endpoint_id):
    endpoint = _endpoint(request, team_id, endpoint_id)
    if request.method == "POST":
        services.delete_endpoint(endpoint, by=request.user, request=request)
        messages.success(request, f"{endpoint.url} will not be sent anything more.")
        return redirect("webhooks:endpoints", endpoint.team.public_id)
    return render(
        request, "webhooks/endpoint_delete.html", {"team": endpoint.team, "endpoint": endpoint}
    )


@organiser_required
@require_POST
@never_cache
def endpoint_secret(request, team_id, endpoint_id):
    endpoint = _endpoint(request, team_id, endpoint_id)
    services.roll_secret(endpoint, by=request.user, request=request)
    return _secret_page(request, endpoint, new=False)


@organiser_required
@require_POST
def endpoint_ping(request, team_id, endpoint_id):
    endpoint = _endpoint(request, team_id, endpoint_id)
    tasks.queue_send(services.ping(endpoint, by=request.user, request=request))
    messages.success(request, "A test event is on its way; it appears below once sent.")
    return redirect("webhooks:endpoint", endpoint.team.public_id, endpoint.public_id)


def _delivery(request, team_id, endpoint_id, delivery_id):
    endpoint = _endpoint(request, team_id, endpoint_id)
    found = Delivery.objects.select_related("event", "endpoint__team")
    return get_object_or_404(found, endpoint=endpoint, public_id=delivery_id)


@organiser_required
def delivery(request, team_id, endpoint_id, delivery_id):
    """Every attempt at one delivery, and what was sent."""
    found = _delivery(request, team_id, endpoint_id, delivery_id)
    return render(
        request,
        "webhooks/delivery.html",
        {
            "team": found.endpoint.team,
            "endpoint": found.endpoint,
            "delivery": found,
            "attempts": found.attempt_log.order_by("-number"),
            "body": services.body_of(found.event).decode(),
        },
    )


@organiser_required
@require_POST
def delivery_replay(request, team_id, endpoint_id, delivery_id):
    found = _delivery(request, team_id, endpoint_id, delivery_id)
    try:
        found = services.replay(found, by=request.user, request=request)
    except services.WebhookError as exc:
        messages.error(request, str(exc))
    else:
        tasks.queue_send(found)
        messages.success(request, "Sending again; the attempt is marked as a replay.")
    return redirect(
        "webhooks:delivery",
        found.endpoint.team.public_id,
        found.endpoint.public_id,
        found.public_id,
    )
