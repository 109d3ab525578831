"""Momentum: badges for milestones, time on calls, leaderboards and the campaign-wide
counter. Everything here reads the running counts (``calling.tallies``' VolunteerTally and
CallTally, and our own CallTime), never the calls, except ``recount`` which tests hold equal."""

import datetime as dt
import functools
from zoneinfo import ZoneInfo

from django.core.cache import cache
from django.db import connection, transaction
from django.db.models import Sum
from django.utils import timezone

from ringround import rawsql
from ringround.accounts.models import User
from ringround.calling.models import Call, CallTally, VolunteerTally
from ringround.campaigns.models import Campaign, Membership

from .models import Badge, CallTime, Preference, RecruitmentPage, Referral

CALL_SECONDS_CAP = 3600  # a card left open all evening counts as at most an hour
HOUR = 3600
COUNTER_SECONDS = 60
BOARD_SECONDS = 60
Kind = Badge.Kind
CALL_MILESTONES = (
    (1, Kind.FIRST_CALL),
    (10, Kind.CALLS_10),
    (100, Kind.CALLS_100),
    (1000, Kind.CALLS_1000),
)
EXPLAINED = {
    Kind.FIRST_CALL: "You made your first call.",
    Kind.FIRST_CONVERSATION: "You had your first conversation.",
    Kind.CALLS_10: "Ten calls made.",
    Kind.CALLS_100: "A hundred calls made.",
    Kind.CALLS_1000: "A thousand calls made.",
    Kind.HOUR: "An hour on the phones.",
    Kind.RECRUIT_CALLED: "Someone you brought in made a call.",
}


def call_seconds(call) -> int:
    return int(min(max((call.ended_at - call.started_at).total_seconds(), 0), CALL_SECONDS_CAP))


_ADD_TIME = (
    f'INSERT INTO "{CallTime._meta.db_table}" (campaign_id, volunteer_id, seconds)'
    " VALUES (%(campaign)s, %(volunteer)s, %(seconds)s) ON CONFLICT (campaign_id, volunteer_id)"
    f' DO UPDATE SET seconds = "{CallTime._meta.db_table}".seconds + excluded.seconds'
)
_AWARD = (
    f'INSERT INTO "{Badge._meta.db_table}" (campaign_id, volunteer_id, kind, awarded_at)'
    " VALUES (%s, %s, %s, %s) ON CONFLICT (campaign_id, volunteer_id, kind) DO NOTHING"
)


def award(campaign_id: int, volunteer_id: int, kind: str, at: dt.datetime) -> bool:
    """Give a badge unless it was given already (insert-or-ignore: under any number of
    concurrent calls one row, and no error); whether this gave it."""
    with connection.cursor() as cursor:
        cursor.execute(
            _AWARD,
            [campaign_id, volunteer_id, kind, connection.ops.adapt_datetimefield_value(at)],
        )
        return cursor.rowcount == 1


def call_counted(call) -> list[str]:
    """After a call is stored (and its tallies with it): add its time, and give the
    badges it earned, the moment it earned them. The badges the call gave, by kind.

    On PostgreSQL one statement (``_count_in_one_statement``), since it follows every call;
    elsewhere the same rules step by step (``_count_step_by_step``). ``tests/sharing``
    runs both and compares them."""
    count_in_counter(call)
    if call.volunteer_id is None:
        return []
    if connection.vendor == "postgresql":
        return _count_in_one_statement(call)
    return _count_step_by_step(call)


def earned_badges(calls: int, conversations: int, seconds: int) -> list[str]:
    """The badges of these running counts (those given already are ignored on insert)."""
    earned = [kind for n, kind in CALL_MILESTONES if calls >= n]
    if conversations >= 1:
        earned.append(Kind.FIRST_CONVERSATION)
    if seconds >= HOUR:
        earned.append(Kind.HOUR)
    return earned


def _count_step_by_step(call) -> list[str]:
    campaign_id, volunteer_id, at = call.campaign_id, call.volunteer_id, call.ended_at
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute(_ADD_TIME, _time_params(call))
        tally = VolunteerTally.objects.filter(
            campaign_id=campaign_id, volunteer_id=volunteer_id
        ).first()
        seconds = (
            CallTime.objects.filter(campaign_id=campaign_id, volunteer_id=volunteer_id)
            .values_list("seconds", flat=True)
            .first()
            or 0
        )
        earned = earned_badges(
            tally.calls if tally else 0, tally.conversations if tally else 0, seconds
        )
        given = [kind for kind in earned if award(campaign_id, volunteer_id, kind, at)]
        if Kind.FIRST_CALL in given:
            referral = Referral.objects.filter(
                campaign_id=campaign_id, recruit_id=volunteer_id
            ).first()
            if referral is not None:
                award(campaign_id, referral.referrer_id, Kind.RECRUIT_CALLED, at)
    return given


