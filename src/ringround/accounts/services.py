"""Creating people."""

import time

from django.conf import settings
from django.contrib.sessions.backends.db import SessionStore
from django.core.cache import cache
from django.db import transaction

from ringround.audit.services import record_event

from .models import User, UserSession


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
