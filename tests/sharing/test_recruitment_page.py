"""The public recruitment page: what a newcomer sees, its link previews (Open Graph and
Twitter cards), and that anonymous visitors are served it from the cache."""

import re
from html.parser import HTMLParser
from urllib.parse import urlparse

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from ringround.calling.models import CallTally
from ringround.campaigns.models import Campaign
from ringround.sharing import services
from tests.factories import make_campaign, make_organiser, make_team, organiser_of
from tests.phonebanks.factories import make_session
from tests.sharing.helpers import png_upload, published_campaign

pytestmark = pytest.mark.django_db


class Meta(HTMLParser):
    def __init__(self):
        super().__init__()
        self.tags = {}

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "meta":
            name = attrs.get("property") or attrs.get("name")
            if name:
                self.tags[name] = attrs.get("content")


def meta_of(html: str) -> dict:
    parser = Meta()
    parser.feed(html)
    return parser.tags


def page_url(campaign):
    return reverse("sharing:page", args=[campaign.public_id])


def test_published_page_shows_the_campaign_sessions_counter_and_a_join_form():
    campaign, _ = published_campaign()
    make_session(campaign)
    CallTally.objects.create(
        campaign=campaign, hour=timezone.now(), outcome=campaign.outcomes.first(), calls=7
    )
    response = Client().get(page_url(campaign))
    html = response.content.decode()
    assert response.status_code == 200
    assert "Phone members tonight" in html and "every member before the ballot" in html
    assert "How calling works" in html and "Call together" in html
    assert 'action="/join/' in html and 'name="password"' in html
    assert re.search(r"<b>\d+</b>calls? this week", html)


def test_open_graph_and_twitter_card_tags_are_present_and_valid():
    campaign, _ = published_campaign()
    client = Client()
    html = client.get(page_url(campaign)).content.decode()
    tags = meta_of(html)
    for name in (
        "og:title",
        "og:description",
        "og:url",
        "og:image",
        "og:type",
        "twitter:card",
        "twitter:title",
        "twitter:image",
    ):
        assert tags.get(name), f"{name} missing"
    assert tags["og:title"] == "Phone members tonight"
    assert tags["twitter:card"] == "summary_large_image"
    for name in ("og:url", "og:image", "twitter:image"):
        assert urlparse(tags[name]).scheme in ("http", "https"), f"{name} is not absolute"
    assert urlparse(tags["og:url"]).path == page_url(campaign)
    assert int(tags["og:image:width"]) >= 600 and int(tags["og:image:height"]) >= 315


def test_the_preview_image_is_the_newest_kit_picture_and_is_served():
    campaign, organiser = published_campaign()
    kit = services.create_kit(
        campaign, title="Ballot night", message="Come and phone", image=png_upload(), by=organiser
    )
    tags = meta_of(Client().get(page_url(campaign)).content.decode())
    image_path = urlparse(tags["og:image"]).path
    assert image_path == reverse("sharing:image", args=[kit.image])
    served = Client().get(image_path)
    assert served.status_code == 200 and served["Content-Type"] == "image/jpeg"
    assert int(tags["og:image:width"]) == kit.image_width


def test_second_anonymous_request_is_served_without_a_database_query(django_assert_num_queries):
    campaign, _ = published_campaign()
    first = Client().get(page_url(campaign))
    assert first.status_code == 200
    with django_assert_num_queries(0):
        second = Client().get(page_url(campaign))
    assert second.status_code == 200
    assert second.content == first.content
    assert "public" in second["Cache-Control"] and "max-age=60" in second["Cache-Control"]


def test_the_cached_page_carries_nobodys_csrf_token_or_cookie():
    campaign, _ = published_campaign()
    response = Client().get(page_url(campaign))
    assert "csrfmiddlewaretoken" not in response.content.decode()
    assert "csrftoken" not in response.cookies and "sessionid" not in response.cookies
    # A proxy must not serve this copy to someone signed in, who is shown a join button.
    assert "Cookie" in response.get("Vary", "")


def test_figures_on_the_cached_page_are_those_of_when_it_was_cached_until_it_ends():
    from django.core.cache import cache

    campaign, _ = published_campaign()
    client = Client()
    assert "<b>0</b>calls this week" in client.get(page_url(campaign)).content.decode()
    CallTally.objects.create(
        campaign=campaign, hour=timezone.now(), outcome=campaign.outcomes.first(), calls=5
    )
    assert "<b>0</b>calls this week" in client.get(page_url(campaign)).content.decode()
    cache.clear()  # what a minute passing does to the cached page and its figures
    assert "<b>5</b>calls this week" in client.get(page_url(campaign)).content.decode()


def test_saving_the_page_takes_it_out_of_the_cache_at_once():
    campaign, organiser = published_campaign()
    client = Client()
    assert client.get(page_url(campaign)).status_code == 200
    services.save_page(campaign, by=organiser, published=False)
    assert client.get(page_url(campaign)).status_code == 404


def test_unpublished_draft_and_finished_campaigns_have_no_public_page():
    unpublished = make_campaign()
    assert Client().get(page_url(unpublished)).status_code == 404
    campaign, _ = published_campaign()
    for status in (Campaign.Status.DRAFT, Campaign.Status.FINISHED):
        Campaign.objects.filter(pk=campaign.pk).update(status=status)
        services.forget_page(campaign)
        assert Client().get(page_url(campaign)).status_code == 404


def test_an_organiser_previews_their_unpublished_page_and_another_team_cannot():
    campaign = make_campaign()
    client = Client()
    client.force_login(organiser_of(campaign))
    response = client.get(page_url(campaign))
    assert response.status_code == 200 and "Preview." in response.content.decode()
    client.force_login(make_organiser(make_team()))
    assert client.get(page_url(campaign)).status_code == 404


def test_a_wrong_campaign_id_is_a_404():
    assert Client().get("/join/nosuchcampaign/").status_code == 404


def test_the_page_sums_its_figures_when_rendered_not_from_an_older_cached_sum():
    from ringround.sharing import momentum

    campaign, _ = published_campaign()
    assert momentum.counter(campaign)["week"] == 0  # a volunteer's page cached the sum
    CallTally.objects.create(
        campaign=campaign, hour=timezone.now(), outcome=campaign.outcomes.first(), calls=5
    )
    assert "<b>5</b>calls this week" in Client().get(page_url(campaign)).content.decode()
