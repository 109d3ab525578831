"""Recruitment pages, tracked links, clicks, referrals, share kits and invitations sent to
contacts who would help: the operations, each with its side effects (audit, counters)."""

import datetime as dt
import hashlib
import hmac
import secrets
from collections import Counter
from urllib.parse import quote, urlencode

from django.conf import settings
from django.core.cache import cache
from django.core.mail import send_mail
from django.db import IntegrityError, connection, transaction
from django.db.models import Count, F, Sum
from django.urls import reverse
from django.utils import timezone

from ringround.accounts.models import User
from ringround.audit.services import client_ip, record_event
from ringround.calling.models import VolunteerTally
from ringround.campaigns import services as campaign_services
from ringround.campaigns.models import Campaign, Membership

from . import images
from .models import Click, ContactInvite, RecruitmentPage, Referral, Share, ShareKit, TrackedLink

PAGE_SECONDS = 60  # the recruitment page's figures are at most this old
LINK_SECONDS = 300
REFERRAL_COOKIE = "rr_ref"
REFERRAL_SALT = "ringround.sharing.referral"
REFERRAL_DAYS = 30


class SharingError(Exception):
    """Something asked of the sharing pages that cannot be done, said for the person."""


# -- the recruitment page ------------------------------------------------------------------


def page_of(campaign: Campaign) -> RecruitmentPage:
    return RecruitmentPage.objects.get_or_create(campaign=campaign)[0]


def published_page(public_id: str) -> RecruitmentPage | None:
    """The published recruitment page of a campaign that is taking volunteers, or ``None``."""
    return (
        RecruitmentPage.objects.select_related("campaign", "campaign__team")
        .filter(campaign__public_id=public_id, published=True)
        .exclude(campaign__status__in=[Campaign.Status.DRAFT, Campaign.Status.FINISHED])
        .first()
    )


def page_cache_key(public_id: str) -> str:
    """One cache entry per campaign, holding the page as rendered for each host name it was
    asked by (its links are absolute), so forgetting it is one delete."""
    return f"ringround:sharing:page:{public_id}"


def forget_page(campaign: Campaign) -> None:
    """Drop the cached page of a campaign (an organiser changed or unpublished it): now, and
    again once the change is committed, in case a visitor cached the old one in between."""
    key = page_cache_key(campaign.public_id)
    cache.delete(key)
    transaction.on_commit(lambda: cache.delete(key))


@transaction.atomic
def save_page(campaign, *, by, request=None, **fields) -> RecruitmentPage:
    page = page_of(campaign)
    for name, value in fields.items():
        setattr(page, name, value)
    page.save()
    record_event(
        by,
        "sharing.page_saved",
        campaign,
        campaign=campaign,
        request=request,
        published=page.published,
    )
    forget_page(campaign)
    return page


def share_image_for(campaign: Campaign) -> ShareKit | None:
    """The kit whose image previews of the recruitment page show: the newest live one."""
    return (
        ShareKit.objects.filter(campaign=campaign, withdrawn_at__isnull=True)
        .exclude(image="")
        .first()
    )


# -- tracked links and clicks --------------------------------------------------------------


def _new_code() -> str:
    return secrets.token_urlsafe(6)  # 8 characters, 48 bits


def link_for(campaign: Campaign, volunteer, kit: ShareKit | None = None) -> TrackedLink:
    """The volunteer's personal link (for a kit, or their invite link), made when first
    asked for. Two tabs asking at once get the same one."""
    found = TrackedLink.objects.filter(campaign=campaign, volunteer=volunteer, kit=kit).first()
    if found is not None:
        return found
    try:
        with transaction.atomic():
            return TrackedLink.objects.create(
                code=_new_code(), campaign=campaign, volunteer=volunteer, kit=kit
            )
    except IntegrityError:
        return TrackedLink.objects.get(campaign=campaign, volunteer=volunteer, kit=kit)


def destination(link: TrackedLink) -> str:
    """Where a link goes: its kit's address, else the campaign's recruitment page."""
    if link.kit is not None and link.kit.url:
        return link.kit.url
    return reverse("sharing:page", args=[link.campaign.public_id])


