"""The people a campaign wants to reach, and the numbers nobody may call."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.db.models.functions import Upper

from ringround.ids import new_public_id


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
    here uses, and that made a million-row import spend 60% more time in the database."""

    public_id = models.CharField(max_length=16, default=new_public_id, editable=False)
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
    external_id = models.CharField(max_length=100, blank=True, default="")
    custom_fields = models.JSONField(default=dict, blank=True)
    time_zone = models.CharField(max_length=64, default="Europe/London")
    source = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = ContactQuerySet.as_manager()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["public_id"], name="contact_public_id_unique"),
            models.UniqueConstraint(
                fields=["external_id"],
                condition=~Q(external_id=""),
                name="contact_external_id_unique",
            ),
        ]
        indexes = [
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


class ImportQuerySet(models.QuerySet):
    def visible_to(self, user):
        """An organiser sees the imports they ran and those into campaigns they organise."""
        if user.is_superuser:
            return self
        return self.filter(Q(created_by=user) | Q(campaign__organisers=user)).distinct()


class Import(models.Model):
    """One uploaded file of contacts (or of numbers to suppress), its mapping and progress.

    The counters and ``position`` are written in the same transaction as each batch of
    contacts, so after a crash they say exactly what is stored, and a re-run resumes after
    ``position`` without importing anything twice."""

    class Kind(models.TextChoices):
        CONTACTS = "contacts", "Contacts"
        SUPPRESSIONS = "suppressions", "Numbers not to call"

    class Status(models.TextChoices):
        MAPPING = "mapping", "Waiting for the column mapping"
        QUEUED = "queued", "Waiting to start"
        RUNNING = "running", "Importing"
        DONE = "done", "Finished"
        FAILED = "failed", "Stopped with an error"

    UNFINISHED = (Status.QUEUED, Status.RUNNING, Status.FAILED)
    STALLED_AFTER_SECONDS = 120

    public_id = models.CharField(max_length=16, unique=True, default=new_public_id, editable=False)
    kind = models.CharField(max_length=16, choices=Kind.choices, default=Kind.CONTACTS)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.MAPPING)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    campaign = models.ForeignKey(
        "campaigns.Campaign",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="imports",
        help_text="Contacts imported become targets of this campaign.",
    )
    # The file: an upload kept in the data folder until the import ends, or a path on disk.
    file_path = models.CharField(max_length=1000)
    delete_file_when_done = models.BooleanField(default=False)
    original_name = models.CharField(max_length=255)
    file_format = models.CharField(max_length=8)  # "csv" or "xlsx"
    size_bytes = models.BigIntegerField(default=0)
    checksum = models.CharField(max_length=64, blank=True, db_index=True)
    encoding = models.CharField(max_length=32, blank=True)
    delimiter = models.CharField(max_length=4, blank=True)
    sheet_name = models.CharField(max_length=100, blank=True)
    has_header = models.BooleanField(default=True)
    headers = models.JSONField(default=list, blank=True)
    preview_rows = models.JSONField(default=list, blank=True)
    mapping = models.JSONField(default=list, blank=True, help_text="A field code per column.")
    default_country = models.CharField(max_length=2, default="GB")
    tags = models.CharField(max_length=500, blank=True, help_text="Added to every contact.")
    suppression_reason = models.CharField(
        max_length=32, choices=Suppression.Reason.choices, default=Suppression.Reason.TPS
    )
    error = models.TextField(blank=True)
    # Progress, committed with each batch.
    position = models.BigIntegerField(default=0, help_text="Records of the file dealt with.")
    rows_read = models.BigIntegerField(default=0)
    created = models.BigIntegerField(default=0)
    updated = models.BigIntegerField(default=0)
    unchanged = models.BigIntegerField(default=0)
    rejected = models.BigIntegerField(default=0)
    duplicates = models.BigIntegerField(
        default=0, help_text="Rows (updated or unchanged) repeating an earlier row of the file."
    )
    targets_added = models.BigIntegerField(default=0)
    progress_done = models.BigIntegerField(default=0)
    progress_total = models.BigIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    objects = ImportQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]

    def __str__(self):
        return f"{self.original_name} ({self.get_status_display()})"

    @property
    def source_label(self) -> str:
        """What imported contacts record as where they came from."""
        return f"import:{self.public_id}"

    @property
    def percent(self) -> int:
        if self.status == self.Status.DONE:
            return 100
        if not self.progress_total:
            return 0
        return min(99, int(100 * self.progress_done / self.progress_total))

    @property
    def is_active(self) -> bool:
        return self.status in (self.Status.QUEUED, self.Status.RUNNING) and not self.is_stalled

    @property
    def is_stalled(self) -> bool:
        """Running, but nothing heard for a while: the worker died. It can be resumed."""
        from django.utils import timezone

        if self.status != self.Status.RUNNING or self.heartbeat_at is None:
            return False
        age = (timezone.now() - self.heartbeat_at).total_seconds()
        return age > self.STALLED_AFTER_SECONDS

    @property
    def can_resume(self) -> bool:
        return self.status == self.Status.FAILED or self.is_stalled

    def counts(self) -> dict:
        return {
            "read": self.rows_read,
            "created": self.created,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "rejected": self.rejected,
        }


class RejectedRow(models.Model):
    """A row of an import that was not imported, as it was in the file, with the reason."""

    source_import = models.ForeignKey(Import, on_delete=models.CASCADE, related_name="rejects")
    row_number = models.BigIntegerField(help_text="As a spreadsheet numbers it: the header is 1.")
    reason = models.CharField(max_length=500)
    values = models.JSONField(default=list)

    class Meta:
        indexes = [models.Index(fields=["source_import", "row_number"], name="rejected_row_order")]

    def __str__(self):
        return f"row {self.row_number}: {self.reason}"


class SavedMapping(models.Model):
    """A column mapping kept by name, offered again for the next file of the same shape."""

    name = models.CharField(max_length=100, unique=True)
    headers = models.JSONField(default=list, help_text="The file's headers, as read.")
    fields = models.JSONField(default=dict, help_text="Header (normalised) to field code.")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name
