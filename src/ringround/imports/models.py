"""Imports: one uploaded file of contacts (or of numbers not to call), its column mapping,
progress and rejected rows; and column mappings kept by name.

The tables keep the names they had when imports lived in the contacts app."""

from django.conf import settings
from django.db import models
from django.utils import timezone

from ringround.compliance.models import LawfulBasis, SourceKind
from ringround.contacts.models import Suppression
from ringround.ids import new_public_id

from .readers import FileInfo
from .rows import top_reasons


class ImportQuerySet(models.QuerySet):
    def visible_to(self, user):
        """An organiser sees their teams' imports; an admin sees all, including lists loaded
        for every team."""
        if not user.is_authenticated:
            return self.none()
        if user.is_superuser:
            return self
        return self.filter(team__members__user=user)


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

    class Repeats(models.TextChoices):
        """What a later row says about someone already known (earlier in the file, or stored)."""

        FILL_BLANKS = "fill_blanks", "Fill blanks: later rows only fill empty fields"
        KEEP_FIRST = "keep_first", "Keep first: later rows change nothing"
        KEEP_LAST = "keep_last", "Keep last: later rows overwrite"

    UNFINISHED = (Status.QUEUED, Status.RUNNING, Status.FAILED)
    STALLED_AFTER_SECONDS = 120

    public_id = models.CharField(max_length=16, unique=True, default=new_public_id, editable=False)
    kind = models.CharField(max_length=16, choices=Kind.choices, default=Kind.CONTACTS)
    # Where the people came from, on what lawful basis and for what purpose (a contacts file;
    # recorded for the team as a ``compliance.DataSource`` too, which the claim and the
    # retention job read).
    source_kind = models.CharField(
        "where the people came from", max_length=24, choices=SourceKind.choices, blank=True
    )
    lawful_basis = models.CharField(max_length=24, choices=LawfulBasis.choices, blank=True)
    purpose = models.CharField(max_length=500, blank=True)
    destroy_by = models.DateField(
        "destroy by",
        null=True,
        blank=True,
        help_text="Data from the full electoral register is erased on this date.",
    )
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.MAPPING)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    team = models.ForeignKey(
        "accounts.Team",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="imports",
        help_text="Whose contacts or suppression entries it writes. Empty only for a list of "
        "numbers an admin loaded for every team.",
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
    repeats = models.CharField(
        max_length=16,
        choices=Repeats.choices,
        default=Repeats.FILL_BLANKS,
        help_text="The rule for a person who appears twice in the file, or is stored already.",
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
    rejection_summary = models.JSONField(
        default=dict,
        blank=True,
        help_text="Rejected rows by kind of reason: {reason: [rows, [first row numbers]]}.",
    )
    progress_done = models.BigIntegerField(default=0)
    progress_total = models.BigIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    objects = ImportQuerySet.as_manager()

    class Meta:
        db_table = "contacts_import"
        ordering = ["-created_at"]

    def __str__(self):
        return f"{self.original_name} ({self.get_status_display()})"

    @property
    def source_label(self) -> str:
        """What imported contacts record as where they came from."""
        return f"import:{self.public_id}"

    @property
    def from_register(self) -> bool:
        """Its people came from the full electoral register: electoral campaigns only."""
        return self.source_kind == SourceKind.REGISTER

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
        if self.status != self.Status.RUNNING or self.heartbeat_at is None:
            return False
        age = (timezone.now() - self.heartbeat_at).total_seconds()
        return age > self.STALLED_AFTER_SECONDS

    @property
    def can_resume(self) -> bool:
        """Stopped, and its file is still there to carry on from."""
        return bool(self.file_path) and (self.status == self.Status.FAILED or self.is_stalled)

    def file_info(self) -> FileInfo:
        """What was detected of the file when it was uploaded."""
        return FileInfo(
            format=self.file_format,
            size=self.size_bytes,
            headers=self.headers,
            encoding=self.encoding,
            delimiter=self.delimiter,
            sheet_name=self.sheet_name,
            has_header=self.has_header,
        )

    def counts(self) -> dict:
        return {
            "read": self.rows_read,
            "created": self.created,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "rejected": self.rejected,
        }

    @property
    def stored_matches(self) -> int:
        """Rows that were people already stored (updated or unchanged, not a repeat)."""
        return self.updated + self.unchanged - self.duplicates

    @property
    def repeats_name(self) -> str:
        return repeats_name(self.repeats)

    @property
    def repeats_effect(self) -> str:
        return REPEAT_EFFECTS[self.repeats]

    def top_rejections(self, count: int = 3) -> list[dict]:
        """The commonest reasons rows were rejected, with example row numbers."""
        return top_reasons(self.rejection_summary, count)


REPEAT_EFFECTS = {
    Import.Repeats.FILL_BLANKS: "their later rows only fill empty fields",
    Import.Repeats.KEEP_FIRST: "their later rows change nothing",
    Import.Repeats.KEEP_LAST: "their later rows overwrite what is there",
}


def repeats_name(repeats: str) -> str:
    """ "fill_blanks" -> "fill blanks", as the page names the rule."""
    return Import.Repeats(repeats).label.split(":")[0].lower()


class RejectedRow(models.Model):
    """A row of an import that was not imported, as it was in the file, with the reason."""

    source_import = models.ForeignKey(Import, on_delete=models.CASCADE, related_name="rejects")
    row_number = models.BigIntegerField(help_text="As a spreadsheet numbers it: the header is 1.")
    reason = models.CharField(max_length=500)
    values = models.JSONField(default=list)

    class Meta:
        db_table = "contacts_rejectedrow"
        indexes = [models.Index(fields=["source_import", "row_number"], name="rejected_row_order")]

    def __str__(self):
        return f"row {self.row_number}: {self.reason}"


class SavedMapping(models.Model):
    """A column mapping kept by name, offered again for the next file of the same shape."""

    team = models.ForeignKey("accounts.Team", on_delete=models.CASCADE, related_name="+")
    name = models.CharField(max_length=100)
    headers = models.JSONField(default=list, help_text="The file's headers, as read.")
    fields = models.JSONField(default=dict, help_text="Header (normalised) to field code.")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        db_table = "contacts_savedmapping"
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["team", "name"], name="saved_mapping_team_name")
        ]

    def __str__(self):
        return self.name


class TaskWorker(models.Model):
    """A background task worker (``ringround manage task_worker``) saying it is alive: while
    it runs it writes ``seen_at`` every few seconds (``workers.Heartbeat``), and it deletes its
    row when it stops. The import pages read it to tell a queued import that is about to run
    from one that nothing will run."""

    BEAT_SECONDS = 5
    # Six missed beats: a worker waiting out a locked SQLite (20 s) is not taken for dead.
    GONE_AFTER_SECONDS = 30

    worker_id = models.CharField(max_length=64, unique=True)
    host = models.CharField(max_length=255, blank=True)
    pid = models.IntegerField(null=True, blank=True)
    started_at = models.DateTimeField(default=timezone.now)
    seen_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["-seen_at"]

    def __str__(self):
        return f"task worker {self.worker_id} on {self.host or '?'} (pid {self.pid})"
