"""Two-factor checks: a person with a TOTP device must enter a code after their password, and
admins must set one up when the deployment requires it."""

from django.conf import settings
from django.shortcuts import redirect
from django.urls import reverse
from django_otp import user_has_device

ALWAYS_ALLOWED = ("/accounts/logout/", "/accounts/2fa/", "/static/", "/healthz", "/api/")


class TwoFactorMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        if (
            user is not None
            and not request.path.startswith(ALWAYS_ALLOWED)
            and user.is_authenticated
        ):
            if user_has_device(user) and not user.is_verified():
                return redirect(f"{reverse('accounts:2fa_verify')}?next={request.path}")
            if (
                settings.RINGROUND_REQUIRE_ADMIN_2FA
                and user.is_superuser
                and not user_has_device(user)
            ):
                return redirect("accounts:2fa_setup")
        return self.get_response(request)