def _time_params(call) -> dict:
    return {
        "campaign": call.campaign_id,
        "volunteer": call.volunteer_id,
        "seconds": call_seconds(call),
        "at": call.ended_at,
    }


@functools.cache
def _count_sql() -> str:
    """``_count_step_by_step`` as one statement, built from the same milestones and tables."""
    milestones = ", ".join(f"({n}, '{kind.value}')" for n, kind in CALL_MILESTONES)
    insert_badge = (
        f'INSERT INTO "{Badge._meta.db_table}" (campaign_id, volunteer_id, kind, awarded_at)'
    )
    on_conflict = "ON CONFLICT (campaign_id, volunteer_id, kind) DO NOTHING"
    return f"""
WITH added AS (
    {_ADD_TIME} RETURNING seconds
), tally AS (
    SELECT calls, conversations FROM "{VolunteerTally._meta.db_table}"
     WHERE campaign_id = %(campaign)s AND volunteer_id = %(volunteer)s
), earned AS (
    SELECT m.kind FROM (VALUES {milestones}) AS m (n, kind), tally WHERE tally.calls >= m.n
    UNION ALL
    SELECT '{Kind.FIRST_CONVERSATION.value}' FROM tally WHERE tally.conversations >= 1
    UNION ALL
    SELECT '{Kind.HOUR.value}' FROM added WHERE added.seconds >= {HOUR}
), given AS (
    {insert_badge}
    SELECT %(campaign)s, %(volunteer)s, earned.kind, %(at)s FROM earned
    {on_conflict} RETURNING kind
), recruiter AS (
    {insert_badge}
    SELECT %(campaign)s, r.referrer_id, '{Kind.RECRUIT_CALLED.value}', %(at)s
      FROM "{Referral._meta.db_table}" r
     WHERE r.campaign_id = %(campaign)s AND r.recruit_id = %(volunteer)s
       AND EXISTS (SELECT 1 FROM given WHERE kind = '{Kind.FIRST_CALL.value}')
    {on_conflict}
)
SELECT kind FROM given"""


def _count_in_one_statement(call) -> list[str]:
    with rawsql.cursor() as cursor:
        cursor.execute(_count_sql(), _time_params(call))
        given = {kind for (kind,) in cursor.fetchall()}
    order = [kind for _, kind in CALL_MILESTONES] + [Kind.FIRST_CONVERSATION, Kind.HOUR]
    return [kind for kind in order if kind in given]


def badges_of(campaign: Campaign, volunteer) -> list[dict]:
    return [
        {
            "kind": b.kind,
            "label": b.get_kind_display(),
            "why": EXPLAINED[b.kind],
            "awarded_at": b.awarded_at,
        }
        for b in Badge.objects.filter(campaign=campaign, volunteer=volunteer)
    ]


# -- the campaign-wide counter -------------------------------------------------------------


def _counter_keys(campaign_id: int, time_zone: str, now: dt.datetime):
    local = now.astimezone(ZoneInfo(time_zone))
    midnight = local.replace(hour=0, minute=0, second=0, microsecond=0)
    monday = midnight - dt.timedelta(days=local.weekday())
    prefix = f"ringround:sharing:counter:{campaign_id}"
    keys = (f"{prefix}:day:{midnight.date().isoformat()}", f"{prefix}:week:{monday.date()}")
    return keys, midnight, monday


def counter(campaign: Campaign, now: dt.datetime | None = None, *, fresh: bool = False) -> dict:
    """Calls made tonight (since midnight where the campaign is) and this week (since
    Monday): summed from the hourly tallies at most once a minute (cached), and counted up
    in the cache by each call meanwhile (``count_in_counter``), so a volunteer's own call
    shows at once. A call stored while the sum is taken may be counted twice for that
    minute; the next sum puts it right. ``fresh``: sum now (the recruitment page, itself
    cached for a minute, so its figures are never more than a minute old)."""
    now = now or timezone.now()
    (day_key, week_key), midnight, monday = _counter_keys(
        campaign.pk, campaign.invite_time_zone, now
    )
    found = {} if fresh else cache.get_many([day_key, week_key])
    if len(found) == 2:
        return {"tonight": found[day_key], "week": found[week_key]}
    hours = CallTally.objects.filter(campaign=campaign, hour__gte=monday.astimezone(dt.UTC))
    week = hours.aggregate(n=Sum("calls"))["n"] or 0
    tonight = (
        hours.filter(hour__gte=midnight.astimezone(dt.UTC)).aggregate(n=Sum("calls"))["n"] or 0
    )
    cache.set_many({day_key: tonight, week_key: week}, COUNTER_SECONDS)
    return {"tonight": tonight, "week": week}


