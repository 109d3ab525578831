"""What the volunteer pages and the API need around the calling rules: the card's contents,
why nobody is there to call, a volunteer's session summary, the campaign's calls today, and
an organiser suspending a volunteer. The rules themselves live in ``rules.py``."""

import datetime as dt
import re
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from django.core.cache import cache
from django.db import transaction
from django.db.models import Count, Min, Q
from django.utils import timezone

from ringround.audit.services import client_ip
from ringround.campaigns.models import Campaign, Membership, Question
from ringround.campaigns.scripts import render_script
from ringround.campaigns.services import set_volunteer_status
from ringround.compliance.hours import is_legal_time
from ringround.compliance.hours import window as legal_window
from ringround.compliance.models import TeamPolicy
from ringround.contacts.phones import display

from .models import Call, CallTarget, TargetState
from .rules import Lease, record_contact_view, release


def contact_card(lease: Lease, *, viewer, request=None, hide_phone: bool = False) -> dict:
    """What a volunteer is shown of the person leased to them (audited: personal data).
    ``hide_phone``: the call goes through the team's line, so the number is not theirs to see."""
    campaign = lease.target.campaign
    contact = lease.contact
    fields = campaign.fields_for_volunteer()
    shown = {name: getattr(contact, name) for name in fields if name not in ("phone", "tags")}
    if "tags" in fields:
        shown["tags"] = ", ".join(contact.tag_list)
    if not lease.view_recorded:
        record_contact_view(lease, viewer, client_ip(request))
    opening, rest = script_in_two(campaign.script)
    merge = campaign.script_fields(contact.merge_fields())
    opening_html = render_script(opening, merge) if opening else ""
    rest_html = render_script(rest, merge) if rest else ""
    shows_phone = "phone" in fields and not hide_phone
    return {
        "fields": shown,
        "phone": contact.phone if shows_phone else "",
        "phone_display": display(contact.phone) if shows_phone else "",
        "script_opening": opening_html,
        "script_rest": rest_html,
        "script_html": opening_html + rest_html,
        "attempts": lease.target.attempts,
        "expires_at": lease.expires_at,
    }


_BLANK_LINE = re.compile(r"\n[ \t]*\n")


def script_in_two(script: str) -> tuple[str, str]:
    """The script's opening lines (up to its first paragraph that is not a heading), shown on
    the card, and the rest, behind "Rest of the script": the card stays one screen long."""
    blocks = [block for block in _BLANK_LINE.split((script or "").strip()) if block.strip()]
    for n, block in enumerate(blocks):
        if not block.lstrip().startswith("#"):
            return "\n\n".join(blocks[: n + 1]), "\n\n".join(blocks[n + 1 :])
    return "\n\n".join(blocks), ""


# --- why nobody is there to call --------------------------------------------------------


@dataclass(frozen=True)
class NobodyToCall:
    """Why a claim found nobody, in the volunteer's words: ``reason`` is one of
    ``not_open`` (the campaign is paused, finished or a draft), ``finished`` (everyone has
    been called), ``being_called`` (the rest are with other volunteers now), ``waiting`` (all
    wait for their retry time), ``hours`` (outside calling hours for everyone left).
    ``until``: when the next person may be called, and ``time_zone`` the zone it is in."""

    reason: str
    message: str
    until: dt.datetime | None = None
    time_zone: str = ""
    now: dt.datetime | None = None

    @property
    def local_until(self) -> str:
        """``until`` as HH:MM in the contacts' own time zone."""
        return self.until.astimezone(ZoneInfo(self.time_zone)).strftime("%H:%M")

    @property
    def when(self) -> str:
        """``at 16:00``, ``tomorrow at 09:00``, ``on Saturday at 09:00``: in the contacts'
        own time zone."""
        zone = ZoneInfo(self.time_zone)
        days = (self.until.astimezone(zone).date() - self.now.astimezone(zone).date()).days
        day = {0: "", 1: "tomorrow "}.get(days, f"on {self.until.astimezone(zone):%A} ")
        return f"{day}at {self.local_until}"


