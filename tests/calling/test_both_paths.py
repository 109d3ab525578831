"""Each calling rule is stated once: the ORM path (SQLite's, step by step) and PostgreSQL's
one-statement path (statements.py) are compiled from the same definitions, and this test holds
them to it. The same evening of calls runs through each path in a world of its own; the rows
each leaves behind (targets, calls, claim counters, audit trail, suppression list, tallies) and what
each volunteer was told must be the same. A rule changed in one path and not the other fails.
"""

import datetime as dt
import itertools

import pytest
from django.utils import timezone

from ringround.audit.models import AuditEvent
from ringround.calling import rules, statements, tallies
from ringround.calling import targets as call_targets
from ringround.calling.models import Call, CallTarget
from ringround.campaigns import services as campaign_services
from ringround.campaigns.models import Campaign, Membership
from ringround.contacts.models import Contact, Suppression
from tests.factories import UserFactory, make_campaign, make_organiser, make_team

pytestmark = pytest.mark.postgres_only

NOON = dt.datetime(2027, 5, 4, 11, 0, tzinfo=dt.UTC)  # 12:00 in London, 07:00 in New York
PEOPLE = 10


def minutes(n):
    return NOON + dt.timedelta(minutes=n)


class World:
    """One campaign with its contacts and volunteers; ``n`` keeps two worlds' phones apart.
    Everything is named by key (``p3``, ``v2``), the same in both worlds."""

    def __init__(self, n: int, **fields):
        self.n = n
        organiser = make_organiser()
        fields = {"claims_per_hour": 4, "max_attempts": 3, **fields}
        self.campaign = make_campaign(organiser, **fields)
        campaign_services.add_question(
            self.campaign, text="Top issue?", kind="single", choices=["NHS", "Housing"]
        )
        self.question = self.campaign.questions.get()
        self.contacts = {}
        for i in range(PEOPLE):
            contact = Contact.objects.create(
                team=self.campaign.team,
                first_name=f"Person{i}",
                phone=self.phone(i),
                external_id=f"W{n}-{i}",
                # p9 lives where it is still too early to call.
                time_zone="America/New_York" if i == 9 else "Europe/London",
            )
            self.contacts[f"p{i}"] = contact
        # Another team does not call p5: nothing to this campaign, on either path.
        Suppression.objects.create(phone=self.phone(5), team=make_team(f"Elsewhere {n}"))
        call_targets.add_contacts(
            self.campaign, Contact.objects.filter(external_id__startswith=f"W{n}-")
        )
        mine = CallTarget.objects.filter(campaign=self.campaign)
        mine.update(next_call_at=minutes(-60))
        for i, priority in ((2, 5), (4, 9)):  # p4 first, then p2, then the rest by id
            mine.filter(contact=self.contacts[f"p{i}"]).update(priority=priority)
        self.volunteers = {}
        for i in range(4):
            user = UserFactory(email=f"w{n}-v{i}@example.org")
            Membership.objects.create(campaign=self.campaign, user=user)
            self.volunteers[f"v{i}"] = user
        self.leases = {}
        self.keys = itertools.count()

    def phone(self, i: int) -> str:
        return f"+44207946{self.n}{i:03d}"

    def key_of_phone(self, phone: str) -> str:
        for key, contact in self.contacts.items():
            if phone == contact.phone:
                return key
        return phone

    # -- what volunteers do ------------------------------------------------------------------

    def claim(self, volunteer, now, *, record_view=False):
        try:
            lease = rules.claim_next(
                self.campaign, self.volunteers[volunteer], now=now, record_view=record_view
            )
        except rules.CallingError as exc:
            return ("refused", exc.code)
        if lease is None:
            return ("nobody",)
        self.leases[volunteer] = lease
        return ("given", self.contact_key(lease.contact.pk), lease.expires_at)

    def record(self, volunteer, code, now, *, key=None, **extra):
        lease = self.leases[volunteer]
        if code == "answered":
            extra.setdefault("answers", {self.question.key: "Housing"})
        try:
            call = rules.record_outcome(
                self.campaign,
                self.volunteers[volunteer],
                lease_token=lease.token,
                outcome_code=code,
                idempotency_key=key or f"key-{next(self.keys)}",
                now=now,
                **extra,
            )
        except rules.CallingError as exc:
            return ("refused", exc.code)
        return ("stored", call.outcome.code, call.lease_lost, call.ended_at)

    def heartbeat(self, volunteer, now):
        return ("heartbeat", rules.heartbeat(self.campaign, self.volunteers[volunteer], now=now))

    def release(self, volunteer):
        return ("released", rules.release(self.campaign, self.volunteers[volunteer]))

    # -- what the database holds -------------------------------------------------------------

    def contact_key(self, contact_id) -> str:
        return next(k for k, c in self.contacts.items() if c.pk == contact_id)

    def volunteer_key(self, user_id) -> str | None:
        return next((k for k, v in self.volunteers.items() if v.pk == user_id), None)

    def rows(self) -> dict:
        targets = {
            self.contact_key(t.contact_id): (
                t.state,
                t.attempts,
                t.priority,
                t.next_call_at,
                self.volunteer_key(t.held_by_id),
                t.lease_expires_at,
                t.leased_at,
                t.last_outcome.code if t.last_outcome else None,
                self.key_of_phone(t.phone),
                t.time_zone,
            )
            for t in CallTarget.objects.filter(campaign=self.campaign).select_related(
                "last_outcome"
            )
        }
        calls = sorted(
            (
                self.contact_key(c.target.contact_id),
                self.volunteer_key(c.volunteer_id),
                c.outcome.code,
                {"issue" if k == self.question.key else k: v for k, v in c.answers.items()},
                c.notes,
                c.started_at,
                c.ended_at,
                c.idempotency_key,
                c.lease_lost,
            )
            for c in Call.objects.filter(campaign=self.campaign).select_related("target", "outcome")
        )
        memberships = {
            self.volunteer_key(m.user_id): (
                m.status,
                m.claims_window_start,
                m.claims_in_window,
                m.flagged_at,
                m.claims_total,
                m.calls_recorded,
            )
            for m in Membership.objects.filter(campaign=self.campaign)
        }
        contact_ids = {c.public_id: k for k, c in self.contacts.items()}
        events = sorted(
            (
                e.action,
                self.volunteer_key(e.actor_id),
                contact_ids.get(e.object_id, e.object_type),
                {k: v for k, v in e.detail.items() if k != "reason"},
            )
            for e in AuditEvent.objects.filter(campaign_id=self.campaign.pk).exclude(
                action="campaign.create"
            )
        )
        suppressed = sorted(
            self.key_of_phone(s.phone)
            for s in Suppression.objects.for_campaign(self.campaign).filter(
                phone__in=[c.phone for c in self.contacts.values()]
            )
        )
        campaign = Campaign.objects.get(pk=self.campaign.pk)
        counted = tallies.read(self.campaign)
        assert counted == tallies.recount(self.campaign), "the tallies are a recount"
        codes = dict(self.campaign.outcomes.values_list("pk", "code"))
        issue = {self.question.key: "issue"}
        return {
            "tallies": (
                {(h, codes[o]): n for (h, o), n in counted["hours"].items()},
                {self.volunteer_key(v): row for v, row in counted["volunteers"].items()},
                {(issue[q], a): n for (q, a), n in counted["answers"].items()},
            ),
            "campaign": (
                campaign.handed_out_window_start,
                campaign.handed_out_in_window,
                campaign.ceiling_reached_at,
            ),
            "targets": targets,
            "calls": calls,
            "memberships": memberships,
            "events": events,
            "suppressed": suppressed,
        }


