"""Live figures and exports for organisers.

Figures come from grouped queries cached for a few seconds, so a results page left open by
many organisers does not count a national campaign's rows on every refresh."""

import csv
from collections import Counter, defaultdict

from django.core.cache import cache
from django.db.models import Count, Q

from ringround.calling.models import Call, CallTarget
from ringround.contacts.models import EXPORTED_FIELDS
from ringround.csvsafe import Echo, neutralise

FIGURES_SECONDS = 5


def campaign_figures(campaign) -> dict:
    key = f"ringround:figures:{campaign.pk}"
    figures = cache.get(key)
    if figures is None:
        figures = _compute_figures(campaign)
        cache.set(key, figures, FIGURES_SECONDS)
    return figures


def _compute_figures(campaign) -> dict:
    by_state = dict(
        CallTarget.objects.filter(campaign=campaign).values_list("state").annotate(n=Count("id"))
    )
    total = sum(by_state.values())
    done = sum(by_state.get(s, 0) for s in ("done", "exhausted", "suppressed"))
    calls = Call.objects.filter(campaign=campaign)
    by_outcome = list(
        calls.values("outcome__label").annotate(n=Count("id")).order_by("-n", "outcome__label")
    )
    per_volunteer = list(
        calls.values("volunteer__name")
        .annotate(n=Count("id"), conversations=Count("id", filter=Q(outcome__is_conversation=True)))
        .order_by("-n")[:100]
    )
    questions = list(campaign.questions.all())
    tallies = defaultdict(Counter)
    for answers in (
        calls.exclude(answers={}).values_list("answers", flat=True).iterator(chunk_size=2000)
    ):
        for question in questions:
            value = answers.get(question.key)
            if value is None or question.kind == "text":
                continue
            for v in value if isinstance(value, list) else [value]:
                tallies[question.key][v] += 1
    answer_rows = [
        {
            "question": q,
            "counts": [(opt, tallies[q.key].get(opt, 0)) for opt in q.options()],
            "total": sum(tallies[q.key].values()),
        }
        for q in questions
        if q.kind != "text"
    ]
    return {
        "total": total,
        "done": done,
        "ready": by_state.get("ready", 0),
        "waiting": by_state.get("waiting", 0),
        "held": by_state.get("assigned", 0),
        "percent_done": round(100 * done / total) if total else 0,
        "calls": sum(row["n"] for row in by_outcome),
        "by_outcome": by_outcome,
        "per_volunteer": per_volunteer,
        "answers": answer_rows,
    }


def export_header(questions) -> list[str]:
    return [
        "call_id",
        "ended_at",
        "started_at",
        "volunteer",
        "contact_id",
        *EXPORTED_FIELDS,
        "outcome",
        "lease_lost",
        "notes",
    ] + [q.text for q in questions]


def export_rows(campaign):
    """Every call with its answers, one column per question, cells neutralised."""
    questions = list(campaign.questions.all())
    writer = csv.writer(Echo())
    yield writer.writerow([neutralise(h) for h in export_header(questions)])
    calls = (
        Call.objects.filter(campaign=campaign)
        .select_related("volunteer", "outcome", "target__contact")
        .order_by("ended_at", "id")
    )
    for call in calls.iterator(chunk_size=2000):
        contact = call.target.contact
        row = [
            call.public_id,
            call.ended_at.isoformat(),
            call.started_at.isoformat(),
            call.volunteer.name if call.volunteer else "",
            contact.public_id,
            *(getattr(contact, name) for name in EXPORTED_FIELDS),
            call.outcome.code,
            "yes" if call.lease_lost else "",
            call.notes,
        ]
        for q in questions:
            value = call.answers.get(q.key, "")
            row.append("; ".join(value) if isinstance(value, list) else value)
        yield writer.writerow([neutralise(v) for v in row])
