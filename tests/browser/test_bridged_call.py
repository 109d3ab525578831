"""A bridged call from the volunteer's card, in Chromium on a phone, against the fake provider
running in real time over real HTTP (its callbacks reach the live server signed): join the
line, answer, press Call, talk, hang up, save; no number on the page at any point."""

import os

import pytest
from playwright.sync_api import expect

from ringround.contacts.phones import display
from ringround.telephony import services
from ringround.telephony.fake import Behaviour, FakeProvider
from tests.factories import make_volunteer, open_campaign, organiser_of
from tests.telephony.bridge import TOKEN_VARIABLE, bridge_line

pytestmark = pytest.mark.browser
PASSWORD = "correct horse battery"
VOLUNTEER_PHONE = "+441134960590"


@pytest.fixture
def fake(monkeypatch, settings, live_server):
    fake = FakeProvider()
    fake.start()
    monkeypatch.setenv(TOKEN_VARIABLE, fake.auth_token)
    settings.RINGROUND_SITE_URL = live_server.url
    settings.RINGROUND_TELEPHONY_ALLOW_PRIVATE = True
    fake.run_in_real_time()
    yield fake
    fake.stop()


@pytest.fixture
def campaign(db, fake):
    campaign = open_campaign(targets=1, name="Evening phone bank")
    bridge_line(campaign.team, fake, by=organiser_of(campaign))
    services.set_dialing(campaign, connected=True, mode="preview")
    make_volunteer(campaign, email="vera@example.org", name="Vera Volunteer")
    fake.behave(VOLUNTEER_PHONE, Behaviour(answer="human", ring_seconds=1, talk_seconds=3600))
    target = campaign.targets.get()
    fake.behave(target.phone, Behaviour(answer="human", ring_seconds=1, talk_seconds=600))
    return campaign


def test_a_volunteer_calls_through_the_line_from_the_card(
    phone_page, live_server, campaign, artefacts_dir
):
    page = phone_page
    contact_phone = campaign.targets.get().phone
    page.goto(f"{live_server.url}/accounts/login/?next=/call/{campaign.public_id}/")
    page.get_by_label("Email").fill("vera@example.org")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.get_by_role("button", name="Start calling").click()
    expect(page.locator("#contact-name")).to_be_visible()
    page.get_by_label("Your phone number").fill("0113 496 0590")
    page.get_by_role("button", name="Ring me to start").click()
    expect(page.get_by_role("button", name="📞 Call")).to_be_visible(timeout=10_000)
    page.screenshot(path=os.path.join(artefacts_dir, "bridged-card-on-the-line-phone.png"))
    page.get_by_role("button", name="📞 Call").click()
    expect(page.locator(".line-status")).to_contain_text("Connected since", timeout=10_000)
    page.screenshot(path=os.path.join(artefacts_dir, "bridged-card-connected-phone.png"))
    page.get_by_role("button", name="Hang up").click()
    expect(page.locator(".line-status")).to_contain_text(
        "Record what happened below", timeout=10_000
    )
    expect(page.locator(".line-status")).to_contain_text("s connected")
    html = page.content()
    for shown in (contact_phone, display(contact_phone), VOLUNTEER_PHONE, "0113 496 0590"):
        assert shown not in html.replace('value="0113 496 0590"', "")
    page.get_by_label("Answered").check()
    page.get_by_role("button", name="Save and next").click()
    expect(page.get_by_text("Saved")).to_be_visible()
    page.go_back()
    expect(page.locator("body")).not_to_contain_text(display(contact_phone))


def test_organisers_set_up_the_line_and_see_the_record(
    laptop_page, live_server, campaign, artefacts_dir
):
    page = laptop_page
    organiser = organiser_of(campaign)
    page.goto(f"{live_server.url}/accounts/login/?next=/campaigns/{campaign.public_id}/dialing/")
    page.get_by_label("Email").fill(organiser.email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("heading", name="Ofcom's rules, last 24 hours")).to_be_visible()
    page.get_by_label("Power: the next person is dialed as soon as the volunteer finishes").check()
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_text("Dialing saved.")).to_be_visible()
    page.screenshot(path=os.path.join(artefacts_dir, "dialing-laptop.png"), full_page=True)
    page.goto(f"{live_server.url}/accounts/teams/{campaign.team.public_id}/line/")
    expect(page.get_by_role("heading", name="When people ring back")).to_be_visible()
    page.screenshot(path=os.path.join(artefacts_dir, "team-line-laptop.png"), full_page=True)
