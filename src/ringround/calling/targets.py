"""Call targets: who each campaign is to call. The one place that adds, moves, stops and
reopens targets for the rest of Ringround; the calling loop's own lease changes are in
``rules.py``.

Every other app asks here: campaigns and imports add contacts, the suppression list and the
privacy rights stop targets, imports move a target to a contact's new number.
"""

import functools
from collections.abc import Iterable

from django.db import DEFAULT_DB_ALIAS, connections, transaction
from django.db.models import Exists, OuterRef, Subquery

from ringround import events, rawsql
from ringround.audit.services import record_event
from ringround.campaigns.models import Campaign
from ringround.campaigns.services import matching_contacts, set_time_zones
from ringround.compliance import services as compliance
from ringround.compliance.hours import legal_zone
from ringround.compliance.models import NoObjection, ScreenedNumber
from ringround.contacts.models import Contact, Suppression
from ringround.contacts.phones import InvalidPhone, normalise
from ringround.contacts.services import add_suppression, remove_suppression

from .models import CallTarget

CHUNK = 900  # keys per IN (…) query: within SQLite's limit on query parameters


# -- adding contacts -------------------------------------------------------------------------


def add_contacts(campaign: Campaign, contacts=None) -> int:
    """Make call targets of contacts (default: the campaign's targeting); how many are new.

    Only the campaign's own team's contacts are ever added, whatever was asked for. Contacts
    already targeted are left alone; a suppressed number goes in as suppressed."""
    contacts = matching_contacts(campaign) if contacts is None else contacts
    contacts = contacts.filter(team_id=campaign.team_id)
    rows = contacts.values_list("id", "phone", "time_zone").iterator(chunk_size=5000)
    added = add_contact_rows(campaign.pk, rows)
    refresh_time_zones(campaign)
    return added


def add_contacts_to_campaign(
    campaign: Campaign, *, source: str = "", tag: str = "", area: str = "", by=None, request=None
) -> int:
    """An organiser adds contacts to a campaign: those an import made (its ``source`` label),
    those with a tag, or those in an area."""
    if not (source or tag or area):
        raise ValueError("Say which contacts: an import, a tag or an area.")
    contacts = Contact.objects.all()
    if source:
        contacts = contacts.filter(source=source)
    if tag:
        contacts = contacts.with_tag(tag)
    if area:
        contacts = contacts.in_area(area)
    added = add_contacts(campaign, contacts)
    record_event(
        by,
        "campaign.targets_added",
        campaign,
        campaign=campaign,
        request=request,
        added=added,
        source=source,
        tag=tag,
        area=area,
    )
    return added


def add_contact_rows(campaign_id: int, rows: Iterable[tuple[int, str, str]]) -> int:
    """Targets for contacts given as ``(id, phone, time zone)``, once each; how many are new.

    The caller refreshes the campaign's time zones afterwards (``refresh_time_zones``): an
    import does it once, at its end."""
    added = 0
    chunk = []
    for row in rows:
        chunk.append(row)
        if len(chunk) >= CHUNK:
            added += _add_chunk(campaign_id, chunk)
            chunk = []
    return added + _add_chunk(campaign_id, chunk)


def _add_chunk(campaign_id: int, rows: list) -> int:
    if not rows:
        return 0
    existing = set(
        CallTarget.objects.filter(
            campaign_id=campaign_id, contact_id__in=[row[0] for row in rows]
        ).values_list("contact_id", flat=True)
    )
    suppressed = set(
        Suppression.objects.for_campaign(campaign_id)
        .filter(phone__in={row[1] for row in rows})
        .values_list("phone", flat=True)
    )
    screened = set(
        ScreenedNumber.objects.filter(
            team__campaigns=campaign_id, phone__in={row[1] for row in rows}
        ).values_list("phone", flat=True)
    )
    said = set()
    if screened:
        said = set(
            NoObjection.objects.filter(contact_id__in=[row[0] for row in rows]).values_list(
                "contact_id", flat=True
            )
        )
    areas = _areas_for_us_numbers(rows)
    refused = _from_the_register_if_not_electoral(campaign_id, rows)
    new = {}
    for contact_id, phone, time_zone in rows:
        if contact_id not in existing and contact_id not in refused:
            stopped = phone in suppressed or (phone in screened and contact_id not in said)
            state = CallTarget.State.SUPPRESSED if stopped else CallTarget.State.READY
            new[contact_id] = CallTarget(
                campaign_id=campaign_id,
                contact_id=contact_id,
                phone=phone,
                time_zone=time_zone,
                legal_zone=legal_zone(phone, time_zone, areas.get(contact_id, "")),
                state=state,
            )
    CallTarget.objects.bulk_create(new.values(), ignore_conflicts=True, batch_size=1000)
    return len(new)


