"""Clicks on tracked links: people counted once a day each, previewers and robots never,
attributed to the sharer, and no visitor's address stored."""

import datetime as dt

import pytest
from django.db import connection
from django.test import Client, RequestFactory
from django.urls import reverse

from ringround.sharing import services
from ringround.sharing.models import Click, TrackedLink
from tests.factories import make_volunteer
from tests.sharing.helpers import published_campaign

pytestmark = pytest.mark.django_db
PHONE = (
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 Chrome/126.0 Mobile Safari/537.36"
)
ADDRESS = "203.0.113.77"


def follow(link, agent=PHONE, address=ADDRESS, method="get"):
    return getattr(Client(), method)(
        reverse("sharing:follow", args=[link.code]), HTTP_USER_AGENT=agent, REMOTE_ADDR=address
    )


@pytest.fixture
def link():
    campaign, _ = published_campaign()
    return services.link_for(campaign, make_volunteer(campaign))


def clicks(link):
    return services.clicks_by_link([TrackedLink.objects.get(pk=link.pk)])[link.pk]


def test_a_person_is_counted_once_a_day_and_sent_on(link):
    first = follow(link)
    assert first.status_code == 302 and first["Location"].startswith("/join/")
    follow(link)
    assert clicks(link) == 1
    follow(link, address="198.51.100.9")
    assert clicks(link) == 2


@pytest.mark.parametrize(
    "agent",
    [
        "facebookexternalhit/1.1",
        "WhatsApp/2.23.20.0 A",
        "TelegramBot (like TwitterBot)",
        "Twitterbot/1.0",
        "Mozilla/5.0 (compatible; Cardyb/1.1; +mailto:support@bsky.app)",
        "",
    ],
)
def test_previewers_are_sent_on_but_never_counted(link, agent):
    assert follow(link, agent=agent).status_code == 302
    assert clicks(link) == 0 and not Click.objects.exists()


def test_a_head_request_is_not_a_click(link):
    assert follow(link, method="head").status_code == 302
    assert clicks(link) == 0


def test_no_address_is_stored_anywhere(link):
    follow(link)
    assert clicks(link) == 1
    tables = connection.introspection.table_names()
    with connection.cursor() as cursor:
        for table in tables:
            if not table.startswith("sharing_"):
                continue
            cursor.execute(f'SELECT * FROM "{table}"')
            for row in cursor.fetchall():
                assert not any(ADDRESS in str(value) for value in row), table


def test_the_visitor_hash_changes_every_day_and_hides_the_address(link):
    request = RequestFactory().get("/", HTTP_USER_AGENT=PHONE, REMOTE_ADDR=ADDRESS)
    monday, tuesday = dt.date(2027, 6, 7), dt.date(2027, 6, 8)
    assert services.visitor_hash(request, monday) == services.visitor_hash(request, monday)
    assert services.visitor_hash(request, monday) != services.visitor_hash(request, tuesday)
    assert ADDRESS not in services.visitor_hash(request, monday)


def test_the_same_visitor_counts_again_the_next_day_and_days_gone_roll_up(link):
    request = RequestFactory().get("/", HTTP_USER_AGENT=PHONE, REMOTE_ADDR=ADDRESS)
    day = dt.datetime(2027, 6, 7, 12, tzinfo=dt.UTC)
    assert services.count_click(link.pk, request, now=day)
    assert not services.count_click(link.pk, request, now=day + dt.timedelta(hours=2))
    assert services.count_click(link.pk, request, now=day + dt.timedelta(days=1))
    assert services.roll_up_clicks(now=day + dt.timedelta(days=1)) == 1
    assert TrackedLink.objects.get(pk=link.pk).clicks == 1
    assert services.roll_up_clicks(now=day + dt.timedelta(days=2)) == 1
    assert services.roll_up_clicks(now=day + dt.timedelta(days=2)) == 0
    assert TrackedLink.objects.get(pk=link.pk).clicks == 2
    assert not Click.objects.exists()


def test_an_unknown_code_is_a_404_and_counts_nothing(link):
    response = Client().get("/s/nosuchcode", HTTP_USER_AGENT=PHONE)
    assert response.status_code == 404
    assert clicks(link) == 0


def test_clicks_are_the_sharers_in_the_organisers_figures(link):
    follow(link)
    rows = services.volunteer_figures(link.campaign)
    assert [(r["user"], r["clicks"]) for r in rows] == [(link.volunteer, 1)]


@pytest.mark.postgres_only
def test_roll_ups_at_once_count_each_click_once():
    from tests.threads import run_at_once

    campaign, _ = published_campaign()
    link = services.link_for(campaign, make_volunteer(campaign))
    day = dt.datetime(2027, 6, 7, 12, tzinfo=dt.UTC)
    for n in range(30):
        request = RequestFactory().get("/", HTTP_USER_AGENT=f"{PHONE} {n}", REMOTE_ADDR=ADDRESS)
        assert services.count_click(link.pk, request, now=day)
    moved = run_at_once(8, lambda i: services.roll_up_clicks(now=day + dt.timedelta(days=1)))
    assert sum(moved) == 30
    assert TrackedLink.objects.get(pk=link.pk).clicks == 30
