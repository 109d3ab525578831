"""The social side as people meet it on a phone (390×844): a newcomer follows a volunteer's
link to the recruitment page and signs up; the volunteer sees them counted and shares a kit;
badges appear after calls. Screenshots go to the artefacts folder (``sharing-*.png``)."""

import os
import re

import pytest
from playwright.sync_api import expect

from ringround.sharing import services
from ringround.sharing.models import Share, TrackedLink
from tests.factories import AT_ANY_HOUR, confirm_link, make_campaign, make_organiser, make_volunteer
from tests.sharing.helpers import png_upload

pytestmark = pytest.mark.browser


def log_in(page, url, email):
    page.goto(f"{url}/accounts/login/")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill("correct horse battery")
    page.get_by_role("button", name="Log in").click()


def a_campaign_with_a_page_and_a_kit():
    organiser = make_organiser(email="olu@example.org", name="Olu Organiser")
    campaign = make_campaign(organiser, name="Leadership ballot", targets=3, **AT_ANY_HOUR)
    services.save_page(
        campaign,
        by=organiser,
        published=True,
        headline="Phone members for the ballot",
        about="Every member deserves a call before the ballot closes.",
    )
    services.create_kit(
        campaign,
        title="Ballot night",
        message="I'm phoning members tonight, join me!",
        image=png_upload((1600, 840), name="night.jpg", mode="RGB"),
        by=organiser,
    )
    vera = make_volunteer(campaign, email="vera@example.org", name="Vera Stone")
    return campaign, organiser, vera


def test_a_newcomer_on_a_phone_follows_a_link_signs_up_and_is_counted(
    phone_page, live_server, artefacts_dir, db
):
    campaign, _, vera = a_campaign_with_a_page_and_a_kit()
    link = services.link_for(campaign, vera)
    url = live_server.url
    page = phone_page
    page.goto(f"{url}/s/{link.code}")
    expect(page).to_have_url(re.compile(rf"/join/{campaign.public_id}/$"))
    expect(page.get_by_role("heading", name="Phone members for the ballot")).to_be_visible()
    expect(page.get_by_text("How calling works")).to_be_visible()
    assert page.locator('meta[property="og:image"]').get_attribute("content").startswith("http")
    page.screenshot(
        path=os.path.join(artefacts_dir, "sharing-phone-recruitment-page.png"), full_page=True
    )
    page.get_by_label("Your name").fill("Rosa Recruit")
    page.get_by_label("Email").fill("rosa@example.org")
    page.get_by_label("Password").fill("a long enough passphrase")
    page.get_by_role("button", name="Sign up and join").click()
    expect(page.get_by_text("Check your email")).to_be_visible()
    page.goto(url + confirm_link("rosa@example.org"))
    page.get_by_role("button").filter(has_text=re.compile("Confirm")).first.click()
    assert page.console_errors == []

    volunteer = page.context.browser.new_context(
        viewport={"width": 390, "height": 844}, locale="en-GB"
    ).new_page()
    log_in(volunteer, url, "vera@example.org")
    volunteer.goto(f"{url}/call/{campaign.public_id}/share/")
    expect(volunteer.locator(".recruits-joined b")).to_have_text("1")
    volunteer.screenshot(
        path=os.path.join(artefacts_dir, "sharing-phone-volunteer-recruits.png"), full_page=True
    )
    volunteer.context.close()


