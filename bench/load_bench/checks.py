"""The three counts that must be zero, taken from the database after a run, never from the
client's word: contacts assigned to two volunteers at once, outcomes acknowledged but not
stored, and calls stored twice.

In the benchmark every outcome either ends a contact or schedules the retry hours ahead, so a
contact is called at most once in a run: a second call on one contact is a double."""

import psycopg


def mark(url) -> int:
    """The last call id before a run: the run's calls are the ones after it."""
    with psycopg.connect(url) as conn:
        return conn.execute("SELECT coalesce(max(id), 0) FROM calling_call").fetchone()[0]


def verify(url, seed, since: int, acknowledged: list, id_column: str) -> dict:
    campaign = seed["campaign_id"]
    with psycopg.connect(url) as conn:
        overlapping = conn.execute(
            """SELECT count(*) FROM calling_call a
                 JOIN calling_call b ON b.target_id = a.target_id AND b.id > a.id
                WHERE a.campaign_id = %s AND b.id > %s AND a.volunteer_id <> b.volunteer_id
                  AND a.started_at < b.ended_at AND b.started_at < a.ended_at""",
            [campaign, since],
        ).fetchone()[0]
        held_while_called = conn.execute(
            """SELECT count(*) FROM calling_calltarget t
                 JOIN calling_call c ON c.target_id = t.id
                WHERE t.campaign_id = %s AND t.state = 'assigned' AND c.id > %s
                  AND c.volunteer_id <> t.held_by_id AND c.ended_at > t.leased_at""",
            [campaign, since],
        ).fetchone()[0]
        cast = "text" if id_column == "public_id" else "bigint"
        lost = conn.execute(
            f"""SELECT count(*) FROM (SELECT DISTINCT x FROM unnest(%s::{cast}[]) AS u(x)) a
                 WHERE NOT EXISTS (SELECT 1 FROM calling_call c WHERE c.{id_column} = a.x)""",
            [list(acknowledged)],
        ).fetchone()[0]
        calls, targets, lease_lost = conn.execute(
            """SELECT count(*), count(DISTINCT target_id), count(*) FILTER (WHERE lease_lost)
                 FROM calling_call WHERE campaign_id = %s AND id > %s""",
            [campaign, since],
        ).fetchone()
        twice_by_key = conn.execute(
            """SELECT coalesce(sum(n - 1), 0) FROM (
                 SELECT count(*) AS n FROM calling_call WHERE campaign_id = %s AND id > %s
                  GROUP BY volunteer_id, idempotency_key HAVING count(*) > 1) d""",
            [campaign, since],
        ).fetchone()[0]
        earlier = conn.execute(
            """SELECT count(*) FROM calling_call a JOIN calling_call b ON b.target_id = a.target_id
                WHERE a.campaign_id = %s AND a.id <= %s AND b.id > %s""",
            [campaign, since, since],
        ).fetchone()[0]
    return {
        "double_assigned": overlapping + held_while_called,
        "lost": lost,
        "duplicated": (calls - targets) + int(twice_by_key) + earlier,
        "calls_stored": calls,
        "lease_lost": lease_lost,
    }
