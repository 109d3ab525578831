"""Operations on contacts and the suppression list. (Stopping the call targets of a
suppressed number is ``calling.targets``; writing many contacts at once is ``bulk``.)"""

from ringround.audit.services import record_event

from .models import ERASED_FIELDS, Contact, Suppression
from .phones import normalise, time_zone_for


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


def add_suppression(
    e164: str,
    *,
    team,
    reason=Suppression.Reason.REQUESTED,
    by=None,
    note="",
    campaign=None,
    request=None,
):
    """Put a number (E.164) on ``team``'s suppression list (``None``: every team's);
    ``(suppression, created)``.

    Call ``calling.targets.suppress_number`` instead: it also stops the number's targets."""
    suppression, created = Suppression.objects.get_or_create(
        phone=e164,
        team=team,
        defaults={"reason": reason, "note": note[:500], "created_by": by, "campaign": campaign},
    )
    if created:
        record_event(
            by,
            "suppression.add",
            suppression,
            campaign=campaign,
            request=request,
            reason=reason,
            team=team.public_id if team else "everywhere",
        )
    return suppression, created


def remove_suppression(e164: str, *, team, by=None, request=None) -> bool:
    """Take a number (E.164) off ``team``'s suppression list (``None``: the list for every
    team); whether it was on it."""
    deleted, _ = Suppression.objects.filter(phone=e164, team=team).delete()
    if deleted:
        record_event(
            by,
            "suppression.remove",
            None,
            request=request,
            phone=e164,
            team=team.public_id if team else "everywhere",
        )
    return bool(deleted)


def erase_personal_data(contact: Contact, placeholder: str) -> Contact:
    """Blank every field that says who the person was (``ERASED_FIELDS``); the number becomes
    ``placeholder``, which no real number equals. (``privacy.erase_contact`` does the rest.)"""
    for name in ERASED_FIELDS:
        setattr(contact, name, Contact._meta.get_field(name).get_default())
    contact.phone = placeholder
    contact.save(update_fields=[*ERASED_FIELDS, "updated_at"])
    return contact
