from django.core.paginator import Paginator
from django.http import StreamingHttpResponse
from django.shortcuts import get_object_or_404, render
from django.utils import timezone

from ringround.accounts.permissions import organiser_required
from ringround.audit.services import record_event
from ringround.calling import room
from ringround.campaigns.models import Question
from ringround.campaigns.permissions import campaign_for_organiser

from . import exports, services

ANSWERS_PER_PAGE = 25


@organiser_required
def results(request, public_id):
    campaign = campaign_for_organiser(request.user, public_id)
    context = {
        "campaign": campaign,
        "tab": "results",
        "figures": services.campaign_figures(campaign),
        "areas": services.progress_by_area(campaign),
    }
    template = "reports/_figures.html" if request.htmx else "reports/results.html"
    return render(request, template, context)


@organiser_required
def answers(request, public_id):
    """A free-text question's answers, latest first, searchable, a page at a time."""
    campaign = campaign_for_organiser(request.user, public_id)
    questions = list(campaign.questions.filter(kind=Question.Kind.TEXT))
    question = None
    if request.GET.get("question", "").isdigit():
        question = get_object_or_404(
            campaign.questions, pk=request.GET["question"], kind=Question.Kind.TEXT
        )
    elif questions:
        question = questions[0]
    search = request.GET.get("q", "").strip()[:200]
    page = None
    if question is not None:
        found = services.text_answers(campaign, question, search)
        page = Paginator(found, ANSWERS_PER_PAGE).get_page(request.GET.get("page"))
        # Answers are what people said, in their words: who read them is recorded.
        record_event(
            request.user,
            "results.answers_viewed",
            campaign,
            campaign=campaign,
            request=request,
            question=question.key,
            page=page.number,
        )
    return render(
        request,
        "reports/answers.html",
        {
            "campaign": campaign,
            "tab": "results",
            "questions": questions,
            "question": question,
            "search": search,
            "page": page,
        },
    )


@organiser_required
def export_calls(request, public_id):
    campaign = campaign_for_organiser(request.user, public_id)
    try:
        terms = exports.special_category_terms(campaign, request.GET.get("reason", ""))
    except exports.ReasonNeeded as exc:
        status = 400 if "reason" in request.GET else 200
        context = {"campaign": campaign, "tab": "results", "problem": str(exc)}
        return render(request, "reports/export_reason.html", context, status=status)
    record_event(
        request.user, "export.calls", campaign, campaign=campaign, request=request, **terms
    )
    response = StreamingHttpResponse(
        services.export_rows(campaign), content_type="text/csv; charset=utf-8"
    )
    stamp = timezone.now().strftime("%Y%m%d-%H%M")
    response["Content-Disposition"] = (
        f'attachment; filename="calls-{campaign.public_id}-{stamp}.csv"'
    )
    return response


@organiser_required
def live(request, public_id):
    """The live room: figures that refresh themselves (HTMX polls the partial)."""
    campaign = campaign_for_organiser(request.user, public_id)
    context = {
        "campaign": campaign,
        "tab": "live",
        "live": services.live_figures(campaign),
        "asking_for_help": list(room.waiting_for_help(campaign)),
    }
    template = "reports/_live.html" if request.htmx else "reports/live.html"
    return render(request, template, context)
