"""What the law asks of a team's calling, kept per team: its TPS/CTPS screening (the numbers
on the Telephone Preference Service as its last file said), each contact's "does not object"
statement that lifts the screening for them, and the team's own compliance settings (how often
one person may be called, the UK calling hours, its Article 9 condition and policy document).

Kept low (beside contacts): the claim reads the screening and the settings, and activating a
campaign checks the screening's age.
"""

import datetime as dt

from django.conf import settings
from django.db import models
from django.utils import timezone

# A new TPS registration binds 28 days after it is made, so a list screened longer ago than
# this may hold numbers that are now on the register (PECR reg. 21(2); ICO direct-marketing
# guidance): no UK number is handed out until the team screens again.
SCREENING_VALID_DAYS = 28


class Article9Condition(models.TextChoices):
    """The UK GDPR Article 9(2) conditions a campaign team can rely on for political opinions."""

    NOT_FOR_PROFIT = (
        "9_2_d",
        "Art. 9(2)(d): a not-for-profit body with a political aim, its members and contacts",
    )
    PARTY = (
        "9_2_g_party",
        "Art. 9(2)(g) with DPA 2018 Sch. 1 para. 22: a registered political party",
    )
    CONSENT = "9_2_a", "Art. 9(2)(a): explicit consent"


READ_WITH_CAMPAIGN = "_team_policy_read_with_it"


class TeamPolicy(models.Model):
    """A team's compliance settings; a team without a row has the defaults (``for_team``)."""

    team = models.OneToOneField("accounts.Team", on_delete=models.CASCADE, related_name="policy")
    frequency_days = models.PositiveIntegerField(
        default=7,
        help_text="Once spoken to, a person is not called again by any of the team's campaigns "
        "for this many days. 0: no limit.",
    )
    uk_weekday_start = models.TimeField(default=dt.time(9, 0))
    uk_weekday_end = models.TimeField(default=dt.time(21, 0), help_text="00:00: until midnight.")
    uk_weekend_start = models.TimeField(default=dt.time(10, 0))
    uk_weekend_end = models.TimeField(default=dt.time(18, 0), help_text="00:00: until midnight.")
    article9_condition = models.CharField(
        "Article 9 condition", max_length=16, choices=Article9Condition.choices, blank=True
    )
    policy_document_url = models.URLField(
        "appropriate policy document", blank=True, help_text="Where the team's document is kept."
    )
    opinion_retention_days = models.PositiveIntegerField(
        default=0,
        help_text="Survey answers revealing political opinion are erased this many days after "
        "the call. 0: the site's retention period.",
    )
    last_screened_at = models.DateTimeField(
        null=True, blank=True, help_text="When the team's last TPS/CTPS file was loaded."
    )

    class Meta:
        verbose_name_plural = "team policies"

    def __str__(self):
        return f"compliance settings of team {self.team_id}"

    @classmethod
    def for_team(cls, team_id: int) -> "TeamPolicy":
        """The team's settings, or the defaults (not saved) if it has none yet."""
        return cls.objects.filter(team_id=team_id).first() or cls(team_id=team_id)

    @classmethod
    def of_campaign(cls, campaign) -> "TeamPolicy":
        """``for_team`` of the campaign's team, unless the campaign was read together with its
        team's settings (``campaigns.permissions``: the calling loop's first query of each
        request, which saves the loop a round trip per claim and per conversation)."""
        known = campaign.__dict__.get(READ_WITH_CAMPAIGN)
        return known if known is not None else cls.for_team(campaign.team_id)

    def read_with(self, campaign) -> None:
        """Remember these settings as the campaign's for this request (see ``of_campaign``)."""
        campaign.__dict__[READ_WITH_CAMPAIGN] = self

    def screening_expires_at(self) -> dt.datetime | None:
        if self.last_screened_at is None:
            return None
        return self.last_screened_at + dt.timedelta(days=SCREENING_VALID_DAYS)

    def screening_is_current(self, now: dt.datetime) -> bool:
        expires = self.screening_expires_at()
        return expires is not None and now < expires

    @property
    def uk_weekday_text(self) -> str:
        return _hours_text(self.uk_weekday_start, self.uk_weekday_end)

    @property
    def uk_weekend_text(self) -> str:
        return _hours_text(self.uk_weekend_start, self.uk_weekend_end)

    def spoken_since(self, now: dt.datetime) -> dt.datetime:
        """Anyone spoken to after this moment may not be called again yet (``now``: no limit)."""
        return now - dt.timedelta(days=self.frequency_days)


def _hours_text(start: dt.time, end: dt.time) -> str:
    midnight = dt.time(0, 0)
    if start == midnight and end == midnight:
        return "at any hour"
    return f"{start:%H:%M}–{'midnight' if end == midnight else f'{end:%H:%M}'}"


