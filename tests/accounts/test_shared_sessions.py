"""Sessions shared by several app servers: with Redis configured the session engine is
cached_db (read from the cache, written through to the database). Ending a session must end it
in the cache too, or the ended browser would stay signed in on every server."""

import pytest
from django.test import Client
from django.urls import reverse

from ringround.accounts.models import UserSession
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db
PASSWORD = "correct horse battery"
ENGINES = ["django.contrib.sessions.backends.db", "django.contrib.sessions.backends.cached_db"]


def login(client, email):
    return client.post(reverse("accounts:login"), {"username": email, "password": PASSWORD})


@pytest.mark.parametrize("engine", ENGINES)
def test_an_ended_session_is_signed_out_whatever_the_session_engine(settings, engine):
    settings.SESSION_ENGINE = engine
    user = UserFactory()
    mine, other_browser = Client(), Client()
    login(other_browser, user.email)
    login(mine, user.email)
    assert other_browser.get(reverse("accounts:account")).status_code == 200  # cached now
    theirs = UserSession.objects.exclude(session_key=mine.session.session_key).get(user=user)

    mine.post(reverse("accounts:end_session", args=[theirs.pk]))

    assert other_browser.get(reverse("accounts:account")).status_code == 302
    assert mine.get(reverse("accounts:account")).status_code == 200


@pytest.mark.parametrize("engine", ENGINES)
def test_the_sessions_list_shows_live_sessions_with_the_cached_engine(settings, engine):
    settings.SESSION_ENGINE = engine
    user = UserFactory()
    mine, other_browser = Client(), Client()
    login(other_browser, user.email)
    login(mine, user.email)
    page = mine.get(reverse("accounts:account")).content.decode()
    assert page.count("End</button>") == 2


def test_settings_choose_cached_db_sessions_with_redis(monkeypatch):
    """The deployment's settings (REDIS_URL set) keep sessions in Redis, written through."""
    import importlib

    import ringround.settings as ringround_settings

    monkeypatch.setenv("REDIS_URL", "redis://127.0.0.1:6399/0")
    try:
        reloaded = importlib.reload(ringround_settings)
        assert reloaded.SESSION_ENGINE == "django.contrib.sessions.backends.cached_db"
        assert reloaded.CACHES["default"]["BACKEND"].endswith("RedisCache")
    finally:
        monkeypatch.delenv("REDIS_URL")
        importlib.reload(ringround_settings)
