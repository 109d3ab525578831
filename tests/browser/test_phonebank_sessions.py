"""Phone-bank sessions as people use them: an organiser schedules one, a volunteer sees it on
their campaign page and signs up, and the organiser sees them coming; on a phone and a laptop
each way round."""

import os

import pytest
from playwright.sync_api import expect

from tests.factories import make_campaign, make_organiser, make_volunteer

pytestmark = pytest.mark.browser


def log_in(page, url, email):
    page.goto(f"{url}/accounts/login/")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill("correct horse battery")
    page.get_by_role("button", name="Log in").click()


def schedule_sign_up_and_see_them_coming(organiser_page, volunteer_page, url, shots, label):
    organiser = make_organiser(email="olu@example.org", name="Olu Organiser")
    campaign = make_campaign(organiser, name="Leadership ballot")
    make_volunteer(campaign, email="aisha@example.org", name="Aisha Khan")

    log_in(organiser_page, url, "olu@example.org")
    organiser_page.goto(f"{url}/campaigns/{campaign.public_id}/")
    tabs = organiser_page.get_by_role("navigation", name="Campaign")
    tabs.get_by_role("link", name="Sessions").click()
    expect(organiser_page.get_by_role("heading", name="Schedule a session")).to_be_visible()
    organiser_page.get_by_label("Name (optional)").fill("Thursday phone bank")
    organiser_page.get_by_label("Starts").fill("2031-03-06T19:00")
    organiser_page.get_by_label("Ends").fill("2031-03-06T21:00")
    organiser_page.get_by_label("Places").fill("8")
    organiser_page.get_by_label("Video call or meeting link").fill("https://meet.example.org/thu")
    organiser_page.get_by_label("Host", exact=True).select_option(label="Olu Organiser")
    organiser_page.get_by_role("button", name="Schedule session").click()
    expect(organiser_page.get_by_text("Session “Thursday phone bank” scheduled.")).to_be_visible()
    expect(organiser_page.get_by_text("0 of 8 places taken")).to_be_visible()
    organiser_page.screenshot(
        path=os.path.join(shots, f"sessions-{label}-organiser-scheduled.png"), full_page=True
    )

    log_in(volunteer_page, url, "aisha@example.org")
    volunteer_page.goto(f"{url}/call/{campaign.public_id}/")
    sessions = volunteer_page.get_by_role("region", name="Call together")
    expect(sessions.get_by_text("Thursday phone bank")).to_be_visible()
    expect(sessions.get_by_text("Host: Olu Organiser")).to_be_visible()
    volunteer_page.screenshot(
        path=os.path.join(shots, f"sessions-{label}-volunteer-brief.png"), full_page=True
    )
    sessions.get_by_role("button", name="Sign up to Thursday phone bank").click()
    expect(volunteer_page.get_by_text("You are signed up to Thursday phone bank.")).to_be_visible()
    expect(sessions.get_by_text("You are coming.")).to_be_visible()
    volunteer_page.screenshot(
        path=os.path.join(shots, f"sessions-{label}-volunteer-signed-up.png"), full_page=True
    )

    organiser_page.reload()
    expect(organiser_page.get_by_text("1 of 8 places taken")).to_be_visible()
    organiser_page.get_by_role("link", name="Thursday phone bank").click()
    expect(organiser_page.get_by_role("heading", name="Who is coming (1 of 8)")).to_be_visible()
    expect(organiser_page.get_by_role("listitem").filter(has_text="Aisha Khan")).to_be_visible()
    expect(organiser_page.get_by_text("aisha@example.org")).to_have_count(0)
    organiser_page.screenshot(
        path=os.path.join(shots, f"sessions-{label}-organiser-coming.png"), full_page=True
    )


def test_organiser_on_a_laptop_volunteer_on_a_phone(
    laptop_page, phone_page, live_server, artefacts_dir, db
):
    schedule_sign_up_and_see_them_coming(
        laptop_page, phone_page, live_server.url, artefacts_dir, "laptop-phone"
    )


def test_organiser_on_a_phone_volunteer_on_a_laptop(
    phone_page, laptop_page, live_server, artefacts_dir, db
):
    schedule_sign_up_and_see_them_coming(
        phone_page, laptop_page, live_server.url, artefacts_dir, "phone-laptop"
    )
