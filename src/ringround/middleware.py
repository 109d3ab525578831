"""Security headers: the Content-Security-Policy, and those Django does not set itself."""

from django.conf import settings

PERMISSIONS_POLICY = "camera=(), microphone=(), geolocation=(), payment=(), usb=()"


class SecurityHeadersMiddleware:
    """Adds the headers to every response. The CSP (settings.CONTENT_SECURITY_POLICY, in
    django-csp's form) is the same for every page, since no page uses a nonce or an inline
    script, so it is built once here rather than for each response as django-csp's own
    middleware does."""

    def __init__(self, get_response):
        from csp.utils import build_policy

        self.get_response = get_response
        self.csp = build_policy()
        policy = getattr(settings, "CONTENT_SECURITY_POLICY", None) or {}
        self.csp_excluded = tuple(policy.get("EXCLUDE_URL_PREFIXES") or ())

    def __call__(self, request):
        response = self.get_response(request)
        if not request.path_info.startswith(self.csp_excluded):
            response.setdefault("Content-Security-Policy", self.csp)
        response.setdefault("Permissions-Policy", PERMISSIONS_POLICY)
        response.setdefault("Cross-Origin-Resource-Policy", "same-origin")
        return response
