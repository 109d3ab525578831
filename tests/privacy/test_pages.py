"""The admin pages for data-protection requests: admins only, and forged or malformed input
gets a clear error and changes nothing."""

import json

import pytest
from django.urls import reverse

from ringround.audit.models import AuditEvent
from ringround.contacts.models import Contact, Suppression
from ringround.privacy import services
from tests.factories import make_organiser, organiser_of

pytestmark = pytest.mark.django_db


def pages(world):
    public_id = world.person.public_id
    return [
        ("get", reverse("privacy:search"), {}),
        ("post", reverse("privacy:search"), {"query": world.person.phone}),
        ("post", reverse("privacy:subject_access", args=[public_id]), {}),
        ("get", reverse("privacy:erase", args=[public_id]), {}),
        ("post", reverse("privacy:erase", args=[public_id]), {"confirm": "on"}),
        ("post", reverse("privacy:object"), {"phone": world.person.phone}),
    ]


def test_strangers_are_sent_to_log_in(client, world):
    for method, url, data in pages(world):
        response = getattr(client, method)(url, data)
        assert response.status_code == 302 and "/accounts/login/" in response["Location"]


@pytest.mark.parametrize("role", ["organiser", "volunteer"])
def test_everyone_but_admins_is_refused(client, world, role):
    user = organiser_of(world.campaign) if role == "organiser" else world.volunteer
    client.force_login(user)
    for method, url, data in pages(world):
        assert getattr(client, method)(url, data).status_code == 403, url
    assert not services.is_erased(Contact.objects.get(pk=world.person.pk))
    assert not Suppression.objects.filter(phone=world.person.phone).exists()
    assert not AuditEvent.objects.filter(action__startswith="privacy.").exists()


def test_staff_without_superuser_is_refused(client, world):
    client.force_login(make_organiser(is_staff=True))
    assert client.get(reverse("privacy:search")).status_code == 403


def test_search_lists_matches_with_their_actions_and_is_audited(client, world):
    client.force_login(world.admin)
    response = client.post(reverse("privacy:search"), {"query": "0117 496 0123"})
    html = response.content.decode()
    assert response.status_code == 200
    assert "Sam Person" in html and "1 contact found" in html
    assert reverse("privacy:subject_access", args=[world.person.public_id]) in html
    assert reverse("privacy:erase", args=[world.person.public_id]) in html
    assert reverse("privacy:object") in html
    event = AuditEvent.objects.get(action="privacy.search")
    assert event.detail == {"by": "phone", "matches": [world.person.public_id]}


@pytest.mark.parametrize("query", ["", "not a number", "12", "sam@", "1e+10"])
def test_search_with_malformed_input_says_why(client, world, query):
    client.force_login(world.admin)
    response = client.post(reverse("privacy:search"), {"query": query})
    html = response.content.decode()
    assert response.status_code == 200
    assert 'class="errorlist' in html
    assert "Sam Person" not in html
    assert not AuditEvent.objects.filter(action="privacy.search").exists()


def test_search_for_a_number_nobody_holds_offers_to_suppress_it(client, world):
    client.force_login(world.admin)
    html = client.post(reverse("privacy:search"), {"query": "0121 496 0123"}).content.decode()
    assert "0 contacts found" in html and "Never call this number" in html


def test_download_is_a_json_attachment_and_audited(client, world):
    client.force_login(world.admin)
    response = client.post(reverse("privacy:subject_access", args=[world.person.public_id]))
    assert response.status_code == 200
    assert response["Content-Disposition"].startswith("attachment;")
    assert response["Cache-Control"] == "no-store"
    report = json.loads(response.content)
    assert report["contacts"][0]["contact"]["email"] == "Sam.Person@example.org"
    assert AuditEvent.objects.filter(
        action="privacy.subject_access", actor=world.admin, ip_address="127.0.0.1"
    ).exists()


def test_download_by_get_is_not_allowed(client, world):
    client.force_login(world.admin)
    url = reverse("privacy:subject_access", args=[world.person.public_id])
    assert client.get(url).status_code == 405
    assert not AuditEvent.objects.filter(action="privacy.subject_access").exists()


@pytest.mark.parametrize("name", ["privacy:subject_access", "privacy:erase"])
def test_unknown_contact_id_is_not_found(client, world, name):
    client.force_login(world.admin)
    for forged in ["nobody-here", str(world.person.pk), "' OR 1=1 --"]:
        assert client.post(reverse(name, args=[forged]), {"confirm": "on"}).status_code == 404
    assert not services.is_erased(Contact.objects.get(pk=world.person.pk))


def test_erase_asks_first_then_erases(client, world):
    client.force_login(world.admin)
    url = reverse("privacy:erase", args=[world.person.public_id])
    page = client.get(url).content.decode()
    assert "This cannot be undone" in page and "Sam Person" in page
    assert not services.is_erased(Contact.objects.get(pk=world.person.pk))

    response = client.post(url, {"confirm": "on"}, follow=True)
    assert response.redirect_chain[-1][0] == reverse("privacy:search")
    assert "erased" in response.content.decode()
    assert services.is_erased(Contact.objects.get(pk=world.person.pk))
    assert AuditEvent.objects.filter(action="privacy.erasure", actor=world.admin).exists()


@pytest.mark.parametrize("data", [{}, {"confirm": ""}, {"confirm": "false"}])
def test_erase_without_confirmation_changes_nothing(client, world, data):
    client.force_login(world.admin)
    before = list(Contact.objects.values())
    response = client.post(reverse("privacy:erase", args=[world.person.public_id]), data)
    assert response.status_code == 400
    assert "Tick the box to confirm the erasure." in response.content.decode()
    assert list(Contact.objects.values()) == before
    assert not AuditEvent.objects.filter(action="privacy.erasure").exists()


def test_erasing_an_erased_contact_says_so(client, world):
    services.erase_contact(world.person, by=world.admin)
    client.force_login(world.admin)
    response = client.post(
        reverse("privacy:erase", args=[world.person.public_id]), {"confirm": "on"}, follow=True
    )
    assert "already been erased" in response.content.decode()
    assert AuditEvent.objects.filter(action="privacy.erasure").count() == 1


def test_object_suppresses_the_number(client, world):
    client.force_login(world.admin)
    response = client.post(reverse("privacy:object"), {"phone": world.person.phone}, follow=True)
    assert "no campaign will call it again" in response.content.decode()
    assert Suppression.objects.get(phone=world.person.phone).reason == "requested"
    assert AuditEvent.objects.filter(action="privacy.objection", actor=world.admin).exists()


@pytest.mark.parametrize("phone", ["", "nonsense", "+1", "<script>"])
def test_object_with_a_malformed_number_changes_nothing(client, world, phone):
    client.force_login(world.admin)
    before = Suppression.objects.count()
    response = client.post(reverse("privacy:object"), {"phone": phone}, follow=True)
    html = response.content.decode()
    assert "not a valid phone number" in html or "This field is required" in html
    assert "<script>" not in html
    assert Suppression.objects.count() == before
