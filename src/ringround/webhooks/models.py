"""A team's endpoints, the events sent to them, and every attempt at sending one.

An ``Event`` is what happened, with the JSON sent for it; a ``Delivery`` is that event on its
way to one endpoint (its id and attempt number go out in headers, so a receiver can tell a
retry from a new event); an ``Attempt`` is one try, with the answer and how long it took.
"""

import datetime as dt

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.crypto import salted_hmac

from ringround.ids import new_public_id, new_token

EVENTS = {
    "call.recorded": "A call is recorded",
    "contact.suppressed": "A number is added to the suppression list",
    "volunteer.joined": "A volunteer joins a campaign (once they may call)",
    "import.finished": "An import finishes",
}
PING = "ping"  # the test event an organiser sends by hand, to every endpoint whatever it takes
SECRET_SALT = "ringround.webhooks.secret"


class Endpoint(models.Model):
    """A URL of a team's own system that is sent the events it asks for."""

    public_id = models.CharField(max_length=16, unique=True, default=new_public_id, editable=False)
    team = models.ForeignKey(
        "accounts.Team", on_delete=models.CASCADE, related_name="webhook_endpoints"
    )
    url = models.URLField("URL", max_length=500)
    description = models.CharField(max_length=200, blank=True)
    events = models.JSONField(default=list, help_text="The event types sent to it.")
    active = models.BooleanField(default=True)
    # Not the secret: the secret is derived from this and the site's SECRET_KEY (``secret``),
    # so a copy of the database alone cannot sign. A new salt is a new secret.
    secret_salt = models.CharField(max_length=64, default=new_token, editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "pk"]

    def __str__(self):
        return self.url

    @property
    def secret(self) -> str:
        """The signing secret, shown to the organiser once and recomputed for every delivery."""
        digest = salted_hmac(SECRET_SALT, self.secret_salt, algorithm="sha256").hexdigest()
        return f"whsec_{digest}"

    def event_labels(self) -> list[str]:
        return [EVENTS[name] for name in EVENTS if name in self.events]


class Event(models.Model):
    """Something that happened in a team, as sent: ``payload`` is the JSON body."""

    public_id = models.CharField(max_length=16, unique=True, default=new_public_id, editable=False)
    team = models.ForeignKey("accounts.Team", on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(max_length=32)
    payload = models.JSONField()
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    def __str__(self):
        return f"{self.kind} {self.public_id}"


class DeliveryQuerySet(models.QuerySet):
    def due(self, now):
        """Waiting and its time come, or sending for longer than its lease (the worker that
        claimed it has died): either may be claimed."""
        return self.filter(
            models.Q(state=Delivery.State.PENDING, next_attempt_at__lte=now)
            | models.Q(state=Delivery.State.SENDING, lease_until__lt=now)
        )


class Delivery(models.Model):
    """One event on its way to one endpoint.

    Sending is claimed first, by a compare-and-swap on ``attempts`` (``services.claim``), so
    two workers never both send the same attempt; each attempt's number is also unique in
    ``Attempt``."""

    class State(models.TextChoices):
        PENDING = "pending", "Waiting to be sent"
        SENDING = "sending", "Sending"
        SUCCEEDED = "succeeded", "Delivered"
        FAILED = "failed", "Gave up"

    public_id = models.CharField(max_length=16, unique=True, default=new_public_id, editable=False)
    event = models.ForeignKey(Event, on_delete=models.CASCADE, related_name="deliveries")
    endpoint = models.ForeignKey(Endpoint, on_delete=models.CASCADE, related_name="deliveries")
    state = models.CharField(max_length=16, choices=State.choices, default=State.PENDING)
    attempts = models.PositiveIntegerField(default=0, help_text="Attempts claimed so far.")
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    lease_until = models.DateTimeField(null=True, blank=True)
    replay_requested = models.BooleanField(default=False)
    last_status_code = models.PositiveIntegerField(null=True, blank=True)
    last_duration_ms = models.PositiveIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    objects = DeliveryQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [
            models.Index(fields=["state", "next_attempt_at"], name="delivery_due"),
            models.Index(fields=["endpoint", "created_at"], name="delivery_log"),
        ]
        verbose_name_plural = "deliveries"

    def __str__(self):
        return f"delivery {self.public_id}"

    @property
    def gives_up_at(self) -> dt.datetime:
        return self.created_at + dt.timedelta(hours=settings.RINGROUND_WEBHOOKS_RETRY_HOURS)


class Attempt(models.Model):
    """One try at sending a delivery: in flight until ``succeeded`` is set."""

    delivery = models.ForeignKey(Delivery, on_delete=models.CASCADE, related_name="attempt_log")
    number = models.PositiveIntegerField()
    replay = models.BooleanField(default=False, help_text="Sent again by hand.")
    started_at = models.DateTimeField()
    duration_ms = models.PositiveIntegerField(null=True, blank=True)
    status_code = models.PositiveIntegerField(null=True, blank=True)
    error = models.CharField(max_length=300, blank=True)
    succeeded = models.BooleanField(null=True)

    class Meta:
        ordering = ["delivery", "number"]
        constraints = [
            models.UniqueConstraint(fields=["delivery", "number"], name="attempt_number_once")
        ]

    def __str__(self):
        return f"attempt {self.number} of {self.delivery}"
