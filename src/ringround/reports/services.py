"""Live figures and exports for organisers.

Figures come from the tallies kept as calls are stored and from grouped queries, cached for a
few seconds, so a results page or live room left open by many organisers does not count a
national campaign's rows on every refresh."""

import csv
import datetime as dt
from collections import defaultdict

import phonenumbers
from django.core.cache import cache
from django.db.models import Count, F, Q, Sum, TextField, Value
from django.db.models.fields.json import KT
from django.db.models.functions import Coalesce
from django.utils import timezone

from ringround.calling import tallies
from ringround.calling.models import AnswerTally, Call, CallTally, CallTarget, VolunteerTally
from ringround.campaigns.models import Membership
from ringround.contacts.models import EXPORTED_FIELDS, Contact
from ringround.csvsafe import Echo, neutralise
from ringround.standby import reads_from_standby, reporting_database

from . import charts

FIGURES_SECONDS = 5


def campaign_figures(campaign) -> dict:
    key = f"ringround:figures:{campaign.pk}"
    figures = cache.get(key)
    if figures is None:
        with reads_from_standby():
            figures = _compute_figures(campaign)
        cache.set(key, figures, FIGURES_SECONDS)
    return figures


def _percent(part: int, whole: int) -> int:
    return round(100 * part / whole) if whole else 0


