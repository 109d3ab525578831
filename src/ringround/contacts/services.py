"""Operations on contacts and the suppression list."""

from django.db import transaction

from ringround.audit.services import record_event

from .models import Contact, Suppression
from .phones import InvalidPhone, normalise, time_zone_for


def create_contact(*, phone: str, default_country: str = "GB", tags=(), **fields) -> Contact:
    """One contact from what a person typed; raises ``InvalidPhone`` with the reason."""
    number = normalise(phone, default_country)
    contact = Contact(
        phone=number.e164,
        phone_as_typed=phone,
        phone_type=number.kind,
        time_zone=time_zone_for(number.e164),
        **fields,
    )
    contact.set_tags(tags)
    contact.full_clean(exclude=["public_id"])
    contact.save()
    return contact


@transaction.atomic
def suppress_number(
    phone: str, *, reason=Suppression.Reason.REQUESTED, by=None, note="", request=None
):
    """Never call this number again, in any campaign; frees anyone holding it now."""
    from ringround.calling.models import CallTarget

    e164 = phone if phone.startswith("+") else normalise(phone).e164
    suppression, created = Suppression.objects.get_or_create(
        phone=e164, defaults={"reason": reason, "note": note[:500], "created_by": by}
    )
    CallTarget.objects.filter(phone=e164).exclude(
        state__in=[CallTarget.State.DONE, CallTarget.State.SUPPRESSED]
    ).update(state=CallTarget.State.SUPPRESSED, held_by=None, lease_expires_at=None)
    if created:
        record_event(by, "suppression.add", suppression, request=request, reason=reason)
    return suppression


@transaction.atomic
def unsuppress_number(phone: str, *, by=None, request=None) -> bool:
    """Lift a suppression; targets it stopped become callable again."""
    from ringround.calling.models import CallTarget

    try:
        e164 = phone if phone.startswith("+") else normalise(phone).e164
    except InvalidPhone:
        return False
    deleted, _ = Suppression.objects.filter(phone=e164).delete()
    if deleted:
        CallTarget.objects.filter(phone=e164, state=CallTarget.State.SUPPRESSED).update(
            state=CallTarget.State.READY
        )
        record_event(by, "suppression.remove", None, request=request, phone=e164)
    return bool(deleted)
