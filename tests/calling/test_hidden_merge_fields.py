"""A field a campaign hides from its volunteers is blank in the script on their cards too (the
script could otherwise show an email or a number the card itself hides), and the script editor
says which merge fields it leaves blank."""

import pytest
from django.urls import reverse

from ringround.calling import rules
from ringround.calling import services as calling_services
from ringround.contacts.models import Contact
from tests.factories import AT_ANY_HOUR, make_campaign, make_organiser, make_volunteer

pytestmark = pytest.mark.django_db
SCRIPT = "Hi {{ first_name }} ({{ full_name }}), is {{ email }} or {{ phone }} right? {{ ward }}"


def campaign_hiding_email_and_phone(**fields):
    organiser = make_organiser()
    campaign = make_campaign(
        organiser,
        targets=1,
        script=SCRIPT,
        visible_fields=["first_name", "area"],
        **AT_ANY_HOUR,
        **fields,
    )
    Contact.objects.update(
        first_name="Sam",
        last_name="Secret",
        email="sam@example.org",
        custom_fields={"ward": "Holborn"},
    )
    return organiser, campaign


def test_hidden_fields_are_blank_in_the_script_on_the_card():
    _organiser, campaign = campaign_hiding_email_and_phone()
    volunteer = make_volunteer(campaign)
    lease = rules.claim_next(campaign, volunteer)

    card = calling_services.contact_card(lease, viewer=volunteer)

    html = card["script_html"]
    assert "Hi Sam" in html and "Holborn" in html
    assert "sam@example.org" not in html and lease.contact.phone not in html
    assert "Secret" not in html, "full name needs the last name, which is hidden"
    assert card["phone"] == ""


def test_a_campaign_showing_every_field_fills_them_all_in():
    _organiser, campaign = campaign_hiding_email_and_phone()
    campaign.visible_fields = ["first_name", "last_name", "email", "phone"]
    campaign.save()
    volunteer = make_volunteer(campaign)
    lease = rules.claim_next(campaign, volunteer)

    html = calling_services.contact_card(lease, viewer=volunteer)["script_html"]

    assert "Sam Secret" in html and "sam@example.org" in html and lease.contact.phone in html


def test_the_script_editor_says_which_merge_fields_stay_blank(client):
    organiser, campaign = campaign_hiding_email_and_phone()
    client.force_login(organiser)

    page = client.get(reverse("campaigns:script", args=[campaign.public_id])).content.decode()

    assert "hides" in page
    for name in ("email", "phone", "full_name"):
        assert f"{{{{ {name} }}}}</code>" in page
    preview = client.post(
        reverse("campaigns:script_preview", args=[campaign.public_id]), {"script": SCRIPT}
    ).content.decode()
    assert "alex@example.org" not in preview and "Alex" in preview
