"""A team line on the local fake provider, for the app's telephony tests.

The app talks to the fake over real HTTP (``TwilioBridge``); the fake's callbacks come back
through Django's test client (``deliver``), signed exactly as the provider signs them, unless a
test serves the site for real (the browser test)."""

from dataclasses import dataclass, field
from urllib.parse import urlsplit

from django.test import Client

from ringround.telephony import services
from ringround.telephony.fake import Behaviour, FakeProvider

CALLER_ID = "+442079460999"
TOKEN_VARIABLE = "RINGROUND_TEST_TELEPHONY_TOKEN"
SITE = "http://testserver"


@dataclass
class Delivered:
    """Every callback the fake sent, and what Ringround answered."""

    sent: list = field(default_factory=list)

    def __call__(self, url, params, signature):
        client = Client()
        split = urlsplit(url)
        path = split.path + (f"?{split.query}" if split.query else "")
        response = client.post(path, params, HTTP_X_TWILIO_SIGNATURE=signature)
        self.sent.append((url, dict(params), signature, response.status_code))
        return response.status_code, response.content.decode()

    def refused(self) -> list:
        return [sent for sent in self.sent if sent[3] != 200]


def start_fake(monkeypatch, settings, *, deliver=None) -> FakeProvider:
    delivered = deliver or Delivered()
    fake = FakeProvider(deliver=delivered)
    fake.start()
    fake.delivered = delivered
    monkeypatch.setenv(TOKEN_VARIABLE, fake.auth_token)
    settings.RINGROUND_SITE_URL = SITE
    settings.RINGROUND_TELEPHONY_ALLOW_PRIVATE = True  # the fake listens on 127.0.0.1
    return fake


def bridge_line(team, fake, *, ring_seconds=20, by=None):
    return services.configure_line(
        team,
        provider="bridge",
        caller_id=CALLER_ID,
        caller_name="Riverside Labour",
        base_url=fake.base_url,
        account_sid=fake.account_sid,
        token_variable=TOKEN_VARIABLE,
        ring_seconds=ring_seconds,
        by=by,
    )


__all__ = ["Behaviour"]
