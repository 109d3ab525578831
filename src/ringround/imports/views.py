"""Organiser pages for imports: upload, map the columns, watch it run, download the rejected
rows, resume, add its contacts to a campaign. Thin: they parse, call a service, and render."""

from django.contrib import messages
from django.http import Http404, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.csrf import csrf_exempt, csrf_protect
from django.views.decorators.http import require_POST

from ringround.accounts.models import Team
from ringround.accounts.permissions import organiser_required
from ringround.audit.services import record_event
from ringround.calling import targets
from ringround.campaigns.models import Campaign
from ringround.campaigns.permissions import campaign_for_organiser

from . import services
from .forms import AddToCampaignForm, ImportUploadForm, MappingForm
from .models import Import, SavedMapping
from .prediction import Prediction, predict
from .uploads import SizeLimitHandler, declared_too_big, stored_upload, upload_limit


def _campaigns(user, team=None):
    """The campaigns an import may add contacts to: the person's teams', or one team's."""
    campaigns = Campaign.objects.organised_by(user).select_related("team")
    if team is not None:
        campaigns = campaigns.filter(team=team)
    return campaigns.order_by("name")


def _upload_form(user, *args):
    teams = Team.objects.organised_by(user)
    return ImportUploadForm(*args, teams=teams, campaigns=_campaigns(user))


def _import_for(user, import_id) -> Import:
    job = Import.objects.visible_to(user).filter(public_id=import_id).first()
    if job is None:
        raise Http404("No such import")
    return job


@csrf_exempt  # the size is checked before the body is read; csrf_protect below checks the rest
@organiser_required
def imports(request):
    if request.method == "POST":
        if too_big := declared_too_big(request):
            form = _upload_form(request.user)
            problem = services.too_big_message(too_big, upload_limit())
            return _imports_page(request, form, status=413, problem=problem)
        request.upload_handlers.insert(0, SizeLimitHandler(request))
    return _imports(request)


@csrf_protect
def _imports(request):
    if request.method != "POST":
        return _imports_page(request, _upload_form(request.user))
    form = _upload_form(request.user, request.POST, request.FILES)

    def options(data):
        campaign = None
        if data.get("campaign"):
            campaign = campaign_for_organiser(request.user, data["campaign"])
        return {
            "team": data["team"],
            "default_country": data["default_country"],
            "campaign": campaign,
            "tags": data["tags"],
            "saved_mapping": None,
            "source": form.source(),
        }

    job = stored_upload(request, form, kind=Import.Kind.CONTACTS, options=options)
    if job is None:
        return _imports_page(request, form, status=400)
    saved = services.matching_saved_mapping(job)
    if saved is not None:
        services.apply_saved_mapping(job, saved)
        messages.info(request, f"The saved mapping “{saved.name}” fits this file and is chosen.")
    return redirect("imports:import", job.public_id)


def _imports_page(request, form, status=200, problem=""):
    jobs = Import.objects.visible_to(request.user).select_related("campaign")[:50]
    context = {"form": form, "imports": jobs, "upload_problem": problem}
    return render(request, "imports/imports.html", context, status=status)


@organiser_required
def import_detail(request, import_id):
    job = _import_for(request.user, import_id)
    if job.status == Import.Status.MAPPING:
        return _mapping(request, job)
    return render(request, "imports/import_detail.html", _status_context(request, job))


