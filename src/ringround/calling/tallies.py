"""The campaign's running counts (``CallTally``, ``VolunteerTally``, ``AnswerTally``), kept in
the same transaction as each stored call, so live figures never count the calls table.

What a call adds is decided once, here (``call_terms``), from the call as it is about to be
stored; both paths apply it with the same upserts (``upsert_sql``): the step-by-step path
runs them after its INSERT, PostgreSQL's one statement (``statements.store_call_sql``) runs
them as parts of its own, only when its INSERT stored a row. ``recount`` counts the same
things from the calls themselves: tests hold the two equal, and ``rebuild`` puts right a
campaign whose calls were written some other way (a bulk load, a restore)."""

import datetime as dt
from collections import Counter

from django.db import connection, transaction
from django.db.models import Count, DateTimeField, Max, Q
from django.db.models.functions import Trunc

from .models import AnswerTally, Call, CallTally, VolunteerTally

TEXT = "text"


def hour_of(moment: dt.datetime) -> dt.datetime:
    return moment.astimezone(dt.UTC).replace(minute=0, second=0, microsecond=0)


def counted_answers(answers: dict, questions) -> list[tuple[str, str]]:
    """(question key, answer) pairs a call's answers add: ``""`` for having answered at all,
    then each choice given; free text is counted as answered, never copied."""
    kinds = {q.key: q.kind for q in questions}
    pairs = []
    for key, value in (answers or {}).items():
        if key not in kinds or value in (None, "", []):
            continue
        pairs.append((key, ""))
        if kinds[key] == TEXT:
            continue
        for v in dict.fromkeys(value if isinstance(value, list) else [value]):
            pairs.append((key, str(v)))
    return pairs


def call_terms(call: Call, outcome, questions) -> dict:
    """The parameters the upserts take for this call (alongside the call's own columns)."""
    pairs = counted_answers(call.answers, questions)
    return {
        "campaign_id": call.campaign_id,
        "outcome_id": outcome.pk,
        "volunteer_id": call.volunteer_id,
        "tally_hour": hour_of(call.ended_at),
        "tally_ended_at": call.ended_at,
        "conversation": 1 if outcome.is_conversation else 0,
        "tally_questions": [q for q, _ in pairs],
        "tally_answers": [a for _, a in pairs],
    }


def _upsert(model, values: dict[str, str], added: dict[str, str], source: str, guard: str) -> str:
    table = f'"{model._meta.db_table}"'
    [unique] = model._meta.constraints
    keys = ", ".join(f'"{model._meta.get_field(f).column}"' for f in unique.fields)
    columns = ", ".join(f'"{c}"' for c in values)
    sets = ", ".join(f'"{c}" = {expr.format(t=table)}' for c, expr in added.items())
    return (
        f"INSERT INTO {table} ({columns}) SELECT {', '.join(values.values())} {source}"
        f" WHERE {guard} ON CONFLICT ({keys}) DO UPDATE SET {sets}"
    )


def upsert_sql(guard: str = "true", *, one_statement: bool = False) -> list[str]:
    """The three upserts a stored call makes, each only if ``guard`` (SQL) holds. The answers'
    upsert takes one pair as ``answer_question``/``answer_value``, or (``one_statement``, on
    PostgreSQL) all of them at once from the arrays ``tally_questions``/``tally_answers``."""
    calls = _upsert(
        CallTally,
        {
            "campaign_id": "%(campaign_id)s",
            "hour": "%(tally_hour)s",
            "outcome_id": "%(outcome_id)s",
            "calls": "1",
        },
        {"calls": '{t}."calls" + 1'},
        "",
        guard,
    )
    volunteer = _upsert(
        VolunteerTally,
        {
            "campaign_id": "%(campaign_id)s",
            "volunteer_id": "%(volunteer_id)s",
            "calls": "1",
            "conversations": "%(conversation)s",
            "last_call_at": "%(tally_ended_at)s",
        },
        {
            "calls": '{t}."calls" + 1',
            "conversations": '{t}."conversations" + excluded."conversations"',
            "last_call_at": 'CASE WHEN excluded."last_call_at" > {t}."last_call_at" '
            'THEN excluded."last_call_at" ELSE {t}."last_call_at" END',
        },
        "",
        guard,
    )
    if one_statement:
        answer = ("a.q", "a.v")
        source = "FROM unnest(%(tally_questions)s::text[], %(tally_answers)s::text[]) AS a(q, v)"
    else:
        answer, source = ("%(answer_question)s", "%(answer_value)s"), ""
    answers = _upsert(
        AnswerTally,
        {
            "campaign_id": "%(campaign_id)s",
            "question": answer[0],
            "answer": answer[1],
            "calls": "1",
        },
        {"calls": '{t}."calls" + 1'},
        source,
        guard,
    )
    return [calls, volunteer, answers]


