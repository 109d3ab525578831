"""Live figures and exports for organisers.

Figures come from grouped queries cached for a few seconds, so a results page left open by
many organisers does not count a national campaign's rows on every refresh."""

import csv
import datetime as dt
from collections import Counter, defaultdict

import phonenumbers
from django.core.cache import cache
from django.db.models import Count, Q, TextField, Value
from django.db.models.fields.json import KT
from django.db.models.functions import Coalesce
from django.utils import timezone

from ringround.calling.models import Call, CallTarget
from ringround.contacts.models import EXPORTED_FIELDS, Contact
from ringround.csvsafe import Echo, neutralise

FIGURES_SECONDS = 5


def campaign_figures(campaign) -> dict:
    key = f"ringround:figures:{campaign.pk}"
    figures = cache.get(key)
    if figures is None:
        figures = _compute_figures(campaign)
        cache.set(key, figures, FIGURES_SECONDS)
    return figures


def _percent(part: int, whole: int) -> int:
    return round(100 * part / whole) if whole else 0


def _compute_figures(campaign) -> dict:
    """What an organiser reads on the results page; the page says what each figure means
    (``reports/_figures.html``). Remaining, done and waiting are contacts, not calls: a
    contact tried three times is one contact, done once its last try is recorded."""
    targets = CallTarget.objects.filter(campaign=campaign)
    by_state = dict(targets.values_list("state").annotate(n=Count("id")))
    total = sum(by_state.values())
    done = sum(by_state.get(s, 0) for s in ("done", "exhausted", "suppressed"))
    # A lease that ran out is a contact back on the list, not one with a volunteer.
    held = (
        targets.filter(state="assigned", lease_expires_at__gt=timezone.now()).count()
        if by_state.get("assigned")
        else 0
    )
    calls = Call.objects.filter(campaign=campaign)
    by_outcome = list(
        calls.values("outcome__label").annotate(n=Count("id")).order_by("-n", "outcome__label")
    )
    call_count = sum(row["n"] for row in by_outcome)
    for row in by_outcome:
        row["percent"] = _percent(row["n"], call_count)
    per_volunteer = list(
        calls.values("volunteer__name")
        .annotate(n=Count("id"), conversations=Count("id", filter=Q(outcome__is_conversation=True)))
        .order_by("-n")[:100]
    )
    questions = list(campaign.questions.all())
    tallies = defaultdict(Counter)
    answered = Counter()
    for answers in (
        calls.exclude(answers={}).values_list("answers", flat=True).iterator(chunk_size=2000)
    ):
        for question in questions:
            value = answers.get(question.key)
            if value in (None, "", []):
                continue
            answered[question.key] += 1
            if question.kind == "text":
                continue
            for v in value if isinstance(value, list) else [value]:
                tallies[question.key][v] += 1
    answer_rows = []
    for q in questions:
        if q.kind == "text":
            continue
        counts = [(opt, tallies[q.key].get(opt, 0)) for opt in q.options()]
        answer_rows.append(
            {
                "question": q,
                "counts": counts,
                "total": sum(tallies[q.key].values()),
                "people": answered[q.key],
                # Of the people who answered: a multiple-choice question's add up to more.
                "bars": [(opt, n, _percent(n, answered[q.key])) for opt, n in counts],
            }
        )
    text_rows = [
        {
            "question": q,
            "total": answered[q.key],
            "latest": [
                {"answer": c.answer, "ended_at": c.ended_at, "volunteer": _name(c.volunteer)}
                for c in text_answers(campaign, q)[:LATEST_TEXT_ANSWERS]
            ],
        }
        for q in questions
        if q.kind == "text"
    ]
    return {
        "total": total,
        "remaining": total - done,
        "done": done,
        "ready": by_state.get("ready", 0),
        "waiting": by_state.get("waiting", 0),
        "held": held,
        "percent_done": _percent(done, total),
        "calls": call_count,
        "by_outcome": by_outcome,
        "per_volunteer": per_volunteer,
        "answers": answer_rows,
        "text_answers": text_rows,
    }


LATEST_TEXT_ANSWERS = 3