def evening(world: World) -> list:
    """The same evening in either world: what each step answered, in order."""
    w = world
    return [
        w.claim("v0", minutes(0)),  # p4: the highest priority
        w.claim("v1", minutes(0), record_view=True),  # p2, the next; the view audited
        w.claim("v0", minutes(1)),  # v0 still holds p4: renewed, not a second person
        w.record("v0", "answered", minutes(2)),  # done, with a survey answer
        w.record("v0", "answered", minutes(3), key="key-0"),  # the phone retries: same call
        w.record("v1", "no_answer", minutes(2)),  # p2 waits 240 minutes
        w.claim("v2", minutes(3)),  # p0
        w.heartbeat("v2", minutes(8)),  # p0's lease now ends at 18
        w.claim("v3", minutes(4)),  # p1, lease ends at 14
        w.claim("v1", minutes(5)),  # p3
        w.record("v1", "call_back", minutes(6), callback_at=minutes(90)),
        w.claim("v0", minutes(25)),  # lapsed leases first, in claim order: p0
        w.claim("v1", minutes(25), record_view=True),  # then p1
        w.record("v3", "busy", minutes(26)),  # too late: stored, lease lost, p1 untouched
        w.record("v0", "wrong_number", minutes(27)),  # p0's number suppressed everywhere
        w.record("v1", "no_answer", minutes(27)),
        w.claim("v3", minutes(28)),  # p5
        w.record("v3", "no_answer", minutes(29)),
        w.claim("v3", minutes(30)),  # p6
        w.record("v3", "do_not_call", minutes(31)),
        w.claim("v3", minutes(32)),  # p7: v3's fourth contact this hour
        w.record("v3", "refused", minutes(33)),
        w.claim("v3", minutes(34)),  # a fifth is refused: the limit is 4 an hour
        w.claim("v2", minutes(35)),  # p8
        w.release("v2"),  # v2 pauses: p8 goes back untouched
        w.claim("v0", minutes(36)),  # p8
        w.record("v0", "no_answer", minutes(37)),
        w.claim("v1", minutes(38)),  # nobody: the rest wait, p9 is asleep in New York
        w.claim("v2", minutes(245)),  # p2, due again, priority first
        w.record("v2", "no_answer", minutes(246)),
        w.claim("v2", minutes(247)),  # p3, called back
        w.claim("v1", minutes(248), record_view=True),  # p1
        w.claim("v3", minutes(249)),  # a new hour for v3: p5
        ("expired", rules.expire_leases(now=minutes(300))),
        w.claim("v0", minutes(301)),  # p9, awake now
        w.record("v0", "no_answer", minutes(302)),
        w.claim("v1", minutes(490)),  # p2 again, 20:10 in London
        w.record("v1", "no_answer", minutes(491)),  # its third attempt: used up
    ]


