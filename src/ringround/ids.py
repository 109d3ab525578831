"""Public ids: random, URL-safe, never the sequential database id."""

import secrets


def new_public_id() -> str:
    return secrets.token_urlsafe(9)


def new_token() -> str:
    return secrets.token_urlsafe(24)