def _mapping(request, job):
    """The preview, the mapping form and what the import will do: correct the guesses, choose
    the rule for repeated people, check, then start."""
    saved_id = request.GET.get("mapping")
    if request.method == "GET" and saved_id and saved_id.isdigit():
        saved = SavedMapping.objects.filter(pk=saved_id, team_id=job.team_id).first()
        if saved is not None:
            services.apply_saved_mapping(job, saved)
    form = _mapping_form(request, job)
    prediction = None
    if request.method == "POST" and form.is_valid():
        if "check" in request.POST:  # without JavaScript: the page again, with its prediction
            prediction = predict(job, mapping=form.mapping(), repeats=form.cleaned_data["repeats"])
        else:
            try:
                services.set_mapping(
                    job,
                    form.mapping(),
                    save_as=form.cleaned_data["save_as"],
                    repeats=form.cleaned_data["repeats"],
                    by=request.user,
                )
                services.start_import(job, by=request.user, request=request)
            except services.MappingProblem as exc:
                form.add_error(None, str(exc))
            except services.ImportBusy:
                pass
            else:
                return redirect("imports:import", job.public_id)
    if prediction is None and not form.errors:
        prediction = predict(job)
    return render(
        request,
        "imports/import_mapping.html",
        {
            "job": job,
            "form": form,
            "detected": services.describe_file(job),
            "preview": job.preview_rows,
            "saved_mappings": SavedMapping.objects.filter(team_id=job.team_id),
            "prediction": prediction,
        },
        status=400 if form.errors else 200,
    )


def _mapping_form(request, job):
    data = request.POST if request.method == "POST" else None
    return MappingForm(data, headers=job.headers, mapping=job.mapping, repeats=job.repeats)


@organiser_required
@require_POST
def import_check(request, import_id):
    """What the import would do with the mapping and rule on the page (not saved): the
    prediction block alone, asked for by the page whenever a choice changes."""
    job = _import_for(request.user, import_id)
    if job.status != Import.Status.MAPPING:
        raise Http404("This import has started")
    form = _mapping_form(request, job)
    if form.is_valid():
        prediction = predict(job, mapping=form.mapping(), repeats=form.cleaned_data["repeats"])
    else:
        prediction = Prediction(
            problems=[str(e) for e in form.non_field_errors()]
            or ["Choose a field for every column."]
        )
    return render(request, "imports/_prediction.html", {"job": job, "prediction": prediction})


def _status_context(request, job):
    context = {
        "job": job,
        "detected": services.describe_file(job),
        "no_worker": services.waiting_for_no_worker(job),
    }
    if job.status == Import.Status.DONE and job.kind == Import.Kind.CONTACTS:
        context["targets_form"] = AddToCampaignForm(campaigns=_campaigns(request.user, job.team))
    return context


@organiser_required
def import_progress(request, import_id):
    """The status block alone, polled by the page every second while the import runs."""
    job = _import_for(request.user, import_id)
    return render(request, "imports/_import_status.html", _status_context(request, job))


@organiser_required
def import_rejected(request, import_id):
    job = _import_for(request.user, import_id)
    record_event(request.user, "import.rejected_rows", job, campaign=job.campaign, request=request)
    response = StreamingHttpResponse(
        services.rejected_rows_csv(job), content_type="text/csv; charset=utf-8"
    )
    response["Content-Disposition"] = f'attachment; filename="rejected-rows-{job.public_id}.csv"'
    return response


@organiser_required
@require_POST
def import_resume(request, import_id):
    job = _import_for(request.user, import_id)
    try:
        services.resume_import(job, by=request.user, request=request)
    except services.ImportBusy as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, "The import carries on from where it stopped.")
    return redirect("imports:import", job.public_id)


@organiser_required
@require_POST
def import_targets(request, import_id):
    job = _import_for(request.user, import_id)
    form = AddToCampaignForm(request.POST, campaigns=_campaigns(request.user, job.team))
    if not form.is_valid():
        context = _status_context(request, job)
        context["targets_form"] = form
        return render(request, "imports/import_detail.html", context, status=400)
    campaign = campaign_for_organiser(request.user, form.cleaned_data["campaign"])
    if campaign.team_id != job.team_id:
        raise Http404("No such campaign")
    which = form.cleaned_data["which"]
    added = targets.add_contacts_to_campaign(
        campaign,
        source=job.source_label if which == "import" else "",
        tag=form.cleaned_data["tag"] if which == "tag" else "",
        area=form.cleaned_data["area"] if which == "area" else "",
        by=request.user,
        request=request,
    )
    messages.success(request, f"{added:,} contacts added to “{campaign.name}”.")
    return redirect("imports:import", job.public_id)
