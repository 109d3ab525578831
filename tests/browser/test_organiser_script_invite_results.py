"""An organiser on a phone and at a laptop: a script that cannot break, an invite to copy and
scan, and results read at a glance."""

import datetime as dt
import os
import re

import pytest
from playwright.sync_api import expect

from ringround.campaigns import services as campaign_services
from ringround.campaigns.models import Campaign
from tests.factories import (
    ContactFactory,
    claim_and_record,
    make_campaign,
    make_organiser,
    make_volunteer,
)

pytestmark = pytest.mark.browser
NOON = dt.datetime(2027, 5, 4, 11, 0, tzinfo=dt.UTC)


@pytest.fixture(params=["phone", "laptop"])
def size(request):
    return request.param


@pytest.fixture
def page(request, size):
    return request.getfixturevalue(f"{size}_page")


@pytest.fixture
def organiser(db):
    return make_organiser(email="olu@example.org", name="Olu Organiser")


def log_in(page, live_server):
    page.goto(f"{live_server.url}/accounts/login/")
    page.get_by_label("Email").fill("olu@example.org")
    page.get_by_label("Password").fill("correct horse battery")
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("heading", name="Campaigns")).to_be_visible()


def shot(page, artefacts_dir, name, size):
    page.screenshot(path=os.path.join(artefacts_dir, f"{name}-{size}.png"), full_page=True)


def tab(page, name):
    page.get_by_role("navigation", name="Campaign").get_by_role("link", name=name).click()


def test_unknown_merge_field_is_flagged_in_the_editor_and_activation_refused_naming_it(
    page, size, organiser, live_server, artefacts_dir
):
    campaign = make_campaign(organiser, active=False, name="Ward canvass")
    ContactFactory(team=campaign.team, custom_fields={"branch": "Kentish Town"})
    log_in(page, live_server)
    page.goto(f"{live_server.url}/campaigns/{campaign.public_id}/")

    # Typing a field no contact has: flagged as it is typed, and marked in the preview.
    tab(page, "Script")
    script = page.get_by_label("Script (Markdown)")
    script.fill("Hi {{ first_name }}, I'm calling people in {{ ward }} from {{ branch }}.")
    flag = page.get_by_role("alert").filter(has_text="Unknown merge field")
    expect(flag).to_contain_text("{{ ward }}")
    preview = page.locator("#preview")
    expect(preview).to_contain_text("Hi Alex, I'm calling people in {{ ward }} from sample branch.")
    expect(preview.locator("mark.merge-unknown")).to_have_text("{{ ward }}")
    # With an unknown field, the list of those that can be used is open.
    expect(page.locator(".merge-known").get_by_text("{{ branch }}")).to_be_visible()
    page.get_by_role("button", name="Save script").click()
    expect(page.get_by_text("Script saved, but it cannot be opened for calls")).to_be_visible()
    expect(flag).to_contain_text("{{ ward }}")
    shot(page, artefacts_dir, "organiser-script-unknown-field", size)

    # Opening it for calls is refused, naming the field.
    tab(page, "Overview")
    page.get_by_label("Set status").select_option(label="Active")
    page.get_by_role("button", name="Save status").click()
    refusal = page.get_by_text("The script uses merge fields that no contact has: {{ ward }}.")
    expect(refusal).to_be_visible()
    expect(page.get_by_role("heading", name="Ward canvass")).to_contain_text("Draft")
    shot(page, artefacts_dir, "organiser-activation-refused", size)

    # Back twice: the overview, then the script as it was saved. Corrected, the campaign opens.
    page.go_back(wait_until="commit")
    expect(page.get_by_label("Set status")).to_be_visible()
    page.go_back(wait_until="commit")
    expect(page.get_by_label("Script (Markdown)")).to_have_value(re.compile(r"\{\{ ward \}\}"))
    page.get_by_label("Script (Markdown)").fill(
        "Hi {{ first_name }}, calling people in {{ area }}."
    )
    expect(page.get_by_role("alert").filter(has_text="Unknown merge field")).to_have_count(0)
    page.get_by_role("button", name="Save script").click()
    expect(page.get_by_text("Script saved.")).to_be_visible()
    tab(page, "Overview")
    page.get_by_label("Set status").select_option(label="Active")
    page.get_by_role("button", name="Save status").click()
    expect(page.get_by_text("Campaign is now active.")).to_be_visible()
    shot(page, artefacts_dir, "organiser-overview", size)

    tab(page, "Settings")
    expect(page.get_by_label("Contacts one volunteer may take in an hour")).to_be_visible()
    shot(page, artefacts_dir, "organiser-settings", size)

    assert page.console_errors == []
    campaign.refresh_from_db()
    assert campaign.status == Campaign.Status.ACTIVE


