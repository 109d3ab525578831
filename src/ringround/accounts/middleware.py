"""Two-factor checks: a person with a TOTP device must enter a code after their password, and
admins must set one up when the deployment requires it."""

from django.shortcuts import redirect
from django.urls import reverse

from .permissions import second_factor_missing

# The API answers for itself (api/auth.py refuses a session owing its second factor).
ALWAYS_ALLOWED = ("/accounts/logout/", "/accounts/2fa/", "/static/", "/healthz", "/api/")


class TwoFactorMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        if user is not None and not request.path.startswith(ALWAYS_ALLOWED):
            missing = second_factor_missing(user)
            if missing == "verify":
                return redirect(f"{reverse('accounts:2fa_verify')}?next={request.path}")
            if missing == "setup":
                return redirect("accounts:2fa_setup")
        return self.get_response(request)
