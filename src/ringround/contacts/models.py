"""The people a campaign wants to reach, and the numbers nobody may call."""

from django.conf import settings
from django.db import models
from django.db.models import Q

from ringround.ids import new_public_id


class ContactQuerySet(models.QuerySet):
    def with_tag(self, tag: str):
        return self.filter(tags__contains=f",{tag.strip().lower()},")

    def in_area(self, area: str):
        return self.filter(area__iexact=area.strip())


class Contact(models.Model):
    """A person. Tags are kept as ``,tag,tag,`` so one indexed text filter finds them on both
    databases without a join table that would slow a million-row import."""

    public_id = models.CharField(max_length=16, unique=True, default=new_public_id, editable=False)
    first_name = models.CharField(max_length=150, blank=True)
    last_name = models.CharField(max_length=150, blank=True)
    phone = models.CharField("phone (E.164)", max_length=20, db_index=True)
    phone_as_typed = models.CharField(max_length=64, blank=True)
    phone_type = models.CharField(max_length=16, blank=True)
    other_phones = models.JSONField(
        default=list, blank=True, help_text="Further numbers in E.164, in order of preference."
    )
    email = models.EmailField(blank=True)
    postcode = models.CharField(max_length=16, blank=True)
    area = models.CharField(max_length=150, blank=True, db_index=True)
    tags = models.CharField(max_length=500, blank=True, default="")
    external_id = models.CharField(max_length=100, blank=True, default="")
    custom_fields = models.JSONField(default=dict, blank=True)
    time_zone = models.CharField(max_length=64, default="Europe/London")
    source = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = ContactQuerySet.as_manager()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["external_id"],
                condition=~Q(external_id=""),
                name="contact_external_id_unique",
            )
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


class Suppression(models.Model):
    """A number never to be called, by any campaign."""

    class Reason(models.TextChoices):
        REQUESTED = "requested", "Asked not to be called"
        TPS = "tps", "TPS / do-not-call list"
        WRONG_NUMBER = "wrong_number", "Wrong number"
        ERASURE = "erasure", "Erased on request"
        OTHER = "other", "Other"

    phone = models.CharField(max_length=20, unique=True)
    reason = models.CharField(max_length=32, choices=Reason.choices, default=Reason.REQUESTED)
    note = models.CharField(max_length=500, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self):
        return f"{self.phone} ({self.get_reason_display()})"