def count_in_counter(call) -> None:
    """Add a stored call to the cached counter, if it is cached (else the next sum has it)."""
    keys, _, _ = _counter_keys(call.campaign_id, call.campaign.invite_time_zone, call.ended_at)
    for key in keys:
        try:
            cache.incr(key)
        except ValueError:
            pass


# -- leaderboards --------------------------------------------------------------------------


def ranking_of(campaign: Campaign) -> str:
    page = RecruitmentPage.objects.filter(campaign=campaign).first()
    return page.ranking if page else RecruitmentPage.Ranking.CONVERSATIONS


def hidden_names(user_ids) -> set[int]:
    return set(
        Preference.objects.filter(user_id__in=list(user_ids), hide_name=True).values_list(
            "user_id", flat=True
        )
    )


def set_hide_name(user, hide: bool) -> Preference:
    preference, _ = Preference.objects.update_or_create(user=user, defaults={"hide_name": hide})
    for campaign_id in Membership.objects.filter(user=user).values_list("campaign_id", flat=True):
        cache.delete_many([_board_key(campaign_id, by) for by in RecruitmentPage.Ranking.values])
    return preference


def _board_key(campaign_id, by) -> str:
    return f"ringround:sharing:board:{campaign_id}:{by}"


def _scores(campaign: Campaign, by: str) -> dict[int, int]:
    if by == RecruitmentPage.Ranking.TIME:
        rows = CallTime.objects.filter(campaign=campaign, seconds__gt=0)
        return dict(rows.values_list("volunteer_id", "seconds"))
    rows = VolunteerTally.objects.filter(campaign=campaign, conversations__gt=0)
    return dict(rows.values_list("volunteer_id", "conversations"))


def leaderboard(
    campaign: Campaign, by: str | None = None, *, limit: int = 10, cached: bool = True
) -> dict:
    """The top volunteers and teams (a recruiter with the people they brought in) by
    conversations or time on calls. A volunteer who hid their name is "A volunteer"."""
    by = by or ranking_of(campaign)
    key = _board_key(campaign.pk, by)
    board = cache.get(key) if cached else None
    if board is not None:
        return board
    scores = _scores(campaign, by)
    people = sorted(scores.items(), key=lambda kv: (-kv[1], kv[0]))[:limit]
    names = dict(User.objects.filter(pk__in=[pk for pk, _ in people]).values_list("pk", "name"))
    hidden = hidden_names(names)
    volunteers = [
        {
            "user_id": pk,
            "name": "A volunteer" if pk in hidden else (names.get(pk) or "A volunteer"),
            "score": score,
            "hidden": pk in hidden,
        }
        for pk, score in people
    ]
    # A team: a volunteer who brought people in, with the people they brought in.
    teams: dict[int, int] = {}
    for recruit, leader in Referral.objects.filter(campaign=campaign).values_list(
        "recruit_id", "referrer_id"
    ):
        teams.setdefault(leader, scores.get(leader, 0))
        teams[leader] += scores.get(recruit, 0)
    top_teams = sorted(((pk, s) for pk, s in teams.items() if s), key=lambda kv: (-kv[1], kv[0]))[
        :limit
    ]
    leaders = dict(
        User.objects.filter(pk__in=[pk for pk, _ in top_teams]).values_list("pk", "name")
    )
    hidden_leaders = hidden_names(leaders)
    team_rows = [
        {
            "leader_id": pk,
            "name": "A volunteer's team"
            if pk in hidden_leaders
            else f"{leaders.get(pk) or 'A volunteer'}'s team",
            "score": score,
        }
        for pk, score in top_teams
    ]
    board = {"by": by, "volunteers": volunteers, "teams": team_rows}
    if cached:
        cache.set(key, board, BOARD_SECONDS)
    return board


def recount(campaign: Campaign) -> dict:
    """Each volunteer's conversations and seconds on calls counted from the calls (slow:
    for tests, to hold the running counts equal)."""
    conversations: dict[int, int] = {}
    seconds: dict[int, int] = {}
    for call in Call.objects.filter(campaign=campaign, volunteer__isnull=False).select_related(
        "outcome"
    ):
        if call.outcome.is_conversation:
            conversations[call.volunteer_id] = conversations.get(call.volunteer_id, 0) + 1
        seconds[call.volunteer_id] = seconds.get(call.volunteer_id, 0) + call_seconds(call)
    return {
        RecruitmentPage.Ranking.CONVERSATIONS: conversations,
        RecruitmentPage.Ranking.TIME: {k: v for k, v in seconds.items() if v},
    }
