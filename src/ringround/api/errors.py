"""Every API refusal has one shape: ``{"error": code, "message": words, "errors": {field: …}}``.

The calling rules' refusals (``CallingError`` and its kinds) map to statuses here, once, so
each endpoint only calls the rule and lets the refusal travel."""

import logging

from django.db import DataError, InterfaceError, OperationalError
from django.http import Http404
from ninja import Schema
from ninja.errors import AuthenticationError, HttpError, ValidationError

from ringround.calling import rules

logger = logging.getLogger("ringround.api")
RETRY_AFTER_SECONDS = 3
RATE_LIMIT_RETRY_SECONDS = 300


class ErrorOut(Schema):
    error: str
    message: str
    errors: dict[str, str] = {}


class ApiError(Exception):
    """A refusal raised by an endpoint itself (not by the calling rules)."""

    def __init__(self, status: int, code: str, message: str, errors: dict | None = None):
        super().__init__(message)
        self.status, self.code, self.errors = status, code, errors or {}


# By the refusal's code, so a kind of refusal added to the rules later still maps (else 400).
CALLING_STATUS = {
    "invalid_lease": 400,
    "not_a_volunteer": 403,
    "campaign_not_open": 409,
    "invalid_outcome": 422,
    "rate_limited": 429,
}


def status_for(exc: rules.CallingError) -> int:
    return CALLING_STATUS.get(exc.code, 400)


def error_body(code: str, message: str, errors: dict | None = None) -> dict:
    return {"error": code, "message": message, "errors": errors or {}}


def install(api) -> None:
    """Register the handlers on ``api``."""

    def respond(request, status, code, message, errors=None):
        return api.create_response(request, error_body(code, message, errors), status=status)

    @api.exception_handler(ApiError)
    def api_error(request, exc):
        return respond(request, exc.status, exc.code, str(exc), exc.errors)

    @api.exception_handler(rules.CallingError)
    def calling_error(request, exc):
        status = status_for(exc)
        response = respond(request, status, exc.code, str(exc), getattr(exc, "errors", None))
        if status == 429:
            response["Retry-After"] = str(RATE_LIMIT_RETRY_SECONDS)
        return response

    @api.exception_handler(AuthenticationError)
    def not_authenticated(request, exc):
        response = respond(
            request,
            401,
            "not_authenticated",
            "Send an API token (Authorization: Bearer …) or sign in.",
        )
        response["WWW-Authenticate"] = "Bearer"
        return response

    @api.exception_handler(Http404)
    def not_found(request, exc):
        return respond(request, 404, "not_found", "No such campaign.")

    @api.exception_handler(HttpError)
    def http_error(request, exc):
        code = "csrf_failed" if "CSRF" in str(exc) else "http_error"
        return respond(request, exc.status_code, code, str(exc))

    @api.exception_handler(ValidationError)
    def invalid_request(request, exc):
        errors = {}
        for error in exc.errors:
            loc = [str(part) for part in error.get("loc", ()) if part not in ("body", "payload")]
            errors[".".join(loc) or "body"] = error.get("msg", "Invalid value.")
        return respond(request, 422, "invalid_request", "The request is not valid.", errors)

    @api.exception_handler(DataError)
    def unstorable(request, exc):
        # Input that passed validation but that the database cannot hold (a NUL in a path).
        return respond(
            request, 400, "invalid_request", "The request holds a value that cannot be stored."
        )

    @api.exception_handler(OperationalError)
    @api.exception_handler(InterfaceError)
    def database_unavailable(request, exc):
        logger.warning("Database unavailable (%s): %s", type(exc).__name__, exc)
        return unavailable_response(
            lambda body, status: api.create_response(request, body, status=status)
        )


def unavailable_response(make):
    response = make(
        error_body(
            "unavailable",
            "The database is not answering just now. Try again in a few seconds.",
        ),
        503,
    )
    response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response


ERROR_RESPONSES = {
    400: ErrorOut,
    401: ErrorOut,
    403: ErrorOut,
    404: ErrorOut,
    409: ErrorOut,
    422: ErrorOut,
    503: ErrorOut,
}