def _compute_figures(campaign, now: dt.datetime | None = None) -> dict:
    """What an organiser reads on the results page; the page says what each figure means
    (``reports/_figures.html``). Remaining, done and waiting are contacts, not calls: a
    contact tried three times is one contact, done once its last try is recorded.

    Calls, outcomes, volunteers and answers are read from the tallies kept as each call is
    stored (``calling/tallies.py``), never counted from the calls themselves."""
    now = now or timezone.now()
    targets = CallTarget.objects.filter(campaign=campaign)
    by_state = dict(targets.values_list("state").annotate(n=Count("id")))
    total = sum(by_state.values())
    done = sum(by_state.get(s, 0) for s in ("done", "exhausted", "suppressed"))
    # A lease that ran out is a contact back on the list, not one with a volunteer.
    held = (
        targets.filter(state="assigned", lease_expires_at__gt=now).count()
        if by_state.get("assigned")
        else 0
    )
    by_outcome = list(
        CallTally.objects.filter(campaign=campaign)
        .values("outcome__label")
        .annotate(n=Sum("calls"))
        .filter(n__gt=0)
        .order_by("-n", "outcome__label")
    )
    call_count = sum(row["n"] for row in by_outcome)
    for row in by_outcome:
        row["percent"] = _percent(row["n"], call_count)
    per_volunteer = list(
        VolunteerTally.objects.filter(campaign=campaign, calls__gt=0)
        .annotate(n=F("calls"))
        .values("volunteer__name", "n", "conversations")
        .order_by("-n", "volunteer__name")[:100]
    )
    questions = list(campaign.questions.all())
    tallied = defaultdict(dict)
    for key, answer, n in AnswerTally.objects.filter(campaign=campaign).values_list(
        "question", "answer", "calls"
    ):
        tallied[key][answer] = n
    answer_rows = []
    for q in questions:
        if q.kind == "text":
            continue
        people = tallied[q.key].get("", 0)
        counts = [(opt, tallied[q.key].get(opt, 0)) for opt in q.options()]
        answer_rows.append(
            {
                "question": q,
                "counts": counts,
                "total": sum(n for _, n in counts),
                "people": people,
                # Of the people who answered: a multiple-choice question's add up to more.
                "bars": [(opt, n, _percent(n, people)) for opt, n in counts],
            }
        )
    text_rows = [
        {
            "question": q,
            "total": tallied[q.key].get("", 0),
            "latest": [
                {"answer": c.answer, "ended_at": c.ended_at, "volunteer": _name(c.volunteer)}
                for c in text_answers(campaign, q)[:LATEST_TEXT_ANSWERS]
            ],
        }
        for q in questions
        if q.kind == "text"
    ]
    figures = {
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
    figures["progress"] = charts.progress_chart(figures)
    figures["hour_chart"] = hour_chart(campaign, now)
    return figures


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


# -- charts and the live room --------------------------------------------------------------

RECENT = dt.timedelta(minutes=15)
CHART_HOURS = 24
AREA_SECONDS = 60
AREAS_SHOWN = 12
DONE_STATES = ("done", "exhausted", "suppressed")


def calls_by_hour(campaign, since: dt.datetime) -> dict[dt.datetime, tuple[int, int]]:
    """Calls and conversations in each hour from ``since`` (an hour, UTC), from the tallies."""
    rows = (
        CallTally.objects.filter(campaign=campaign, hour__gte=since)
        .values("hour")
        .annotate(
            n=Sum("calls"),
            talks=Coalesce(Sum("calls", filter=Q(outcome__is_conversation=True)), 0),
        )
    )
    return {row["hour"].astimezone(dt.UTC): (row["n"], row["talks"]) for row in rows}


def hour_chart(campaign, now: dt.datetime | None = None) -> dict:
    """The last day's calls and conversations per hour, as a chart (cached with the figures)."""
    now_hour = tallies.hour_of(now or timezone.now())
    since = now_hour - dt.timedelta(hours=CHART_HOURS - 1)
    return charts.hour_chart(
        charts.last_hours(calls_by_hour(campaign, since), now_hour, CHART_HOURS)
    )


def progress_by_area(campaign) -> list[dict]:
    """How far through the list each area is (the largest areas), cached for a minute: it
    groups the campaign's targets by their contact's area, which no tally keeps."""
    key = f"ringround:areas:{campaign.pk}"
    rows = cache.get(key)
    if rows is None:
        with reads_from_standby() as database:
            rows = list(
                CallTarget.objects.using(database)
                .filter(campaign=campaign)
                .values("contact__area")
                .annotate(total=Count("id"), done=Count("id", filter=Q(state__in=DONE_STATES)))
                .order_by("-total", "contact__area")[:AREAS_SHOWN]
            )
        for row in rows:
            row["area"] = row.pop("contact__area") or "(no area)"
            row["percent"] = _percent(row["done"], row["total"])
        cache.set(key, rows, AREA_SECONDS)
    return rows


def live_figures(campaign) -> dict:
    """The live room's figures, cached per campaign for a few seconds like the results', so
    the cost does not grow with the number of organisers watching."""
    key = f"ringround:live:{campaign.pk}"
    figures = cache.get(key)
    if figures is None:
        # The results' figures as cached for the results page and the API: counted once.
        figures = campaign_figures(campaign)
        with reads_from_standby():
            figures = compute_live(campaign, timezone.now(), figures)
        cache.set(key, figures, FIGURES_SECONDS)
    return figures


def compute_live(campaign, now: dt.datetime, figures: dict | None = None) -> dict:
    """Who is calling now, what the last quarter of an hour brought, the contact rate this hour
    against the last, and when the list runs out at this pace. Each part reads tallies or a
    short window of rows (live leases, the last 15 minutes' calls), never the whole campaign."""
    figures = figures or _compute_figures(campaign, now)
    holding = list(
        CallTarget.objects.filter(campaign=campaign, state="assigned", lease_expires_at__gt=now)
        .values("held_by_id", "held_by__name", "leased_at")
        .order_by("leased_at")
    )
    for row in holding:
        row["minutes"] = (
            int((now - row["leased_at"]).total_seconds() // 60) if row["leased_at"] else 0
        )
    recent = list(
        Call.objects.filter(campaign=campaign, ended_at__gt=now - RECENT, ended_at__lte=now)
        .values("volunteer_id", "volunteer__name")
        .annotate(
            calls=Count("id"), conversations=Count("id", filter=Q(outcome__is_conversation=True))
        )
        .order_by("-calls", "volunteer__name")
    )
    holders = {row["held_by_id"] for row in holding}
    active = dict(
        VolunteerTally.objects.filter(campaign=campaign, last_call_at__gt=now - RECENT)
        .exclude(volunteer_id__in=holders)
        .values_list("volunteer_id", "volunteer__name")
    )
    active.update(
        Membership.objects.filter(campaign=campaign, claims_window_start__gt=now - RECENT)
        .exclude(user_id__in=holders)
        .values_list("user_id", "user__name")
    )
    idle = sorted(active.values())
    now_hour = tallies.hour_of(now)
    last_day = calls_by_hour(campaign, now_hour - dt.timedelta(hours=CHART_HOURS - 1))
    this_hour = last_day.get(now_hour, (0, 0))
    last_hour = last_day.get(now_hour - dt.timedelta(hours=1), (0, 0))
    # Calls in the last 60 minutes, from the tallies: this hour's so far and the part of the
    # last hour still within 60 minutes.
    into_hour = (now - now_hour).total_seconds() / 3600
    pace = this_hour[0] + last_hour[0] * (1 - into_hour)
    runs_out = None
    if pace and figures["calls"] and figures["done"] and figures["remaining"]:
        contacts_per_hour = pace * figures["done"] / figures["calls"]
        hours_left = figures["remaining"] / contacts_per_hour
        if hours_left < 24 * 365:
            runs_out = {
                "hours": hours_left,
                "at": now + dt.timedelta(hours=hours_left),
                "contacts_per_hour": round(contacts_per_hour),
            }
    return {
        **figures,
        "now": now,
        "holding": holding,
        "recent": recent,
        "recent_calls": sum(row["calls"] for row in recent),
        "recent_conversations": sum(row["conversations"] for row in recent),
        "idle": idle,
        "this_hour": {
            "calls": this_hour[0],
            "conversations": this_hour[1],
            "rate": _percent(this_hour[1], this_hour[0]),
        },
        "last_hour": {
            "calls": last_hour[0],
            "conversations": last_hour[1],
            "rate": _percent(last_hour[1], last_hour[0]),
        },
        "pace": round(pace),
        "runs_out": runs_out,
    }


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
    # A streamed download outlives any ``with`` block: its database is chosen once, here.
    calls = (
        Call.objects.using(reporting_database(consistent=True))
        .filter(campaign=campaign)
        .select_related("volunteer", "outcome", "target__contact")
        .order_by("ended_at", "id")
    )
    for call in calls.iterator(chunk_size=2000):
        yield writer.writerow([neutralise(v) for v in call_row(call, questions)])


def call_row(call, questions) -> list:
    """A call as the calls export has it (this download and ``exports.calls_table``), in
    ``export_header``'s order; ``call`` with its volunteer, outcome and contact read."""
    return [
        call.public_id,
        _utc(call.ended_at),
        _utc(call.started_at),
        call.volunteer.name if call.volunteer else "",
        *contact_cells(call.target.contact),
        call.outcome.label,
        call.outcome.code,
        "yes" if call.lease_lost else "",
        call.notes,
        *[answer_cell(call.answers.get(q.key, "")) for q in questions],
    ]


def contact_cells(contact) -> list:
    """The contact's columns of an export: its id, then ``EXPORTED_FIELDS`` (the phone as
    two cells: ``phone_cells``)."""
    cells = [contact.public_id]
    for name in EXPORTED_FIELDS:
        cells += phone_cells(contact.phone) if name == "phone" else [getattr(contact, name)]
    return cells


def answer_cell(value) -> str:
    return "; ".join(value) if isinstance(value, list) else ("" if value is None else value)


def _utc(moment) -> str:
    return moment.astimezone(dt.UTC).strftime(TIME_FORMAT)
