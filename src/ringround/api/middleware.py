"""A database that is down answers 503 with Retry-After, on pages and API alike.

Clients (and the phone's retry loop) then know to try again rather than give up; Django
closes the broken connection at the end of the request and the next one reconnects."""

from django.db import InterfaceError, OperationalError
from django.http import HttpResponse, JsonResponse

from .errors import logger, unavailable_response


class DatabaseUnavailableMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exc):
        if not isinstance(exc, OperationalError | InterfaceError):
            return None
        logger.warning("Database unavailable (%s): %s", type(exc).__name__, exc)
        if request.path.startswith("/api/"):
            return unavailable_response(lambda body, status: JsonResponse(body, status=status))
        return unavailable_response(
            lambda body, status: HttpResponse(
                body["message"], status=status, content_type="text/plain; charset=utf-8"
            )
        )