def busy_hour(world: World) -> list:
    """A campaign allowing 3 contacts an hour, and volunteers earning claims by real calls."""
    w = world
    seconds = lambda n: NOON + dt.timedelta(seconds=n)  # noqa: E731
    return [
        w.claim("v0", seconds(0)),  # p4
        w.record("v0", "no_answer", seconds(40)),  # a real call: v0 earns claims
        w.claim("v1", seconds(50)),  # p2
        w.record("v1", "no_answer", seconds(55)),  # recorded at once: earns nothing
        w.claim("v2", seconds(60)),  # p0: the third of the hour
        w.claim("v3", seconds(70)),  # refused at the ceiling, flagged once
        w.claim("v1", seconds(80)),  # refused again, not flagged again
        w.claim("v2", seconds(90)),  # v2 holds p0: renewed, the ceiling does not matter
        w.release("v2"),
        w.claim("v3", minutes(61)),  # a new hour: p0 again
        w.claim("v1", minutes(62)),  # p1
    ]


def run(monkeypatch, one_statement: bool, n: int, plan=evening, **fields):
    used = {"claim": 0, "store_call": 0}
    for name in used:
        original = getattr(statements, name)

        def counting(*args, _original=original, _name=name, **kwargs):
            used[_name] += 1
            return _original(*args, **kwargs)

        monkeypatch.setattr(statements, name, counting)
    monkeypatch.setattr(rules, "one_statement", lambda: one_statement)
    world = World(n, **fields)
    said = plan(world)
    return said, world.rows(), dict(used)


