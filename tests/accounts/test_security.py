"""Accounts and web security: lockout, two-factor, password reset, sessions, headers."""

import datetime as dt
import re

import pytest
from django.core import mail
from django.urls import reverse
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice

from ringround.accounts.models import UserSession
from ringround.audit.models import AuditEvent
from ringround.calling.models import CallTarget
from tests.factories import UserFactory, make_organiser, make_volunteer, open_campaign

pytestmark = pytest.mark.django_db
PASSWORD = "correct horse battery"


def login(client, email, password=PASSWORD):
    return client.post(reverse("accounts:login"), {"username": email, "password": password})


def test_login_with_email_and_password_records_session_and_audit(client):
    user = UserFactory()
    response = login(client, user.email)
    assert response.status_code == 302
    assert UserSession.objects.filter(user=user).count() == 1
    assert AuditEvent.objects.filter(actor=user, action="account.login").exists()


def test_repeated_failures_lock_the_account_out(client):
    user = UserFactory()
    for _ in range(5):
        assert login(client, user.email, "wrong password").status_code in (200, 429)
    locked = login(client, user.email)
    assert locked.status_code == 429
    assert "Too many failed logins" in locked.content.decode()
    assert "_auth_user_id" not in client.session


@pytest.mark.real_password_hashing
def test_passwords_are_hashed_with_argon2():
    user = UserFactory()
    assert user.password.startswith("argon2")


def test_password_reset_sends_a_working_link(client):
    user = UserFactory()
    client.post(reverse("accounts:password_reset"), {"email": user.email})
    assert len(mail.outbox) == 1
    link = re.search(r"https?://[^/]+(/accounts/reset/\S+)", mail.outbox[0].body).group(1)
    form = client.get(link, follow=True)
    new = "another long passphrase 42"
    client.post(form.redirect_chain[-1][0], {"new_password1": new, "new_password2": new})
    user.refresh_from_db()
    assert user.check_password(new)


def test_password_reset_for_unknown_email_reveals_nothing(client):
    response = client.post(
        reverse("accounts:password_reset"), {"email": "nobody@example.org"}, follow=True
    )
    assert "If an account uses that address" in response.content.decode()
    assert mail.outbox == []


def test_totp_setup_then_login_needs_a_code(client):
    user = make_organiser()
    login(client, user.email)
    client.get(reverse("accounts:2fa_setup"))
    device = TOTPDevice.objects.get(user=user)
    wrong = client.post(reverse("accounts:2fa_setup"), {"token": "000000"})
    assert "did not match" in wrong.content.decode()
    device.refresh_from_db()
    device.throttle_reset()
    client.post(reverse("accounts:2fa_setup"), {"token": str(totp(device.bin_key)).zfill(6)})
    device.refresh_from_db()
    assert device.confirmed
    client.post(reverse("accounts:logout"))
    login(client, user.email)
    blocked = client.get(reverse("campaigns:list"))
    assert blocked.status_code == 302 and reverse("accounts:2fa_verify") in blocked["Location"]
    device.refresh_from_db()
    device.last_t = -1
    device.save()
    client.post(reverse("accounts:2fa_verify"), {"token": str(totp(device.bin_key)).zfill(6)})
    assert client.get(reverse("campaigns:list")).status_code == 200


def test_admins_must_set_up_two_factor_when_required(client, settings):
    settings.RINGROUND_REQUIRE_ADMIN_2FA = True
    admin = UserFactory(is_superuser=True, is_staff=True)
    client.force_login(admin)
    response = client.get(reverse("campaigns:list"))
    assert response.status_code == 302 and response["Location"] == reverse("accounts:2fa_setup")


def test_person_can_see_and_end_their_own_sessions(client):
    user = UserFactory()
    other_browser = pytest.importorskip("django.test").Client()
    login(other_browser, user.email)
    login(client, user.email)
    page = client.get(reverse("accounts:account")).content.decode()
    assert page.count("End</button>") == 2
    theirs = UserSession.objects.exclude(session_key=client.session.session_key).get(user=user)
    client.post(reverse("accounts:end_session", args=[theirs.pk]))
    assert other_browser.get(reverse("accounts:account")).status_code == 302
    assert client.get(reverse("accounts:account")).status_code == 200


def test_cannot_end_someone_elses_session(client):
    victim = UserFactory()
    victim_browser = pytest.importorskip("django.test").Client()
    login(victim_browser, victim.email)
    session = UserSession.objects.get(user=victim)
    client.force_login(UserFactory())
    client.post(reverse("accounts:end_session", args=[session.pk]))
    assert victim_browser.get(reverse("accounts:account")).status_code == 200


