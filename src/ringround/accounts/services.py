"""Creating people, and the teams organisers work in."""

import time
from importlib import import_module

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from ringround.audit.services import record_event
from ringround.ids import new_token

from . import limits
from .models import Team, TeamInvitation, TeamMember, User, UserSession


class TeamError(Exception):
    """A refusal a team admin should see, in words."""


@transaction.atomic
def sign_up(*, name: str, email: str, password: str, request=None) -> User:
    user = User.objects.create_user(email=email, password=password, name=name)
    record_event(user, "account.sign_up", user, request=request)
    return user


def _failures_window() -> int:
    return int(settings.AXES_COOLOFF_TIME * 3600)


def _failures_key(address: str) -> str:
    return f"login-failures:{address}:{int(time.time() // _failures_window())}"


def count_login_failure(address: str | None) -> None:
    """A failed sign-in from this address (any account), counted where every app server and
    process sees it (``limits``)."""
    if address:
        limits.count(_failures_key(address), window_seconds=_failures_window() + 60)


def too_many_login_failures(address: str | None) -> bool:
    if not address:
        return False
    failures = limits.peek(_failures_key(address))
    return failures >= settings.RINGROUND_LOGIN_FAILURES_PER_ADDRESS


def session_store():
    """The configured session engine's store (cached_db with Redis): ending a session through
    the database's store alone would leave the cache's copy signed in."""
    return import_module(settings.SESSION_ENGINE).SessionStore


def end_session(user, session_id: int) -> str | None:
    """End one of the person's own signed-in sessions; returns its key if there was one."""
    session = UserSession.objects.filter(user=user, pk=session_id).first()
    if session is None:
        return None
    session_store()(session.session_key).delete()
    session.delete()
    record_event(user, "account.session_ended", user)
    return session.session_key


def pending_totp_device(user):
    from django_otp.plugins.otp_totp.models import TOTPDevice

    device = TOTPDevice.objects.filter(user=user, confirmed=False).first()
    return device or TOTPDevice.objects.create(user=user, name="Authenticator app", confirmed=False)


def confirm_totp_device(request, device, token: str) -> bool:
    from django_otp import login as otp_login

    if not token.strip().isdigit() or not device.verify_token(token.strip()):
        return False
    device.confirmed = True
    device.save(update_fields=["confirmed"])
    otp_login(request, device)
    record_event(request.user, "account.2fa_enabled", request.user, request=request)
    return True


def verify_totp(request, token: str) -> bool:
    from django_otp import devices_for_user
    from django_otp import login as otp_login

    token = token.strip()
    if not token.isdigit():
        return False
    for device in devices_for_user(request.user, confirmed=True):
        if device.verify_is_allowed()[0] and device.verify_token(token):
            otp_login(request, device)
            return True
    return False


def totp_secret(device) -> str:
    import base64

    return base64.b32encode(device.bin_key).decode()


def totp_qr_svg(device) -> str:
    import qrcode
    import qrcode.image.svg

    image = qrcode.make(device.config_url, image_factory=qrcode.image.svg.SvgPathImage, box_size=8)
    return image.to_string(encoding="unicode")


# --- teams ----------------------------------------------------------------------------------


@transaction.atomic
def create_team(name: str, *, by, first_admin=None, request=None) -> Team:
    """A new team (admins make them); ``first_admin`` becomes its team admin."""
    name = " ".join(name.split())
    if not name:
        raise TeamError("A team needs a name.")
    if Team.objects.filter(name__iexact=name).exists():
        raise TeamError(f"There is already a team called “{name}”.")
    team = Team.objects.create(name=name)
    record_event(by, "team.create", team, request=request, name=name)
    if first_admin is not None:
        add_team_member(team, first_admin, role=TeamMember.Role.ADMIN, by=by, request=request)
    return team


def add_team_member(team: Team, user, *, role, by, request=None) -> TeamMember:
    member, created = TeamMember.objects.get_or_create(
        team=team, user=user, defaults={"role": role, "added_by": _person(by)}
    )
    if created:
        record_event(
            by, "team.member_added", team, request=request, member=user.public_id, role=role
        )
    return member


