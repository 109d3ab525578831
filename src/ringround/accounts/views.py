from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.contrib.sessions.backends.db import SessionStore
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST
from django_otp import user_has_device

from ringround.campaigns import services as campaign_services
from ringround.campaigns.services import CampaignError, SignUpsThrottled

from . import services
from .forms import LoginForm, SignupForm


class LoginView(auth_views.LoginView):
    template_name = "accounts/login.html"
    authentication_form = LoginForm
    redirect_authenticated_user = True


def join(request, token):
    """The invite link: sign up (then confirm the email) or, signed in, join; the brief
    says when they may start calling."""
    try:
        campaign = campaign_services.campaign_for_invite(token)
    except CampaignError as exc:
        return render(request, "accounts/invite_invalid.html", {"reason": str(exc)}, status=404)
    if request.user.is_authenticated:
        if request.method == "POST":
            campaign_services.join_campaign(campaign, request.user, token=token, request=request)
            return redirect("calling:brief", campaign.public_id)
        return render(request, "accounts/join_confirm.html", {"campaign": campaign})
    form = SignupForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            campaign_services.sign_up_by_invite(
                campaign,
                token=token,
                name=form.cleaned_data["name"],
                email=form.cleaned_data["email"],
                password=form.cleaned_data["password"],
                request=request,
            )
        except SignUpsThrottled as exc:
            context = {"campaign": campaign, "reason": str(exc)}
            return render(request, "accounts/join_throttled.html", context, status=429)
        except CampaignError as exc:
            context = {"reason": str(exc)}
            return render(request, "accounts/invite_invalid.html", context, status=404)
        context = {"campaign": campaign, "email": form.cleaned_data["email"]}
        return render(request, "accounts/join_sent.html", context)
    login_url = f"{reverse('accounts:login')}?next={request.path}"
    return render(
        request, "accounts/join.html", {"campaign": campaign, "form": form, "login_url": login_url}
    )


def confirm_email(request, token):
    """The link emailed after an invite sign-up. Following it shows a button (mail scanners
    that open links must not confirm anything); pressing it confirms the email."""
    try:
        campaign, user = campaign_services.read_verification(token)
    except CampaignError as exc:
        return render(request, "accounts/invite_invalid.html", {"reason": str(exc)}, status=404)
    if request.method != "POST":
        return render(request, "accounts/confirm_email.html", {"campaign": campaign})
    try:
        membership = campaign_services.confirm_email(token, request=request)
    except CampaignError as exc:
        return render(request, "accounts/invite_invalid.html", {"reason": str(exc)}, status=404)
    if membership.status == membership.Status.PENDING_APPROVAL:
        messages.success(request, "Email confirmed. An organiser will approve you shortly.")
    else:
        messages.success(request, "Email confirmed.")
    brief = reverse("calling:brief", args=[campaign.public_id])
    if request.user.is_authenticated and request.user.pk == user.pk:
        return redirect(brief)
    return redirect(f"{reverse('accounts:login')}?next={brief}")


# --- the person's own account: sessions and two-factor --------------------------------------


@login_required
def account(request):
    sessions = [
        s
        for s in request.user.browser_sessions.all()
        if SessionStore(s.session_key).exists(s.session_key)
    ]
    return render(
        request,
        "accounts/account.html",
        {
            "sessions": sessions,
            "current_key": request.session.session_key,
            "has_2fa": user_has_device(request.user),
        },
    )


@login_required
@require_POST
def end_session(request, session_id):
    ended = services.end_session(request.user, session_id)
    if ended == request.session.session_key:
        return redirect("accounts:login")
    messages.success(request, "That session has been ended." if ended else "No such session.")
    return redirect("accounts:account")


@login_required
def two_factor_setup(request):
    device = services.pending_totp_device(request.user)
    if request.method == "POST":
        if services.confirm_totp_device(request, device, request.POST.get("token", "")):
            messages.success(
                request,
                "Two-factor sign-in is on. You will be asked for a code after your password.",
            )
            return redirect("accounts:account")
        messages.error(request, "That code did not match. Check your phone's clock and try again.")
    return render(
        request,
        "accounts/2fa_setup.html",
        {"secret": services.totp_secret(device), "qr_svg": services.totp_qr_svg(device)},
    )


@login_required
def two_factor_verify(request):
    if request.method == "POST":
        if services.verify_totp(request, request.POST.get("token", "")):
            return redirect(
                url_has_allowed_host_and_scheme_or_home(request, request.POST.get("next"))
            )
        messages.error(request, "That code did not match.")
    return render(request, "accounts/2fa_verify.html", {"next": request.GET.get("next", "")})


def url_has_allowed_host_and_scheme_or_home(request, url):
    if url and url_has_allowed_host_and_scheme(url, allowed_hosts={request.get_host()}):
        return url
    return reverse("home")