def test_one_statement_path_leaves_the_same_rows_as_the_orm_path(monkeypatch):
    said_orm, rows_orm, used_orm = run(monkeypatch, one_statement=False, n=0)
    said_sql, rows_sql, used_sql = run(monkeypatch, one_statement=True, n=1)

    assert used_orm == {"claim": 0, "store_call": 0}
    assert used_sql["claim"] >= 12 and used_sql["store_call"] >= 6, used_sql
    assert said_sql == said_orm
    for part in rows_orm:
        assert rows_sql[part] == rows_orm[part], part
    # The evening did what it says, so the comparison compares something.
    states = {key: row[0] for key, row in rows_orm["targets"].items()}
    assert states == {
        "p0": "suppressed",
        "p1": "waiting",
        "p2": "exhausted",
        "p3": "waiting",
        "p4": "done",
        "p5": "waiting",
        "p6": "suppressed",
        "p7": "done",
        "p8": "waiting",
        "p9": "waiting",
    }
    assert said_orm.count(("refused", "rate_limited")) == 1
    assert rows_orm["memberships"]["v3"][3] is not None, "flagged to the organisers"
    assert [call[0] for call in rows_orm["calls"] if call[-1]] == ["p1"], "one late outcome"
    assert rows_orm["suppressed"] == ["p0", "p6"]
    hours, _, answers = rows_orm["tallies"]
    assert sum(hours.values()) == len(rows_orm["calls"]), "the late outcome counted too"
    assert answers == {("issue", ""): 1, ("issue", "Housing"): 1}
    views = [event for event in rows_orm["events"] if event[0] == "contact.view"]
    assert len(views) == 3


def test_ceiling_and_earned_claims_leave_the_same_rows_on_both_paths(monkeypatch):
    said_orm, rows_orm, _ = run(monkeypatch, False, 0, busy_hour, contacts_per_hour=3)
    said_sql, rows_sql, used_sql = run(monkeypatch, True, 1, busy_hour, contacts_per_hour=3)

    assert used_sql["claim"] >= 6, used_sql
    assert said_sql == said_orm
    for part in rows_orm:
        assert rows_sql[part] == rows_orm[part], part
    assert said_orm.count(("refused", "campaign_ceiling")) == 2
    assert rows_orm["campaign"] == (minutes(61), 2, NOON + dt.timedelta(seconds=70))
    ceiling_events = [
        event for event in rows_orm["events"] if event[0] == "campaign.ceiling_reached"
    ]
    assert len(ceiling_events) == 1
    earned = {key: row[5] for key, row in rows_orm["memberships"].items()}
    assert earned == {"v0": 1, "v1": 0, "v2": 0, "v3": 0}
    handed_out = {key: row[4] for key, row in rows_orm["memberships"].items()}
    assert handed_out == {"v0": 1, "v1": 2, "v2": 1, "v3": 1}


def test_audit_times_are_when_the_event_was_written_on_both_paths(monkeypatch):
    """The claim's own ``now`` may be any moment (tests, a replayed clock); the trail records
    when the view happened, as ``record_event`` does."""
    before = timezone.now()
    for one in (False, True):
        monkeypatch.setattr(rules, "one_statement", lambda one=one: one)
        world = World(int(one))
        world.claim("v0", minutes(0), record_view=True)
    after = timezone.now()
    times = list(AuditEvent.objects.filter(action="contact.view").values_list("at", flat=True))
    assert len(times) == 2 and all(before <= at <= after for at in times), times
