"""Who is calling the API: an API token (``Authorization: Bearer rr_…``) or the signed-in
session the pages use. A session request that changes something must carry the CSRF token,
exactly as a form post would; a token request needs none (no browser sends it by itself)."""

from django.conf import settings
from ninja.errors import HttpError
from ninja.security import HttpBearer
from ninja.security.apikey import APIKeyCookie
from ninja.utils import check_csrf

from ringround.accounts.permissions import second_factor_missing

from . import services

SAFE_METHODS = ("GET", "HEAD", "OPTIONS", "TRACE")


class TokenAuth(HttpBearer):
    def authenticate(self, request, token):
        return services.authenticate(token)


class SessionAuth(APIKeyCookie):
    """The Django session, with the CSRF check for unsafe methods."""

    param_name = settings.SESSION_COOKIE_NAME

    def __init__(self):
        super().__init__(csrf=False)  # checked below, once we know there is a session

    def authenticate(self, request, key):
        if "authorization" in request.headers:
            return None  # a request that names a token is judged by its token alone
        user = request.user
        if not user.is_authenticated:
            return None
        if second_factor_missing(user):
            raise HttpError(
                401, "Finish signing in (the two-factor code step) before using the API."
            )
        if request.method not in SAFE_METHODS and check_csrf(request) is not None:
            raise HttpError(
                403, "CSRF check failed: send the csrftoken cookie's value as X-CSRFToken."
            )
        return user


token_auth = TokenAuth()
session_auth = SessionAuth()
api_auth = [token_auth, session_auth]
