"""A campaign: its script, survey, outcomes and retry rules, calling hours, targets and team."""

import datetime as dt
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import models
from django.db.models import Value
from django.utils import timezone

from ringround import rawsql
from ringround.compliance.hours import is_legal_time
from ringround.ids import new_public_id, new_token

DEFAULT_VISIBLE_FIELDS = ["first_name", "last_name", "area", "phone"]
VISIBLE_FIELD_CHOICES = [
    ("first_name", "First name"),
    ("last_name", "Last name"),
    ("area", "Area"),
    ("phone", "Number"),
    ("postcode", "Postcode"),
    ("email", "Email"),
    ("tags", "Tags"),
]


# The contact's fields each script merge field shows: a merge field is blank on a volunteer's
# card unless the campaign shows its volunteers every one of them. (Other merge fields are the
# campaign's own custom columns.) The importer keeps an unusable email or number as
# ``email_as_typed`` / ``phones_not_valid``: hidden with the email and the phone.
MERGE_FIELD_SOURCES = {
    "first_name": ("first_name",),
    "last_name": ("last_name",),
    "full_name": ("first_name", "last_name"),
    "area": ("area",),
    "postcode": ("postcode",),
    "email": ("email",),
    "email_as_typed": ("email",),
    "phone": ("phone",),
    "phones_not_valid": ("phone",),
}


class CampaignQuerySet(models.QuerySet):
    def organised_by(self, user):
        """The campaigns of the teams this person organises in (every one for an admin)."""
        if not user.is_authenticated:
            return self.none()
        if user.is_superuser:
            return self
        return self.filter(team__members__user=user)

    def joined_by(self, user):
        return self.filter(memberships__user=user)

    def with_room(self, ceiling, hour_ago):
        """Campaigns that may hand out another contact this hour (``Campaign.has_room``)."""
        return self.filter(Campaign.has_room(ceiling, hour_ago))


