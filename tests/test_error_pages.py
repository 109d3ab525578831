"""With DEBUG off a person who meets an error sees a Ringround page, sized for a phone, saying
what happened and with a way back, and the right status code, instead of Django's unstyled
defaults."""

import pytest
from django.test import Client, RequestFactory

from ringround import views
from tests.factories import UserFactory, make_organiser

pytestmark = pytest.mark.django_db


def assert_our_page(response, status, heading):
    html = response.content.decode()
    assert response.status_code == status
    assert '<meta name="viewport" content="width=device-width, initial-scale=1">' in html
    assert "/static/ringround/site.css" in html
    assert heading in html
    assert 'class="button" href="/">Go to the start page</a>' in html


@pytest.fixture(autouse=True)
def _debug_off(settings):
    settings.DEBUG = False


def test_an_unknown_address_is_our_404(client):
    assert_our_page(client.get("/no-such-page/"), 404, "Page not found")


def test_a_404_says_what_is_missing_when_the_view_said(client):
    client.force_login(make_organiser())
    response = client.get("/contacts/imports/nope/")
    assert_our_page(response, 404, "Page not found")
    assert "No such import." in response.content.decode()
    assert 'aria-label="Main"' in response.content.decode()  # the navigation, logged in


def test_a_forbidden_page_is_our_403_with_the_reason(client):
    client.force_login(UserFactory())  # a volunteer, not an organiser
    response = client.get("/campaigns/")
    assert_our_page(response, 403, "You can’t open this page")
    assert "Only organisers can do this." in response.content.decode()


def test_a_request_for_a_host_not_allowed_is_our_400(client):
    response = client.get("/accounts/login/", headers={"host": "evil.example"})
    assert_our_page(response, 400, "Ringround could not understand that request")


def test_an_expired_form_is_our_csrf_page():
    response = Client(enforce_csrf_checks=True).post("/accounts/login/", {"username": "x"})
    assert_our_page(response, 403, "That form had expired")


def test_a_fault_is_our_500(settings):
    settings.ROOT_URLCONF = "tests.error_urls"
    response = Client(raise_request_exception=False).get("/fails/")
    assert_our_page(response, 500, "Something went wrong on our side")


def test_the_500_page_needs_no_database(django_assert_num_queries):
    with django_assert_num_queries(0):
        response = views.server_error(RequestFactory().get("/"))
    assert response.status_code == 500 and b"Something went wrong" in response.content
