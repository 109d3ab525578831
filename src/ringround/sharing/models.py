"""The social side of a campaign: its public recruitment page, share kits, each volunteer's
tracked links and who they brought in, and the badges and time on calls behind momentum."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from ringround.ids import new_public_id


class RecruitmentPage(models.Model):
    """A campaign's public page (no login): off until an organiser publishes it, since the
    brief volunteers read may not be meant for the world."""

    class Ranking(models.TextChoices):
        CONVERSATIONS = "conversations", "Conversations"
        TIME = "time", "Time on calls"

    campaign = models.OneToOneField(
        "campaigns.Campaign", on_delete=models.CASCADE, related_name="recruitment_page"
    )
    published = models.BooleanField(default=False)
    headline = models.CharField(max_length=120, blank=True)
    about = models.TextField(
        blank=True, max_length=2000, help_text="What the campaign is, for people new to it."
    )
    ranking = models.CharField(
        max_length=16,
        choices=Ranking.choices,
        default=Ranking.CONVERSATIONS,
        help_text="What the leaderboards rank volunteers and teams by.",
    )
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self):
        return f"Recruitment page of {self.campaign}"

    def title(self) -> str:
        return self.headline or f"Phone for {self.campaign.name}"


class ShareKit(models.Model):
    """A message with a link and an image that organisers write and volunteers share."""

    public_id = models.CharField(max_length=16, unique=True, default=new_public_id, editable=False)
    campaign = models.ForeignKey(
        "campaigns.Campaign", on_delete=models.CASCADE, related_name="share_kits"
    )
    title = models.CharField(max_length=120)
    message = models.TextField(max_length=1000)
    url = models.URLField(
        blank=True,
        max_length=500,
        help_text="Where the link goes. Empty: the campaign's recruitment page.",
    )
    image = models.CharField(max_length=100, blank=True, help_text="Under MEDIA_ROOT/sharing/.")
    image_width = models.PositiveIntegerField(default=0)
    image_height = models.PositiveIntegerField(default=0)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    withdrawn_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self):
        return self.title

    @property
    def is_live(self) -> bool:
        return self.withdrawn_at is None


class TrackedLink(models.Model):
    """One volunteer's personal short link (``/s/<code>``): their invite link (no kit) or
    their link for one share kit. Clicks and shares are counted on the row, never by
    counting the click rows."""

    code = models.CharField(max_length=16, unique=True)
    campaign = models.ForeignKey(
        "campaigns.Campaign", on_delete=models.CASCADE, related_name="tracked_links"
    )
    volunteer = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="tracked_links"
    )
    kit = models.ForeignKey(
        ShareKit, on_delete=models.CASCADE, null=True, blank=True, related_name="links"
    )
    clicks = models.PositiveIntegerField(default=0)
    shares = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["campaign", "volunteer", "kit"],
                condition=Q(kit__isnull=False),
                name="tracked_link_kit_unique",
            ),
            models.UniqueConstraint(
                fields=["campaign", "volunteer"],
                condition=Q(kit__isnull=True),
                name="tracked_link_invite_unique",
            ),
        ]

    def __str__(self):
        return self.code


class Click(models.Model):
    """A visitor who followed a link on a day: kept only to count each visitor once a day.
    ``visitor`` is a keyed hash of address and browser under a key that changes every day,
    so no address is stored and no visitor can be followed from one day to the next."""

    link = models.ForeignKey(TrackedLink, on_delete=models.CASCADE, related_name="+")
    day = models.DateField()
    visitor = models.CharField(max_length=32)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["link", "day", "visitor"], name="click_once_a_day")
        ]

    def __str__(self):
        return f"Click on link {self.link_id} on {self.day}"


class Share(models.Model):
    """A volunteer pressed a share button (which network), for the organisers' figures."""

    link = models.ForeignKey(TrackedLink, on_delete=models.CASCADE, related_name="share_rows")
    network = models.CharField(max_length=16)
    at = models.DateTimeField(default=timezone.now)

    def __str__(self):
        return f"{self.network} share of link {self.link_id}"


class Referral(models.Model):
    """Who brought whom into a campaign (the first link they came through)."""

    campaign = models.ForeignKey(
        "campaigns.Campaign", on_delete=models.CASCADE, related_name="referrals"
    )
    recruit = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="recruited_by"
    )
    referrer = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="recruits"
    )
    link = models.ForeignKey(TrackedLink, on_delete=models.SET_NULL, null=True, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["campaign", "recruit"], name="referral_once"),
            models.CheckConstraint(
                condition=~Q(recruit=models.F("referrer")), name="referral_not_self"
            ),
        ]

    def __str__(self):
        return f"{self.recruit_id} brought in by {self.referrer_id}"


class Badge(models.Model):
    """A milestone a volunteer reached in a campaign: at most one of each kind (the unique
    constraint, written with insert-or-ignore, is what keeps concurrent calls from giving
    it twice)."""

    class Kind(models.TextChoices):
        FIRST_CALL = "first_call", "First call"
        FIRST_CONVERSATION = "first_conversation", "First conversation"
        CALLS_10 = "calls_10", "10 calls"
        CALLS_100 = "calls_100", "100 calls"
        CALLS_1000 = "calls_1000", "1,000 calls"
        HOUR = "hour", "An hour on the phones"
        RECRUIT_CALLED = "recruit_called", "Brought in a caller"

    campaign = models.ForeignKey("campaigns.Campaign", on_delete=models.CASCADE, related_name="+")
    volunteer = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="badges"
    )
    kind = models.CharField(max_length=24, choices=Kind.choices)
    awarded_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["awarded_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["campaign", "volunteer", "kind"], name="badge_once_each"
            )
        ]

    def __str__(self):
        return f"{self.get_kind_display()} for {self.volunteer_id}"


class CallTime(models.Model):
    """Seconds a volunteer spent on calls in a campaign (handed out to outcome saved, each
    call capped), kept as calls are recorded: the "time on calls" leaderboard and the hour
    badge read this, never the calls."""

    campaign = models.ForeignKey("campaigns.Campaign", on_delete=models.CASCADE, related_name="+")
    volunteer = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+"
    )
    seconds = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["campaign", "volunteer"], name="call_time_unique")
        ]

    def __str__(self):
        return f"{self.seconds} s by {self.volunteer_id}"


class Preference(models.Model):
    """A volunteer's choice to appear on leaderboards without their name."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="sharing_preference"
    )
    hide_name = models.BooleanField(default=False)

    def __str__(self):
        return f"Leaderboard name of {self.user_id}"


class ContactInvite(models.Model):
    """A contact who said they would help agreed, on the call, to be sent the recruitment
    link: by whom, how, and when they agreed."""

    class Channel(models.TextChoices):
        SMS = "sms", "Text message"
        WHATSAPP = "whatsapp", "WhatsApp"
        EMAIL = "email", "Email"

    campaign = models.ForeignKey("campaigns.Campaign", on_delete=models.CASCADE, related_name="+")
    contact = models.ForeignKey("contacts.Contact", on_delete=models.CASCADE, related_name="+")
    volunteer = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    channel = models.CharField(max_length=16, choices=Channel.choices)
    consented_at = models.DateTimeField(default=timezone.now)

    def __str__(self):
        return f"Invite by {self.channel} to {self.contact_id}"
