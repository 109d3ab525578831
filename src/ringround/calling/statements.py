"""The calling loop on PostgreSQL: one statement per claim and one per outcome.

Each does in one round trip what ``rules.py`` does step by step through the ORM, and is
compiled from the same definitions: ``CallTarget``'s QuerySet methods and update values (its
states, claim order and "is this lease still ours"), ``campaigns`` for the claim counter and
``audit`` for the trail, each owning its table. A rule changed there changes both paths;
``tests/calling/test_both_paths.py`` runs the same calls through both and compares the rows.

Candidates are locked with ``FOR UPDATE SKIP LOCKED``, so concurrent volunteers pass over
each other's rows instead of waiting, and a row changed meanwhile is checked again. Each part
of the claim walks its own partial index in claim order, so its cost does not grow with the
size of the campaign.
"""

from contextlib import nullcontext
from functools import cache

from django.db import connection, transaction
from django.db.models import DateTimeField

from ringround import rawsql
from ringround.audit.services import record_events_sql
from ringround.campaigns.services import count_claim_sql, count_handed_out_sql, credit_call_sql
from ringround.contacts.models import Contact

from . import tallies
from .models import Call, CallTarget

P = rawsql.Param
CONTACT_VIEW = "contact.view"  # the audit trail's action for a volunteer shown a contact
_TARGET = rawsql.Columns(CallTarget, "t")
_CONTACT = rawsql.Columns(Contact, "c")


@cache
def claim_sql() -> str:
    """Renew the lease the volunteer holds, or else (if the campaign has room under its
    hourly ceiling) take the best lapsed lease or ready target, count the claim for the
    volunteer and the campaign and (``record_view``) write the contact view to the audit
    trail; then read the target and its contact. ``held_before``: the volunteer held a
    lease; ``no_room``: someone was claimable but the campaign's ceiling was reached.

    The order is the ORM path's: lock the best candidate (``SKIP LOCKED``: never waits),
    then count it against the ceiling (the one UPDATE of the campaign's row, which claims
    at the same moment wait for in turn, each rechecking the ceiling), then lease it. The
    candidate is locked, so a counted claim is always a taken one.

    The volunteer's own lease is found by the unique lease index (``own``) and renewed by
    its id, the lease time checked there: the renewal's own conditions are checked again on
    the row it updates, but name no lease time, so no plan can walk the lease-expiry index
    instead (a generic plan made before any lease was held did, through every held lease)."""
    table = f'"{CallTarget._meta.db_table}"'
    targets = CallTarget.objects
    held = targets.filter(campaign=P("campaign")).held_by(P("volunteer"))
    may_be_called = targets.may_be_called(
        P("campaign"),
        P("open_zones"),
        P("max_attempts"),
        P("open_legal"),
        P("spoken_since"),
        team=P("team"),
    )
    lock = connection.ops.for_update_sql(skip_locked=True)
    lapsed, ready = (
        f"{rawsql.select(part.in_claim_order().values('id')[:1])} {lock}"
        for part in (may_be_called.lapsed(P("now")), may_be_called.ready(P("now")))
    )
    leased = CallTarget.leased_to(P("volunteer"), P("now"), P("expires_at"))
    viewed = record_events_sql(
        f"""(SELECT contact_id FROM renewed UNION ALL SELECT contact_id FROM taken) t
          JOIN "{Contact._meta.db_table}" c ON c.id = t.contact_id""",
        action=CONTACT_VIEW,
        model=Contact,
        actor_id="%(volunteer)s",
        object_id="c.public_id",
        campaign_id="%(campaign)s",
        ip_address="%(ip_address)s",
        detail="%(view_detail)s",
    )
    counted = count_claim_sql(membership="membership", now="now", new_window="new_window")
    handed_out = count_handed_out_sql(
        campaign="campaign", ceiling="ceiling", now="now", hour_ago="hour_ago"
    )
    return f"""
WITH own AS (
    {rawsql.select(held.values("id", "lease_expires_at"))}
), candidate AS (
    SELECT COALESCE(({lapsed}), ({ready})) AS id WHERE NOT EXISTS (SELECT 1 FROM own)
), handed_out AS (
    {handed_out} AND EXISTS (SELECT 1 FROM candidate WHERE id IS NOT NULL)
    RETURNING "id"
), renewed AS (
    UPDATE {table} SET {rawsql.assignments(CallTarget, {"lease_expires_at": P("expires_at")})}
     WHERE "id" = (SELECT id FROM own WHERE lease_expires_at > %(now)s)
       AND {rawsql.condition(held)}
    RETURNING *
), taken AS (
    UPDATE {table} SET {rawsql.assignments(CallTarget, leased)}
     WHERE "id" = (SELECT id FROM candidate) AND EXISTS (SELECT 1 FROM handed_out)
    RETURNING *
), viewed AS (
    {viewed} WHERE %(record_view)s
), counted AS (
    {counted} AND EXISTS (SELECT 1 FROM taken)
)
SELECT {_TARGET.sql}, {_CONTACT.sql}, EXISTS (SELECT 1 FROM own) AS held_before,
       EXISTS (SELECT 1 FROM candidate WHERE id IS NOT NULL)
         AND NOT EXISTS (SELECT 1 FROM handed_out) AS no_room
  FROM (SELECT 1) AS one
  LEFT JOIN (SELECT * FROM renewed UNION ALL SELECT * FROM taken) t ON true
  LEFT JOIN "{Contact._meta.db_table}" c ON c.id = t.contact_id"""


