"""The sharing pages: the public recruitment page and tracked links (no login), the
volunteer's sharing page and badges, and the organiser's sharing page."""

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.cache import cache
from django.core.exceptions import PermissionDenied
from django.http import FileResponse, Http404, HttpResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.templatetags.static import static
from django.urls import reverse
from django.utils.cache import add_never_cache_headers, patch_cache_control
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from ringround.accounts.forms import SignupForm
from ringround.accounts.permissions import organiser_required
from ringround.calling import rules
from ringround.campaigns.models import Membership
from ringround.campaigns.permissions import campaign_for_organiser, campaign_for_volunteer
from ringround.campaigns.services import CampaignError, SignUpsThrottled

from . import bots, images, momentum, services
from .forms import ContactInviteForm, KitForm, PageForm
from .models import ShareKit, TrackedLink


def _page_context(page, request) -> dict:
    campaign = page.campaign
    kit = services.share_image_for(campaign)
    if kit is not None:
        image = request.build_absolute_uri(reverse("sharing:image", args=[kit.image]))
        size = (kit.image_width, kit.image_height)
    else:
        image = request.build_absolute_uri(static("sharing/share.png"))
        size = (1200, 630)
    return {
        "page": page,
        "campaign": campaign,
        "counter": momentum.counter(campaign, fresh=True),
        "og": {
            "title": page.title(),
            "description": (page.about or campaign.brief or f"Phone for {campaign.name}.")[:200],
            "url": request.build_absolute_uri(reverse("sharing:page", args=[campaign.public_id])),
            "image": image,
            "image_width": size[0],
            "image_height": size[1],
        },
        "joining_open": campaign.invite_is_valid(),
    }


def page(request, public_id):
    """The public recruitment page. An anonymous visitor is served the cached page (no
    database query) rendered at most a minute ago, without anyone's CSRF token in it: its
    sign-up form posts to ``sign_up``, which needs none."""
    # Anonymous for the cache: no session cookie, so no signed-in page is ever mixed up.
    anonymous = settings.SESSION_COOKIE_NAME not in request.COOKIES
    key = services.page_cache_key(public_id)
    host = request.get_host()
    if anonymous:
        entry = cache.get(key) or {}
        if host in entry:
            return _public(HttpResponse(entry[host]))
    found = services.published_page(public_id)
    if found is None:
        if request.user.is_authenticated:
            campaign = campaign_for_organiser(request.user, public_id)
            found = services.page_of(campaign)  # the organiser's preview of an unpublished page
            return _private(
                render(
                    request,
                    "sharing/page.html",
                    {
                        **_page_context(found, request),
                        "form": SignupForm(),
                        "preview": True,
                    },
                )
            )
        raise Http404("No such page")
    context = _page_context(found, request)
    if anonymous:
        html = render_to_string("sharing/page.html", {**context, "form": SignupForm()})
        entry = cache.get(key) or {}
        entry[host] = html
        cache.set(key, entry, services.PAGE_SECONDS)
        return _public(HttpResponse(html))
    context["form"] = SignupForm()
    return _private(render(request, "sharing/page.html", context))


def _public(response):
    patch_cache_control(response, public=True, max_age=services.PAGE_SECONDS)
    return response


def _private(response):
    add_never_cache_headers(response)
    return response


@csrf_exempt
@require_POST
def sign_up(request, public_id):
    """The recruitment page's sign-up (the invite link's: joining rules and throttles). It
    takes no CSRF token, since the page is one cached copy for everyone: it signs nobody in
    and changes no one's session, so a forged post could do no more than anyone can here."""
    found = services.published_page(public_id)
    if found is None:
        raise Http404("No such page")
    campaign = found.campaign
    if request.user.is_authenticated:
        return redirect("sharing:page", public_id)
    form = SignupForm(request.POST)
    if not form.is_valid():
        context = {**_page_context(found, request), "form": form}
        return _private(render(request, "sharing/page.html", context, status=400))
    try:
        services.sign_up(
            campaign,
            name=form.cleaned_data["name"],
            email=form.cleaned_data["email"],
            password=form.cleaned_data["password"],
            code=services.referral_code(request),
            request=request,
        )
    except SignUpsThrottled as exc:
        context = {"campaign": campaign, "reason": str(exc)}
        return render(request, "accounts/join_throttled.html", context, status=429)
    except CampaignError as exc:
        return render(request, "accounts/invite_invalid.html", {"reason": str(exc)}, status=404)
    context = {"campaign": campaign, "email": form.cleaned_data["email"]}
    return _private(render(request, "accounts/join_sent.html", context))


