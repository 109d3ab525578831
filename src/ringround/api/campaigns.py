"""The caller's campaigns, one campaign's survey and outcomes, and an organiser's live figures."""

from django.http import Http404
from ninja import Field, Router, Schema

from ringround.campaigns.models import Campaign, Membership
from ringround.campaigns.permissions import campaign_for_organiser
from ringround.reports.services import campaign_figures

from .errors import ERROR_RESPONSES, ApiError

router = Router(tags=["campaigns"])


class CampaignOut(Schema):
    public_id: str
    name: str
    status: str
    organiser: bool = Field(description="The caller organises this campaign.")
    volunteer: str | None = Field(
        description="The caller's membership: 'active', 'suspended', or null if not joined."
    )


class QuestionOut(Schema):
    key: str
    text: str
    kind: str
    options: list[str]
    required: bool


class OutcomeCodeOut(Schema):
    code: str
    label: str
    is_conversation: bool = Field(description="The person was reached: the survey applies.")


class CampaignDetailOut(CampaignOut):
    brief: str
    questions: list[QuestionOut]
    outcomes: list[OutcomeCodeOut]


class OutcomeCount(Schema):
    outcome: str
    calls: int


class VolunteerCount(Schema):
    volunteer: str
    calls: int
    conversations: int


class OptionCount(Schema):
    option: str
    count: int


class AnswerTally(Schema):
    question: str
    key: str
    counts: list[OptionCount]
    total: int


class StatsOut(Schema):
    total: int = Field(description="Contacts targeted.")
    done: int = Field(description="Finished: done, attempts used up, or suppressed.")
    ready: int
    waiting: int = Field(description="Waiting for a retry.")
    held: int = Field(description="Leased to a volunteer now.")
    percent_done: int
    calls: int
    by_outcome: list[OutcomeCount]
    per_volunteer: list[VolunteerCount]
    answers: list[AnswerTally]


def _visible_campaigns(user):
    """Campaigns the caller organises or has joined, with their role in each."""
    organised = set(Campaign.objects.organised_by(user).values_list("pk", flat=True))
    joined = dict(Membership.objects.filter(user=user).values_list("campaign_id", "status"))
    return organised, joined


def _describe(campaign, organised, joined) -> dict:
    return {
        "public_id": campaign.public_id,
        "name": campaign.name,
        "status": campaign.status,
        "organiser": campaign.pk in organised,
        "volunteer": joined.get(campaign.pk),
    }


@router.get("/campaigns", response={200: list[CampaignOut], **ERROR_RESPONSES})
def list_campaigns(request):
    """The campaigns the caller organises or has joined."""
    organised, joined = _visible_campaigns(request.auth)
    campaigns = Campaign.objects.filter(pk__in=organised | set(joined)).order_by("name", "pk")
    return [_describe(c, organised, joined) for c in campaigns]


@router.get("/campaigns/{public_id}", response={200: CampaignDetailOut, **ERROR_RESPONSES})
def campaign_detail(request, public_id: str):
    """One campaign's brief, survey questions and outcome codes: what a caller records."""
    organised, joined = _visible_campaigns(request.auth)
    campaign = (
        Campaign.objects.filter(public_id=public_id, pk__in=organised | set(joined))
        .prefetch_related("questions", "outcomes")
        .first()
    )
    if campaign is None:
        raise Http404("No such campaign")
    return {
        **_describe(campaign, organised, joined),
        "brief": campaign.brief,
        "questions": [
            {
                "key": q.key,
                "text": q.text,
                "kind": q.kind,
                "options": q.options(),
                "required": q.required,
            }
            for q in campaign.questions.all()
        ],
        "outcomes": list(campaign.outcomes.all()),
    }


@router.get("/campaigns/{public_id}/stats", response={200: StatsOut, **ERROR_RESPONSES})
def campaign_stats(request, public_id: str):
    """Live figures for organisers (cached for a few seconds, as on the results page)."""
    try:
        campaign = campaign_for_organiser(request.auth, public_id)
    except Http404:
        if Membership.objects.filter(user=request.auth, campaign__public_id=public_id).exists():
            raise ApiError(
                403, "not_an_organiser", "Only this campaign's organisers see its figures."
            ) from None
        raise
    figures = campaign_figures(campaign)
    return {
        **{
            key: figures[key]
            for key in ("total", "done", "ready", "waiting", "held", "percent_done", "calls")
        },
        "by_outcome": [
            {"outcome": row["outcome__label"], "calls": row["n"]} for row in figures["by_outcome"]
        ],
        "per_volunteer": [
            {
                "volunteer": row["volunteer__name"] or "",
                "calls": row["n"],
                "conversations": row["conversations"],
            }
            for row in figures["per_volunteer"]
        ],
        "answers": [
            {
                "question": row["question"].text,
                "key": row["question"].key,
                "counts": [{"option": o, "count": n} for o, n in row["counts"]],
                "total": row["total"],
            }
            for row in figures["answers"]
        ],
    }
