"""WSGI entry point for the production server."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "ringround.settings")


def whole_bodies(django_app):
    """Hand the server an ordinary response's body as a one-item list.

    Django returns the response object itself, an iterable, and granian walks any iterable
    but a list chunk by chunk from its own side, holding the interpreter while it does: a
    fifth of a worker's Python time on the calling loop (py-spy --gil). Ordinary responses
    are whole bytes already, so they go as a list, closed here as the server would close them
    (Django's request_finished: database connections tidied); streaming ones (exports,
    files) stay iterables."""

    def application(environ, start_response):
        response = django_app(environ, start_response)
        if getattr(response, "streaming", True):
            return response
        try:
            return [response.content]
        finally:
            response.close()

    return application


application = whole_bodies(get_wsgi_application())