@login_required
@require_POST
def join(request, public_id):
    found = services.published_page(public_id)
    if found is None:
        raise Http404("No such page")
    try:
        services.join(
            found.campaign, request.user, code=services.referral_code(request), request=request
        )
    except CampaignError as exc:
        return render(request, "accounts/invite_invalid.html", {"reason": str(exc)}, status=404)
    return redirect("calling:brief", public_id)


def follow(request, code):
    """``/s/<code>``: the fast path. Count a person's click (not a previewer's), remember the
    link for a sign-up, and send them on."""
    found = services.follow_link(code)
    if found is None:
        raise Http404("No such link")
    link_id, where = found
    if bots.is_person(request):
        services.count_click(link_id, request)
    response = HttpResponse(status=302)
    response["Location"] = where
    response["Cache-Control"] = "private, no-store"
    services.remember_referral(response, code)
    return response


def image(request, name):
    path = images.path_of(name)
    if path is None:
        raise Http404("No such image")
    response = FileResponse(path.open("rb"), content_type="image/jpeg")
    response["Cache-Control"] = "public, max-age=31536000, immutable"
    response["Cross-Origin-Resource-Policy"] = "cross-origin"  # previews fetch it elsewhere
    return response


# -- the volunteer's sharing page -----------------------------------------------------------


def _volunteer_page(request, campaign, membership, status=200):
    page = services.page_of(campaign)
    invite = services.link_for(campaign, request.user)
    absolute = request.build_absolute_uri
    kits = []
    for kit in services.live_kits(campaign):
        link = services.link_for(campaign, request.user, kit)
        url = absolute(reverse("sharing:follow", args=[link.code]))
        kits.append({"kit": kit, "link": link, "url": url, "text": f"{kit.message} {url}"})
    clicks = services.clicks_by_link([invite, *(item["link"] for item in kits)])
    invite.click_count = clicks[invite.pk]
    for item in kits:
        item["link"].click_count = clicks[item["link"].pk]
    invite_url = absolute(reverse("sharing:follow", args=[invite.code]))
    context = {
        "campaign": campaign,
        "membership": membership,
        "page": page,
        "invite": invite,
        "invite_url": invite_url,
        "invite_text": f"I'm phoning for {campaign.name}. Join me: {invite_url}",
        "kits": kits,
        "networks": services.NETWORKS,
        "recruits": services.recruits_of(campaign, request.user),
        "badges": momentum.badges_of(campaign, request.user),
        "board": momentum.leaderboard(campaign),
        "hide_name": momentum.hidden_names([request.user.pk]) != set(),
        "counter": momentum.counter(campaign),
    }
    return _private(render(request, "sharing/volunteer.html", context, status=status))


def _sharer(request, public_id):
    """The campaign of a volunteer who may share it: a suspended volunteer may not."""
    campaign, membership = campaign_for_volunteer(request.user, public_id)
    if membership.status == Membership.Status.SUSPENDED:
        raise PermissionDenied("Your calling for this campaign has been suspended.")
    return campaign, membership


@login_required
def volunteer(request, public_id):
    campaign, membership = _sharer(request, public_id)
    return _volunteer_page(request, campaign, membership)


@login_required
def share(request, code, network):
    """A share button: counted for the volunteer's link, then on to the network."""
    link = (
        TrackedLink.objects.select_related("campaign", "kit")
        .filter(code=code, volunteer=request.user)
        .first()
    )
    if link is None or network not in services.NETWORKS:
        raise Http404("No such link")
    _sharer(request, link.campaign.public_id)
    if network == "copy":
        if request.method != "POST":
            return HttpResponse(status=405)
        services.count_share(link, network)
        return HttpResponse(status=204)
    page = services.page_of(link.campaign)
    subject, message = services.share_text(link.kit, page.title())
    url = request.build_absolute_uri(reverse("sharing:follow", args=[link.code]))
    services.count_share(link, network)
    response = HttpResponse(status=302)
    response["Location"] = services.intent_url(network, url=url, message=message, subject=subject)
    return _private(response)


