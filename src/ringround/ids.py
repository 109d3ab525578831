"""Public ids: random, URL-safe, never the sequential database id."""

import base64
import os
import secrets


def new_public_id() -> str:
    return secrets.token_urlsafe(9)


def new_token() -> str:
    return secrets.token_urlsafe(24)


def new_public_ids(count: int) -> list[str]:
    """``count`` of ``new_public_id()`` at once (9 random bytes, URL-safe base64 each), for
    imports that make thousands a batch."""
    blob = base64.urlsafe_b64encode(os.urandom(9 * count)).decode()
    return [blob[i : i + 12] for i in range(0, 12 * count, 12)]
