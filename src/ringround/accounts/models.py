"""People, teams and roles.

An admin is a superuser: they see every team. An organiser belongs to one or more teams (a
local party, a union branch, a national office) as a team admin or an organiser; a team owns
its contacts, imports, suppression entries and campaigns, and its organisers see those and
nothing of other teams. A team admin also manages the team's people. A volunteer is a member
of a campaign they joined by invite, and belongs to no team.
"""

import datetime as dt

from django.contrib.auth.models import AbstractUser, BaseUserManager
from django.db import models
from django.utils import timezone

from ringround.ids import new_public_id, new_token


class UserManager(BaseUserManager):
    use_in_migrations = True

    def create_user(self, email, password=None, **extra):
        if not email:
            raise ValueError("An email address is required")
        user = self.model(email=self.normalize_email(email).lower(), **extra)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_superuser(self, email, password=None, **extra):
        extra.update(is_staff=True, is_superuser=True)
        return self.create_user(email, password, **extra)


class User(AbstractUser):
    username = None
    first_name = None
    last_name = None
    email = models.EmailField("email address", unique=True)
    name = models.CharField(max_length=150)
    public_id = models.CharField(max_length=16, unique=True, default=new_public_id, editable=False)

    USERNAME_FIELD = "email"
    REQUIRED_FIELDS = ["name"]
    objects = UserManager()

    def __str__(self):
        return self.name or self.email

    @property
    def is_admin(self) -> bool:
        return self.is_superuser


class UserSession(models.Model):
    """A signed-in browser, so people can see where they are logged in and end it."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="browser_sessions")
    session_key = models.CharField(max_length=40, unique=True)
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self):
        return f"{self.user} from {self.ip_address}"


class TeamQuerySet(models.QuerySet):
    def organised_by(self, user):
        """The teams whose data this person may see: all of them for an admin."""
        if not user.is_authenticated:
            return self.none()
        if user.is_superuser:
            return self
        return self.filter(members__user=user)

    def managed_by(self, user):
        """The teams whose people this person may manage."""
        if not user.is_authenticated:
            return self.none()
        if user.is_superuser:
            return self
        return self.filter(members__user=user, members__role=TeamMember.Role.ADMIN)


class Team(models.Model):
    """A group that runs campaigns and owns what they use."""

    public_id = models.CharField(max_length=16, unique=True, default=new_public_id, editable=False)
    name = models.CharField(max_length=200, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = TeamQuerySet.as_manager()

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name


class TeamMember(models.Model):
    """An organiser's place in a team, and what they may do there."""

    class Role(models.TextChoices):
        ADMIN = "admin", "Team admin"
        ORGANISER = "organiser", "Organiser"

    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="members")
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="team_memberships")
    role = models.CharField(max_length=16, choices=Role.choices, default=Role.ORGANISER)
    added_at = models.DateTimeField(auto_now_add=True)
    added_by = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["team", "user__name", "user__email"]
        constraints = [models.UniqueConstraint(fields=["team", "user"], name="team_member_unique")]

    def __str__(self):
        return f"{self.user} in {self.team} ({self.get_role_display()})"

    @property
    def is_admin(self) -> bool:
        return self.role == self.Role.ADMIN


class TeamInvitation(models.Model):
    """An email address asked to join a team. Nobody is added until the owner of the address
    accepts from the link emailed to them: a team admin learns nothing of whether the address
    has an account, or whose it is."""

    VALID_FOR = dt.timedelta(days=7)

    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="invitations")
    email = models.EmailField()
    role = models.CharField(
        max_length=16, choices=TeamMember.Role.choices, default=TeamMember.Role.ORGANISER
    )
    token = models.CharField(max_length=64, unique=True, default=new_token)
    invited_by = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["team", "email"], name="team_invitation_unique")
        ]

    def __str__(self):
        return f"{self.email} to {self.team}"

    def is_valid(self, now=None) -> bool:
        return (now or timezone.now()) < self.created_at + self.VALID_FOR


class RateCounter(models.Model):
    """One count behind a limit on what an address or a link may do in a window of time
    (``accounts.limits``)."""

    key = models.CharField(max_length=200, primary_key=True)
    count = models.PositiveIntegerField(default=0)
    expires_at = models.DateTimeField()

    def __str__(self):
        return f"{self.key}: {self.count}"
