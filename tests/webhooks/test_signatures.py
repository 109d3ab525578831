"""Every delivery is signed: ``Ringround-Signature: t=<unix time>,v1=<HMAC-SHA256 of "t." +
body>``, keyed with the secret shown once when the endpoint was added. Checked here with an
HMAC written out from its definition (RFC 2104), not with our code nor Python's ``hmac``."""

import hashlib
import re
import time

import pytest
from django.test import Client

from ringround.webhooks import services
from ringround.webhooks.models import Endpoint
from tests.factories import make_organiser, the_team

from .factories import NOON, make_endpoint, pending_delivery

pytestmark = pytest.mark.django_db


def hmac_sha256_from_scratch(key: bytes, message: bytes) -> str:
    block = 64
    if len(key) > block:
        key = hashlib.sha256(key).digest()
    key = key.ljust(block, b"\0")
    inner = hashlib.sha256(bytes(b ^ 0x36 for b in key) + message).digest()
    return hashlib.sha256(bytes(b ^ 0x5C for b in key) + inner).hexdigest()


def parse_signature(header: str) -> tuple[int, str]:
    parts = dict(item.split("=", 1) for item in header.split(","))
    return int(parts["t"]), parts["v1"]


def test_the_secret_shown_once_signs_each_delivery_as_an_independent_hmac_says(receiver):
    organiser = make_organiser()
    team = organiser.team_memberships.get().team
    client = Client()
    client.force_login(organiser)
    page = client.post(
        f"/accounts/teams/{team.public_id}/webhooks/",
        {"url": receiver.url, "events": ["call.recorded"]},
    )
    secret = re.search(r'value="(whsec_[0-9a-f]+)"', page.content.decode()).group(1)
    delivery = pending_delivery(Endpoint.objects.get(team=team))
    before = int(time.time())

    attempt = services.send_delivery(delivery.pk, now=NOON)
    assert attempt.succeeded, attempt.error

    (request,) = receiver.received
    stamp, signature = parse_signature(request.headers["Ringround-Signature"])
    assert before - 1 <= stamp <= time.time() + 1
    assert signature == hmac_sha256_from_scratch(
        secret.encode(), f"{stamp}.".encode() + request.body
    )
    assert signature != hmac_sha256_from_scratch(secret.encode(), request.body), "t is signed"
    assert request.json["type"] == "ping" and request.json["data"] == {"n": 1}


def test_a_changed_body_or_another_secret_does_not_match_the_signature(receiver):
    endpoint = make_endpoint(the_team(), receiver.url)
    other = make_endpoint(the_team(), receiver.url)
    services.send_delivery(pending_delivery(endpoint).pk, now=NOON)

    (request,) = receiver.received
    stamp, signature = parse_signature(request.headers["Ringround-Signature"])
    signed = f"{stamp}.".encode() + request.body
    assert signature == hmac_sha256_from_scratch(endpoint.secret.encode(), signed)
    assert signature != hmac_sha256_from_scratch(other.secret.encode(), signed)
    tampered = signed.replace(b'"n":1', b'"n":2')
    assert tampered != signed
    assert signature != hmac_sha256_from_scratch(endpoint.secret.encode(), tampered)


def test_the_secret_is_not_stored_and_a_new_one_replaces_it(receiver):
    endpoint = make_endpoint(the_team(), receiver.url)
    secret = endpoint.secret

    stored = Endpoint.objects.filter(pk=endpoint.pk).values().get()
    assert secret not in {str(value) for value in stored.values()}
    assert Endpoint.objects.get(pk=endpoint.pk).secret == secret, "recomputed the same"

    services.roll_secret(endpoint)
    assert Endpoint.objects.get(pk=endpoint.pk).secret != secret
    services.send_delivery(pending_delivery(endpoint).pk, now=NOON)
    stamp, signature = parse_signature(receiver.received[0].headers["Ringround-Signature"])
    signed = f"{stamp}.".encode() + receiver.received[0].body
    assert signature == hmac_sha256_from_scratch(endpoint.secret.encode(), signed)


def test_the_readme_verification_snippet_accepts_a_delivery_and_refuses_a_forgery(receiver):
    """The Python in the README's webhooks section, run as a receiver would run it."""
    readme = services.__file__.rsplit("/src/", 1)[0] + "/README.md"
    with open(readme, encoding="utf-8") as file:
        text = file.read()
    section = text[text.index("## Webhooks") :]
    code = re.search(r"```python\n(.*?)```", section, re.S).group(1)
    namespace = {}
    exec(compile(code, "README.md", "exec"), namespace)  # noqa: S102 - our own README
    verify = namespace["verify_ringround_signature"]
    endpoint = make_endpoint(the_team(), receiver.url)
    services.send_delivery(pending_delivery(endpoint).pk, now=NOON)
    (request,) = receiver.received
    header = request.headers["Ringround-Signature"]

    assert verify(endpoint.secret, request.body, header) is True
    assert verify(endpoint.secret, request.body + b" ", header) is False
    assert verify("whsec_wrong", request.body, header) is False
    stamp, _ = parse_signature(header)
    assert verify(endpoint.secret, request.body, header, now=stamp + 10 * 60) is False, "too old"