def _from_the_register_if_not_electoral(campaign_id: int, rows) -> set[int]:
    """Of ``rows``' contacts, those from the full electoral register, if the campaign is not an
    electoral one: it may not call them (their details may be used for elections only)."""
    electoral, team_id = Campaign.objects.values_list("electoral", "team_id").get(pk=campaign_id)
    if electoral:
        return set()
    labels = compliance.register_sources(team_id)
    if not labels:
        return set()
    return set(
        Contact.objects.filter(pk__in=[row[0] for row in rows], source__in=labels).values_list(
            "id", flat=True
        )
    )


def refuse_register_contacts(campaign: Campaign) -> int:
    """A campaign that is not (or no longer) electoral stops calling the people from the
    electoral register it had; how many stopped."""
    if campaign.electoral:
        return 0
    register = compliance.register_contacts(campaign.team_id)
    return _stop(CallTarget.objects.filter(campaign=campaign, contact__in=register).live())


def _areas_for_us_numbers(rows) -> dict[int, str]:
    """The areas of the contacts with US numbers among ``rows`` (an area naming a state places
    them there: ``compliance.hours``); other numbers need none, so a UK list costs no query."""
    us = [row[0] for row in rows if row[1].startswith("+1")]
    if not us:
        return {}
    return dict(Contact.objects.filter(pk__in=us).values_list("id", "area"))


def refresh_time_zones(campaign: Campaign) -> None:
    """Tell the campaign which time zones and legal zones its targets live in (its calling
    hours and the legal windows are checked per zone)."""
    pairs = set(CallTarget.objects.filter(campaign=campaign).values_list("time_zone", "legal_zone"))
    zones = sorted({zone for zone, _ in pairs})
    legal_zones = sorted({legal for _, legal in pairs if legal})
    set_time_zones(campaign, zones, legal_zones)


def follow_new_numbers(contacts: Iterable[tuple[int, str, str]]) -> None:
    """Contacts (``(id, phone, time zone)``) whose number changed: their live targets dial
    the new one from now on (in the legal window of the new number's place)."""
    contacts = list(contacts)
    areas = _areas_for_us_numbers(contacts)
    for contact_id, phone, time_zone in contacts:
        CallTarget.objects.filter(contact_id=contact_id).live().update(
            phone=phone,
            time_zone=time_zone,
            legal_zone=legal_zone(phone, time_zone, areas.get(contact_id, "")),
        )


# -- stopping and reopening ------------------------------------------------------------------


def _stop(targets, **also) -> int:
    """Stop these targets (and free anyone holding them): never to be called again."""
    return targets.update(**CallTarget.stopped(), **also)


def _in_scope(targets, team):
    """The targets a suppression for ``team`` (``None``: every team) applies to."""
    return targets if team is None else targets.filter(campaign__team=team)


@transaction.atomic
def suppress_number(
    phone: str,
    *,
    team,
    reason=Suppression.Reason.REQUESTED,
    by=None,
    note="",
    campaign=None,
    request=None,
) -> Suppression:
    """Never call this number again in ``team``'s campaigns (``team=None``: in every
    campaign of every team); frees anyone holding it now. ``campaign``: the call that asked."""
    e164 = phone if phone.startswith("+") else normalise(phone).e164
    suppression, _created = add_suppression(
        e164, team=team, reason=reason, by=by, note=note, campaign=campaign, request=request
    )
    events.contact_suppressed.send(sender=Suppression, suppression=suppression, created=_created)
    _stop(_in_scope(CallTarget.objects.filter(phone=e164).live(), team))
    return suppression


