"""The people a campaign wants to reach, and the numbers nobody may call."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.db.models.functions import Upper

from ringround.ids import new_public_id

# Only a contact with an external id is held to having it alone (the partial unique index).
HAS_EXTERNAL_ID = ~Q(external_id="")


class ContactQuerySet(models.QuerySet):
    def with_tag(self, tag: str):
        return self.filter(tags__contains=f",{tag.strip().lower()},")

    def in_area(self, area: str):
        return self.filter(area__iexact=area.strip())


class Contact(models.Model):
    """A person. Tags are kept as ``,tag,tag,`` so one indexed text filter finds them on both
    databases without a join table that would slow a million-row import.

    The indexes are declared in ``Meta`` rather than with ``db_index``/``unique`` on the fields:
    on PostgreSQL those also build a ``varchar_pattern_ops`` twin of each index that no query
    here uses, and that a million-row import would write for nothing."""

    public_id = models.CharField(max_length=16, default=new_public_id, editable=False)
    team = models.ForeignKey(
        "accounts.Team", on_delete=models.PROTECT, related_name="contacts", db_index=False
    )
    first_name = models.CharField(max_length=150, blank=True)
    last_name = models.CharField(max_length=150, blank=True)
    phone = models.CharField("phone (E.164)", max_length=20)
    phone_as_typed = models.CharField(max_length=64, blank=True)
    phone_type = models.CharField(max_length=16, blank=True)
    other_phones = models.JSONField(
        default=list, blank=True, help_text="Further numbers in E.164, in order of preference."
    )
    email = models.EmailField(blank=True)
    postcode = models.CharField(max_length=16, blank=True)
    area = models.CharField(max_length=150, blank=True)
    tags = models.CharField(max_length=500, blank=True, default="")
    external_id = models.CharField(
        "membership number / voter id", max_length=100, blank=True, default=""
    )
    custom_fields = models.JSONField(default=dict, blank=True)
    time_zone = models.CharField(max_length=64, default="Europe/London")
    source = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = ContactQuerySet.as_manager()

    # Kept by Ringround about the record, not data about the person.
    BOOKKEEPING = ("id", "public_id", "team", "created_at", "updated_at")
    # Of the person's data (``CONTACT_FIELDS``), what erasure keeps: coarse facts that
    # anonymous figures are grouped by (a constituency, not an address)...
    KEPT_AFTER_ERASURE = ("area", "time_zone", "source")
    # ... and what the results export leaves out. A new field is erased, and exported.
    NOT_EXPORTED = (
        "phone_as_typed",
        "phone_type",
        "other_phones",
        "email",
        "postcode",
        "tags",
        "custom_fields",
        "time_zone",
        "source",
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["public_id"], name="contact_public_id_unique"),
            # A person on two teams' lists is two contacts, each team's own.
            models.UniqueConstraint(
                fields=["team", "external_id"],
                condition=HAS_EXTERNAL_ID,
                name="contact_team_external_id_unique",
            ),
        ]
        indexes = [
            models.Index(fields=["team", "phone"], name="contact_team_phone"),
            # Suppressing and erasing a number find its contacts in every team.
            models.Index(fields=["phone"], name="contact_phone"),
            # in_area() and campaign targeting compare areas ignoring case.
            models.Index(Upper("area"), name="contact_area_upper"),
        ]

    def __str__(self):
        return self.full_name or self.public_id

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()

    @property
    def tag_list(self) -> list[str]:
        return [t for t in self.tags.split(",") if t]

    def set_tags(self, tags) -> None:
        cleaned = sorted({t.strip().lower() for t in tags if t and t.strip()})
        self.tags = f",{','.join(cleaned)}," if cleaned else ""

    def merge_fields(self) -> dict:
        """The values a call script may use as ``{{ name }}``."""
        fields = {str(k): v for k, v in (self.custom_fields or {}).items()}
        fields.update(
            first_name=self.first_name,
            last_name=self.last_name,
            full_name=self.full_name,
            area=self.area,
            postcode=self.postcode,
            email=self.email,
            phone=self.phone,
        )
        return fields


# The person's data, in the model's order: what an import fills in and the bulk writer writes
# (contacts/bulk.py), what subject access reports, and (``Contact``'s lists above) what erasure
# clears and the results export carries. Adding a field is the model field and its migration.
CONTACT_FIELDS = tuple(
    field.name for field in Contact._meta.concrete_fields if field.name not in Contact.BOOKKEEPING
)
ERASED_FIELDS = tuple(name for name in CONTACT_FIELDS if name not in Contact.KEPT_AFTER_ERASURE)
EXPORTED_FIELDS = tuple(name for name in CONTACT_FIELDS if name not in Contact.NOT_EXPORTED)


class SuppressionQuerySet(models.QuerySet):
    def for_team(self, team):
        """The entries a team's campaigns obey: the team's own and those for everyone."""
        return self.filter(models.Q(team=None) | models.Q(team=team))

    def for_campaign(self, campaign):
        """``for_team`` for a campaign (``campaign`` may be an ``OuterRef``)."""
        return self.filter(models.Q(team=None) | models.Q(team__campaigns=campaign))


class Suppression(models.Model):
    """A number not to be called: by the campaigns of one team (a volunteer's "do not call
    again", an organiser's entry), or by every campaign (``team`` empty: an objection made
    through the privacy pages, a TPS list loaded by an admin, an erasure)."""

    class Reason(models.TextChoices):
        REQUESTED = "requested", "Asked not to be called"
        TPS = "tps", "TPS / do-not-call list"
        WRONG_NUMBER = "wrong_number", "Wrong number"
        ERASURE = "erasure", "Erased on request"
        OTHER = "other", "Other"

    phone = models.CharField(max_length=20)
    team = models.ForeignKey(
        "accounts.Team",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="suppressions",
        help_text="Empty: every team's campaigns.",
    )
    campaign = models.ForeignKey(
        "campaigns.Campaign",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="The campaign whose call added it, if a call did.",
    )
    reason = models.CharField(max_length=32, choices=Reason.choices, default=Reason.REQUESTED)
    note = models.CharField(max_length=500, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    objects = SuppressionQuerySet.as_manager()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["team", "phone"],
                condition=models.Q(team__isnull=False),
                name="suppression_team_phone_unique",
            ),
            models.UniqueConstraint(
                fields=["phone"],
                condition=models.Q(team__isnull=True),
                name="suppression_everywhere_phone_unique",
            ),
        ]
        indexes = [models.Index(fields=["phone"], name="suppression_phone")]

    def __str__(self):
        return f"{self.phone} ({self.get_reason_display()})"

    @property
    def applies_everywhere(self) -> bool:
        return self.team_id is None