class Campaign(models.Model):
    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        ACTIVE = "active", "Active"
        PAUSED = "paused", "Paused"
        FINISHED = "finished", "Finished"

    public_id = models.CharField(max_length=16, unique=True, default=new_public_id, editable=False)
    name = models.CharField(max_length=200)
    brief = models.TextField(blank=True, help_text="What volunteers read before they start.")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.DRAFT)
    script = models.TextField(
        blank=True, help_text="Markdown. Merge fields such as {{ first_name }} are filled in."
    )
    team = models.ForeignKey(
        "accounts.Team", on_delete=models.PROTECT, related_name="campaigns", db_index=False
    )
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    calling_start = models.TimeField(default=dt.time(9, 0))
    calling_end = models.TimeField(default=dt.time(21, 0), help_text="00:00 means until midnight.")
    calling_days = models.CharField(
        max_length=7, default="0123456", help_text="Weekdays open for calls, Monday = 0."
    )
    lease_minutes = models.PositiveIntegerField(default=10)
    max_attempts = models.PositiveIntegerField(
        default=3, help_text="No contact is handed out after this many attempts."
    )
    claims_per_hour = models.PositiveIntegerField(default=120)
    visible_fields = models.JSONField(default=list)

    target_tags = models.CharField(max_length=500, blank=True)
    target_areas = models.CharField(max_length=1000, blank=True)
    time_zones = models.JSONField(
        default=list, help_text="The time zones of this campaign's targets, kept by the services."
    )
    # With defaults in the database too: rows written by code that predates them (a data
    # migration's historical models) still get them.
    legal_zones = models.JSONField(
        default=list,
        db_default=Value([], output_field=models.JSONField()),
        help_text="The legal zones (jurisdiction and time zone) of this campaign's targets, kept "
        "by the services: each has its statutory calling window (compliance.hours).",
    )
    electoral = models.BooleanField(
        default=False,
        db_default=False,
        help_text="An electoral campaign (for an election or referendum): the only kind that may "
        "call people whose details came from the full electoral register.",
    )

    invite_token = models.CharField(max_length=64, unique=True, default=new_token)
    invite_expires_at = models.DateTimeField(null=True, blank=True)
    invite_time_zone = models.CharField(
        max_length=64,
        default="Europe/London",
        help_text="The time zone the invite's expiry was typed in, and is shown in.",
    )

    class Joining(models.TextChoices):
        VERIFY = "verify", "Open link; volunteers confirm their email"
        APPROVE = "approve", "An organiser approves each volunteer"
        BOTH = "verify_and_approve", "Volunteers confirm their email, then an organiser approves"

    joining = models.CharField(
        max_length=24,
        choices=Joining.choices,
        default=Joining.VERIFY,
        help_text="How someone with the invite link becomes a volunteer who may call.",
    )
    contacts_per_hour = models.PositiveIntegerField(
        null=True,
        blank=True,
        help_text=(
            "At most this many contacts handed out per hour, all volunteers together. "
            "Empty: worked out from how many volunteers have had real conversations lately."
        ),
    )
    # The campaign-wide hourly count of contacts handed out, kept by every claim in the same
    # statement (``campaigns.services.count_handed_out``): a counter, not a COUNT(*).
    handed_out_window_start = models.DateTimeField(null=True, blank=True)
    handed_out_in_window = models.PositiveIntegerField(default=0)
    ceiling_reached_at = models.DateTimeField(
        null=True, blank=True, help_text="Last time claims were refused at the hourly ceiling."
    )
    sign_up_burst_at = models.DateTimeField(
        null=True, blank=True, help_text="Last time sign-ups through the invite link were refused."
    )

    objects = CampaignQuerySet.as_manager()

    def __str__(self):
        return self.name

    @property
    def is_active(self) -> bool:
        return self.status == self.Status.ACTIVE

    HANDED_OUT_WINDOW = dt.timedelta(hours=1)

    @property
    def needs_verification(self) -> bool:
        return self.joining in (self.Joining.VERIFY, self.Joining.BOTH)

    @property
    def needs_approval(self) -> bool:
        return self.joining in (self.Joining.APPROVE, self.Joining.BOTH)

    @staticmethod
    def has_room(ceiling, hour_ago) -> models.Q:
        """The hourly ceiling's rule, as a condition on the campaign row: a new hour of
        counting has begun, or fewer than ``ceiling`` contacts were handed out in this one.
        ``ceiling`` and ``hour_ago`` are values (ORM path) or ``rawsql.Param``s (statement)."""
        return (
            models.Q(handed_out_window_start__isnull=True)
            | models.Q(handed_out_window_start__lte=hour_ago)
            | models.Q(handed_out_in_window__lt=ceiling)
        )

    @staticmethod
    def handed_out_counted(now, hour_ago) -> dict:
        """Update values counting one more contact handed out (a new hour starts at 1)."""
        new_window = models.Q(handed_out_window_start__isnull=True) | models.Q(
            handed_out_window_start__lte=hour_ago
        )
        return {
            "handed_out_window_start": models.Case(
                models.When(new_window, then=now), default=models.F("handed_out_window_start")
            ),
            "handed_out_in_window": models.Case(
                models.When(new_window, then=models.Value(1)),
                default=models.F("handed_out_in_window") + 1,
            ),
        }

    def invite_expires_local(self) -> dt.datetime | None:
        """The invite's expiry in the time zone it was typed in."""
        if self.invite_expires_at is None:
            return None
        return self.invite_expires_at.astimezone(ZoneInfo(self.invite_time_zone))

    def invite_is_valid(self, now=None) -> bool:
        now = now or timezone.now()
        return self.invite_expires_at is None or now < self.invite_expires_at

    def open_time_zones(self, now: dt.datetime) -> list[str]:
        """The time zones of this campaign's targets where it is calling time now."""
        return [tz for tz in self.time_zones if self.is_calling_time(now, tz)]

    def open_legal_zones(self, now: dt.datetime, policy) -> list[str]:
        """The legal zones of this campaign's targets whose statutory window is open now (``""``,
        no statutory window, always), under the team's settings ``policy``."""
        return ["", *(zone for zone in self.legal_zones if is_legal_time(zone, now, policy))]

    def is_calling_time(self, now: dt.datetime, tz_name: str) -> bool:
        local = now.astimezone(ZoneInfo(tz_name))
        if str(local.weekday()) not in self.calling_days:
            return False
        end = dt.time.max if self.calling_end == dt.time(0, 0) else self.calling_end
        return self.calling_start <= local.time().replace(tzinfo=None) < end

    def has_opinion_questions(self) -> bool:
        """Whether its survey asks anything whose answer reveals political opinion."""
        return self.questions.filter(reveals_opinion=True).exists()

    def fields_for_volunteer(self) -> list[str]:
        return list(self.visible_fields or DEFAULT_VISIBLE_FIELDS)

    def hidden_merge_fields(self) -> set[str]:
        """Merge fields this campaign's volunteers may not see (blank on their cards)."""
        shown = set(self.fields_for_volunteer())
        return {
            name
            for name, sources in MERGE_FIELD_SOURCES.items()
            if not all(source in shown for source in sources)
        }

    def script_fields(self, merge_fields: dict) -> dict:
        """A contact's merge fields as this campaign's volunteers may see them."""
        hidden = self.hidden_merge_fields()
        return {name: "" if name in hidden else value for name, value in merge_fields.items()}

    def tag_list(self) -> list[str]:
        return [t.strip().lower() for t in self.target_tags.split(",") if t.strip()]

    def area_list(self) -> list[str]:
        return [a.strip() for a in self.target_areas.split(",") if a.strip()]


