"""The API's middleware: a database that is down answers 503 with Retry-After, on pages and
API alike; and the calling loop's fast lane for token requests (CallingLoopMiddleware).

Clients (and the phone's retry loop) then know to try again rather than give up; Django
closes the broken connection at the end of the request and the next one reconnects."""

import re

import pydantic
from django.http import HttpResponse, JsonResponse

from . import services
from .calling import OutcomeIn, claim_response, outcome_response
from .errors import database_unavailable, logger, refusal_response, unavailable_response


class DatabaseUnavailableMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exc):
        if not database_unavailable(exc):
            return None
        logger.warning("Database unavailable (%s): %s", type(exc).__name__, exc)
        if request.path.startswith("/api/"):
            return unavailable_response(lambda body, status: JsonResponse(body, status=status))
        return unavailable_response(
            lambda body, status: HttpResponse(
                body["message"], status=status, content_type="text/plain; charset=utf-8"
            )
        )


class CallingLoopMiddleware:
    """The two requests of every call, claim and outcome, when they come with an API token,
    answered here: before the session, CSRF, messages, 2FA and lockout middleware (none of
    which a token request uses) and before django-ninja's routing and parsing. Together those
    were a fifth of the server's time per call in bench/load.

    Same rules and answers as the ninja endpoints: the work is done by
    ``api.calling.claim_response`` / ``outcome_response``, the payload is checked by the same
    ``OutcomeIn`` schema, refusals are answered by ``errors.refusal_response``. A request this
    lane cannot answer in full (an unknown token, an invalid payload, anything else) goes on to
    the ordinary stack unchanged, which answers it as the API always did."""

    PATH = re.compile(r"^/api/v1/campaigns/(?P<public_id>[^/]+)/(?P<action>claim|outcomes)$")

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        match = self.PATH.match(request.path_info)
        authorization = request.META.get("HTTP_AUTHORIZATION", "")
        if match is None or request.method != "POST" or not authorization.startswith("Bearer "):
            return self.get_response(request)
        request.get_host()  # ALLOWED_HOSTS, as CommonMiddleware would check it
        try:
            user = services.authenticate(authorization[7:].strip())
            if user is None:
                return self.get_response(request)  # ninja answers 401
            if match["action"] == "claim":
                return claim_response(request, user, match["public_id"])
            try:
                payload = OutcomeIn.model_validate_json(request.body)
            except pydantic.ValidationError:
                return self.get_response(request)  # ninja words the 422
            return outcome_response(request, user, match["public_id"], payload)
        except Exception as exc:
            response = refusal_response(exc)  # the database down (503) included
            if response is None:
                raise
            return response