def follow_link(code: str) -> tuple[int, str] | None:
    """``(link id, where it goes)`` for a code, from the cache when it can (the redirect is
    the hot path of a viral message), or ``None`` for no such link."""
    key = f"ringround:sharing:link:{code}"
    found = cache.get(key)
    if found is None:
        link = TrackedLink.objects.select_related("campaign", "kit").filter(code=code).first()
        if link is None:
            return None
        found = (link.pk, destination(link))
        cache.set(key, found, LINK_SECONDS)
    return found


def visitor_hash(request, day: dt.date) -> str:
    """A keyed hash of the visitor's address and browser under a key made from the site's
    secret and the day: the same visitor is recognised within a day and never across days,
    and no address is stored."""
    key = hashlib.sha256(f"{settings.SECRET_KEY}|sharing-clicks|{day.isoformat()}".encode())
    seen = f"{client_ip(request) or ''}|{request.META.get('HTTP_USER_AGENT', '')}"
    return hmac.new(key.digest(), seen.encode(), hashlib.sha256).hexdigest()[:32]


_CLICK = (
    f'INSERT INTO "{Click._meta.db_table}" (link_id, day, visitor) VALUES (%s, %s, %s)'
    " ON CONFLICT (link_id, day, visitor) DO NOTHING"
)
_ROLL_UP = f'DELETE FROM "{Click._meta.db_table}" WHERE day < %s RETURNING link_id'


def count_click(link_id: int, request, *, now: dt.datetime | None = None) -> bool:
    """Count a person's click on a link once per visitor per day; whether it counted.
    One insert-or-ignore of the day's visitor and nothing else: a link gone viral is one
    row every click would otherwise queue to update (bench/links measured 237 counted
    redirects a second with that update, on PostgreSQL, 32 clients on one link). The
    link's counter takes each day's clicks once the day is over (``roll_up_clicks``)."""
    day = timezone.localdate(now or timezone.now())
    visitor = visitor_hash(request, day)
    with connection.cursor() as cursor:
        cursor.execute(_CLICK, [link_id, day, visitor])
        return cursor.rowcount == 1


def roll_up_clicks(*, now: dt.datetime | None = None) -> int:
    """Move the clicks of days gone into the links' counters and forget those days'
    visitor hashes; how many clicks moved. Each row is deleted once (``RETURNING``), so two
    roll-ups at once never count a click twice."""
    today = timezone.localdate(now or timezone.now())
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute(_ROLL_UP, [today])
            moved = Counter(link_id for (link_id,) in cursor.fetchall())
        for link_id, n in moved.items():
            TrackedLink.objects.filter(pk=link_id).update(clicks=F("clicks") + n)
    return sum(moved.values())


def clicks_by_link(links) -> dict[int, int]:
    """Each link's clicks: its counter and today's clicks not yet rolled up into it."""
    roll_up_clicks()
    links = list(links)
    today = dict(
        Click.objects.filter(link__in=[link.pk for link in links])
        .values_list("link_id")
        .annotate(n=Count("id"))
        .values_list("link_id", "n")
    )
    return {link.pk: link.clicks + today.get(link.pk, 0) for link in links}


# -- referrals -----------------------------------------------------------------------------


def referral_code(request) -> str:
    """The link a visitor arrived through, from the signed cookie set when they followed
    it, or from ``?ref=`` (a link copied by hand)."""
    code = request.GET.get("ref") or request.POST.get("ref") or ""
    if not code:
        code = request.get_signed_cookie(REFERRAL_COOKIE, default="", salt=REFERRAL_SALT)
    return code[:16]


def remember_referral(response, code: str) -> None:
    response.set_signed_cookie(
        REFERRAL_COOKIE,
        code,
        salt=REFERRAL_SALT,
        max_age=REFERRAL_DAYS * 86400,
        httponly=True,
        samesite="Lax",
        secure=settings.SESSION_COOKIE_SECURE,
    )


