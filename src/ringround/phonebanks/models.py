"""Phone-bank sessions: an evening when volunteers call together, and who signed up.

Times are stored in UTC; ``time_zone`` is the zone the organiser typed them in, used for
emails (which cannot know the reader's zone) and for the edit form."""

from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import models
from django.db.models import Q

from ringround.ids import new_public_id


class PhoneBankSessionQuerySet(models.QuerySet):
    def upcoming(self, now):
        """Sessions not cancelled that have not ended yet, soonest first."""
        return self.filter(cancelled_at__isnull=True, ends_at__gt=now).order_by("starts_at")


class PhoneBankSession(models.Model):
    public_id = models.CharField(max_length=16, unique=True, default=new_public_id, editable=False)
    campaign = models.ForeignKey(
        "campaigns.Campaign", on_delete=models.CASCADE, related_name="phonebank_sessions"
    )
    title = models.CharField(max_length=200, blank=True)
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()
    time_zone = models.CharField(max_length=64, default="Europe/London")
    capacity = models.PositiveIntegerField()
    meeting_link = models.URLField(max_length=500, blank=True)
    host = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="One of the team's organisers, or else ``host_name``.",
    )
    host_name = models.CharField(max_length=150, blank=True)
    # Kept by the sign-up services in the same transaction as the sign-ups themselves, so the
    # capacity check is one conditional UPDATE, not a COUNT(*) racing another sign-up.
    signed_up = models.PositiveIntegerField(default=0)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)

    objects = PhoneBankSessionQuerySet.as_manager()

    class Meta:
        ordering = ["starts_at"]
        indexes = [models.Index(fields=["campaign", "starts_at"])]
        constraints = [
            models.CheckConstraint(
                condition=Q(ends_at__gt=models.F("starts_at")), name="phonebank_ends_after_start"
            )
        ]

    def __str__(self):
        return self.name

    @property
    def name(self) -> str:
        return self.title or f"{self.campaign.name} phone bank"

    @property
    def host_display(self) -> str:
        return str(self.host) if self.host_id else self.host_name

    @property
    def places_left(self) -> int:
        return max(self.capacity - self.signed_up, 0)

    @property
    def is_full(self) -> bool:
        return self.signed_up >= self.capacity

    @property
    def is_cancelled(self) -> bool:
        return self.cancelled_at is not None

    def local(self, moment):
        return moment.astimezone(ZoneInfo(self.time_zone))


class SignUp(models.Model):
    """A volunteer coming to a session. Cancelling keeps the row (``cancelled_at``), so a
    reminder already sent is remembered if they sign up again."""

    session = models.ForeignKey(PhoneBankSession, on_delete=models.CASCADE, related_name="sign_ups")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="phonebank_sign_ups"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)
    reminder_sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["session", "user"], name="phonebank_sign_up_once")
        ]

    def __str__(self):
        return f"{self.user} at {self.session}"

    @property
    def is_active(self) -> bool:
        return self.cancelled_at is None
