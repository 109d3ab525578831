"""A team's line at a provider, how each campaign dials, and every leg of every connected call.

A ``Seat`` is a volunteer on the line: the provider rings their phone once and keeps them in a
room of their own, into which each contact is dialed (a ``Leg``). So the contact sees only the
campaign's caller ID and the volunteer only the same; the numbers travel to the provider and
nowhere else. The legs are also the record Ofcom's rules are kept by (answered, abandoned,
answering machines), counted over the last 24 hours.
"""

import os

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from ringround.ids import new_public_id


class DialingMode(models.TextChoices):
    """The same values as ``pacing.Mode``, which paces them."""

    PREVIEW = "preview", "Preview: the volunteer reads, then presses Call"
    POWER = "power", "Power: the next person is dialed as soon as the volunteer finishes"
    PREDICTIVE = "predictive", "Predictive: more lines than volunteers, paced to Ofcom's rules"


class Provider(models.TextChoices):
    OWN_PHONE = "own_phone", "The volunteer's own phone (a tel: link)"
    BRIDGE = "bridge", "A provider bridge (Twilio or a compatible API)"


DEFAULT_TOKEN_VARIABLE = "RINGROUND_TELEPHONY_TOKEN"


class Line(models.Model):
    """A team's telephone line: where to place calls, and the number its contacts see and can
    ring back. The provider's secret is never stored: the line names the environment variable
    that holds it."""

    public_id = models.CharField(max_length=16, unique=True, default=new_public_id, editable=False)
    team = models.OneToOneField("accounts.Team", on_delete=models.CASCADE, related_name="line")
    provider = models.CharField(max_length=16, choices=Provider.choices, default=Provider.OWN_PHONE)
    base_url = models.URLField("provider API address", default="https://api.twilio.com")
    account_sid = models.CharField("account id", max_length=64, blank=True)
    token_variable = models.CharField(
        "environment variable holding the auth token",
        max_length=64,
        default=DEFAULT_TOKEN_VARIABLE,
    )
    caller_id = models.CharField(
        "caller ID (E.164)",
        max_length=20,
        blank=True,
        help_text="The number contacts see; it must ring back to this line.",
    )
    caller_name = models.CharField(
        "who is calling, as said on the line",
        max_length=120,
        help_text="Spoken to people who ring back and in the message after an abandoned call.",
    )
    ring_seconds = models.PositiveSmallIntegerField(default=30)
    amd_false_positive_rate = models.FloatField(
        "answering-machine detection's false positives",
        default=0.02,
        help_text="The share of answering-machine verdicts that were really a person; Ofcom "
        "counts these estimated people as abandoned calls.",
    )
    changed_at = models.DateTimeField(auto_now=True)

    def __str__(self):
        return f"{self.team} line ({self.get_provider_display()})"

    @property
    def bridges(self) -> bool:
        return self.provider == Provider.BRIDGE

    @property
    def auth_token(self) -> str:
        return os.environ.get(self.token_variable, "")


class Dialing(models.Model):
    """How one campaign's calls are placed."""

    campaign = models.OneToOneField(
        "campaigns.Campaign", on_delete=models.CASCADE, related_name="dialing"
    )
    connected = models.BooleanField(
        "connect calls through the team's line",
        default=False,
        help_text="Off: volunteers call from their own phones.",
    )
    mode = models.CharField(
        max_length=16,
        choices=DialingMode.choices,
        default=DialingMode.PREVIEW,
    )

    def __str__(self):
        return f"{self.campaign}: {self.mode}"


class SeatState(models.TextChoices):
    RINGING = "ringing", "Ringing the volunteer"
    READY = "ready", "On the line"
    ENDED = "ended", "Off the line"


class Seat(models.Model):
    """A volunteer on the line for a campaign, in a room of their own."""

    State = SeatState

    public_id = models.CharField(max_length=16, unique=True, default=new_public_id, editable=False)
    campaign = models.ForeignKey(
        "campaigns.Campaign", on_delete=models.CASCADE, related_name="seats"
    )
    volunteer = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="seats"
    )
    phone = models.CharField(max_length=20, help_text="The volunteer's number (E.164).")
    call_sid = models.CharField(max_length=64, blank=True, db_index=True)
    state = models.CharField(max_length=16, choices=SeatState.choices, default=SeatState.RINGING)
    started_at = models.DateTimeField(default=timezone.now)
    answered_at = models.DateTimeField(null=True, blank=True)
    ended_at = models.DateTimeField(null=True, blank=True)
    free_since = models.DateTimeField(
        null=True, blank=True, help_text="On the line with nobody to talk to since then."
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["campaign", "volunteer"],
                condition=~Q(state=SeatState.ENDED),
                name="one_seat_per_volunteer",
            )
        ]

    def __str__(self):
        return f"seat {self.public_id} ({self.state})"

    @property
    def room(self) -> str:
        return f"seat-{self.public_id}"