def record_referral(campaign: Campaign, recruit, code: str) -> Referral | None:
    """Record that ``recruit`` came into ``campaign`` through the link ``code``: only for a
    link of this campaign, never oneself, and only the first time (later links are ignored)."""
    if not code or recruit is None:
        return None
    link = TrackedLink.objects.filter(code=code, campaign=campaign).first()
    if link is None or link.volunteer_id == recruit.pk:
        return None
    try:
        with transaction.atomic():
            referral, _ = Referral.objects.get_or_create(
                campaign=campaign,
                recruit=recruit,
                defaults={"referrer_id": link.volunteer_id, "link": link},
            )
    except IntegrityError:
        return Referral.objects.filter(campaign=campaign, recruit=recruit).first()
    return referral


def sign_up(campaign: Campaign, *, name, email, password, code="", request=None) -> None:
    """Someone signs up on the recruitment page: the campaign's own invite sign-up (its
    joining rules, throttles and confirmation email), and the link they came through is
    remembered if it made them a new account. An existing account gains nothing here (its
    holder is emailed, as through the invite link), so it is never attributed by a form."""
    existed = User.objects.filter(email__iexact=email.strip()).exists()
    campaign_services.sign_up_by_invite(
        campaign,
        token=campaign.invite_token,
        name=name,
        email=email,
        password=password,
        request=request,
    )
    if not existed:
        recruit = User.objects.filter(email__iexact=email.strip()).first()
        record_referral(campaign, recruit, code)


def join(campaign: Campaign, user, *, code="", request=None) -> Membership:
    """A signed-in person joins from the recruitment page (the invite link's rules)."""
    was_member = Membership.objects.filter(campaign=campaign, user=user).exists()
    membership = campaign_services.join_campaign(
        campaign, user, token=campaign.invite_token, request=request
    )
    if not was_member:
        record_referral(campaign, user, code)
    return membership


def recruits_of(campaign: Campaign, volunteer) -> dict:
    """How many people joined through this volunteer, how many may call, and the calls they
    made (from the tallies)."""
    recruits = Referral.objects.filter(campaign=campaign, referrer=volunteer)
    ids = list(
        Membership.objects.filter(
            campaign=campaign, user__in=recruits.values("recruit")
        ).values_list("user_id", "status")
    )
    active = [uid for uid, status in ids if status == Membership.Status.ACTIVE]
    calls = (
        VolunteerTally.objects.filter(
            campaign=campaign, volunteer_id__in=[u for u, _ in ids]
        ).aggregate(n=Sum("calls"))["n"]
        or 0
    )
    return {"joined": len(ids), "active": len(active), "calls": calls}


def recruitment_tree(campaign: Campaign, *, by=None, request=None) -> list[dict]:
    """Who brought whom, as a tree: each node ``{"user", "calls", "children"}``; the roots
    are those who recruited someone and came in some other way. Audited (names)."""
    rows = list(Referral.objects.filter(campaign=campaign).select_related("recruit", "referrer"))
    calls = dict(
        VolunteerTally.objects.filter(campaign=campaign).values_list("volunteer_id", "calls")
    )
    nodes: dict[int, dict] = {}

    def node(user):
        if user.pk not in nodes:
            nodes[user.pk] = {"user": user, "calls": calls.get(user.pk, 0), "children": []}
        return nodes[user.pk]

    recruited = set()
    for row in sorted(rows, key=lambda r: (r.created_at, r.pk)):
        node(row.referrer)["children"].append(node(row.recruit))
        recruited.add(row.recruit_id)
    roots = [n for pk, n in nodes.items() if pk not in recruited]
    record_event(by, "sharing.recruits_viewed", campaign, campaign=campaign, request=request)
    return roots


