"""What every page needs to know about the person looking at it."""

from .permissions import is_organiser


def roles(request):
    user = getattr(request, "user", None)
    return {"is_organiser": bool(user is not None and is_organiser(user))}
