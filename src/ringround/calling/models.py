"""Who is to be called in a campaign, and every attempt made.

The lease lives on the target row itself, so a target can never have two holders; the
database also forbids a volunteer holding two live leases in one campaign.

Which targets are which (ready, lapsed, held by someone, claimable now) and how a target
changes (leased, handed back, stopped, after an outcome) are defined here once: the calling
rules (``rules.py``) apply them through the ORM, and the PostgreSQL statements
(``statements.py``) are compiled from the same definitions.
"""

from django.conf import settings
from django.db import models
from django.db.models import (
    BooleanField,
    Case,
    Exists,
    ExpressionWrapper,
    F,
    OuterRef,
    Q,
    Value,
    When,
)
from django.db.models.functions import Coalesce
from django.db.models.lookups import LessThan
from django.utils import timezone

from ringround.compliance.models import NoObjection, ScreenedNumber, TeamPolicy
from ringround.contacts.models import Suppression
from ringround.ids import new_public_id
from ringround.rawsql import OneOf


class TargetState(models.TextChoices):
    READY = "ready", "Ready"
    ASSIGNED = "assigned", "Assigned"
    WAITING = "waiting", "Waiting for retry"
    DONE = "done", "Done"
    EXHAUSTED = "exhausted", "Attempts used up"
    SUPPRESSED = "suppressed", "Suppressed"
    DIALING = "dialing", "Being dialed (predictive)"


# Waiting to be called: new, or due for another try once their time comes.
CLAIMABLE_STATES = (TargetState.READY, TargetState.WAITING)
# Finished with: nothing more happens to these targets.
FINISHED_STATES = (TargetState.DONE, TargetState.SUPPRESSED)
# The order in which the claim hands targets out, best first (and its index's order).
CLAIM_ORDER = ("-priority", "next_call_at", "id")


def _ready(now) -> Q:
    return Q(state__in=CLAIMABLE_STATES, next_call_at__lte=now)


def _lapsed(now) -> Q:
    return Q(state=TargetState.ASSIGNED, lease_expires_at__lte=now)


class CallTargetQuerySet(models.QuerySet):
    """The calling loop's conditions. Each argument may be a value or, for the PostgreSQL
    statements, a ``rawsql.Param``."""

    def held_by(self, volunteer):
        """Leased to this volunteer now (the lease may have lapsed unnoticed)."""
        return self.filter(state=TargetState.ASSIGNED, held_by=volunteer)

    def ready(self, now):
        """Waiting to be called, and due."""
        return self.filter(_ready(now))

    def lapsed(self, now):
        """Leased, but nobody renewed the lease in time: free to hand out again."""
        return self.filter(_lapsed(now))

    def live(self):
        """Not finished with: to be called, waiting, or being called."""
        return self.exclude(state__in=FINISHED_STATES)

    def may_be_called(
        self, campaign, open_zones, max_attempts, open_legal=None, spoken_since=None, team=None
    ):
        """In this campaign, inside calling hours in the target's own time zone (one of
        ``open_zones``) and inside the legal window of its place (one of ``open_legal``),
        under the attempt limit, not on the suppression list, not on the team's TPS/CTPS
        screening unless the contact said they do not object, and not spoken to by any of the
        team's campaigns after ``spoken_since`` (the team's frequency limit; the target's own
        calls are its retry rules' business). ``None``: that condition is not checked.

        ``team``: the campaign's team (read from ``campaign`` when it is a Campaign). The
        lists are matched by it, not by a join through the campaign's row: that row is
        updated by every claim, and under load a join through it walked its dead versions
        for each candidate (bench/load --realistic: 6,000 buffers a claim)."""
        team = campaign.team_id if team is None else team
        targets = self.filter(
            campaign=campaign, time_zone__one_of=open_zones, attempts__lt=max_attempts
        )
        if open_legal is not None:
            targets = targets.filter(legal_zone__one_of=open_legal)
        targets = targets.exclude(
            Exists(Suppression.objects.for_team(team).filter(phone=OuterRef("phone")))
        ).exclude(
            Exists(ScreenedNumber.objects.filter(team=team, phone=OuterRef("phone")))
            & ~Exists(NoObjection.objects.filter(contact=OuterRef("contact")))
        )
        if spoken_since is not None:
            targets = targets.exclude(
                Exists(
                    Call.objects.filter(
                        target__contact=OuterRef("contact"),
                        outcome__is_conversation=True,
                        ended_at__gt=spoken_since,
                    ).exclude(target=OuterRef("pk"))
                )
            )
        return targets

    def claimable_now(self, campaign, now, policy=None):
        """What a claim may hand out now: ready or lapsed, and may be called (``policy``: the
        team's compliance settings, if read already)."""
        policy = policy or TeamPolicy.for_team(campaign.team_id)
        return self.may_be_called(
            campaign,
            campaign.open_time_zones(now),
            campaign.max_attempts,
            campaign.open_legal_zones(now, policy),
            policy.spoken_since(now),
        ).filter(_ready(now) | _lapsed(now))

    def in_claim_order(self):
        return self.order_by(*CLAIM_ORDER)


