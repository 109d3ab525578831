"""What a person's role lets them do, as view decorators. Which campaigns they may see is
``campaigns.permissions``."""

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied


def is_organiser(user) -> bool:
    return user.is_authenticated and (user.is_superuser or user.can_organise)


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