def top_recruiters(campaign: Campaign, limit: int = 10) -> list[dict]:
    """Volunteers by how many people joined through them (with those people's calls)."""
    joined = Membership.objects.filter(campaign=campaign).values("user_id")
    rows = {}
    for referral in Referral.objects.filter(campaign=campaign, recruit__in=joined).select_related(
        "referrer"
    ):
        entry = rows.setdefault(
            referral.referrer_id, {"user": referral.referrer, "recruits": 0, "ids": []}
        )
        entry["recruits"] += 1
        entry["ids"].append(referral.recruit_id)
    calls = dict(
        VolunteerTally.objects.filter(campaign=campaign).values_list("volunteer_id", "calls")
    )
    for entry in rows.values():
        entry["calls"] = sum(calls.get(i, 0) for i in entry.pop("ids"))
    ranked = sorted(rows.values(), key=lambda e: (-e["recruits"], -e["calls"], e["user"].pk))
    return ranked[:limit]


# -- share kits ----------------------------------------------------------------------------


@transaction.atomic
def create_kit(campaign, *, title, message, url="", image=None, by=None, request=None):
    """A new share kit; an image is checked and resized first (``images.ImageError``)."""
    stored = images.save_image(image) if image is not None else ("", 0, 0)
    kit = ShareKit.objects.create(
        campaign=campaign,
        title=title,
        message=message,
        url=url,
        image=stored[0],
        image_width=stored[1],
        image_height=stored[2],
        created_by=by,
    )
    record_event(by, "sharing.kit_created", kit, campaign=campaign, request=request)
    forget_page(campaign)
    return kit


@transaction.atomic
def withdraw_kit(kit: ShareKit, *, by=None, request=None) -> ShareKit:
    """Volunteers stop seeing the kit; links already shared keep working."""
    if kit.withdrawn_at is None:
        kit.withdrawn_at = timezone.now()
        kit.save(update_fields=["withdrawn_at"])
        record_event(by, "sharing.kit_withdrawn", kit, campaign=kit.campaign, request=request)
        forget_page(kit.campaign)
    return kit


def live_kits(campaign: Campaign):
    return ShareKit.objects.filter(campaign=campaign, withdrawn_at__isnull=True)


NETWORKS = {
    "whatsapp": "WhatsApp",
    "telegram": "Telegram",
    "x": "X",
    "bluesky": "Bluesky",
    "facebook": "Facebook",
    "email": "Email",
    "copy": "Copy",
}


def share_text(kit: ShareKit | None, page_title: str) -> tuple[str, str]:
    """(subject, message) a volunteer shares."""
    if kit is None:
        return page_title, f"I'm phoning for this campaign. Join me: {page_title}"
    return kit.title, kit.message


def intent_url(network: str, *, url: str, message: str, subject: str) -> str:
    """The address that opens the network's share box with the message filled in."""
    both = f"{message} {url}"
    if network == "whatsapp":
        return "https://wa.me/?" + urlencode({"text": both}, quote_via=quote)
    if network == "telegram":
        return "https://t.me/share/url?" + urlencode({"url": url, "text": message}, quote_via=quote)
    if network == "x":
        return "https://x.com/intent/post?" + urlencode(
            {"text": message, "url": url}, quote_via=quote
        )
    if network == "bluesky":
        return "https://bsky.app/intent/compose?" + urlencode({"text": both}, quote_via=quote)
    if network == "facebook":
        return "https://www.facebook.com/sharer/sharer.php?" + urlencode(
            {"u": url}, quote_via=quote
        )
    if network == "email":
        body = f"{message}\n\n{url}"
        return "mailto:?" + urlencode({"subject": subject, "body": body}, quote_via=quote)
    raise SharingError("No such way to share.")


def count_share(link: TrackedLink, network: str) -> None:
    """A volunteer pressed a share button: one row, and the link's counter."""
    if network not in NETWORKS:
        raise SharingError("No such way to share.")
    with transaction.atomic():
        Share.objects.create(link=link, network=network)
        TrackedLink.objects.filter(pk=link.pk).update(shares=F("shares") + 1)


