"""A real HTTP server on this machine that plays the team's endpoint (nothing mocked), tasks
run at once, and private addresses allowed (the server is on 127.0.0.1) unless a test says."""

import pytest

from .receiver import serving


@pytest.fixture
def receiver():
    with serving() as state:
        yield state


@pytest.fixture(autouse=True)
def _webhook_settings(settings):
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}
    settings.RINGROUND_WEBHOOKS_ALLOW_PRIVATE = True
    settings.RINGROUND_WEBHOOKS_TIMEOUT = 2
    settings.RINGROUND_WEBHOOKS_RETRY_SECONDS = 30
    settings.RINGROUND_WEBHOOKS_RETRY_HOURS = 24
