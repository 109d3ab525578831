"""Server-side request forgery: a team's endpoint must not make Ringround post into its own
network. Only http(s); unless RINGROUND_WEBHOOKS_ALLOW_PRIVATE, a private, loopback or
link-local address is refused when saved and, whatever the name resolves to then, at every
attempt."""

import pytest
from django.test import Client

from ringround.webhooks import sending, services
from ringround.webhooks.forms import EndpointForm
from ringround.webhooks.models import Endpoint
from tests.factories import make_organiser, the_team

from .factories import NOON, make_endpoint, pending_delivery

pytestmark = pytest.mark.django_db


@pytest.fixture
def production(settings):
    settings.RINGROUND_WEBHOOKS_ALLOW_PRIVATE = False


@pytest.mark.parametrize(
    "address",
    ["127.0.0.1", "10.1.2.3", "192.168.0.10", "172.16.5.4", "169.254.169.254", "::1",
     "fd00::1", "::ffff:127.0.0.1", "0.0.0.0", "100.64.0.1", "224.0.0.1"],
)  # fmt: skip
def test_private_and_loopback_addresses_are_refused(production, address):
    assert sending.address_allowed(address) is False


@pytest.mark.parametrize("address", ["93.184.216.34", "2606:2800:220:1:248:1893:25c8:1946"])
def test_public_addresses_are_allowed(production, address):
    assert sending.address_allowed(address) is True


def test_an_endpoint_on_this_machine_is_not_sent_to_when_private_addresses_are_refused(
    receiver, production
):
    delivery = pending_delivery(make_endpoint(the_team(), receiver.url))

    attempt = services.send_delivery(delivery.pk, now=NOON)

    assert receiver.received == []
    assert attempt.succeeded is False and "not public (127.0.0.1)" in attempt.error


def test_a_name_is_checked_by_what_it_resolves_to_at_delivery(receiver, production):
    url = receiver.url.replace("127.0.0.1", "localhost")
    delivery = pending_delivery(make_endpoint(the_team(), url))  # saved without the form

    attempt = services.send_delivery(delivery.pk, now=NOON)

    assert receiver.received == [] and "not public" in attempt.error


def test_the_same_endpoint_is_sent_to_where_private_addresses_are_allowed(receiver):
    delivery = pending_delivery(make_endpoint(the_team(), receiver.url))
    assert services.send_delivery(delivery.pk, now=NOON).succeeded is True
    assert len(receiver.received) == 1


@pytest.mark.parametrize(
    "url",
    ["ftp://example.org/hook", "file:///etc/passwd", "http://127.0.0.1:8000/admin/",
     "http://localhost/hook", "https://10.0.0.5/hook", "http://[::1]/hook",
     "https://user:pass@example.org/hook", "http://metadata.internal/"],
)  # fmt: skip
def test_the_form_refuses_urls_that_are_not_public_http(production, url):
    form = EndpointForm({"url": url, "events": ["call.recorded"]}, creating=True)
    assert not form.is_valid()
    assert "url" in form.errors


def test_the_form_takes_a_public_https_url(production):
    form = EndpointForm(
        {"url": "https://crm.example.org/ringround", "events": ["call.recorded"]}, creating=True
    )
    assert form.is_valid(), form.errors


def test_the_page_refuses_a_private_url_and_stores_nothing(production):
    organiser = make_organiser()
    client = Client()
    client.force_login(organiser)
    team = organiser.team_memberships.get().team

    response = client.post(
        f"/accounts/teams/{team.public_id}/webhooks/",
        {"url": "http://192.168.1.1/", "events": ["call.recorded"]},
    )

    assert response.status_code == 400 and "private network" in response.content.decode()
    assert not Endpoint.objects.exists()