@transaction.atomic
def invite_organiser(team: Team, *, email: str, role, by, request=None) -> TeamInvitation:
    """Email a link to join the team. Asking again sends a fresh link (the old one stops
    working). Whether the address has an account is not told to the one inviting."""
    email = User.objects.normalize_email(email).strip().lower()
    if TeamMember.objects.filter(team=team, user__email__iexact=email).exists():
        raise TeamError(f"{email} is already in {team.name}.")
    invitation, _ = TeamInvitation.objects.update_or_create(
        team=team,
        email=email,
        defaults={
            "role": role,
            "token": new_token(),
            "invited_by": _person(by),
            "created_at": timezone.now(),
        },
    )
    record_event(by, "team.invited", team, request=request, email=email, role=role)
    link = reverse("accounts:invitation", args=[invitation.token])
    link = request.build_absolute_uri(link) if request is not None else link
    transaction.on_commit(
        lambda: send_mail(
            f"Join {team.name} on Ringround",
            f"You have been asked to help organise {team.name}'s campaigns on Ringround.\n\n"
            f"Accept within {TeamInvitation.VALID_FOR.days} days: {link}\n\n"
            "If you were not expecting this, ignore this email: nothing happens unless you "
            "accept.\n",
            None,
            [email],
        )
    )
    return invitation


def invitation_for(token: str) -> TeamInvitation | None:
    """The invitation a link names, if it is still valid."""
    invitation = TeamInvitation.objects.select_related("team").filter(token=token).first()
    if invitation is None or not invitation.is_valid():
        return None
    return invitation


@transaction.atomic
def accept_invitation(invitation: TeamInvitation, user, *, request=None) -> TeamMember:
    """The owner of the invited address joins the team (signed in as that address)."""
    if user.email.lower() != invitation.email.lower():
        raise TeamError(f"This invitation is for {invitation.email}.")
    member = add_team_member(
        invitation.team, user, role=invitation.role, by=invitation.invited_by, request=request
    )
    invitation.delete()
    record_event(user, "team.invitation_accepted", invitation.team, request=request)
    return member


@transaction.atomic
def cancel_invitation(invitation: TeamInvitation, *, by, request=None) -> None:
    invitation.delete()
    record_event(
        by, "team.invitation_cancelled", invitation.team, request=request, email=invitation.email
    )


def _admins_left(team: Team, without: TeamMember) -> int:
    """The team's other admins, locked: two admins demoting each other at once cannot both
    pass this check."""
    admins = team.members.select_for_update().filter(role=TeamMember.Role.ADMIN)
    return len([pk for pk in admins.values_list("pk", flat=True) if pk != without.pk])


@transaction.atomic
def change_role(member: TeamMember, role, *, by, request=None) -> TeamMember:
    if role not in TeamMember.Role.values:
        raise TeamError("Unknown role.")
    member = TeamMember.objects.select_for_update().get(pk=member.pk)
    if member.role == role:
        return member
    if member.is_admin and not _admins_left(member.team, member):
        raise TeamError("A team needs at least one team admin: make someone else admin first.")
    before, member.role = member.role, role
    member.save(update_fields=["role"])
    record_event(
        by,
        "team.role_changed",
        member.team,
        request=request,
        member=member.user.public_id,
        before=before,
        role=role,
    )
    return member


@transaction.atomic
def remove_team_member(member: TeamMember, *, by, request=None) -> None:
    """Take someone out of the team: from the next request they see nothing of it."""
    member = TeamMember.objects.select_for_update().get(pk=member.pk)
    if member.is_admin and not _admins_left(member.team, member):
        raise TeamError("A team needs at least one team admin: make someone else admin first.")
    member.delete()
    record_event(
        by, "team.member_removed", member.team, request=request, member=member.user.public_id
    )


def _person(user):
    return user if getattr(user, "is_authenticated", False) else None
