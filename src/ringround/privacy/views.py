"""Admin pages for data-protection requests: find a person, then give them their data,
erase it, or stop them being called. Thin: every change is one call to ``services``.

The search is a POST so that numbers and email addresses stay out of URLs and server logs."""

import json

from django.contrib import messages
from django.core.serializers.json import DjangoJSONEncoder
from django.db.models import Count
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST

from ringround.accounts.permissions import admin_required
from ringround.audit.services import record_event
from ringround.contacts.models import Contact, Suppression
from ringround.contacts.phones import display

from . import services
from .forms import EraseForm, ObjectionForm, SearchForm


def _contact_or_404(public_id: str) -> Contact:
    contact = Contact.objects.filter(public_id=public_id).first()
    if contact is None:
        raise Http404("No such contact")
    return contact


@admin_required
@require_http_methods(["GET", "POST"])
def search(request):
    form = SearchForm(request.POST if request.method == "POST" else None)
    context = {"form": form}
    if request.method == "POST" and form.is_valid():
        found = form.cleaned_data["query"]
        contacts = list(
            services.find_contacts(found).annotate(
                campaign_count=Count("targets", distinct=True),
                call_count=Count("targets__calls", distinct=True),
            )
        )
        for contact in contacts:
            contact.erased = services.is_erased(contact)
            contact.numbers = [(n, display(n)) for n in services.contact_numbers(contact)]
        record_event(
            request.user,
            "privacy.search",
            None,
            request=request,
            by=found.kind,
            matches=[c.public_id for c in contacts],
        )
        context.update(
            found=found,
            contacts=contacts,
            number=(found.value, display(found.value)) if found.kind == "phone" else None,
            suppressed=found.kind == "phone"
            and Suppression.objects.filter(phone=found.value, team=None).exists(),
        )
    return render(request, "privacy/search.html", context)


@admin_required
@require_POST
def subject_access(request, public_id):
    contact = _contact_or_404(public_id)
    report = services.subject_access([contact], by=request.user, request=request)
    response = HttpResponse(
        json.dumps(report, cls=DjangoJSONEncoder, indent=2, ensure_ascii=False),
        content_type="application/json; charset=utf-8",
    )
    stamp = timezone.now().strftime("%Y%m%d-%H%M")
    response["Content-Disposition"] = (
        f'attachment; filename="subject-access-{contact.public_id}-{stamp}.json"'
    )
    response["Cache-Control"] = "no-store"
    return response


@admin_required
@require_http_methods(["GET", "POST"])
def erase(request, public_id):
    contact = _contact_or_404(public_id)
    if services.is_erased(contact):
        messages.error(request, "This contact's personal data has already been erased.")
        return redirect("privacy:search")
    form = EraseForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        try:
            result = services.erase_contact(contact, by=request.user, request=request)
        except services.PrivacyError as exc:
            messages.error(request, str(exc))
            return redirect("privacy:search")
        messages.success(
            request,
            f"Contact {contact.public_id} erased. {result.calls} past call"
            f"{'' if result.calls == 1 else 's'} kept without personal data; "
            f"{result.numbers_suppressed} number{'' if result.numbers_suppressed == 1 else 's'} "
            "added to the suppression list.",
        )
        return redirect("privacy:search")
    if request.method == "GET":
        record_event(request.user, "contact.view", contact, request=request, page="erase_confirm")
    return render(
        request,
        "privacy/erase_confirm.html",
        {
            "contact": contact,
            "form": form,
            "numbers": [display(n) for n in services.contact_numbers(contact)],
            "campaign_count": contact.targets.count(),
            "call_count": contact.targets.aggregate(n=Count("calls"))["n"],
        },
        status=400 if form.is_bound else 200,
    )


@admin_required
@require_POST
def objection(request):
    form = ObjectionForm(request.POST)
    if not form.is_valid():
        messages.error(request, form.errors["phone"][0])
        return redirect("privacy:search")
    services.object_to_contact(form.cleaned_data["phone"], by=request.user, request=request)
    messages.success(
        request,
        f"{display(form.cleaned_data['phone'])} is on the suppression list: "
        "no campaign will call it again.",
    )
    return redirect("privacy:search")