def test_a_volunteer_on_a_phone_shares_a_kit_in_one_tap(phone_page, live_server, artefacts_dir, db):
    campaign, _, vera = a_campaign_with_a_page_and_a_kit()
    url = live_server.url
    page = phone_page
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    log_in(page, url, "vera@example.org")
    page.goto(f"{url}/call/{campaign.public_id}/")
    page.get_by_role("link", name="Invite friends and see your badges").click()
    kit = page.get_by_role("region", name="Ballot night")
    expect(kit.get_by_role("img")).to_be_visible()
    whatsapp = kit.get_by_role("link", name="Share Ballot night on WhatsApp")
    expect(whatsapp).to_be_visible()
    box = whatsapp.bounding_box()
    assert box["height"] >= 44, box
    page.screenshot(path=os.path.join(artefacts_dir, "sharing-phone-share-kit.png"), full_page=True)
    kit.get_by_role("button", name="Copy Ballot night").click()
    expect(kit.get_by_role("button", name="Copy Ballot night")).to_have_text(
        re.compile("Cop|Selected")
    )
    link = TrackedLink.objects.get(volunteer=vera, kit__isnull=False)
    for _ in range(50):
        if Share.objects.filter(link=link, network="copy").exists():
            break
        page.wait_for_timeout(100)
    assert Share.objects.filter(link=link, network="copy").count() == 1
    href = whatsapp.get_attribute("href")
    assert href.endswith(f"/s/{link.code}/share/whatsapp")
    assert page.console_errors == []


def test_badges_appear_after_a_call_on_a_phone(phone_page, live_server, artefacts_dir, db):
    campaign, _, vera = a_campaign_with_a_page_and_a_kit()
    url = live_server.url
    page = phone_page
    log_in(page, url, "vera@example.org")
    page.goto(f"{url}/call/{campaign.public_id}/")
    page.get_by_role("button", name="Start calling").click()
    expect(page.get_by_text("They would like to help? Invite them")).to_be_visible()
    page.screenshot(
        path=os.path.join(artefacts_dir, "sharing-phone-card-momentum.png"), full_page=True
    )
    page.get_by_label("Answered").check()
    page.get_by_role("button", name="Save and finish").click()
    badges = page.get_by_role("region", name="Together")
    expect(badges.get_by_text("First call", exact=True)).to_be_visible()
    expect(badges.get_by_text("First conversation")).to_be_visible()
    page.screenshot(path=os.path.join(artefacts_dir, "sharing-phone-badges.png"), full_page=True)
    page.get_by_role("link", name="Invite friends and see your badges").click()
    expect(
        page.get_by_role("region", name="Your badges").get_by_text("First call", exact=True)
    ).to_be_visible()
    expect(page.get_by_role("region", name="Leaderboard by conversations")).to_contain_text(
        "Vera Stone"
    )
    page.screenshot(
        path=os.path.join(artefacts_dir, "sharing-phone-badges-page.png"), full_page=True
    )
    assert page.console_errors == []


def test_the_organiser_sees_sharing_on_a_laptop(laptop_page, live_server, artefacts_dir, db):
    campaign, organiser, vera = a_campaign_with_a_page_and_a_kit()
    rosa = make_volunteer(campaign, name="Rosa Recruit")
    services.record_referral(campaign, rosa, services.link_for(campaign, vera).code)
    page = laptop_page
    log_in(page, live_server.url, "olu@example.org")
    page.goto(f"{live_server.url}/campaigns/{campaign.public_id}/")
    page.get_by_role("navigation", name="Campaign").get_by_role("link", name="Sharing").click()
    expect(page.get_by_role("heading", name="Recruitment page")).to_be_visible()
    expect(page.get_by_role("region", name="Top recruiters")).to_contain_text(
        "Vera Stone: 1 joined"
    )
    page.get_by_label("Title").fill("Debate night")
    page.get_by_label("Message").fill("Watch the debate, then phone with us")
    page.get_by_role("button", name="Make the kit").click()
    expect(page.get_by_text("Share kit ready")).to_be_visible()
    page.screenshot(
        path=os.path.join(artefacts_dir, "sharing-laptop-organiser.png"), full_page=True
    )
    page.get_by_role("link", name="See who brought whom").click()
    expect(page.locator(".tree .tree .tree-person")).to_have_text("Rosa Recruit")
    page.screenshot(path=os.path.join(artefacts_dir, "sharing-laptop-recruits.png"), full_page=True)
    assert page.console_errors == []