def why_nobody_to_call(campaign: Campaign, now: dt.datetime | None = None) -> NobodyToCall | None:
    """Why nobody may be handed out now, or ``None`` if somebody may (the one place this is
    worked out: the card, the brief and the API say what it says). Read only when a claim
    came back empty, so it may look at the campaign's targets."""
    now = now or timezone.now()
    if campaign.status != Campaign.Status.ACTIVE:
        return NobodyToCall(
            "not_open",
            f"{campaign.name} is {campaign.get_status_display().lower()} and not taking calls "
            "right now.",
        )
    if CallTarget.objects.claimable_now(campaign, now).exists():
        return None
    # Everyone who may yet be called at some hour: to be called or waiting, or a lease lapsed.
    may_be_called = CallTarget.objects.may_be_called(
        campaign, campaign.time_zones, campaign.max_attempts
    )
    left = may_be_called.filter(state__in=CallTarget.CLAIMABLE_STATES) | may_be_called.lapsed(now)
    first_due = left.values("time_zone", "legal_zone").annotate(due=Min("next_call_at")).order_by()
    policy = TeamPolicy.for_team(campaign.team_id)
    soonest = None
    for row in first_due:
        due = max(row["due"], now)
        opens = next_calling_time(campaign, due, row["time_zone"], row["legal_zone"], policy)
        if opens is not None and (soonest is None or opens < soonest[0]):
            soonest = (opens, row["time_zone"], due)
    if soonest is not None:
        opens, zone, due = soonest
        if opens > due:
            return NobodyToCall(
                "hours",
                "It is outside calling hours for everyone left to call.",
                opens,
                zone,
                now,
            )
        return NobodyToCall(
            "waiting", "Everyone left is waiting to be tried again.", opens, zone, now
        )
    if CallTarget.objects.filter(campaign=campaign, state=TargetState.ASSIGNED).exists():
        return NobodyToCall(
            "being_called",
            "Everyone left is being called by another volunteer right now. Some may come "
            "back if they are not reached.",
        )
    return NobodyToCall("finished", "Everyone on the list has been called. The list is finished.")


def next_calling_time(
    campaign: Campaign, moment: dt.datetime, tz_name: str, legal_zone: str = "", policy=None
) -> dt.datetime | None:
    """The first moment from ``moment`` on that is inside the campaign's calling hours in
    ``tz_name`` and inside the legal window of ``legal_zone`` (under the team's ``policy``);
    ``None`` if there is none within a week."""
    policy = policy or TeamPolicy.for_team(campaign.team_id)

    def open_at(when):
        return campaign.is_calling_time(when, tz_name) and is_legal_time(legal_zone, when, policy)

    if open_at(moment):
        return moment
    zone = ZoneInfo(tz_name)
    today = moment.astimezone(zone).date()
    jurisdiction = legal_zone.partition("|")[0]
    for days in range(8):
        day = today + dt.timedelta(days=days)
        starts = {campaign.calling_start}
        legal = legal_window(jurisdiction, day.weekday(), policy) if jurisdiction else None
        if legal is not None:
            starts.add(legal[0])
        for start in sorted(starts):
            opening = dt.datetime.combine(day, start, zone)
            if opening > moment and open_at(opening):
                return opening
    return None


# --- the volunteer's evening ------------------------------------------------------------


def session_summary(campaign, volunteer, since: dt.datetime, until: dt.datetime) -> dict:
    """The volunteer's calls since ``since``: how many, how many conversations, and the time
    spent on them, from each call's own times (handed out to outcome saved)."""
    calls = Call.objects.filter(campaign=campaign, volunteer=volunteer, ended_at__gte=since)
    figures = calls.aggregate(
        calls=Count("id"), conversations=Count("id", filter=Q(outcome__is_conversation=True))
    )
    seconds = sum(
        max((ended - started).total_seconds(), 0)
        for started, ended in calls.values_list("started_at", "ended_at")
    )
    figures["seconds_on_calls"] = int(seconds)
    figures["time_on_calls"] = spoken_duration(int(seconds))
    figures["by_outcome"] = list(
        calls.values("outcome__label").annotate(n=Count("id")).order_by("-n", "outcome__label")
    )
    return figures


