"""The records a data-protection officer asks for, per team: the compliance page's figures and
the record of processing built from them (UK GDPR Art. 30). Every figure is a count over the
stored rows, recounted by the tests; nothing here changes data."""

import datetime as dt
from dataclasses import dataclass, field

from django.db.models import Count, Exists, OuterRef, Q
from django.utils import timezone

from ringround.audit.models import AuditEvent
from ringround.calling.models import Call
from ringround.campaigns.models import Campaign, Question
from ringround.compliance.models import (
    SCREENING_VALID_DAYS,
    DataSource,
    NoObjection,
    ScreenedNumber,
    Screening,
    TeamPolicy,
)
from ringround.contacts.models import Contact, Suppression

from .services import retention_days

RETENTION_ACTIONS = ("privacy.retention", "privacy.register_destroyed", "privacy.opinions_erased")
EXPORT_ACTIONS = ("export.calls", "export.requested")


@dataclass
class Objections:
    """People who asked not to be called (a volunteer's "do not call again", the privacy
    pages): how many, and whether any call reached their number after they asked."""

    total: int
    honoured: int  # no call to the number, in the team's campaigns, after it was recorded
    calls_after: int
    slowest_seconds: float | None  # longest from the call where they asked to the entry


@dataclass
class Figures:
    team: object
    policy: TeamPolicy
    now: dt.datetime
    last_screening: Screening | None
    screened_numbers: int
    screening_current: bool
    statements: int
    suppressions: dict  # reason label -> count (the team's own entries)
    suppressions_everywhere: dict  # reason label -> count (entries for every team)
    objections: Objections
    retention_runs: list
    special_exports: list
    sources: list
    register_contacts: int
    opinion_questions: list = field(default_factory=list)
    site_retention_days: int = 0


def team_figures(team, *, now: dt.datetime | None = None) -> Figures:
    now = now or timezone.now()
    policy = TeamPolicy.for_team(team.pk)
    campaigns = Campaign.objects.filter(team=team)
    sources = list(DataSource.objects.filter(team=team).select_related("recorded_by"))
    register_labels = [s.label for s in sources if s.from_register]
    return Figures(
        team=team,
        policy=policy,
        now=now,
        last_screening=Screening.objects.filter(team=team).order_by("-screened_at").first(),
        screened_numbers=ScreenedNumber.objects.filter(team=team).count(),
        screening_current=policy.screening_is_current(now),
        statements=NoObjection.objects.filter(team=team).count(),
        suppressions=_by_reason(Suppression.objects.filter(team=team)),
        suppressions_everywhere=_by_reason(Suppression.objects.filter(team=None)),
        objections=objections(team),
        retention_runs=list(
            AuditEvent.objects.filter(action__in=RETENTION_ACTIONS)
            .filter(
                Q(action="privacy.retention")
                | Q(object_type="team", object_id=team.public_id)
                | Q(campaign_id__in=campaigns.values("pk"))
            )
            .order_by("-at")[:20]
        ),
        special_exports=list(
            AuditEvent.objects.filter(
                action__in=EXPORT_ACTIONS,
                campaign_id__in=campaigns.values("pk"),
                detail__special_category=True,
            )
            .select_related("actor")
            .order_by("-at")[:50]
        ),
        sources=sources,
        register_contacts=Contact.objects.filter(team=team, source__in=register_labels).count(),
        opinion_questions=list(
            Question.objects.filter(campaign__team=team, reveals_opinion=True).select_related(
                "campaign"
            )
        ),
        site_retention_days=retention_days(),
    )


def _by_reason(suppressions) -> dict:
    labels = dict(Suppression.Reason.choices)
    counts = suppressions.values("reason").annotate(n=Count("id")).order_by("reason")
    return {labels.get(row["reason"], row["reason"]): row["n"] for row in counts}


def objections(team) -> Objections:
    """The team's objections ("asked not to be called", its own and those for every team) and
    how they were honoured: calls to the number in the team's campaigns after the entry."""
    entries = Suppression.objects.filter(
        Q(team=team) | Q(team=None), reason=Suppression.Reason.REQUESTED
    )
    later_calls = Call.objects.filter(
        campaign__team=team, target__phone=OuterRef("phone"), started_at__gt=OuterRef("created_at")
    )
    total = entries.count()
    broken = entries.filter(Exists(later_calls))
    calls_after = sum(
        Call.objects.filter(
            campaign__team=team, target__phone=entry.phone, started_at__gt=entry.created_at
        ).count()
        for entry in broken
    )
    slowest = None
    for entry in entries.filter(campaign__isnull=False):
        asked = (
            Call.objects.filter(campaign_id=entry.campaign_id, target__phone=entry.phone)
            .filter(ended_at__lte=entry.created_at)
            .order_by("-ended_at")
            .values_list("ended_at", flat=True)
            .first()
        )
        if asked is not None:
            seconds = (entry.created_at - asked).total_seconds()
            slowest = seconds if slowest is None else max(slowest, seconds)
    return Objections(total, total - broken.count(), calls_after, slowest)


