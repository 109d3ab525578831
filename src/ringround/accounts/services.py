"""Creating people, and the teams organisers work in."""

import time

from django.conf import settings
from django.contrib.auth.tokens import default_token_generator
from django.contrib.sessions.backends.db import SessionStore
from django.core.cache import cache
from django.core.mail import send_mail
from django.db import transaction
from django.urls import reverse
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from ringround.audit.services import record_event

from .models import Team, TeamMember, User, UserSession


class TeamError(Exception):
    """A refusal a team admin should see, in words."""


@transaction.atomic
def sign_up(*, name: str, email: str, password: str, request=None) -> User:
    user = User.objects.create_user(email=email, password=password, name=name)
    record_event(user, "account.sign_up", user, request=request)
    return user


def _failures_key(address: str) -> str:
    window = settings.AXES_COOLOFF_TIME * 3600
    return f"ringround:login-failures:{address}:{int(time.time() // window)}"


def count_login_failure(address: str | None) -> None:
    """A failed sign-in from this address (any account): counted in the cache, so that every
    app server sees the same count."""
    if address:
        key = _failures_key(address)
        cache.add(key, 0, timeout=int(settings.AXES_COOLOFF_TIME * 3600) + 60)
        cache.incr(key)


def too_many_login_failures(address: str | None) -> bool:
    if not address:
        return False
    failures = cache.get(_failures_key(address), 0)
    return failures >= settings.RINGROUND_LOGIN_FAILURES_PER_ADDRESS


def end_session(user, session_id: int) -> str | None:
    """End one of the person's own signed-in sessions; returns its key if there was one."""
    session = UserSession.objects.filter(user=user, pk=session_id).first()
    if session is None:
        return None
    SessionStore(session.session_key).delete()
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
def invite_organiser(team: Team, *, email: str, name: str, role, by, request=None):
    """Give someone access to the team by email: an existing account is added at once; for a
    new one an account is made without a password and a link to choose one is emailed.
    Returns ``(member, new_account)``."""
    email = User.objects.normalize_email(email).strip().lower()
    if TeamMember.objects.filter(team=team, user__email__iexact=email).exists():
        raise TeamError(f"{email} is already in {team.name}.")
    user = User.objects.filter(email__iexact=email).first()
    new_account = user is None
    if new_account:
        user = User.objects.create_user(email=email, password=None, name=name.strip() or email)
        record_event(by, "account.invited", user, request=request, team=team.public_id)
    member = add_team_member(team, user, role=role, by=by, request=request)
    transaction.on_commit(lambda: _send_invitation(team, user, new_account, request))
    return member, new_account


def _send_invitation(team, user, new_account, request) -> None:
    """The email: a link to choose a password for a new account, else where to sign in."""
    if new_account:
        uid = urlsafe_base64_encode(force_bytes(user.pk))
        token = default_token_generator.make_token(user)
        path = reverse("accounts:password_reset_confirm", args=[uid, token])
        what = "Choose a password to sign in"
    else:
        path = reverse("accounts:login")
        what = "Sign in with your usual password"
    link = request.build_absolute_uri(path) if request is not None else path
    send_mail(
        f"You have been added to {team.name} on Ringround",
        f"You can now organise {team.name}'s campaigns on Ringround.\n\n{what}: {link}\n",
        None,
        [user.email],
    )


def _admins_left(team: Team, without: TeamMember) -> int:
    return team.members.filter(role=TeamMember.Role.ADMIN).exclude(pk=without.pk).count()


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
