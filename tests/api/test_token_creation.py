"""An API token is made only by someone fully signed in: today only on the command line
(``ringround manage api_token create``, which needs the server's shell); no page, admin page or
API route makes one. So a session past the password but not the two-factor code cannot make
one, whatever it asks for."""

import ast
from pathlib import Path

import pytest
from django.contrib import admin
from django.test import Client
from django.urls import NoReverseMatch, reverse
from django.urls.converters import IntConverter
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice

from ringround.accounts.middleware import ALWAYS_ALLOWED
from ringround.api.models import ApiToken
from tests.accounts.test_permission_matrix import routes
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

SRC = Path(__file__).resolve().parents[2] / "src" / "ringround"
PASSWORD = "correct horse battery"


def callers_of(function: str) -> set[str]:
    """The modules of src/ringround that call ``function`` (by name or as an attribute)."""
    found = set()
    for path in SRC.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call):
                called = node.func
                name = (
                    called.attr if isinstance(called, ast.Attribute) else getattr(called, "id", "")
                )
                if name == function:
                    found.add(str(path.relative_to(SRC)))
    return found


def test_api_tokens_are_made_only_on_the_command_line():
    assert callers_of("create_token") == {"api/management/commands/api_token.py"}
    assert ApiToken not in admin.site._registry  # the admin site cannot add one either


def half_signed_in_admin() -> tuple[Client, object]:
    """An admin with a code device who has entered their password, not yet their code."""
    user = UserFactory(is_superuser=True, is_staff=True)
    TOTPDevice.objects.create(user=user, name="phone", confirmed=True)
    client = Client()
    response = client.post(
        reverse("accounts:login"), {"username": user.email, "password": PASSWORD}
    )
    assert response.status_code == 302
    return client, user


def every_url() -> list[str]:
    urls = []
    for name, pattern in routes():
        converters = pattern.pattern.converters
        kwargs = {k: 1 if isinstance(c, IntConverter) else "x" for k, c in converters.items()}
        try:
            urls.append(reverse(name, kwargs=kwargs))
        except NoReverseMatch:
            continue
    return sorted(set(urls))


def test_a_session_without_its_code_cannot_make_a_token_anywhere():
    client, user = half_signed_in_admin()
    verify = reverse("accounts:2fa_verify")
    public_api = {reverse(f"api-v1:{name}") for name in ("health", "openapi-json", "openapi-view")}
    logout = reverse("accounts:logout")
    urls = [url for url in every_url() if url != logout]  # signing out would end the test
    assert "/admin/" in urls and "/accounts/account/" in urls

    for url in [*urls, "/api/v1/tokens", "/admin/api/apitoken/add/"]:
        for method in ("get", "post"):
            body = {"name": "mine", "user": user.pk}
            response = getattr(client, method)(url, body)
            assert response.status_code < 500, (method, url)
            if url in public_api:
                continue  # health and the API's description: open to anyone, change nothing
            if url.startswith("/api/"):
                assert response.status_code in (401, 403, 404, 405), (method, url)
            elif not url.startswith(ALWAYS_ALLOWED):
                assert response.status_code == 302 and verify in response["Location"], (
                    method,
                    url,
                )
    assert not ApiToken.objects.exists()
    assert client.get(reverse("accounts:account"))["Location"].startswith(verify)  # still half


def test_the_code_step_is_what_lets_the_session_in():
    client, user = half_signed_in_admin()
    assert client.get(reverse("accounts:account")).status_code == 302
    device = TOTPDevice.objects.get(user=user)
    client.post(reverse("accounts:2fa_verify"), {"token": str(totp(device.bin_key)).zfill(6)})
    assert client.get(reverse("accounts:account")).status_code == 200