class LegStatus(models.TextChoices):
    QUEUED = "queued", "Dialing"
    RINGING = "ringing", "Ringing"
    IN_PROGRESS = "in-progress", "Connected"
    COMPLETED = "completed", "Ended"
    BUSY = "busy", "Busy"
    NO_ANSWER = "no-answer", "No answer"
    FAILED = "failed", "Could not connect"
    CANCELED = "canceled", "Cancelled"


ENDED_STATUSES = (
    LegStatus.COMPLETED,
    LegStatus.BUSY,
    LegStatus.NO_ANSWER,
    LegStatus.FAILED,
    LegStatus.CANCELED,
)


class AnsweredBy(models.TextChoices):
    UNKNOWN = "", "Not answered"
    HUMAN = "human", "A person"
    MACHINE = "machine", "An answering machine"


class Leg(models.Model):
    """One contact dialed through the line: the record Ofcom's rules are kept by."""

    Status = LegStatus

    public_id = models.CharField(max_length=16, unique=True, default=new_public_id, editable=False)
    campaign = models.ForeignKey("campaigns.Campaign", on_delete=models.CASCADE, related_name="+")
    target = models.ForeignKey(
        "calling.CallTarget", null=True, on_delete=models.SET_NULL, related_name="+"
    )
    phone = models.CharField(
        max_length=20, help_text="Dialed number (E.164), for the 24/72 h rules."
    )
    seat = models.ForeignKey(
        Seat, null=True, blank=True, on_delete=models.SET_NULL, related_name="legs"
    )
    mode = models.CharField(max_length=16, default=DialingMode.PREVIEW)
    call_sid = models.CharField(max_length=64, blank=True, db_index=True)
    status = models.CharField(max_length=16, choices=LegStatus.choices, default=LegStatus.QUEUED)
    answered_by = models.CharField(max_length=8, choices=AnsweredBy.choices, blank=True)
    placed_at = models.DateTimeField(default=timezone.now)
    answered_at = models.DateTimeField(null=True, blank=True)
    ended_at = models.DateTimeField(null=True, blank=True)
    duration = models.PositiveIntegerField(null=True, blank=True, help_text="Seconds connected.")
    ring_seconds = models.PositiveSmallIntegerField(default=30)
    abandoned = models.BooleanField(default=False)
    message_at = models.DateTimeField(
        null=True, blank=True, help_text="When the message after an abandoned call began."
    )
    call = models.ForeignKey(
        "calling.Call", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        indexes = [
            models.Index(fields=["campaign", "placed_at"], name="leg_campaign_time"),
            models.Index(fields=["phone", "placed_at"], name="leg_phone_time"),
        ]

    def __str__(self):
        return f"leg {self.public_id} ({self.status})"

    @property
    def ended(self) -> bool:
        return self.status in ENDED_STATUSES


class InboundCall(models.Model):
    """Someone ringing the caller ID back."""

    class Outcome(models.TextChoices):
        LISTENING = "listening", "Listening"
        OPTED_OUT = "opted_out", "Asked never to be called again"
        PUT_THROUGH = "put_through", "Put through to a volunteer"
        NOBODY_FREE = "nobody_free", "Asked for a volunteer; none free"
        MESSAGE = "message", "Left a message"
        HUNG_UP = "hung_up", "Hung up"

    public_id = models.CharField(max_length=16, unique=True, default=new_public_id, editable=False)
    line = models.ForeignKey(Line, on_delete=models.CASCADE, related_name="inbound_calls")
    call_sid = models.CharField(max_length=64, db_index=True)
    phone = models.CharField(max_length=20, blank=True, help_text="The caller's number (E.164).")
    contact = models.ForeignKey(
        "contacts.Contact", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    outcome = models.CharField(max_length=16, choices=Outcome.choices, default=Outcome.LISTENING)
    recording_url = models.URLField(max_length=500, blank=True)
    recording_seconds = models.PositiveIntegerField(null=True, blank=True)
    received_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-received_at", "-pk"]

    def __str__(self):
        return f"inbound {self.public_id} ({self.outcome})"


class CallbackReceipt(models.Model):
    """A provider callback already acted on: the same signed request again is a replay."""

    digest = models.CharField(max_length=64, unique=True)
    received_at = models.DateTimeField(default=timezone.now, db_index=True)

    def __str__(self):
        return f"callback {self.digest[:12]}"
