"""API tokens: stored only as a hash, shown once, revocable, and checked on every request."""

import hashlib
import io

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import Client

from ringround.api import services
from ringround.api.models import ApiToken
from ringround.audit.models import AuditEvent
from tests.factories import UserFactory

from .conftest import assert_error

pytestmark = pytest.mark.django_db


def test_token_is_stored_only_as_its_sha256():
    user = UserFactory()
    record, token = services.create_token(user, "phone bank")
    assert token.startswith("rr_") and len(token) > 40
    stored = ApiToken.objects.get(pk=record.pk)
    assert stored.secret_hash == hashlib.sha256(token.encode()).hexdigest()
    assert token not in {stored.secret_hash, stored.prefix, stored.name}
    assert stored.prefix == token[:8]
    assert AuditEvent.objects.filter(action="api_token.create").exists()


def test_a_valid_token_authenticates_its_user_and_notes_when_it_was_used():
    user = UserFactory()
    record, token = services.create_token(user, "phone bank")
    assert services.authenticate(token) == user
    record.refresh_from_db()
    assert record.last_used_at is not None


@pytest.mark.parametrize("token", ["", "rr_nope", "not-a-token", "rr_" + "x" * 200])
def test_unknown_tokens_authenticate_nobody(token):
    services.create_token(UserFactory(), "phone bank")
    assert services.authenticate(token) is None


def test_revoked_token_and_inactive_user_are_refused():
    user = UserFactory()
    record, token = services.create_token(user, "phone bank")
    _, other_token = services.create_token(UserFactory(is_active=False), "old")
    services.revoke_token(record)
    assert services.authenticate(token) is None
    assert services.authenticate(other_token) is None
    response = Client(headers={"Authorization": f"Bearer {token}"}).get("/api/v1/campaigns")
    assert_error(response, 401, "not_authenticated")


def test_requests_without_credentials_get_401_with_a_bearer_challenge():
    response = Client().get("/api/v1/campaigns")
    assert_error(response, 401, "not_authenticated")
    assert response["WWW-Authenticate"] == "Bearer"
    response = Client(headers={"Authorization": "Basic dXNlcjpwYXNz"}).get("/api/v1/campaigns")
    assert_error(response, 401, "not_authenticated")


def test_a_bad_token_is_refused_even_alongside_a_signed_in_session():
    user = UserFactory()
    client = Client(headers={"Authorization": "Bearer rr_wrong"})
    client.force_login(user)
    assert_error(client.get("/api/v1/campaigns"), 401, "not_authenticated")


def test_health_needs_no_credentials():
    assert Client().get("/api/v1/health").json() == {"ok": True}


def test_management_command_creates_lists_and_revokes_tokens():
    user = UserFactory(email="org@example.org")
    out, err = io.StringIO(), io.StringIO()
    call_command("api_token", "create", "ORG@example.org", "dialer", stdout=out, stderr=err)
    token = out.getvalue().strip()
    assert services.authenticate(token) == user
    assert "shown only this once" in err.getvalue()

    out = io.StringIO()
    call_command("api_token", "list", stdout=out)
    assert token[:8] in out.getvalue() and token not in out.getvalue()

    call_command("api_token", "revoke", token[:8], stdout=io.StringIO())
    assert services.authenticate(token) is None
    with pytest.raises(CommandError):
        call_command("api_token", "revoke", token[:8], stdout=io.StringIO())
    with pytest.raises(CommandError):
        call_command("api_token", "create", "nobody@example.org", "x", stdout=io.StringIO())


def test_a_token_seen_recently_is_not_read_again_and_revoking_forgets_it(django_assert_num_queries):
    user = UserFactory()
    record, token = services.create_token(user, "dialer")
    assert services.authenticate(token) == user
    with django_assert_num_queries(0):
        again = services.authenticate(token)
    assert again == user and again is not services.authenticate(token), "a copy per request"
    services.revoke_token(record)
    assert services.authenticate(token) is None


@pytest.mark.parametrize(("minutes_ago", "written"), [(14, False), (16, True)])
def test_last_used_is_written_at_most_every_quarter_of_an_hour(minutes_ago, written):
    """Under realistic load a phone's requests come further apart than the token cache lasts:
    writing last_used_at on each would cost a commit for nearly every call."""
    import datetime as dt

    from django.utils import timezone

    user = UserFactory()
    record, token = services.create_token(user, "phone bank")
    before = timezone.now() - dt.timedelta(minutes=minutes_ago)
    ApiToken.objects.filter(pk=record.pk).update(last_used_at=before)
    services.forget_cached_tokens()
    assert services.authenticate(token) == user
    record.refresh_from_db()
    assert (record.last_used_at != before) is written