def _name(volunteer) -> str:
    return volunteer.name if volunteer is not None else "(removed)"


def text_answers(campaign, question, search: str = ""):
    """The free-text answers to ``question``, latest first, as calls with ``answer`` (the
    text); only those containing ``search`` (any case) if given."""
    calls = (
        Call.objects.filter(campaign=campaign)
        # As plain text (not a JSON key lookup), so ordinary text lookups apply on both
        # databases.
        .annotate(
            answer=Coalesce(KT(f"answers__{question.key}"), Value(""), output_field=TextField())
        )
        .exclude(answer="")
    )
    if search:
        calls = calls.filter(answer__icontains=search)
    return calls.select_related("volunteer").order_by("-ended_at", "-id")


# -- the export ---------------------------------------------------------------------------------

# Column headings in the organiser's words. The times are UTC, written the way spreadsheets
# read as a date and time.
EXPORT_HEADINGS = {
    "call": "Call id",
    "ended_at": "Call ended (UTC)",
    "started_at": "Contact handed out (UTC)",
    "volunteer": "Volunteer",
    "contact": "Contact id",
    "first_name": "First name",
    "last_name": "Last name",
    "phone": "Phone",
    "phone_country": "Phone country",
    "area": "Area",
    "external_id": "Membership number / voter id",
    "outcome": "Outcome",
    "outcome_code": "Outcome code",
    "late": "Recorded after the contact was handed to someone else",
    "notes": "Notes",
}
TIME_FORMAT = "%Y-%m-%d %H:%M:%S"


def export_columns() -> list[str]:
    """The export's columns before the questions': the call, then the contact's exported
    fields in the model's order (a new field is exported without more ado), then the outcome."""
    columns = ["call", "ended_at", "started_at", "volunteer", "contact"]
    for name in EXPORTED_FIELDS:
        columns += ["phone", "phone_country"] if name == "phone" else [name]
    return columns + ["outcome", "outcome_code", "late", "notes"]


def export_header(questions) -> list[str]:
    def heading(column):
        if column in EXPORT_HEADINGS:
            return EXPORT_HEADINGS[column]
        return str(Contact._meta.get_field(column).verbose_name).capitalize()

    return [heading(c) for c in export_columns()] + [q.text for q in questions]


def phone_cells(e164: str) -> list[str]:
    """A number as two cells a spreadsheet shows as text and never runs: the number as it is
    dialled in its own country, in its usual groups ("020 7946 0000", "(202) 555-0100"),
    and the country it belongs to ("GB"). No leading "+" (Excel and Google Sheets take
    "+44…" for a formula, and csvsafe would then prefix an apostrophe that shows in the
    cell), and never digits alone, which a spreadsheet turns into a number and strips of its
    leading 0: the spaces keep it text. Ringround's import reads the pair back (a phone column
    and a country column)."""
    if not e164:
        return ["", ""]
    try:
        number = phonenumbers.parse(e164, None)
    except phonenumbers.NumberParseException:
        return [e164, ""]
    national = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.NATIONAL)
    if national.isdigit():
        # Some countries write their numbers in one block: group them as dialled abroad.
        international = phonenumbers.format_number(
            number, phonenumbers.PhoneNumberFormat.INTERNATIONAL
        )
        national = international.split(" ", 1)[1] if " " in international else national
    if national.isdigit():
        half = len(national) // 2
        national = f"{national[:half]} {national[half:]}"
    region = phonenumbers.region_code_for_number(number) or ""
    return [national, region]


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
            _utc(call.ended_at),
            _utc(call.started_at),
            call.volunteer.name if call.volunteer else "",
            contact.public_id,
        ]
        for name in EXPORTED_FIELDS:
            row += phone_cells(contact.phone) if name == "phone" else [getattr(contact, name)]
        row += [call.outcome.label, call.outcome.code, "yes" if call.lease_lost else "", call.notes]
        for q in questions:
            value = call.answers.get(q.key, "")
            row.append("; ".join(value) if isinstance(value, list) else value)
        yield writer.writerow([neutralise(v) for v in row])


def _utc(moment) -> str:
    return moment.astimezone(dt.UTC).strftime(TIME_FORMAT)
