"""Data-protection rights: subject access, erasure, objection and retention.

Each right is one function that does all of its work in one transaction and records itself in
the audit trail, so the admin pages and the management commands behave alike.

Erasure keeps the *fact* of past calls (a Call row with its outcome and its multiple-choice
answers) so campaign figures do not change, and removes everything that says who the person
was: names, numbers, email, postcode, tags, external id, custom fields, call notes and
free-text answers. The contact's phone becomes ``erased-<public id>``, which no real number can
equal (stored numbers are E.164: ``+`` and digits). Area, time zone and source stay: they are
coarse (a constituency, not an address) and are what anonymous figures are grouped by.
Audit events already written are not rewritten (the trail is append-only); the erasure's own
event names the contact by public id and holds counts only.
"""

import datetime as dt
from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone

from ringround import events
from ringround.accounts.permissions import is_organiser
from ringround.audit.models import AuditEvent
from ringround.audit.services import record_event
from ringround.calling import services as calling_services
from ringround.calling import targets as call_targets
from ringround.calling.models import Call, CallTarget
from ringround.campaigns.models import Campaign, Question
from ringround.compliance import services as compliance
from ringround.compliance.models import TeamPolicy
from ringround.contacts import services as contact_services
from ringround.contacts.models import CONTACT_FIELDS, ERASED_FIELDS, Contact, Suppression
from ringround.contacts.phones import InvalidPhone, normalise
from ringround.imports import copies as import_copies

ERASED_PREFIX = "erased-"
REPORT_FORMAT = "ringround.subject_access/1"


class PrivacyError(Exception):
    """A refusal an admin should see, in words."""


class AlreadyErased(PrivacyError):
    pass


# --- finding a person ------------------------------------------------------------------------


@dataclass(frozen=True)
class Search:
    """What an admin searched by: ``kind`` is "phone" (value in E.164) or "email"."""

    kind: str
    value: str

    def as_dict(self) -> dict:
        return {self.kind: self.value}


def parse_search(text: str, *, kind: str | None = None, default_country: str = "GB") -> Search:
    """A phone number in any form typed, or an email address; ``PrivacyError`` if neither."""
    text = (text or "").strip()
    if not text:
        raise PrivacyError("Enter a phone number or an email address.")
    kind = kind or ("email" if "@" in text else "phone")
    if kind == "email":
        try:
            validate_email(text)
        except ValidationError as exc:
            raise PrivacyError("That is not a valid email address.") from exc
        return Search("email", text.lower())
    return Search("phone", e164_or_error(text, default_country))


def e164_or_error(phone: str, default_country: str = "GB") -> str:
    try:
        return normalise(phone, default_country).e164
    except InvalidPhone as exc:
        raise PrivacyError(f"That is not a valid phone number ({exc}).") from exc


def find_contacts(search: Search):
    """Contacts holding this number (as their phone or one of their other phones) or email."""
    if search.kind == "email":
        matches = Contact.objects.filter(email__iexact=search.value)
    else:
        # other_phones is a JSON list; its text holds each number in quotes on both databases.
        matches = Contact.objects.filter(
            Q(phone=search.value) | Q(other_phones__icontains=f'"{search.value}"')
        )
    return matches.order_by("id")


def is_erased(contact: Contact) -> bool:
    return contact.phone.startswith(ERASED_PREFIX)


def contact_numbers(contact: Contact) -> list[str]:
    """The contact's phone and other phones, E.164 only, first one first, no repeats."""
    numbers = [contact.phone, *(contact.other_phones or [])]
    seen = []
    for number in numbers:
        if isinstance(number, str) and number.startswith("+") and number not in seen:
            seen.append(number)
    return seen


# --- subject access ----------------------------------------------------------------------------


def subject_access(contacts, *, by=None, request=None, search: Search | None = None) -> dict:
    """Everything held about these contacts, as one JSON-ready document (audited, per contact)."""
    contacts = list(contacts)
    with transaction.atomic():
        for contact in contacts:
            record_event(
                by,
                "privacy.subject_access",
                contact,
                request=request,
                via="page" if request is not None else "command",
            )
        return {
            "format": REPORT_FORMAT,
            "generated_at": timezone.now(),
            "search": search.as_dict() if search else {},
            "contacts": [contact_report(contact) for contact in contacts],
        }


def person_in_files(contact: Contact) -> import_copies.Person:
    """How the contact would appear in the raw rows of an imported file."""
    custom = contact.custom_fields or {}
    return import_copies.Person.of(
        emails=[contact.email, str(custom.get("email_as_typed", ""))],
        external_ids=[contact.external_id],
        numbers=contact_numbers(contact),
    )


