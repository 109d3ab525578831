from django.contrib import messages
from django.core.paginator import Paginator
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from ringround.campaigns.views import organiser_required

from . import services
from .forms import SuppressionForm
from .models import Suppression
from .phones import display


@organiser_required
def suppressions(request):
    form = SuppressionForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        services.suppress_number(
            form.cleaned_data["phone"],
            reason=form.cleaned_data["reason"],
            note=form.cleaned_data["note"],
            by=request.user,
            request=request,
        )
        messages.success(request, f"{display(form.cleaned_data['phone'])} will not be called.")
        return redirect("contacts:suppressions")
    query = request.GET.get("q", "").strip()
    rows = Suppression.objects.order_by("-created_at")
    if query:
        rows = rows.filter(phone__contains="".join(ch for ch in query if ch.isdigit()))
    page = Paginator(rows, 50).get_page(request.GET.get("page"))
    return render(
        request, "contacts/suppressions.html", {"form": form, "page": page, "query": query}
    )


@organiser_required
@require_POST
def unsuppress(request):
    phone = request.POST.get("phone", "")
    if services.unsuppress_number(phone, by=request.user, request=request):
        messages.success(request, f"{display(phone)} may be called again.")
    else:
        messages.error(request, "That number is not on the suppression list.")
    return redirect("contacts:suppressions")
