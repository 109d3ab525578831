"""A phone bank's room in Chromium: the organiser's message arrives on a volunteer's card by
itself, and the volunteer's "I need help" arrives on the organiser's page."""

import os

import pytest
from playwright.sync_api import expect

from ringround.calling import rules
from tests.factories import make_volunteer, open_campaign, organiser_of

pytestmark = pytest.mark.browser
PASSWORD = "correct horse battery"


@pytest.fixture
def campaign(db):
    campaign = open_campaign(targets=3, name="Evening phone bank")
    volunteer = make_volunteer(campaign, email="vera@example.org", name="Vera Volunteer")
    rules.claim_next(campaign, volunteer)
    return campaign


def sign_in(page, live_server, email, next_path):
    page.goto(f"{live_server.url}/accounts/login/?next={next_path}")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()


def test_a_message_and_a_call_for_help_cross_the_room(
    phone_page, laptop_page, live_server, campaign, artefacts_dir
):
    volunteer, organiser = phone_page, laptop_page
    sign_in(volunteer, live_server, "vera@example.org", f"/call/{campaign.public_id}/card/")
    expect(volunteer.locator("#contact-name")).to_be_visible()
    sign_in(
        organiser,
        live_server,
        organiser_of(campaign).email,
        f"/call/{campaign.public_id}/room/organisers/",
    )
    organiser.get_by_role("textbox", name="Message").fill("Pizza is here: take a break at 8")
    organiser.get_by_role("button", name="Send to everyone calling").click()
    expect(organiser.get_by_text("Sent: it shows on every card within seconds.")).to_be_visible()

    # The card polls every 10 s: the message arrives without reloading.
    expect(volunteer.get_by_text("Pizza is here: take a break at 8")).to_be_visible(timeout=15_000)
    volunteer.get_by_role("button", name="I need help").click()
    expect(volunteer.get_by_text("an organiser will be with you soon")).to_be_visible()
    volunteer.screenshot(path=os.path.join(artefacts_dir, "room-card-phone.png"))

    organiser.reload()
    expect(organiser.get_by_role("heading", name="Asking for help (1)")).to_be_visible()
    expect(organiser.get_by_text("Vera Volunteer").first).to_be_visible()
    organiser.screenshot(
        path=os.path.join(artefacts_dir, "room-organiser-laptop.png"), full_page=True
    )
    organiser.get_by_role("button", name="Helped").click()
    expect(organiser.get_by_role("heading", name="Asking for help (0)")).to_be_visible()
