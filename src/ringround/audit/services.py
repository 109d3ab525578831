"""Recording audit events. Every view of personal data goes through ``record_event``."""

import ipaddress

from django.conf import settings

from ringround import rawsql

from .models import AuditEvent


def client_ip(request) -> str | None:
    """The address the request came from. Behind a proxy listed in RINGROUND_TRUSTED_PROXIES
    (deploy/nginx.conf) that is the last address in X-Forwarded-For not itself a trusted
    proxy; a header from anyone else is ignored, since a client can write it."""
    if request is None:
        return None
    remote = request.META.get("REMOTE_ADDR") or None
    trusted = settings.RINGROUND_TRUSTED_PROXIES
    if remote not in trusted:
        return remote
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")
    for address in reversed([a.strip() for a in forwarded if a.strip()]):
        if address in trusted:
            continue
        try:
            return str(ipaddress.ip_address(address))
        except ValueError:
            return remote
    return remote


def record_event(
    actor, action, obj=None, *, campaign=None, request=None, ip_address=None, **detail
) -> AuditEvent:
    """Append an event (a plain INSERT: one is written for every contact a volunteer sees)."""
    event = AuditEvent(
        actor=actor if getattr(actor, "is_authenticated", False) else None,
        action=action,
        object_type=obj._meta.model_name if obj is not None else "",
        object_id=str(getattr(obj, "public_id", None) or getattr(obj, "pk", "")) if obj else "",
        campaign_id=getattr(campaign, "pk", None),
        ip_address=ip_address or client_ip(request),
        detail=detail,
    )
    return rawsql.insert(event)