def kit_figures(campaign: Campaign) -> list[dict]:
    """Per kit (and the personal invite links as one row): shares, clicks, sign-ups."""
    links = TrackedLink.objects.filter(campaign=campaign)
    signups = {}
    for link_id in Referral.objects.filter(campaign=campaign, link__isnull=False).values_list(
        "link_id", flat=True
    ):
        signups[link_id] = signups.get(link_id, 0) + 1
    rows: dict = {}
    links = list(links.select_related("kit"))
    clicks = clicks_by_link(links)
    for link in links:
        entry = rows.setdefault(
            link.kit_id, {"kit": link.kit, "shares": 0, "clicks": 0, "sign_ups": 0}
        )
        entry["shares"] += link.shares
        entry["clicks"] += clicks[link.pk]
        entry["sign_ups"] += signups.get(link.pk, 0)
    for kit in ShareKit.objects.filter(campaign=campaign):
        rows.setdefault(kit.pk, {"kit": kit, "shares": 0, "clicks": 0, "sign_ups": 0})
    return sorted(
        rows.values(), key=lambda r: (r["kit"] is not None, -(r["kit"].pk if r["kit"] else 0))
    )


def volunteer_figures(campaign: Campaign, limit: int = 50) -> list[dict]:
    """Per volunteer: shares, clicks and sign-ups through all their links."""
    rows: dict = {}
    links = list(TrackedLink.objects.filter(campaign=campaign).select_related("volunteer"))
    clicks = clicks_by_link(links)
    for link in links:
        entry = rows.setdefault(
            link.volunteer_id, {"user": link.volunteer, "shares": 0, "clicks": 0, "sign_ups": 0}
        )
        entry["shares"] += link.shares
        entry["clicks"] += clicks[link.pk]
    for referrer_id in Referral.objects.filter(campaign=campaign).values_list(
        "referrer_id", flat=True
    ):
        if referrer_id in rows:
            rows[referrer_id]["sign_ups"] += 1
    ranked = sorted(rows.values(), key=lambda r: (-r["sign_ups"], -r["clicks"], -r["shares"]))
    return ranked[:limit]


# -- inviting a contact who would help -----------------------------------------------------


def invite_message(campaign: Campaign, url: str, volunteer) -> str:
    first = (volunteer.name or "").split(" ")[0] if volunteer else ""
    who = f"It's {first} from {campaign.name}. " if first else f"From {campaign.name}: "
    return f"{who}Thank you for saying you'd help! You can join us here: {url}"


def invite_contact(lease, volunteer, channel: str, *, consented: bool, url: str, request=None):
    """The contact on the call agreed to be sent the recruitment link: recorded (with their
    consent and who asked), audited, and sent by the campaign's email when asked to. The
    volunteer's own phone sends a text or WhatsApp (``contact_invite_links``)."""
    if not consented:
        raise SharingError("Tick the box once they have agreed to be sent the link.")
    if channel not in ContactInvite.Channel.values:
        raise SharingError("Choose how to send the link.")
    campaign, contact = lease.target.campaign, lease.contact
    if channel == ContactInvite.Channel.EMAIL and not contact.email:
        raise SharingError("We have no email address for this person.")
    if channel != ContactInvite.Channel.EMAIL and not contact.phone:
        raise SharingError("We have no number for this person.")
    if ContactInvite.objects.filter(campaign=campaign, contact=contact).exists():
        raise SharingError("This person has been sent the link already.")
    with transaction.atomic():
        invite = ContactInvite.objects.create(
            campaign=campaign, contact=contact, volunteer=volunteer, channel=channel
        )
        record_event(
            volunteer,
            "sharing.contact_invited",
            contact,
            campaign=campaign,
            request=request,
            channel=channel,
        )
    if channel == ContactInvite.Channel.EMAIL:
        send_mail(
            f"Join {campaign.name}",
            invite_message(campaign, url, volunteer),
            None,
            [contact.email],
        )
    return invite


def contact_invite_links(phone: str, message: str) -> dict:
    """``sms:`` and WhatsApp addresses with the message filled in, for the volunteer's phone."""
    digits = phone.lstrip("+")
    return {
        "sms": f"sms:{phone}?&body={quote(message)}",
        "whatsapp": f"https://wa.me/{digits}?text={quote(message)}",
    }