@transaction.atomic
def unsuppress_number(phone: str, *, team, by=None, request=None) -> bool:
    """Lift ``team``'s suppression of a number (``None``: the one for every team); the
    targets it stopped become callable again, unless another entry still covers them."""
    try:
        e164 = phone if phone.startswith("+") else normalise(phone).e164
    except InvalidPhone:
        return False
    if not remove_suppression(e164, team=team, by=by, request=request):
        return False
    stopped = CallTarget.objects.filter(phone=e164, state=CallTarget.State.SUPPRESSED)
    _in_scope(stopped, team).exclude(_on_the_list()).update(state=CallTarget.State.READY)
    return True


def _on_the_list():
    """A target's number is suppressed for its campaign, or on its team's TPS/CTPS screening
    without the contact's "does not object" statement."""
    return (
        Exists(
            Suppression.objects.for_campaign(OuterRef("campaign_id")).filter(
                phone=OuterRef("phone")
            )
        )
        | _screened_without_statement()
    )


def _screened_without_statement():
    return Exists(
        ScreenedNumber.objects.filter(
            team__campaigns=OuterRef("campaign_id"), phone=OuterRef("phone")
        )
    ) & ~Exists(NoObjection.objects.filter(contact=OuterRef("contact_id")))


# -- TPS/CTPS screening: claims check it anyway; stopping the screened keeps them out of the
# claim's walk (most UK landlines are on the TPS: skipped at every claim, they would make
# each claim slower the longer a campaign runs; bench/claim_compliance).


def stop_screened(team) -> int:
    """After a screening file is loaded: stop the live targets of ``team``'s campaigns whose
    numbers are screened and whose contacts have not said they do not object."""
    return _stop(
        CallTarget.objects.live()
        .filter(campaign__team=team, state__in=CallTarget.CLAIMABLE_STATES)
        .filter(_screened_without_statement())
    )


def hold_after_conversation(target_id: int, until) -> int:
    """Someone was spoken to: their targets in the team's other campaigns are not due before
    ``until`` (the team's frequency limit). Claims check the limit anyway; this keeps those
    targets behind the due ones in the claim's walk. It follows every conversation, so the
    statement is compiled once (``rawsql``) from this QuerySet."""
    connection = connections[DEFAULT_DB_ALIAS]
    with rawsql.cursor(connection) as cursor:
        cursor.execute(
            _hold_sql(),
            {"target": target_id, "until": connection.ops.adapt_datetimefield_value(until)},
        )
        return cursor.rowcount


@functools.cache
def _hold_sql() -> str:
    until = rawsql.Param("until")
    contact = CallTarget.objects.filter(pk=rawsql.Param("target")).values("contact_id")[:1]
    others = (
        CallTarget.objects.filter(
            contact_id=Subquery(contact), state__in=CallTarget.CLAIMABLE_STATES
        )
        .exclude(pk=rawsql.Param("target"))
        .filter(next_call_at__lt=until)
    )
    return (
        f'UPDATE "{CallTarget._meta.db_table}"'
        f" SET {rawsql.assignments(CallTarget, {'next_call_at': until})}"
        f" WHERE {rawsql.condition(others)}"
    )


def reopen_unscreened(team, phones) -> int:
    """Numbers taken off the team's screening (a change file's deletions): their stopped
    targets may be called again, unless something else still stops them."""
    phones = sorted(phones)
    reopened = 0
    for start in range(0, len(phones), CHUNK):
        reopened += _reopen(
            CallTarget.objects.filter(campaign__team=team, phone__in=phones[start : start + CHUNK])
        )
    return reopened


def reopen_for_statement(contact) -> int:
    """The contact said they do not object: their targets stopped by the screening reopen."""
    return _reopen(CallTarget.objects.filter(contact=contact))


def _reopen(targets) -> int:
    stopped = targets.filter(state=CallTarget.State.SUPPRESSED)
    return stopped.exclude(_on_the_list()).update(state=CallTarget.State.READY)


def stop_suppressed(team) -> int:
    """Stop every live target whose number is on the suppression list, among ``team``'s
    campaigns (``None``: every team's), after a list is imported. Claims check the list
    anyway; this frees the volunteers holding them and shows it in the figures. Returns how
    many stopped."""
    return _stop(_in_scope(CallTarget.objects.live(), team).filter(_on_the_list()))


def erase_contact(contact: Contact, placeholder: str) -> int:
    """A person's data is erased: every one of their targets stops for good and forgets the
    number (``placeholder`` instead). Returns how many targets they had."""
    return _stop(CallTarget.objects.filter(contact=contact), phone=placeholder)
