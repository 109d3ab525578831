"""Making, checking and revoking API tokens.

A token is ``rr_`` and 32 random bytes in URL-safe base64. Only its SHA-256 is stored, so a
copy of the database gives nobody a working token; the caller sees the token once."""

import copy
import datetime as dt
import hashlib
import secrets
import time

from django.conf import settings
from django.utils import timezone

from ringround import rawsql
from ringround.accounts.models import User
from ringround.audit.services import record_event

from .models import ApiToken

TOKEN_PREFIX = "rr_"
# A volunteer's phone sends a request every half minute or so, and the token cache (seconds)
# rarely spans two of them: written every minute, last_used_at cost a commit for nearly every
# call cycle under realistic load (bench/load --realistic). A quarter of an hour is as precise
# as anyone reading it needs.
LAST_USED_EVERY = dt.timedelta(minutes=15)
CACHE_SIZE = 50_000
_recent: dict[str, tuple[float, object]] = {}  # token hash -> (when read, user)
_TOKEN = rawsql.Columns(ApiToken, "k")
_USER = rawsql.Columns(User, "u")
_ACTIVE_TOKEN = f"""
    SELECT {_TOKEN.sql}, {_USER.sql}
      FROM {ApiToken._meta.db_table} k JOIN {User._meta.db_table} u ON u.id = k.user_id
     WHERE k.secret_hash = %s AND k.revoked_at IS NULL AND u.is_active"""


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_token(user, name: str, *, by=None) -> tuple[ApiToken, str]:
    """A new token for ``user``; returns the stored record and the token (shown once)."""
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    record = ApiToken.objects.create(
        user=user, name=name.strip()[:100], prefix=token[:8], secret_hash=hash_token(token)
    )
    record_event(by or user, "api_token.create", user, token=record.prefix, name=record.name)
    return record, token


def revoke_token(record: ApiToken, *, by=None) -> ApiToken:
    if record.revoked_at is None:
        record.revoked_at = timezone.now()
        record.save(update_fields=["revoked_at"])
        forget_cached_tokens()
        record_event(by, "api_token.revoke", record.user, token=record.prefix, name=record.name)
    return record


def authenticate(token: str):
    """The active user a token belongs to, or ``None``.

    ``last_used_at`` is written at most once every 15 minutes per token, not on every request. A token
    that worked is remembered by this process for RINGROUND_API_TOKEN_CACHE_SECONDS (each request gets its own
    copy of the user), so the calling loop does not read it on every request: a revocation
    reaches every server process within that time (at once in the process that revoked it)."""
    if not token or not token.startswith(TOKEN_PREFIX) or len(token) > 100:
        return None
    secret_hash = hash_token(token)
    now = time.monotonic()
    cached = _recent.get(secret_hash)
    cache_seconds = settings.RINGROUND_API_TOKEN_CACHE_SECONDS
    if cached is not None and now - cached[0] < cache_seconds:
        return copy.copy(cached[1])
    rows = rawsql.fetch(_ACTIVE_TOKEN, [secret_hash], _TOKEN, _USER)
    if not rows:
        _recent.pop(secret_hash, None)
        return None
    record, record.user = rows[0]
    moment = timezone.now()
    if record.last_used_at is None or moment - record.last_used_at > LAST_USED_EVERY:
        ApiToken.objects.filter(pk=record.pk).update(last_used_at=moment)
    if cache_seconds > 0:
        if len(_recent) >= CACHE_SIZE:
            _recent.clear()
        _recent[secret_hash] = (now, copy.copy(record.user))
    return record.user


def forget_cached_tokens() -> None:
    _recent.clear()
