"""People and their roles.

An admin is a superuser. An organiser is anyone who organises at least one campaign (or may
create them: ``can_organise``). A volunteer is a member of a campaign they joined by invite.
"""

from django.contrib.auth.models import AbstractUser, BaseUserManager
from django.db import models

from ringround.ids import new_public_id


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
        extra.update(is_staff=True, is_superuser=True, can_organise=True)
        return self.create_user(email, password, **extra)


class User(AbstractUser):
    username = None
    first_name = None
    last_name = None
    email = models.EmailField("email address", unique=True)
    name = models.CharField(max_length=150)
    public_id = models.CharField(max_length=16, unique=True, default=new_public_id, editable=False)
    can_organise = models.BooleanField(
        default=False, help_text="May create campaigns and import contacts."
    )

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