@pytest.mark.parametrize(
    "path", ["/accounts/login/", "/", "/campaigns/", "/call/", "/accounts/account/"]
)
def test_security_headers_on_pages(client, path):
    client.force_login(make_organiser())
    response = client.get(path)
    csp = response["Content-Security-Policy"]
    assert (
        "default-src 'self'" in csp
        and "script-src 'self'" in csp
        and "frame-ancestors 'none'" in csp
    )
    assert "unsafe-inline" not in csp
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"
    assert "camera=()" in response["Permissions-Policy"]


def test_templates_carry_no_inline_script_or_style():
    from pathlib import Path

    import ringround

    root = Path(ringround.__file__).parent
    for template in root.rglob("templates/**/*.html"):
        text = template.read_text()
        assert 'style="' not in text, template
        assert not re.search(r"<script(?![^>]*\bsrc=)", text), template
        assert " onclick=" not in text and " onload=" not in text, template


def test_csrf_is_enforced_on_forms():
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    user = make_organiser()
    client.force_login(user)
    response = client.post(reverse("campaigns:create"), {"name": "Forged"})
    assert response.status_code == 403


def test_secure_cookies_when_served_over_https(settings):
    import importlib
    import os

    os.environ["RINGROUND_HTTPS"] = "true"
    try:
        import ringround.settings as project_settings

        reloaded = importlib.reload(project_settings)
        assert reloaded.SESSION_COOKIE_SECURE and reloaded.CSRF_COOKIE_SECURE
        assert reloaded.SECURE_HSTS_SECONDS > 0
    finally:
        del os.environ["RINGROUND_HTTPS"]
        importlib.reload(project_settings)


def test_session_expires(settings):
    assert 0 < settings.SESSION_COOKIE_AGE <= 24 * 3600
    assert dt.timedelta(seconds=settings.SESSION_COOKIE_AGE) <= dt.timedelta(days=1)


def _half_signed_in(client):
    """A volunteer with a confirmed code device, past the password but not the code."""
    campaign = open_campaign(targets=2)
    volunteer = make_volunteer(campaign)
    TOTPDevice.objects.create(user=volunteer, name="phone", confirmed=True)
    login(client, volunteer.email)
    return campaign, volunteer


def test_the_api_refuses_a_session_that_has_not_entered_its_code(client):
    campaign, _volunteer = _half_signed_in(client)
    api = f"/api/v1/campaigns/{campaign.public_id}"

    listed = client.get("/api/v1/campaigns")
    claimed = client.post(
        f"{api}/claim", "{}", content_type="application/json", HTTP_X_CSRFTOKEN="x"
    )

    assert listed.status_code == 401 and "two-factor" in listed.json()["message"]
    assert claimed.status_code in (401, 403)
    assert not CallTarget.objects.filter(campaign=campaign, held_by__isnull=False).exists()


def test_the_api_answers_the_same_session_once_the_code_is_entered(client):
    _campaign, volunteer = _half_signed_in(client)
    device = TOTPDevice.objects.get(user=volunteer)
    client.post(reverse("accounts:2fa_verify"), {"token": str(totp(device.bin_key)).zfill(6)})

    assert client.get("/api/v1/campaigns").status_code == 200


PROXY = "10.0.0.1"


def login_from(client, email, address, password=PASSWORD):
    """A sign-in through the deployment's proxy, from the client ``address``."""
    return client.post(
        reverse("accounts:login"),
        {"username": email, "password": password},
        REMOTE_ADDR=PROXY,
        HTTP_X_FORWARDED_FOR=address,
    )


def test_behind_a_proxy_a_stranger_cannot_lock_someone_else_out(client, settings):
    settings.RINGROUND_TRUSTED_PROXIES = [PROXY]
    victim = UserFactory()
    for _ in range(6):
        login_from(client, victim.email, "203.0.113.5", password="wrong guess")
    assert login_from(client, victim.email, "203.0.113.5").status_code == 429

    response = login_from(client, victim.email, "198.51.100.7")

    assert response.status_code == 302, "the victim, from their own address, gets in"


def test_password_spraying_from_one_address_is_stopped(client, settings):
    settings.RINGROUND_LOGIN_FAILURES_PER_ADDRESS = 20
    people = UserFactory.create_batch(8)
    for person in people[:7]:  # three guesses each: under every account's own limit
        for guess in range(3):
            login(client, person.email, password=f"Summer2026!{guess}")

    sprayer = client.post(
        reverse("accounts:login"),
        {"username": people[7].email, "password": PASSWORD},
    )
    elsewhere = client.post(
        reverse("accounts:login"),
        {"username": people[7].email, "password": PASSWORD},
        REMOTE_ADDR="192.0.2.44",
    )

    assert sprayer.status_code == 200 and "Too many failed sign-ins" in sprayer.content.decode()
    assert elsewhere.status_code == 302