def contact_report(contact: Contact) -> dict:
    numbers = contact_numbers(contact)
    targets = (
        CallTarget.objects.filter(contact=contact)
        .select_related("campaign", "last_outcome")
        .order_by("id")
    )
    calls = list(
        Call.objects.filter(target__contact=contact)
        .select_related("campaign", "outcome")
        .order_by("ended_at", "id")
    )
    questions = {
        q.key: q for q in Question.objects.filter(campaign_id__in={c.campaign_id for c in calls})
    }
    suppressions = list(Suppression.objects.filter(phone__in=numbers).order_by("created_at"))
    events = (
        AuditEvent.objects.filter(
            Q(object_type="contact", object_id=contact.public_id)
            | Q(object_type="suppression", object_id__in=[str(s.pk) for s in suppressions])
            | Q(action="suppression.remove", detail__phone__in=numbers)
        )
        .select_related("actor")
        .order_by("at", "id")
    )
    return {
        "contact": {
            "id": contact.public_id,
            "erased": is_erased(contact),
            **{name: _reported(contact, name) for name in CONTACT_FIELDS},
            "created_at": contact.created_at,
            "updated_at": contact.updated_at,
        },
        "campaigns": [
            {
                "campaign": _campaign(target.campaign),
                "state": target.state,
                "state_label": target.get_state_display(),
                "attempts": target.attempts,
                "next_call_at": target.next_call_at,
                "last_outcome": target.last_outcome.label if target.last_outcome else None,
            }
            for target in targets
        ],
        "calls": [
            {
                "id": call.public_id,
                "campaign": _campaign(call.campaign),
                "outcome": call.outcome.code,
                "outcome_label": call.outcome.label,
                "answers": [
                    {
                        "question": questions[key].text if key in questions else key,
                        "answer": value,
                    }
                    for key, value in (call.answers or {}).items()
                ],
                "notes": call.notes,
                "started_at": call.started_at,
                "ended_at": call.ended_at,
            }
            for call in calls
        ],
        "suppressions": [
            {
                "phone": s.phone,
                "reason": s.reason,
                "reason_label": s.get_reason_display(),
                "note": s.note,
                "created_at": s.created_at,
            }
            for s in suppressions
        ],
        "in_imports": import_copies.held_copies(person_in_files(contact)),
        "audit_events": [
            {
                "at": event.at,
                "action": event.action,
                "by": _role(event.actor),
                "object": f"{event.object_type}:{event.object_id}",
                "detail": event.detail,
            }
            for event in events
        ],
    }


def _reported(contact: Contact, name: str):
    if name == "tags":
        return contact.tag_list
    value = getattr(contact, name)
    return type(value)(value) if isinstance(value, list | dict) else value


def _campaign(campaign: Campaign) -> dict:
    return {
        "id": campaign.public_id,
        "name": campaign.name,
        "status": campaign.status,
        "finished_at": campaign.finished_at,
    }


def _role(actor) -> str:
    """Who acted, by role: the people who called or organised have their own privacy."""
    if actor is None:
        return "system"
    if actor.is_superuser:
        return "admin"
    return "organiser" if is_organiser(actor) else "volunteer"


# --- erasure -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Erasure:
    contact: Contact
    calls: int
    targets: int
    numbers_suppressed: int


@transaction.atomic
def erase_contact(contact: Contact, *, by=None, request=None, why: str = "request") -> Erasure:
    """Remove a person's personal data for good, keep the anonymous counts of their calls.

    On request (``why="request"``) their numbers are suppressed so nobody calls them again.
    Retention (``why="retention"``) only anonymises: keeping the number on a suppression list
    would be keeping the very data the retention period says to drop.
    """
    original = contact
    contact = Contact.objects.select_for_update().filter(pk=original.pk).first()
    if contact is None:
        raise PrivacyError("No such contact.")
    if is_erased(contact):
        raise AlreadyErased("This contact's personal data has already been erased.")
    numbers = contact_numbers(contact)
    in_files = person_in_files(contact)
    suppressed = 0
    if why == "request":
        for number in numbers:
            call_targets.suppress_number(
                number,
                team=None,
                reason=Suppression.Reason.ERASURE,
                by=by,
                note="Personal data erased on request",
                request=request,
            )
            suppressed += 1

    placeholder = f"{ERASED_PREFIX}{contact.public_id}"
    targets = call_targets.erase_contact(contact, placeholder)

    call_count = calling_services.forget_what_was_said(contact)
    copies = import_copies.forget(in_files, by=by)
    contact_services.erase_personal_data(contact, placeholder)
    events.contact_erased.send(sender=Contact, public_id=contact.public_id)
    original.refresh_from_db(fields=[*ERASED_FIELDS, "updated_at"])
    record_event(
        by,
        "privacy.erasure",
        contact,
        request=request,
        why=why,
        calls_kept=call_count,
        targets=targets,
        numbers_suppressed=suppressed,
        **{f"import_{kind}": n for kind, n in copies.items()},
    )
    return Erasure(contact, call_count, targets, suppressed)


