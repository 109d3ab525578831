from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.db import connection
from django.http import (
    Http404,
    HttpResponseBadRequest,
    HttpResponseServerError,
    JsonResponse,
)
from django.shortcuts import redirect, render
from django.template import loader
from django.templatetags.static import static
from django.utils.cache import patch_cache_control

from ringround.accounts.permissions import is_organiser


def home(request):
    if not request.user.is_authenticated:
        return redirect_to_login(request.get_full_path())
    if is_organiser(request.user):
        return redirect("campaigns:list")
    return redirect("calling:my_campaigns")


def favicon(request):
    """Browsers ask for /favicon.ico whatever the page links; send them to the SVG. Not a
    permanent redirect: the SVG's address changes with its content."""
    response = redirect(static("ringround/favicon.svg"))
    patch_cache_control(response, public=True, max_age=24 * 60 * 60)
    return response


def healthz(request):
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return JsonResponse({"ok": True, "database": connection.vendor})


# Error pages: Ringround's own look, a viewport for phones and a way back home, instead of
# Django's unstyled defaults (used only with DEBUG off; DEBUG shows the technical pages).


def _said(exception, kind) -> str:
    """What the exception says to the person, when it is one of our own plain sentences
    (``PermissionDenied("Only organisers can do this.")``); never a resolver's internals."""
    if type(exception) is kind and exception.args and isinstance(exception.args[0], str):
        return exception.args[0]
    return ""


def bad_request(request, exception=None):
    """Without the request's context, as Django's own: the request itself is what is wrong
    (a host not allowed, a broken cookie), so nothing should read it."""
    return HttpResponseBadRequest(loader.get_template("400.html").render())


def permission_denied(request, exception=None):
    return render(request, "403.html", {"reason": _said(exception, PermissionDenied)}, status=403)


def page_not_found(request, exception=None):
    return render(request, "404.html", {"reason": _said(exception, Http404)}, status=404)


def server_error(request):
    """Rendered without the request's context: the database or a context processor may be
    what failed, so the page needs neither."""
    try:
        body = loader.get_template("500.html").render()
    except Exception:  # the page about an error must not fail in turn
        body = "<!doctype html><title>Server error</title><h1>Something went wrong</h1>"
    return HttpResponseServerError(body)