def _value(value):
    return value if hasattr(value, "resolve_expression") else Value(value)


class CallTarget(models.Model):
    State = TargetState
    CLAIMABLE_STATES = CLAIMABLE_STATES

    # Foreign keys without an index of their own where a composite index below leads with
    # them, or where only a rare delete looks them up: every index is written again on every
    # claim and every outcome (the updates change indexed columns).
    campaign = models.ForeignKey(
        "campaigns.Campaign", on_delete=models.CASCADE, related_name="targets", db_index=False
    )
    contact = models.ForeignKey(
        "contacts.Contact", on_delete=models.CASCADE, related_name="targets"
    )
    phone = models.CharField(
        max_length=20, help_text="Copied from the contact for the claim query."
    )
    time_zone = models.CharField(max_length=64, default="Europe/London")
    legal_zone = models.CharField(
        max_length=80,
        blank=True,
        default="",
        help_text="Jurisdiction and time zone of its legal calling window (compliance.hours).",
    )
    state = models.CharField(max_length=16, choices=State.choices, default=State.READY)
    priority = models.IntegerField(default=0)
    attempts = models.PositiveIntegerField(default=0)
    next_call_at = models.DateTimeField(default=timezone.now)
    held_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        db_index=False,  # live leases: one_live_lease_per_volunteer
    )
    lease_expires_at = models.DateTimeField(null=True, blank=True)
    leased_at = models.DateTimeField(null=True, blank=True)
    last_outcome = models.ForeignKey(
        "campaigns.OutcomeCode",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        db_index=False,
    )

    objects = CallTargetQuerySet.as_manager()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["campaign", "contact"], name="target_once_per_campaign"
            ),
            # "held_by not null" (true of every lease) is implied by a lookup of someone's
            # lease, never by the lapsed claim's condition: a plan made while no lease was held
            # cannot walk this index for lapsed leases (nor target_lease_expiry for someone's).
            models.UniqueConstraint(
                fields=["campaign", "held_by"],
                condition=Q(state=TargetState.ASSIGNED, held_by__isnull=False),
                name="one_live_lease_per_volunteer",
            ),
            models.CheckConstraint(
                condition=(
                    Q(
                        state=TargetState.ASSIGNED,
                        held_by__isnull=False,
                        lease_expires_at__isnull=False,
                    )
                    | (~Q(state=TargetState.ASSIGNED) & Q(held_by__isnull=True))
                ),
                name="assigned_iff_held",
            ),
        ]
        indexes = [
            # The claim walks these in order and stops at the first free row (rules.py).
            models.Index(
                fields=["campaign", *CLAIM_ORDER],
                condition=Q(state__in=CLAIMABLE_STATES),
                name="target_claim_order",
            ),
            # "lease_expires_at not null" is implied by the lapsed claim's condition, never by
            # a lookup of a volunteer's own lease (see one_live_lease_per_volunteer).
            models.Index(
                fields=["campaign", "lease_expires_at"],
                condition=Q(state=TargetState.ASSIGNED, lease_expires_at__isnull=False),
                name="target_lease_expiry",
            ),
        ]

    def __str__(self):
        return f"{self.contact_id} in {self.campaign_id} ({self.state})"

    # -- how a target changes: values for QuerySet.update(), compiled into the statements too

    @staticmethod
    def leased_to(volunteer, now, expires_at) -> dict:
        return {
            "state": TargetState.ASSIGNED,
            "held_by": volunteer,
            "leased_at": now,
            "lease_expires_at": expires_at,
        }

    @staticmethod
    def dialing(now, expires_at) -> dict:
        """Dialed by the predictive dialer before any volunteer is free: held by nobody until
        a person answers (then ``leased_to`` a free volunteer) or the line ends."""
        return {
            "state": TargetState.DIALING,
            "held_by": None,
            "leased_at": now,
            "lease_expires_at": expires_at,
        }

    @staticmethod
    def back_to_pool() -> dict:
        """Handed back untouched (released, or its lease lapsed): no attempt is counted."""
        return {
            "state": Case(
                When(attempts=0, then=Value(TargetState.READY)),
                default=Value(TargetState.WAITING),
            ),
            "held_by": None,
            "lease_expires_at": None,
        }

    @staticmethod
    def stopped() -> dict:
        """Never to be called again in this campaign (its number is suppressed)."""
        return {"state": TargetState.SUPPRESSED, "held_by": None, "lease_expires_at": None}

    @staticmethod
    def after_outcome(*, outcome, suppresses, retries, limit, retry_at) -> dict:
        """A call was made: count the attempt, end the lease, and stop the target, finish
        it, or schedule the next try at ``retry_at`` while attempts remain under ``limit``."""
        suppresses, retries, limit = _value(suppresses), _value(retries), _value(limit)
        another_try = ~suppresses & retries & LessThan(F("attempts") + 1, limit)
        return {
            "attempts": F("attempts") + 1,
            "last_outcome": outcome,
            "held_by": None,
            "lease_expires_at": None,
            "state": Case(
                When(suppresses, then=Value(TargetState.SUPPRESSED)),
                When(~retries, then=Value(TargetState.DONE)),
                When(another_try, then=Value(TargetState.WAITING)),
                default=Value(TargetState.EXHAUSTED),
            ),
            "next_call_at": Case(
                When(another_try, then=_value(retry_at)), default=F("next_call_at")
            ),
        }

    @staticmethod
    def lease_still_ours(volunteer, leased_at):
        """Whether an outcome from ``volunteer`` for their claim of ``leased_at`` may still
        change the target (a boolean expression): nobody has claimed it since (a claim sets
        ``leased_at``), and they hold it still or its lease lapsed back to the pool. An outcome
        that fails this is kept (``lease_lost``) but changes nothing."""
        ours = Q(leased_at=leased_at) & (
            Q(state=TargetState.ASSIGNED, held_by=volunteer)
            | Q(state__in=CLAIMABLE_STATES, held_by__isnull=True)
        )
        return Coalesce(ExpressionWrapper(ours, output_field=BooleanField()), Value(False))