def spoken_duration(seconds: int) -> str:
    """``42 s``, ``3 min``, ``1 h 05 min``: whole minutes once past a minute."""
    if seconds < 60:
        return f"{seconds} s"
    minutes = seconds // 60
    if minutes < 60:
        return f"{minutes} min"
    return f"{minutes // 60} h {minutes % 60:02d} min"


CALLS_TODAY_SECONDS = 60


def calls_today(campaign: Campaign, now: dt.datetime | None = None) -> int:
    """Calls recorded in the campaign today (by the site's clock), by every volunteer: so
    that one person calling from their kitchen sees they are not alone. Counted over the
    (campaign, ended_at) index at most once a minute per campaign (cached), never per page."""
    now = now or timezone.now()
    start = timezone.localtime(now).replace(hour=0, minute=0, second=0, microsecond=0)
    key = f"ringround:calls-today:{campaign.pk}:{start.date().isoformat()}"
    count = cache.get(key)
    if count is None:
        count = Call.objects.filter(campaign=campaign, ended_at__gte=start).count()
        cache.set(key, count, CALLS_TODAY_SECONDS)
    return count


@transaction.atomic
def suspend_volunteer(campaign, user, *, by=None, request=None) -> Membership:
    """Stop a volunteer calling for this campaign; the person they hold is freed at once."""
    membership = set_volunteer_status(
        campaign, user, Membership.Status.SUSPENDED, by=by, request=request
    )
    release(campaign, user)
    return membership


@transaction.atomic
def suspend_volunteers(campaign, user_public_ids, *, by=None, request=None) -> list:
    """Several volunteers suspended at once (ticked on the volunteers page), each audited and
    each freed of the person they hold. Returns the memberships suspended."""
    members = (
        Membership.objects.filter(campaign=campaign, user__public_id__in=list(user_public_ids))
        .exclude(status=Membership.Status.SUSPENDED)
        .select_related("user")
        .order_by("user__name", "id")
    )
    return [suspend_volunteer(campaign, m.user, by=by, request=request) for m in members]


def reinstate_volunteer(campaign, user, *, by=None, request=None) -> Membership:
    return set_volunteer_status(campaign, user, Membership.Status.ACTIVE, by=by, request=request)


def forget_what_was_said(contact) -> int:
    """Erasure: the contact's calls keep their outcome and their choice answers (campaign
    figures do not change) but lose their notes and free-text answers. Returns how many calls
    the contact had."""
    kept = {
        question.key
        for question in Question.objects.filter(campaign__targets__contact=contact).exclude(
            kind=Question.Kind.TEXT
        )
    }
    calls = Call.objects.filter(target__contact=contact).only("id", "answers", "notes")
    count = 0
    for call in calls:
        count += 1
        answers = {key: value for key, value in (call.answers or {}).items() if key in kept}
        if answers != call.answers or call.notes:
            Call.objects.filter(pk=call.pk).update(answers=answers, notes="")
    return count


def note_talk_time(call_id: int, seconds: int) -> None:
    """A connected call's length, measured by the provider (it may arrive before or after the
    volunteer records the outcome)."""
    Call.objects.filter(pk=call_id).update(talk_seconds=max(int(seconds), 0))


def forget_opinions(campaign: Campaign, keys: list[str], before: dt.datetime) -> int:
    """Drop the answers to ``keys`` (questions revealing political opinion) from the campaign's
    calls that ended before ``before``; the campaign's tallies (counts only) are kept. Returns
    how many calls lost answers."""
    if not keys:
        return 0
    calls = Call.objects.filter(
        campaign=campaign, ended_at__lt=before, answers__has_any_keys=keys
    ).only("id", "answers")
    count = 0
    for call in calls.iterator():
        answers = {key: value for key, value in call.answers.items() if key not in keys}
        count += Call.objects.filter(pk=call.pk).update(answers=answers)
    return count