def test_invite_link_is_copied_with_one_press_and_shown_as_a_qr_code(
    page, size, organiser, live_server, artefacts_dir
):
    campaign = make_campaign(organiser, active=False, name="Ward canvass")
    page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=live_server.url)
    log_in(page, live_server)
    page.goto(f"{live_server.url}/campaigns/{campaign.public_id}/invite/")

    link = f"{live_server.url}/accounts/join/{campaign.invite_token}/"
    expect(page.get_by_label("Link (select it to copy by hand)")).to_have_value(link)
    expect(page.get_by_role("img", name="QR code for the invite link")).to_be_visible()
    page.get_by_role("button", name="Copy link").click()
    expect(page.get_by_role("status").filter(has_text="Copied.")).to_be_visible()
    assert page.evaluate("navigator.clipboard.readText()") == link

    # The expiry is typed in the browser's own time zone, which the page names.
    zone = page.evaluate("Intl.DateTimeFormat().resolvedOptions().timeZone")
    expect(page.get_by_text(f"In your time zone, {zone}.")).to_be_visible()
    page.get_by_label("Link stops working at (empty: never)").fill("2030-07-01T18:00")
    page.get_by_role("button", name="Save expiry").click()
    expect(page.get_by_text("Expiry saved.")).to_be_visible()
    expect(page.get_by_text(f"Works until 1 Jul 2030, 18:00 ({zone} time).")).to_be_visible()
    expect(page.get_by_label("Link stops working at (empty: never)")).to_have_value(
        "2030-07-01T18:00"
    )
    shot(page, artefacts_dir, "organiser-invite", size)

    assert page.console_errors == []
    campaign.refresh_from_db()
    assert campaign.invite_time_zone == zone


def test_results_show_what_is_left_percentages_and_free_text_answers(
    page, size, organiser, live_server, artefacts_dir
):
    campaign = make_campaign(organiser, targets=6, name="Ward canvass")
    support = campaign_services.add_question(
        campaign, text="Can we count on your support?", kind="single", choices=["Yes", "No"]
    )
    issue = campaign_services.add_question(campaign, text="What matters most?", kind="text")
    volunteer = make_volunteer(campaign, name="Vik Volunteer")
    for minute, (code, answers) in enumerate(
        [
            ("answered", {support.key: "Yes", issue.key: "Buses to the hospital"}),
            ("answered", {support.key: "Yes", issue.key: "Rents are far too high"}),
            ("answered", {support.key: "No"}),
            ("no_answer", {}),
        ]
    ):
        claim_and_record(
            campaign, volunteer, code, answers=answers, now=NOON + dt.timedelta(minutes=minute)
        )
    log_in(page, live_server)
    page.goto(f"{live_server.url}/campaigns/{campaign.public_id}/results/")

    def figure(name):
        named = page.locator(".figure-name").filter(has_text=re.compile(f"^{name}$"))
        return page.locator(".result-figures .figure").filter(has=named).locator("b")

    expect(figure("remaining")).to_have_text("3")
    expect(figure("done")).to_have_text("3")
    expect(figure("waiting to retry")).to_have_text("1")
    expect(figure("calls made")).to_have_text("4")
    expect(page.get_by_text("50% done: 3 of the 6 contacts")).to_be_visible()
    answered = page.get_by_role("row", name=re.compile("^Answered"))
    expect(answered).to_contain_text("3 (75%)")
    yes = page.get_by_role("row", name=re.compile("^Yes"))
    expect(yes).to_contain_text("2 (67%)")
    expect(page.get_by_text("Rents are far too high")).to_be_visible()
    shot(page, artefacts_dir, "organiser-results", size)

    page.get_by_role("link", name="All 2 answers, latest first, with search").click()
    page.get_by_label("Answers containing").fill("hospital")
    page.get_by_role("button", name="Search").click()
    expect(page.get_by_text("1 answer containing “hospital”")).to_be_visible()
    expect(page.get_by_text("Buses to the hospital")).to_be_visible()
    expect(page.get_by_text("Rents are far too high")).to_have_count(0)
    shot(page, artefacts_dir, "organiser-answers", size)

    page.go_back(wait_until="commit")
    expect(page.get_by_text("Rents are far too high")).to_be_visible()
    page.get_by_role("link", name="← All results").click()
    expect(page.get_by_text("50% done: 3 of the 6 contacts")).to_be_visible()
    assert page.console_errors == []


def test_invite_expiry_is_shown_and_typed_in_the_browsers_own_time_zone(
    browser, organiser, live_server, artefacts_dir
):
    campaign = make_campaign(organiser, active=False, name="Ward canvass")
    campaign.invite_expires_at = dt.datetime(2030, 7, 1, 17, 0, tzinfo=dt.UTC)  # 18:00 London
    campaign.save()
    context = browser.new_context(
        locale="en-GB", timezone_id="America/New_York", viewport={"width": 1280, "height": 800}
    )
    context.set_default_timeout(10_000)
    page = context.new_page()
    errors = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    try:
        log_in(page, live_server)
        page.goto(f"{live_server.url}/campaigns/{campaign.public_id}/invite/")
        expect(page.get_by_text("In your time zone, America/New_York.")).to_be_visible()
        expiry = page.get_by_label("Link stops working at (empty: never)")
        expect(expiry).to_have_value("2030-07-01T13:00")  # the same moment, New York time
        expiry.fill("2030-07-01T18:00")
        page.get_by_role("button", name="Save expiry").click()
        expect(
            page.get_by_text("Works until 1 Jul 2030, 18:00 (America/New_York time).")
        ).to_be_visible()
        expect(expiry).to_have_value("2030-07-01T18:00")
    finally:
        context.close()
    assert errors == []
    campaign.refresh_from_db()
    assert campaign.invite_expires_at == dt.datetime(2030, 7, 1, 22, 0, tzinfo=dt.UTC)
    assert campaign.invite_time_zone == "America/New_York"
