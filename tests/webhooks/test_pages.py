"""The team's webhooks pages: its organisers and team admins add, change and delete endpoints
and read each one's delivery log; another team's organiser finds none of it (404) and can
change nothing."""

import pytest
from django.test import Client

from ringround.accounts.models import TeamMember
from ringround.webhooks import services
from ringround.webhooks.models import Delivery, Endpoint
from tests.factories import make_organiser, make_team

from .factories import NOON, make_endpoint, pending_delivery

pytestmark = pytest.mark.django_db


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def base(team) -> str:
    return f"/accounts/teams/{team.public_id}/webhooks/"


@pytest.fixture
def team_and_organiser():
    organiser = make_organiser()
    return organiser.team_memberships.get().team, organiser


def test_the_secret_is_shown_once_when_the_endpoint_is_added(team_and_organiser):
    team, organiser = team_and_organiser
    client = signed_in(organiser)

    added = client.post(
        base(team),
        {"url": "https://crm.example.org/in", "events": ["call.recorded", "import.finished"]},
    )

    endpoint = Endpoint.objects.get()
    assert added.status_code == 200 and endpoint.secret in added.content.decode()
    assert "no-store" in added["Cache-Control"]
    assert endpoint.events == ["call.recorded", "import.finished"]
    assert endpoint.created_by == organiser
    for page in (base(team), f"{base(team)}{endpoint.public_id}/"):
        assert endpoint.secret not in client.get(page).content.decode()
    rolled = client.post(f"{base(team)}{endpoint.public_id}/secret/")
    endpoint.refresh_from_db()
    assert (
        endpoint.secret in rolled.content.decode() and "stopped working" in rolled.content.decode()
    )


def test_a_team_admin_changes_an_endpoint_and_deletes_it(team_and_organiser):
    team, _ = team_and_organiser
    admin = make_organiser(team, role=TeamMember.Role.ADMIN)
    endpoint = make_endpoint(team, "https://crm.example.org/in")
    client = signed_in(admin)
    page = f"{base(team)}{endpoint.public_id}/"

    changed = client.post(
        page, {"url": "https://crm.example.org/v2", "events": ["volunteer.joined"]}
    )

    assert changed.status_code == 302
    endpoint.refresh_from_db()
    assert (endpoint.url, endpoint.events, endpoint.active) == (
        "https://crm.example.org/v2",
        ["volunteer.joined"],
        False,  # the box was left unticked
    )
    assert "Delete this endpoint?" in client.get(f"{page}delete/").content.decode()
    assert client.post(f"{page}delete/").status_code == 302
    assert not Endpoint.objects.exists()


def test_the_delivery_log_shows_status_response_time_and_the_body(receiver, team_and_organiser):
    team, organiser = team_and_organiser
    receiver.answers = [502]
    endpoint = make_endpoint(team, receiver.url)
    delivery = pending_delivery(endpoint)
    attempt = services.send_delivery(delivery.pk, now=NOON)
    client = signed_in(organiser)

    log = client.get(f"{base(team)}{endpoint.public_id}/").content.decode()
    detail = client.get(
        f"{base(team)}{endpoint.public_id}/deliveries/{delivery.public_id}/"
    ).content.decode()

    assert "Will retry" in log and "HTTP 502" in log
    assert f"{attempt.duration_ms} ms" in log and f"{attempt.duration_ms} ms" in detail
    assert "Attempt 1" in detail and "HTTP 502" in detail
    assert "&quot;type&quot;:&quot;ping&quot;" in detail


def test_the_team_page_links_to_its_webhooks(team_and_organiser):
    team, organiser = team_and_organiser
    page = signed_in(organiser).get(f"/accounts/teams/{team.public_id}/")
    assert f'href="{base(team)}"' in page.content.decode()


def test_another_teams_organiser_can_neither_see_nor_change_anything(receiver, team_and_organiser):
    team, _ = team_and_organiser
    endpoint = make_endpoint(team, receiver.url)
    delivery = pending_delivery(endpoint)
    services.send_delivery(delivery.pk, now=NOON)
    outsider = signed_in(make_organiser(make_team()))
    page = f"{base(team)}{endpoint.public_id}/"
    delivery_page = f"{page}deliveries/{delivery.public_id}/"

    for url in (base(team), page, f"{page}delete/", delivery_page):
        assert outsider.get(url).status_code == 404, url
    posts = {
        base(team): {"url": "https://evil.example/", "events": ["call.recorded"]},
        page: {"url": "https://evil.example/", "events": ["call.recorded"], "active": "on"},
        f"{page}delete/": {},
        f"{page}secret/": {},
        f"{page}test/": {},
        f"{delivery_page}replay/": {},
    }
    for url, data in posts.items():
        response = outsider.post(url, data)
        assert response.status_code == 404, url
        assert endpoint.secret not in response.content.decode()

    assert list(Endpoint.objects.values_list("url", flat=True)) == [receiver.url]
    assert Endpoint.objects.get().secret == endpoint.secret
    assert Delivery.objects.count() == 1 and Delivery.objects.get().attempts == 1
    assert len(receiver.received) == 1


def test_an_endpoint_of_another_team_is_not_found_under_ones_own_team(team_and_organiser):
    team, organiser = team_and_organiser
    theirs = make_endpoint(make_team(), "https://other.example.org/in")
    response = signed_in(organiser).get(f"{base(team)}{theirs.public_id}/")
    assert response.status_code == 404
