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


def record_events_sql(source: str, *, action: str, model, **values: str) -> str:
    """SQL that appends one event per row of ``source`` (a FROM clause), as ``record_event``
    writes them, for a hand-written statement: ``action`` and ``model`` (the kind of object)
    are constants; ``values`` give an SQL expression for each of ``actor_id``, ``object_id``,
    ``campaign_id``, ``ip_address`` and ``detail`` (JSON text). The time is when the
    statement runs, as ``record_event``'s is when it is written."""
    values["at"] = "statement_timestamp()"
    values["ip_address"] = f"({values['ip_address']})::inet"
    values["detail"] = f"({values['detail']})::jsonb"
    values["action"] = rawsql.literal(action)
    values["object_type"] = rawsql.literal(model._meta.model_name)
    return rawsql.insert_select(AuditEvent, source, values)
