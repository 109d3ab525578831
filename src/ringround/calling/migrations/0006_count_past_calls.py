"""Count the calls stored before the tallies existed, so a running campaign's figures do not
start again from nothing on upgrade. The counting is written out here as it stands today
(a migration keeps the rule it was written with; ``calling/tallies.py`` owns it from now)."""

import datetime as dt
from collections import Counter

from django.db import migrations


def count_past_calls(apps, schema_editor):
    Call = apps.get_model("calling", "Call")
    Question = apps.get_model("campaigns", "Question")
    OutcomeCode = apps.get_model("campaigns", "OutcomeCode")
    CallTally = apps.get_model("calling", "CallTally")
    VolunteerTally = apps.get_model("calling", "VolunteerTally")
    AnswerTally = apps.get_model("calling", "AnswerTally")
    talks = set(OutcomeCode.objects.filter(is_conversation=True).values_list("pk", flat=True))
    kinds = {(q.campaign_id, f"q{q.pk}"): q.kind for q in Question.objects.all()}
    hours, volunteers, answers = Counter(), {}, Counter()
    rows = Call.objects.values_list(
        "campaign_id", "volunteer_id", "outcome_id", "ended_at", "answers"
    ).order_by("id")
    for campaign, volunteer, outcome, ended_at, given in rows.iterator(chunk_size=5000):
        hour = ended_at.astimezone(dt.UTC).replace(minute=0, second=0, microsecond=0)
        hours[(campaign, hour, outcome)] += 1
        if volunteer is not None:
            n, c, last = volunteers.get((campaign, volunteer), (0, 0, ended_at))
            volunteers[(campaign, volunteer)] = (n + 1, c + (outcome in talks), max(last, ended_at))
        for key, value in (given or {}).items():
            kind = kinds.get((campaign, key))
            if kind is None or value in (None, "", []):
                continue
            answers[(campaign, key, "")] += 1
            if kind != "text":
                for v in dict.fromkeys(value if isinstance(value, list) else [value]):
                    answers[(campaign, key, str(v))] += 1
    CallTally.objects.bulk_create(
        (CallTally(campaign_id=c, hour=h, outcome_id=o, calls=n) for (c, h, o), n in hours.items()),
        batch_size=2000,
    )
    VolunteerTally.objects.bulk_create(
        (
            VolunteerTally(
                campaign_id=c, volunteer_id=v, calls=n, conversations=t, last_call_at=last
            )
            for (c, v), (n, t, last) in volunteers.items()
        ),
        batch_size=2000,
    )
    AnswerTally.objects.bulk_create(
        (
            AnswerTally(campaign_id=c, question=q, answer=a, calls=n)
            for (c, q, a), n in answers.items()
        ),
        batch_size=2000,
    )


def forget_counts(apps, schema_editor):
    for name in ("CallTally", "VolunteerTally", "AnswerTally"):
        apps.get_model("calling", name).objects.all().delete()


class Migration(migrations.Migration):
    dependencies = [("calling", "0005_tallies")]

    operations = [migrations.RunPython(count_past_calls, forget_counts)]
