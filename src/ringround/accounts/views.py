from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST
from django_otp import user_has_device

from ringround.campaigns import services as campaign_services
from ringround.campaigns.services import CampaignError, SignUpsThrottled

from . import services
from .forms import (
    InviteOrganiserForm,
    LoginForm,
    NewAccountForm,
    SignupForm,
    TeamForm,
    TeamRoleForm,
)
from .models import Team, TeamInvitation, TeamMember, User
from .permissions import may_manage_team, organiser_required, team_for_organiser


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
        if services.session_store()(s.session_key).exists(s.session_key)
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


# --- teams and their people -----------------------------------------------------------------


@organiser_required
def teams(request):
    """The teams the person organises in (all, for an admin, who also creates them here)."""
    mine = Team.objects.organised_by(request.user)
    form = TeamForm(request.POST or None) if request.user.is_superuser else None
    if form is not None and request.method == "POST" and form.is_valid():
        try:
            team = services.create_team(
                form.cleaned_data["name"],
                by=request.user,
                first_admin=form.cleaned_data["first_admin"],
                request=request,
            )
        except services.TeamError as exc:
            form.add_error("name", str(exc))
        else:
            messages.success(request, f"Team “{team.name}” created.")
            return redirect("accounts:team", team.public_id)
    if form is None and mine.count() == 1:
        return redirect("accounts:team", mine.get().public_id)
    status = 400 if form is not None and form.errors else 200
    return render(request, "accounts/teams.html", {"teams": mine, "form": form}, status=status)


@organiser_required
def team(request, team_id):
    """Who has access to the team, with what role; a team admin invites, changes roles and
    removes people here."""
    team = team_for_organiser(request.user, team_id)
    manages = may_manage_team(request.user, team)
    form = InviteOrganiserForm(request.POST or None) if manages else None
    if request.method == "POST":
        if form is None:
            raise PermissionDenied("Only the team's admins can add people.")
        if form.is_valid():
            try:
                invitation = services.invite_organiser(
                    team, **form.cleaned_data, by=request.user, request=request
                )
            except services.TeamError as exc:
                form.add_error("email", str(exc))
            else:
                messages.success(
                    request,
                    f"Invitation sent to {invitation.email}. They join {team.name} once they "
                    f"accept it (the link works for {TeamInvitation.VALID_FOR.days} days).",
                )
                return redirect("accounts:team", team.public_id)
    members = team.members.select_related("user", "added_by")
    return render(
        request,
        "accounts/team.html",
        {
            "team": team,
            "members": members,
            "manages": manages,
            "form": form,
            "roles": TeamMember.Role.choices,
            "campaign_count": team.campaigns.count(),
            "invitations": team.invitations.select_related("invited_by") if manages else (),
        },
        status=400 if form is not None and form.errors else 200,
    )


def _member_to_manage(request, team_id, member_id) -> TeamMember:
    team = team_for_organiser(request.user, team_id)
    if not may_manage_team(request.user, team):
        raise PermissionDenied("Only the team's admins can change who has access.")
    member = team.members.select_related("user", "team").filter(pk=member_id).first()
    if member is None:
        raise Http404("No such person in this team")
    return member


@organiser_required
@require_POST
def team_role(request, team_id, member_id):
    member = _member_to_manage(request, team_id, member_id)
    form = TeamRoleForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Choose a role.")
    elif member.role == form.cleaned_data["role"]:
        messages.info(request, f"{member.user} is already {member.get_role_display().lower()}.")
    else:
        try:
            member = services.change_role(
                member, form.cleaned_data["role"], by=request.user, request=request
            )
        except services.TeamError as exc:
            messages.error(request, str(exc))
        else:
            messages.success(request, f"{member.user} is now {member.get_role_display().lower()}.")
    return redirect("accounts:team", member.team.public_id)


@organiser_required
def team_remove(request, team_id, member_id):
    """Asks first; removing takes effect on the person's next request."""
    member = _member_to_manage(request, team_id, member_id)
    if request.method == "POST":
        try:
            services.remove_team_member(member, by=request.user, request=request)
        except services.TeamError as exc:
            messages.error(request, str(exc))
        else:
            messages.success(request, f"{member.user} no longer has access to {member.team.name}.")
        return redirect("accounts:team", member.team.public_id)
    return render(request, "accounts/team_remove.html", {"member": member, "team": member.team})


@organiser_required
@require_POST
def team_invitation_cancel(request, team_id, invitation_id):
    team = team_for_organiser(request.user, team_id)
    if not may_manage_team(request.user, team):
        raise PermissionDenied("Only the team's admins can change who has access.")
    invitation = team.invitations.filter(pk=invitation_id).first()
    if invitation is None:
        raise Http404("No such invitation")
    services.cancel_invitation(invitation, by=request.user, request=request)
    messages.success(request, f"The invitation to {invitation.email} is cancelled.")
    return redirect("accounts:team", team.public_id)


def invitation(request, token):
    """The link in an invitation email: sign in as the invited address (or make its account),
    then accept."""
    invitation = services.invitation_for(token)
    if invitation is None:
        reason = "This invitation is not valid any more. Ask the team admin for a new one."
        return render(request, "accounts/invite_invalid.html", {"reason": reason}, status=404)
    context = {"invitation": invitation, "team": invitation.team}
    user = request.user
    if user.is_authenticated:
        if user.email.lower() != invitation.email:
            context["wrong_account"] = True
            return render(request, "accounts/invitation.html", context, status=403)
        if request.method == "POST":
            services.accept_invitation(invitation, user, request=request)
            messages.success(request, f"Welcome to {invitation.team.name}.")
            return redirect("accounts:team", invitation.team.public_id)
        return render(request, "accounts/invitation.html", context)
    if User.objects.filter(email__iexact=invitation.email).exists():
        context["login_url"] = f"{reverse('accounts:login')}?next={request.path}"
        return render(request, "accounts/invitation.html", context)
    form = NewAccountForm(request.POST or None, email=invitation.email)
    if request.method == "POST" and form.is_valid():
        with transaction.atomic():
            user = services.sign_up(
                name=form.cleaned_data["name"],
                email=invitation.email,
                password=form.cleaned_data["password"],
                request=request,
            )
            services.accept_invitation(invitation, user, request=request)
        login(request, user, backend="django.contrib.auth.backends.ModelBackend")
        messages.success(request, f"Welcome to {invitation.team.name}.")
        return redirect("accounts:team", invitation.team.public_id)
    context["form"] = form
    return render(request, "accounts/invitation.html", context, status=400 if form.errors else 200)