class Question(models.Model):
    class Kind(models.TextChoices):
        SINGLE = "single", "Single choice"
        MULTIPLE = "multiple", "Multiple choice"
        YES_NO = "yes_no", "Yes / no"
        SCALE = "scale", "Scale 1–5"
        TEXT = "text", "Free text"

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="questions")
    position = models.PositiveIntegerField(default=0)
    kind = models.CharField(max_length=16, choices=Kind.choices, default=Kind.SINGLE)
    text = models.CharField(max_length=500)
    choices = models.JSONField(default=list, blank=True)
    required = models.BooleanField(default=False)
    reveals_opinion = models.BooleanField(
        "answers reveal political opinion",
        default=False,
        db_default=False,
        help_text="Special-category data (UK GDPR Art. 9): kept no longer than the team's "
        "retention period, and every export of it is recorded with its reason.",
    )

    class Meta:
        ordering = ["position", "id"]

    def __str__(self):
        return self.text

    @property
    def key(self) -> str:
        return f"q{self.pk}"

    def options(self) -> list[str]:
        if self.kind == self.Kind.YES_NO:
            return ["Yes", "No"]
        if self.kind == self.Kind.SCALE:
            return ["1", "2", "3", "4", "5"]
        return list(self.choices or [])


class OutcomeCodeQuerySet(models.QuerySet):
    def with_survey(self, campaign, code: str) -> tuple["OutcomeCode | None", list[Question]]:
        """The campaign's outcome of this code (``None`` if none), and the survey's questions
        in order if the survey follows it: one hand-written query, since it is read for every
        call recorded (see rawsql.py)."""
        rows = rawsql.fetch(_WITH_SURVEY, [campaign.pk, code], *_OUTCOME_AND_QUESTION, repeated=1)
        if not rows:
            return None, []
        return rows[0][0], [question for _, question in rows if question is not None]


class FollowUp(models.TextChoices):
    """What the volunteer fills in after choosing an outcome, and nothing else: the survey
    only after a conversation, a time only after "call back", nothing after "no answer"."""

    NOTHING = "nothing", "Nothing"
    SURVEY = "survey", "The survey"
    CALL_BACK = "call_back", "A time to call back"


# What follows each default outcome (``campaigns.services.DEFAULT_OUTCOMES``); the others
# are followed by nothing.
DEFAULT_FOLLOW_UPS = {"answered": FollowUp.SURVEY, "call_back": FollowUp.CALL_BACK}


class OutcomeCode(models.Model):
    """What happened on a call, what the volunteer fills in after it, and what happens to
    the contact next."""

    FollowUp = FollowUp

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="outcomes")
    code = models.SlugField(max_length=40)
    label = models.CharField(max_length=80)
    position = models.PositiveIntegerField(default=0)
    is_conversation = models.BooleanField(
        default=False, help_text="The person was reached: counted as a conversation."
    )
    follow_up = models.CharField(
        max_length=16,
        choices=FollowUp.choices,
        default=FollowUp.NOTHING,
        help_text="What the volunteer fills in after choosing this outcome.",
    )
    retry_after_minutes = models.PositiveIntegerField(
        null=True, blank=True, help_text="Empty: never call again for this campaign."
    )
    max_attempts = models.PositiveIntegerField(default=3)
    suppresses = models.BooleanField(
        default=False,
        help_text="Adds the number to the team's suppression list, for all its campaigns.",
    )

    objects = OutcomeCodeQuerySet.as_manager()

    class Meta:
        ordering = ["position", "id"]
        constraints = [
            models.UniqueConstraint(fields=["campaign", "code"], name="outcome_code_unique")
        ]

    def __str__(self):
        return self.label

    @property
    def retries(self) -> bool:
        return self.retry_after_minutes is not None

    @property
    def asks_survey(self) -> bool:
        """Whether the survey follows this outcome (its required questions too)."""
        return self.follow_up == FollowUp.SURVEY

    @property
    def asks_call_back_time(self) -> bool:
        return self.follow_up == FollowUp.CALL_BACK

    @staticmethod
    def default_follow_up(code: str) -> str:
        return DEFAULT_FOLLOW_UPS.get(code, FollowUp.NOTHING)