class Screening(models.Model):
    """One TPS/CTPS file loaded for a team: a full file replaces the team's screened numbers,
    a daily change file adds and removes some."""

    class Kind(models.TextChoices):
        FULL = "full", "Full file"
        CHANGES = "changes", "Daily change file"

    team = models.ForeignKey("accounts.Team", on_delete=models.CASCADE, related_name="screenings")
    kind = models.CharField(max_length=8, choices=Kind.choices)
    file_name = models.CharField(max_length=255, blank=True)
    screened_at = models.DateTimeField(default=timezone.now)
    loaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    added = models.PositiveIntegerField(default=0)
    removed = models.PositiveIntegerField(default=0)
    numbers = models.PositiveIntegerField(default=0, help_text="Screened numbers after this file.")

    class Meta:
        ordering = ["-screened_at"]
        indexes = [models.Index(fields=["team", "-screened_at"], name="screening_latest")]

    def __str__(self):
        return f"{self.get_kind_display()} of {self.screened_at:%Y-%m-%d}"


class ScreenedNumber(models.Model):
    """A number on TPS or CTPS, per the team's screening: not to be called unless the contact
    has said they do not object (``NoObjection``). Not a suppression: the statement lifts it."""

    team = models.ForeignKey(
        "accounts.Team", on_delete=models.CASCADE, related_name="+", db_index=False
    )
    phone = models.CharField(max_length=20)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["team", "phone"], name="screened_number_once")
        ]

    def __str__(self):
        return self.phone


class NoObjection(models.Model):
    """A contact told the team they do not object to its calls, though their number is on
    TPS/CTPS (PECR reg. 21(4)): who recorded it, when and how."""

    class How(models.TextChoices):
        ON_A_CALL = "call", "Said so on a call"
        IN_WRITING = "writing", "In writing (letter or form)"
        EMAIL = "email", "By email"
        ONLINE = "online", "Online form"
        IN_PERSON = "in_person", "In person"

    team = models.ForeignKey("accounts.Team", on_delete=models.CASCADE, related_name="+")
    contact = models.OneToOneField(
        "contacts.Contact", on_delete=models.CASCADE, related_name="no_objection"
    )
    how = models.CharField(max_length=16, choices=How.choices)
    note = models.CharField(max_length=500, blank=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    recorded_at = models.DateTimeField(default=timezone.now)

    def __str__(self):
        return f"no objection from contact {self.contact_id} ({self.get_how_display()})"


class SourceKind(models.TextChoices):
    """Where an import's people came from."""

    MEMBERSHIP = "membership", "Membership list"
    REGISTER = "electoral_register", "Full electoral register"
    CANVASS = "canvass", "Canvass returns"
    SIGN_UPS = "sign_ups", "Sign-ups (forms, petitions, events)"
    OTHER = "other", "Other"


class LawfulBasis(models.TextChoices):
    """UK GDPR Article 6(1) bases (and DPA 2018 s. 8(e): democratic engagement is a task in
    the public interest)."""

    CONSENT = "consent", "Consent (Art. 6(1)(a))"
    CONTRACT = "contract", "Contract, e.g. membership (Art. 6(1)(b))"
    LEGAL_OBLIGATION = "legal_obligation", "Legal obligation (Art. 6(1)(c))"
    DEMOCRATIC_ENGAGEMENT = (
        "public_task",
        "Public task: democratic engagement (Art. 6(1)(e), DPA 2018 s. 8(e))",
    )
    LEGITIMATE_INTERESTS = "legitimate_interests", "Legitimate interests (Art. 6(1)(f))"


class DataSource(models.Model):
    """Where a batch of a team's contacts came from, on what lawful basis and for what purpose
    (recorded for each import of contacts: its ``label`` is the contacts' ``source``). People
    from the full electoral register may be called by electoral campaigns only, and their data
    is erased on ``destroy_by`` by the retention job."""

    team = models.ForeignKey("accounts.Team", on_delete=models.CASCADE, related_name="+")
    label = models.CharField(max_length=200, unique=True, help_text="The contacts' source.")
    name = models.CharField(max_length=255, blank=True, help_text="The file it came in.")
    kind = models.CharField(max_length=24, choices=SourceKind.choices)
    lawful_basis = models.CharField(max_length=24, choices=LawfulBasis.choices)
    purpose = models.CharField(max_length=500)
    destroy_by = models.DateField(null=True, blank=True)
    destroyed_at = models.DateTimeField(null=True, blank=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    recorded_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-recorded_at"]

    def __str__(self):
        return f"{self.get_kind_display()}: {self.name or self.label}"

    @property
    def from_register(self) -> bool:
        return self.kind == SourceKind.REGISTER