def count_call(terms: dict) -> None:
    """Add a stored call to the tallies (the step-by-step path; inside its transaction)."""
    params = dict(terms)
    for name in ("tally_hour", "tally_ended_at"):
        params[name] = connection.ops.adapt_datetimefield_value(params[name])
    calls, volunteer, answers = upsert_sql()
    with connection.cursor() as cursor:
        cursor.execute(calls, params)
        if params["volunteer_id"] is not None:
            cursor.execute(volunteer, params)
        for question, answer in zip(
            params["tally_questions"], params["tally_answers"], strict=True
        ):
            cursor.execute(answers, {**params, "answer_question": question, "answer_value": answer})


# -- reading, and counting again from the calls -------------------------------------------------


def read(campaign) -> dict:
    """The tallies of a campaign as plain dictionaries (keys as ``recount``'s)."""
    return {
        "hours": {
            (row.hour, row.outcome_id): row.calls
            for row in CallTally.objects.filter(campaign=campaign)
            if row.calls
        },
        "volunteers": {
            row.volunteer_id: (row.calls, row.conversations, row.last_call_at)
            for row in VolunteerTally.objects.filter(campaign=campaign)
            if row.calls
        },
        "answers": {
            (row.question, row.answer): row.calls
            for row in AnswerTally.objects.filter(campaign=campaign)
            if row.calls
        },
    }


def recount(campaign) -> dict:
    """``read``'s figures counted from the calls table (slow: for tests and ``rebuild``)."""
    calls = Call.objects.filter(campaign=campaign)
    hours = {
        (row["hour"], row["outcome_id"]): row["n"]
        for row in calls.annotate(
            hour=Trunc("ended_at", "hour", output_field=DateTimeField(), tzinfo=dt.UTC)
        )
        .values("hour", "outcome_id")
        .annotate(n=Count("id"))
    }
    volunteers = {
        row["volunteer_id"]: (row["n"], row["talks"], row["last"])
        for row in calls.filter(volunteer__isnull=False)
        .values("volunteer_id")
        .annotate(
            n=Count("id"),
            talks=Count("id", filter=Q(outcome__is_conversation=True)),
            last=Max("ended_at"),
        )
    }
    questions = list(campaign.questions.all())
    answers = Counter()
    for given in calls.exclude(answers={}).values_list("answers", flat=True).iterator(2000):
        answers.update(counted_answers(given, questions))
    return {"hours": hours, "volunteers": volunteers, "answers": dict(answers)}


def rebuild(campaign) -> None:
    """Replace a campaign's tallies with a recount of its calls."""
    counted = recount(campaign)
    with transaction.atomic():
        for model in (CallTally, VolunteerTally, AnswerTally):
            model.objects.filter(campaign=campaign).delete()
        CallTally.objects.bulk_create(
            CallTally(campaign=campaign, hour=h, outcome_id=o, calls=n)
            for (h, o), n in counted["hours"].items()
        )
        VolunteerTally.objects.bulk_create(
            VolunteerTally(
                campaign=campaign, volunteer_id=v, calls=n, conversations=c, last_call_at=last
            )
            for v, (n, c, last) in counted["volunteers"].items()
        )
        AnswerTally.objects.bulk_create(
            AnswerTally(campaign=campaign, question=q, answer=a, calls=n)
            for (q, a), n in counted["answers"].items()
        )