class Membership(models.Model):
    """A volunteer who joined a campaign by its invite link."""

    class Status(models.TextChoices):
        PENDING_VERIFICATION = "pending_verification", "Waiting to confirm their email"
        PENDING_APPROVAL = "pending_approval", "Waiting for an organiser's approval"
        ACTIVE = "active", "Active"
        SUSPENDED = "suspended", "Suspended"

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships"
    )
    # Active unless the invite link says otherwise (``campaigns.services.join_campaign``), so
    # memberships made before joining had steps, and by hand, may call.
    status = models.CharField(max_length=24, choices=Status.choices, default=Status.ACTIVE)
    joined_at = models.DateTimeField(auto_now_add=True)
    verified_at = models.DateTimeField(
        null=True, blank=True, help_text="When the volunteer confirmed their email for this."
    )
    sign_up_address = models.GenericIPAddressField(
        null=True, blank=True, help_text="Where the invite sign-up came from (patterns)."
    )
    claims_window_start = models.DateTimeField(null=True, blank=True)
    claims_in_window = models.PositiveIntegerField(default=0)
    claims_total = models.PositiveIntegerField(default=0)
    calls_recorded = models.PositiveIntegerField(
        default=0,
        help_text=(
            "Calls this volunteer recorded that look like real calls (the outcome came at "
            "least RINGROUND_REAL_CALL_SECONDS after the contact was handed out)."
        ),
    )
    flagged_at = models.DateTimeField(
        null=True, blank=True, help_text="Last time this volunteer hit the claim rate limit."
    )

    CLAIMS_WINDOW = dt.timedelta(hours=1)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["campaign", "user"], name="membership_unique")
        ]

    def __str__(self):
        return f"{self.user} in {self.campaign}"

    def claims_window_over(self, now: dt.datetime) -> bool:
        """Whether a claim now starts a new hour of counting claims."""
        start = self.claims_window_start
        return start is None or now - start >= self.CLAIMS_WINDOW

    def claim_limit_reached(self, claims_per_hour: int, now: dt.datetime) -> bool:
        return not self.claims_window_over(now) and self.claims_in_window >= claims_per_hour

    def claim_budget(self, claims_per_hour: int) -> int:
        """Contacts this volunteer may be handed per hour: a newcomer starts with
        RINGROUND_NEW_VOLUNTEER_CLAIMS, and each real call recorded earns
        RINGROUND_CLAIMS_PER_CALL more, up to the campaign's ``claims_per_hour``. Accounts
        are free, calls are not: a crowd of new accounts cannot page through the list."""
        earned = self.calls_recorded * settings.RINGROUND_CLAIMS_PER_CALL
        return min(claims_per_hour, settings.RINGROUND_NEW_VOLUNTEER_CLAIMS + earned)

    @property
    def is_pending(self) -> bool:
        return self.status in (self.Status.PENDING_VERIFICATION, self.Status.PENDING_APPROVAL)

    def unmatched_claims(self) -> int:
        """Contacts handed out to this volunteer that no real call followed."""
        return max(self.claims_total - self.calls_recorded, 0)


_OUTCOME_AND_QUESTION = (rawsql.Columns(OutcomeCode, "o"), rawsql.Columns(Question, "q"))
_WITH_SURVEY = f"""
    SELECT {_OUTCOME_AND_QUESTION[0].sql}, {_OUTCOME_AND_QUESTION[1].sql}
      FROM "{OutcomeCode._meta.db_table}" o
      LEFT JOIN "{Question._meta.db_table}" q
        ON q.campaign_id = o.campaign_id AND o.follow_up = '{FollowUp.SURVEY.value}'
     WHERE o.campaign_id = %s AND o.code = %s
     ORDER BY q.position, q.id"""
