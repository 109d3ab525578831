"""What a person's role lets them do, as view decorators. Which campaigns they may see is
``campaigns.permissions``."""

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django_otp import user_has_device

from .models import Team


def second_factor_missing(user) -> str | None:
    """What a signed-in session still owes before it may act, pages and API alike: ``"verify"``
    (they have a code device and have not entered a code) or ``"setup"`` (an admin where the
    deployment requires two-factor, without a device); ``None`` when nothing."""
    if not user.is_authenticated:
        return None
    if user_has_device(user) and not user.is_verified():
        return "verify"
    if settings.RINGROUND_REQUIRE_ADMIN_2FA and user.is_superuser and not user_has_device(user):
        return "setup"
    return None


def is_organiser(user) -> bool:
    """An admin, or a member of some team (which teams: ``Team.objects.organised_by``)."""
    if not user.is_authenticated:
        return False
    if user.is_superuser:
        return True
    cached = getattr(user, "_is_organiser", None)
    if cached is None:
        cached = user._is_organiser = user.team_memberships.exists()
    return cached


def organiser_required(view):
    """Organisers and admins only: strangers are sent to log in, everyone else is refused."""

    @login_required
    def wrapped(request, *args, **kwargs):
        if not is_organiser(request.user):
            raise PermissionDenied("Only organisers can do this.")
        return view(request, *args, **kwargs)

    wrapped.__name__ = view.__name__
    wrapped.__doc__ = view.__doc__
    return wrapped


def admin_required(view):
    """Admins only: strangers are sent to log in, everyone else is refused (403)."""

    @login_required
    def wrapped(request, *args, **kwargs):
        if not request.user.is_superuser:
            raise PermissionDenied("Only admins can do this.")
        return view(request, *args, **kwargs)

    wrapped.__name__ = view.__name__
    wrapped.__doc__ = view.__doc__
    return wrapped


def team_for_organiser(user, public_id: str) -> Team:
    """A team the person organises in (any team, for an admin); 404 for any other, so that
    another team's existence is not given away."""
    team = Team.objects.organised_by(user).filter(public_id=public_id).first()
    if team is None:
        raise Http404("No such team")
    return team


def may_manage_team(user, team: Team) -> bool:
    return Team.objects.managed_by(user).filter(pk=team.pk).exists()
