"""Who is to be called in a campaign, and every attempt made.

The lease lives on the target row itself, so a target can never have two holders; the
database also forbids a volunteer holding two live leases in one campaign.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from ringround.ids import new_public_id


class CallTarget(models.Model):
    class State(models.TextChoices):
        READY = "ready", "Ready"
        ASSIGNED = "assigned", "Assigned"
        WAITING = "waiting", "Waiting for retry"
        DONE = "done", "Done"
        EXHAUSTED = "exhausted", "Attempts used up"
        SUPPRESSED = "suppressed", "Suppressed"

    CLAIMABLE_STATES = (State.READY, State.WAITING)

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

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["campaign", "contact"], name="target_once_per_campaign"
            ),
            models.UniqueConstraint(
                fields=["campaign", "held_by"],
                condition=Q(state="assigned"),
                name="one_live_lease_per_volunteer",
            ),
            models.CheckConstraint(
                condition=(
                    Q(state="assigned", held_by__isnull=False, lease_expires_at__isnull=False)
                    | (~Q(state="assigned") & Q(held_by__isnull=True))
                ),
                name="assigned_iff_held",
            ),
        ]
        indexes = [
            # The claim walks these in order and stops at the first free row (rules.py).
            models.Index(
                fields=["campaign", "-priority", "next_call_at", "id"],
                condition=Q(state__in=["ready", "waiting"]),
                name="target_claim_order",
            ),
            models.Index(
                fields=["campaign", "lease_expires_at"],
                condition=Q(state="assigned"),
                name="target_lease_expiry",
            ),
        ]

    def __str__(self):
        return f"{self.contact_id} in {self.campaign_id} ({self.state})"


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