CallTarget._meta.get_field("time_zone").register_lookup(OneOf)
CallTarget._meta.get_field("legal_zone").register_lookup(OneOf)


class Call(models.Model):
    """One attempt to reach a target, stored once per client idempotency key."""

    # As on CallTarget: the composite indexes below lead with campaign, target and volunteer,
    # so those foreign keys have no index of their own (one write fewer per call each).
    public_id = models.CharField(max_length=16, unique=True, default=new_public_id, editable=False)
    campaign = models.ForeignKey(
        "campaigns.Campaign", on_delete=models.CASCADE, related_name="calls", db_index=False
    )
    target = models.ForeignKey(
        CallTarget, on_delete=models.CASCADE, related_name="calls", db_index=False
    )
    volunteer = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        on_delete=models.SET_NULL,
        related_name="calls",
        db_index=False,
    )
    outcome = models.ForeignKey(
        "campaigns.OutcomeCode", on_delete=models.PROTECT, related_name="calls", db_index=False
    )
    answers = models.JSONField(default=dict, blank=True)
    notes = models.TextField(blank=True)
    started_at = models.DateTimeField()
    ended_at = models.DateTimeField(default=timezone.now)
    idempotency_key = models.CharField(max_length=64)
    lease_lost = models.BooleanField(
        default=False, help_text="Recorded after the lease had passed to someone else."
    )
    talk_seconds = models.PositiveIntegerField(
        null=True, blank=True, help_text="Seconds connected, as the telephony provider measured."
    )

    class Meta:
        ordering = ["ended_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["volunteer", "idempotency_key"], name="call_stored_once"
            ),
            models.UniqueConstraint(
                fields=["target", "volunteer", "started_at"], name="one_call_per_claim"
            ),
        ]
        indexes = [models.Index(fields=["campaign", "ended_at"], name="call_campaign_time")]

    def __str__(self):
        return f"call {self.public_id}"

    @property
    def duration_seconds(self) -> float:
        return max((self.ended_at - self.started_at).total_seconds(), 0.0)


