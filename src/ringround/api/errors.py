"""Every API refusal has one shape: ``{"error": code, "message": words, "errors": {field: …}}``.

The calling rules' refusals (``CallingError`` and its kinds) map to statuses here, once, so
each endpoint only calls the rule and lets the refusal travel."""

import logging

from django.db import DatabaseError, DataError, InterfaceError, InternalError, OperationalError
from django.http import Http404, JsonResponse
from ninja import Schema
from ninja.errors import AuthenticationError, HttpError, ValidationError

from ringround.calling import rules

logger = logging.getLogger("ringround.api")
RETRY_AFTER_SECONDS = 3
RATE_LIMIT_RETRY_SECONDS = 300
# SQLSTATEs that mean "not now" rather than "not ever": a standby still read-only while it is
# promoted, a transaction the broken connection left aborted, a server shutting down or
# starting (class 57P), a connection lost (class 08).
RETRY_LATER_STATES = ("25006", "25P02", "57P", "08")


def database_unavailable(exc) -> bool:
    """Whether the database could not take this request now (down, restarting, failing over):
    the client should try again, with the same idempotency key."""
    if isinstance(exc, OperationalError | InterfaceError):
        return True
    if not isinstance(exc, DatabaseError):
        return False
    state = getattr(exc.__cause__, "sqlstate", None) or ""
    return state.startswith(RETRY_LATER_STATES)


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
    "screening_out_of_date": 409,  # the team's TPS/CTPS screening is over 28 days old
    "invalid_outcome": 422,
    "rate_limited": 429,
    "campaign_ceiling": 429,
}


def status_for(exc: rules.CallingError) -> int:
    return CALLING_STATUS.get(exc.code, 400)


def error_body(code: str, message: str, errors: dict | None = None) -> dict:
    return {"error": code, "message": message, "errors": errors or {}}


def refusal_response(exc: Exception) -> JsonResponse | None:
    """The JSON answer to a refusal raised while serving a request, ``None`` for an exception
    that is not a refusal (a bug: it becomes a 500). Used by ninja's handlers below and by
    CallingLoopMiddleware, so both answer alike."""
    if isinstance(exc, ApiError):
        return respond(exc.status, exc.code, str(exc), exc.errors)
    if isinstance(exc, rules.CallingError):
        status = status_for(exc)
        response = respond(status, exc.code, str(exc), getattr(exc, "errors", None))
        if status == 429:
            response["Retry-After"] = str(RATE_LIMIT_RETRY_SECONDS)
        return response
    if isinstance(exc, Http404):
        return respond(404, "not_found", "No such campaign.")
    if isinstance(exc, DataError):
        # Input that passed validation but that the database cannot hold (a NUL in a path).
        return respond(400, "invalid_request", "The request holds a value that cannot be stored.")
    if database_unavailable(exc):
        logger.warning("Database unavailable (%s): %s", type(exc).__name__, exc)
        return unavailable_response(lambda body, status: JsonResponse(body, status=status))
    return None


def respond(status, code, message, errors=None) -> JsonResponse:
    return JsonResponse(error_body(code, message, errors), status=status)


def install(api) -> None:
    """Register the handlers on ``api``."""

    def refusal(request, exc):
        response = refusal_response(exc)
        if response is None:
            raise exc  # a database error that is not "try again later": a real failure
        return response

    refusals = (
        ApiError,
        rules.CallingError,
        Http404,
        DataError,
        OperationalError,
        InterfaceError,
        InternalError,
    )
    for kind in refusals:
        api.add_exception_handler(kind, refusal)

    @api.exception_handler(AuthenticationError)
    def not_authenticated(request, exc):
        response = respond(
            401, "not_authenticated", "Send an API token (Authorization: Bearer …) or sign in."
        )
        response["WWW-Authenticate"] = "Bearer"
        return response

    @api.exception_handler(HttpError)
    def http_error(request, exc):
        code = "csrf_failed" if "CSRF" in str(exc) else "http_error"
        return respond(exc.status_code, code, str(exc))

    @api.exception_handler(ValidationError)
    def invalid_request(request, exc):
        errors = {}
        for error in exc.errors:
            loc = [str(part) for part in error.get("loc", ()) if part not in ("body", "payload")]
            errors[".".join(loc) or "body"] = error.get("msg", "Invalid value.")
        return respond(422, "invalid_request", "The request is not valid.", errors)


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