@login_required
@require_POST
def hide_name(request, public_id):
    campaign_for_volunteer(request.user, public_id)
    hide = request.POST.get("hide") == "1"
    momentum.set_hide_name(request.user, hide)
    messages.success(
        request,
        "Your name is hidden on leaderboards." if hide else "Your name shows on leaderboards.",
    )
    return redirect("sharing:volunteer", public_id)


@login_required
@require_POST
def invite_contact(request, public_id):
    """The contact on the call would help and agreed to be sent the link."""
    campaign, _ = campaign_for_volunteer(request.user, public_id)
    form = ContactInviteForm(request.POST)
    lease = rules.current_lease(campaign, request.user)
    if not form.is_valid() or lease is None or lease.token != form.cleaned_data["lease_token"]:
        messages.error(request, "That person is no longer yours to invite.")
        return redirect("calling:card", public_id)
    invite = services.link_for(campaign, request.user)
    url = request.build_absolute_uri(reverse("sharing:follow", args=[invite.code]))
    channel = form.cleaned_data["channel"]
    try:
        services.invite_contact(
            lease,
            request.user,
            channel,
            consented=form.cleaned_data["consented"],
            url=url,
            request=request,
        )
    except services.SharingError as exc:
        messages.error(request, str(exc))
        return redirect("calling:card", public_id)
    if channel == "email":
        messages.success(request, "The invitation is on its way by email.")
        return redirect("calling:card", public_id)
    text = services.invite_message(campaign, url, request.user)
    links = services.contact_invite_links(lease.contact.phone, text)
    context = {"campaign": campaign, "channel": channel, "href": links[channel], "text": text}
    return _private(render(request, "sharing/invite_contact.html", context))


# -- the organiser's sharing page -----------------------------------------------------------


@organiser_required
def organiser(request, public_id):
    campaign = campaign_for_organiser(request.user, public_id)
    page = services.page_of(campaign)
    page_form = PageForm(instance=page, prefix="page")
    kit_form = KitForm(prefix="kit")
    status = 200
    if request.method == "POST":
        if "save_page" in request.POST:
            page_form = PageForm(request.POST, instance=page, prefix="page")
            if page_form.is_valid():
                services.save_page(
                    campaign, by=request.user, request=request, **page_form.cleaned_data
                )
                messages.success(request, "Recruitment page saved.")
                return redirect("sharing:organiser", public_id)
        else:
            kit_form = KitForm(request.POST, request.FILES, prefix="kit")
            if kit_form.is_valid():
                try:
                    services.create_kit(
                        campaign,
                        by=request.user,
                        request=request,
                        image=kit_form.cleaned_data.pop("image") or None,
                        **kit_form.cleaned_data,
                    )
                except images.ImageError as exc:
                    kit_form.add_error("image", str(exc))
                else:
                    messages.success(request, "Share kit ready: volunteers can share it now.")
                    return redirect("sharing:organiser", public_id)
        status = 400
    context = {
        "campaign": campaign,
        "page": page,
        "page_form": page_form,
        "kit_form": kit_form,
        "page_url": request.build_absolute_uri(reverse("sharing:page", args=[public_id])),
        "kits": services.kit_figures(campaign),
        "volunteers": services.volunteer_figures(campaign),
        "recruiters": services.top_recruiters(campaign),
        "board": momentum.leaderboard(campaign),
    }
    return _private(render(request, "sharing/organiser.html", context, status=status))


@organiser_required
def recruits(request, public_id):
    campaign = campaign_for_organiser(request.user, public_id)
    tree = services.recruitment_tree(campaign, by=request.user, request=request)
    return _private(render(request, "sharing/recruits.html", {"campaign": campaign, "tree": tree}))


@organiser_required
@require_POST
def withdraw(request, public_id, kit_id):
    campaign = campaign_for_organiser(request.user, public_id)
    kit = ShareKit.objects.filter(campaign=campaign, public_id=kit_id).first()
    if kit is None:
        raise Http404("No such share kit")
    services.withdraw_kit(kit, by=request.user, request=request)
    messages.success(request, f"“{kit.title}” withdrawn. Links already shared still work.")
    return redirect("sharing:organiser", public_id)