# --- the record of processing ------------------------------------------------------------------


def record_of_processing(figures: Figures) -> str:
    """The team's record of processing activities (UK GDPR Art. 30), as Markdown."""
    f, policy, team = figures, figures.policy, figures.team
    opinion_days = policy.opinion_retention_days or f.site_retention_days
    lines = [
        f"# Record of processing: {team.name}",
        "",
        f"Produced by Ringround on {f.now:%d %B %Y at %H:%M} UTC from the records it keeps.",
        "",
        "## Purpose of the processing",
        "",
        "Telephone canvassing by volunteers: contacting members, supporters and voters, "
        "recording the outcome of each call and the answers to a short survey.",
        "",
        "## Sources of the data and their lawful bases",
        "",
    ]
    if f.sources:
        lines += [
            "| Source | File | Lawful basis | Purpose | Destroy by |",
            "| --- | --- | --- | --- | --- |",
        ]
        for source in f.sources:
            destroy = source.destroy_by.isoformat() if source.destroy_by else "—"
            if source.destroyed_at:
                destroy += f" (destroyed {source.destroyed_at:%Y-%m-%d})"
            lines.append(
                f"| {source.get_kind_display()} | {_cell(source.name)} | "
                f"{source.get_lawful_basis_display()} | {_cell(source.purpose)} | {destroy} |"
            )
    else:
        lines.append("No imports with a declared source yet.")
    lines += [
        "",
        f"People from the full electoral register held now: {f.register_contacts}. They are "
        "called by electoral campaigns only and erased on their source's destruction date.",
        "",
        "## Special-category data (political opinions)",
        "",
        f"Article 9 condition: {policy.get_article9_condition_display() or 'NOT RECORDED'}.",
        f"Appropriate policy document: {policy.policy_document_url or 'NOT RECORDED'}.",
        f"Survey questions revealing political opinion: {len(f.opinion_questions)}.",
        "Answers to them are kept for "
        + (f"{opinion_days} days after the call." if opinion_days else "no set period (NOT SET).")
        + f" Exports of them, each with its reason: {len(f.special_exports)}.",
        "",
        "## Direct marketing (PECR)",
        "",
    ]
    if f.last_screening:
        lines.append(
            f"Last TPS/CTPS screening: {f.last_screening.screened_at:%d %B %Y} "
            f"({f.last_screening.get_kind_display().lower()}, {f.screened_numbers} numbers "
            f"screened); it is {'current' if f.screening_current else 'OUT OF DATE'} "
            f"(valid {SCREENING_VALID_DAYS} days)."
        )
    else:
        lines.append("No TPS/CTPS screening loaded: UK numbers are not called.")
    lines += [
        f"'Does not object' statements recorded: {f.statements}.",
        f"Objections: {f.objections.total}, honoured {f.objections.honoured} "
        f"(calls after an objection: {f.objections.calls_after}).",
        "Suppression entries of the team: "
        + (", ".join(f"{k}: {v}" for k, v in f.suppressions.items()) or "none")
        + "; for every team: "
        + (", ".join(f"{k}: {v}" for k, v in f.suppressions_everywhere.items()) or "none")
        + ".",
        f"One person is called by the team's campaigns at most once in {policy.frequency_days} "
        "days once spoken to."
        if policy.frequency_days
        else "No limit on how often one person is called.",
        "",
        "## Retention",
        "",
        f"Contacts are erased {f.site_retention_days} days after their last campaign finished."
        if f.site_retention_days
        else "No retention period set for contacts (RINGROUND_RETENTION_DAYS is 0).",
        f"Retention runs recorded: {len(f.retention_runs)}"
        + (f", the last on {f.retention_runs[0].at:%d %B %Y}." if f.retention_runs else "."),
        "",
        "## Recipients and safeguards",
        "",
        "Volunteers see one contact at a time, only while it is assigned to them; every view of "
        "personal data is recorded in the audit log. Data stays on the team's own Ringround "
        "server; exports are deleted after their keep time.",
        "",
    ]
    return "\n".join(lines)


def _cell(text: str) -> str:
    return (text or "").replace("|", "/").replace("\n", " ")