class CallTally(models.Model):
    """A campaign's calls in one hour with one outcome, counted as each call is stored
    (``tallies.py``), so figures over a million calls read a few thousand rows, not the calls.
    Counts only: no person is named, and an erasure leaves them as they are."""

    campaign = models.ForeignKey(
        "campaigns.Campaign", on_delete=models.CASCADE, related_name="+", db_index=False
    )
    hour = models.DateTimeField(help_text="The hour (UTC) the call ended in.")
    outcome = models.ForeignKey(
        "campaigns.OutcomeCode", on_delete=models.CASCADE, related_name="+", db_index=False
    )
    calls = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["campaign", "hour", "outcome"], name="call_tally_once")
        ]

    def __str__(self):
        return f"{self.calls} calls at {self.hour:%Y-%m-%d %H}:00"


class VolunteerTally(models.Model):
    """A volunteer's calls and conversations in a campaign, counted as each call is stored."""

    campaign = models.ForeignKey(
        "campaigns.Campaign", on_delete=models.CASCADE, related_name="+", db_index=False
    )
    volunteer = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+", db_index=False
    )
    calls = models.PositiveIntegerField(default=0)
    conversations = models.PositiveIntegerField(default=0)
    last_call_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["campaign", "volunteer"], name="volunteer_tally_once")
        ]

    def __str__(self):
        return f"{self.calls} calls by volunteer {self.volunteer_id}"


class AnswerTally(models.Model):
    """How often each choice of a campaign's question was given, counted as calls are stored;
    ``answer`` empty: how many calls answered the question at all. Free-text answers are
    counted, never copied here (they are what people said)."""

    campaign = models.ForeignKey(
        "campaigns.Campaign", on_delete=models.CASCADE, related_name="+", db_index=False
    )
    question = models.CharField(max_length=100, help_text="The question's key.")
    answer = models.TextField(blank=True)
    calls = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["campaign", "question", "answer"], name="answer_tally_once"
            )
        ]

    def __str__(self):
        return f"{self.question} {self.answer!r}: {self.calls}"


class RoomMessage(models.Model):
    """A message an organiser sends to everyone calling for a campaign during a phone bank
    (``calling.room``): shown on their cards until it is withdrawn or replaced."""

    campaign = models.ForeignKey(
        "campaigns.Campaign", on_delete=models.CASCADE, related_name="room_messages"
    )
    text = models.CharField(max_length=500)
    sent_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    sent_at = models.DateTimeField(default=timezone.now)
    withdrawn_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["campaign", "-sent_at"], name="room_message_latest")]

    def __str__(self):
        return self.text


class HelpRequest(models.Model):
    """A volunteer pressed "I need help" on their card; open until an organiser answers."""

    campaign = models.ForeignKey(
        "campaigns.Campaign", on_delete=models.CASCADE, related_name="help_requests"
    )
    volunteer = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+"
    )
    raised_at = models.DateTimeField(default=timezone.now)
    answered_at = models.DateTimeField(null=True, blank=True)
    answered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["campaign", "volunteer"],
                condition=Q(answered_at__isnull=True),
                name="one_open_help_request",
            )
        ]

    def __str__(self):
        return f"{self.volunteer} needs help"
