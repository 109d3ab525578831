"""Recording audit events. Every view of personal data goes through ``record_event``."""

from ringround import rawsql

from .models import AuditEvent


def client_ip(request) -> str | None:
    if request is None:
        return None
    return request.META.get("REMOTE_ADDR") or None


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