# --- objection ---------------------------------------------------------------------------------


@transaction.atomic
def object_to_contact(phone: str, *, by=None, request=None) -> Suppression:
    """The person objects to being called: suppress the number in every campaign."""
    e164 = e164_or_error(phone)
    suppression = call_targets.suppress_number(
        e164,
        team=None,
        reason=Suppression.Reason.REQUESTED,
        by=by,
        note="Objected to being contacted",
        request=request,
    )
    record_event(by, "privacy.objection", suppression, request=request)
    return suppression


# --- retention ---------------------------------------------------------------------------------


def retention_days() -> int:
    return int(getattr(settings, "RINGROUND_RETENTION_DAYS", 0) or 0)


def contacts_past_retention(days: int, *, now: dt.datetime | None = None):
    """Contacts with at least one campaign, every one of which finished over ``days`` ago."""
    if days <= 0:
        return Contact.objects.none()
    cutoff = (now or timezone.now()) - dt.timedelta(days=days)
    targets = CallTarget.objects.filter(contact=OuterRef("pk"))
    live = targets.filter(
        ~Q(campaign__status=Campaign.Status.FINISHED)
        | Q(campaign__finished_at__isnull=True)
        | Q(campaign__finished_at__gte=cutoff)
    )
    return (
        Contact.objects.filter(Exists(targets))
        .exclude(Exists(live))
        .exclude(phone__startswith=ERASED_PREFIX)
        .order_by("id")
    )


def apply_retention(days: int, *, now: dt.datetime | None = None, dry_run: bool = False) -> int:
    """Erase the personal data of contacts past the retention period; returns how many.

    Each contact is checked again and erased in its own transaction, so one joining a new
    campaign meanwhile is left alone and a long run holds no long locks."""
    due = list(contacts_past_retention(days, now=now).values_list("pk", flat=True))
    if dry_run or not due:
        return len(due)
    erased = 0
    for pk in due:
        with transaction.atomic():
            if not contacts_past_retention(days, now=now).filter(pk=pk).exists():
                continue
            erase_contact(Contact(pk=pk), why="retention")
            erased += 1
    record_event(None, "privacy.retention", None, days=days, erased=erased)
    return erased


def destroy_register_data(*, now: dt.datetime | None = None) -> int:
    """Erase the people who came from the full electoral register once their source's
    destruction date has come (the register may be kept for its electoral purpose only);
    returns how many were erased. Each source is marked destroyed, with the count audited."""
    now = now or timezone.now()
    erased = 0
    for source in compliance.sources_due_for_destruction(now.date()):
        due = Contact.objects.filter(team_id=source.team_id, source=source.label).exclude(
            phone__startswith=ERASED_PREFIX
        )
        count = 0
        for pk in due.values_list("pk", flat=True).iterator():
            with transaction.atomic():
                try:
                    erase_contact(Contact(pk=pk), why="register_destruction")
                except AlreadyErased:
                    continue
                count += 1
        source.destroyed_at = now
        source.save(update_fields=["destroyed_at"])
        record_event(
            None,
            "privacy.register_destroyed",
            source.team,
            label=source.label,
            destroy_by=str(source.destroy_by),
            erased=count,
        )
        erased += count
    return erased


def erase_opinions(*, now: dt.datetime | None = None) -> int:
    """Political opinions (answers to questions marked as revealing them) are kept no longer
    than the team's retention period for them (``TeamPolicy.opinion_retention_days``, else
    RINGROUND_RETENTION_DAYS; neither set: kept). Returns how many calls lost answers; each
    team's run is audited."""
    now = now or timezone.now()
    erased = 0
    questions = Question.objects.filter(reveals_opinion=True).select_related("campaign")
    by_campaign: dict = {}
    for question in questions:
        by_campaign.setdefault(question.campaign, []).append(question.key)
    for campaign, keys in by_campaign.items():
        policy = TeamPolicy.for_team(campaign.team_id)
        days = policy.opinion_retention_days or retention_days()
        if days <= 0:
            continue
        count = calling_services.forget_opinions(campaign, keys, now - dt.timedelta(days=days))
        if count:
            record_event(
                None, "privacy.opinions_erased", campaign, campaign=campaign, calls=count, days=days
            )
        erased += count
    return erased