def claim(params: dict) -> tuple:
    """Run ``claim_sql``: ``(target, contact, held_before, no_room)``, the first two ``None`` when
    nothing was renewed or taken. Raises ``IntegrityError`` if the volunteer claimed twice
    at once (the database keeps one lease)."""
    with _own_savepoint():
        [row] = rawsql.fetch(claim_sql(), params, _TARGET, _CONTACT)
    return row


@cache
def store_call_sql() -> str:
    """Lock the target, store the call unless its key or its claim is stored already, and
    apply the outcome to the target unless the lease had passed to someone else; a real call
    (``real_call``) stored with the lease still the volunteer's earns them claims; a stored
    call is added to the tallies (``tallies.upsert_sql``). Returns
    the stored call's id and ``lease_lost``; no row if it was stored before."""
    table = f'"{CallTarget._meta.db_table}"'
    target = (
        CallTarget.objects.filter(pk=P("target_id"), campaign=P("campaign_id"))
        .annotate(
            ours=CallTarget.lease_still_ours(
                P("volunteer_id"), P("started_at", output_field=DateTimeField())
            )
        )
        .values("id", "ours")
    )
    applied = CallTarget.after_outcome(
        outcome=P("outcome_id"),
        suppresses=rawsql.flag("suppresses"),
        retries=rawsql.flag("retries"),
        limit=P("limit"),
        retry_at=P("retry_at", output_field=DateTimeField()),
    )
    stored = rawsql.insert_select(
        Call, "target", {"target_id": "target.id", "lease_lost": "NOT target.ours"}
    )
    credited = credit_call_sql(campaign="campaign_id", volunteer="volunteer_id")
    calls, volunteer, answers = tallies.upsert_sql(
        "EXISTS (SELECT 1 FROM stored)", one_statement=True
    )
    return f"""
WITH target AS (
    {rawsql.select(target)} {connection.ops.for_update_sql()}
), stored AS (
    {stored}
        ON CONFLICT DO NOTHING
    RETURNING id, lease_lost
), applied AS (
    UPDATE {table} SET {rawsql.assignments(CallTarget, applied)}
      FROM stored
     WHERE {table}."id" = %(target_id)s AND NOT stored.lease_lost
), credited AS (
    {credited} AND %(real_call)s AND EXISTS (SELECT 1 FROM stored WHERE NOT lease_lost)
), tallied AS (
    {calls}
), tallied_volunteer AS (
    {volunteer}
), tallied_answers AS (
    {answers}
)
SELECT id, lease_lost FROM stored"""


def store_call(
    call: Call,
    *,
    suppresses: bool,
    retries: bool,
    limit: int,
    retry_at,
    real_call: bool,
    tally: dict,
) -> tuple:
    """Run ``store_call_sql`` for this call (not saved yet): ``(id, lease_lost)``, or
    ``None`` if it was stored before."""
    params = rawsql.insert_params(call)
    params.update(
        suppresses=suppresses,
        retries=retries,
        limit=limit,
        retry_at=retry_at,
        real_call=real_call,
    )
    params.update(tally)
    with _own_savepoint(), rawsql.cursor() as cursor:
        cursor.execute(store_call_sql(), params)
        return cursor.fetchone()


def _own_savepoint():
    """Inside a transaction (tests, or a caller's atomic block) a refused statement must not
    spoil the rest of it; on its own a statement needs no transaction of its own."""
    return transaction.atomic() if connection.in_atomic_block else nullcontext()
