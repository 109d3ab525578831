"""An organiser at a laptop: log in, create a campaign, build its survey, open it for calls."""

import os

import pytest
from playwright.sync_api import expect

from ringround.campaigns.models import Campaign, Question
from tests.factories import make_organiser

pytestmark = pytest.mark.browser


def test_organiser_logs_in_creates_a_campaign_builds_the_survey_and_activates_it(
    laptop_page, live_server, artefacts_dir, db
):
    make_organiser(email="olu@example.org", name="Olu Organiser")
    page = laptop_page

    # Log in with email and password.
    page.goto(f"{live_server.url}/accounts/login/")
    page.get_by_label("Email").fill("olu@example.org")
    page.get_by_label("Password").fill("correct horse battery")
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("heading", name="Campaigns")).to_be_visible()

    # New campaign.
    page.get_by_role("link", name="New campaign").click()
    expect(page.get_by_role("heading", name="New campaign")).to_be_visible()
    page.get_by_role("textbox", name="Name", exact=True).fill("Leadership ballot phone bank")
    page.get_by_role("textbox", name="Brief", exact=True).fill(
        "Ask members whether they have voted yet."
    )
    page.get_by_label("Calls from (contact's local time)").fill("10:00")
    page.get_by_label("Calls until (contact's local time; 00:00 means midnight)").fill("20:30")
    page.get_by_role("button", name="Create campaign").click()
    expect(
        page.get_by_text("Campaign “Leadership ballot phone bank” created as a draft.")
    ).to_be_visible()
    expect(page.get_by_role("heading", name="Leadership ballot phone bank")).to_contain_text(
        "Draft"
    )

    # Two questions in the survey builder, after the two it starts with.
    page.get_by_role("navigation", name="Campaign").get_by_role("link", name="Survey").click()
    expect(page.get_by_text("1. Can we count on your support?")).to_be_visible()
    page.get_by_role("textbox", name="Text", exact=True).fill("Have you voted yet?")
    page.get_by_role("combobox", name="Kind", exact=True).select_option(label="Yes / no")
    page.get_by_role("checkbox", name="Required", exact=True).check()
    page.get_by_role("button", name="Add question").click()
    expect(page.get_by_text("Question added.")).to_be_visible()

    page.get_by_role("textbox", name="Text", exact=True).fill("Who are you backing?")
    page.get_by_role("combobox", name="Kind", exact=True).select_option(label="Single choice")
    page.get_by_label("Choices (one per line)").fill("Candidate A\nCandidate B\nNot sure yet")
    page.get_by_role("button", name="Add question").click()
    expect(page.get_by_text("Question added.")).to_be_visible()
    expect(page.get_by_text("3. Have you voted yet?")).to_be_visible()
    expect(page.get_by_text("4. Who are you backing?")).to_be_visible()
    expect(page.get_by_text("Candidate A · Candidate B · Not sure yet")).to_be_visible()
    page.screenshot(path=os.path.join(artefacts_dir, "organiser-survey.png"), full_page=True)

    # Open it for calls.
    page.get_by_role("navigation", name="Campaign").get_by_role("link", name="Overview").click()
    page.get_by_label("Set status").select_option(label="Active")
    page.get_by_role("button", name="Save status").click()
    expect(page.get_by_text("Campaign is now active.")).to_be_visible()
    expect(page.get_by_role("heading", name="Leadership ballot phone bank")).to_contain_text(
        "Active"
    )
    expect(page.get_by_label("Set status")).to_have_value("active")
    page.screenshot(
        path=os.path.join(artefacts_dir, "organiser-campaign-active.png"), full_page=True
    )

    assert page.console_errors == []

    campaign = Campaign.objects.get(name="Leadership ballot phone bank")
    assert campaign.status == Campaign.Status.ACTIVE
    assert campaign.team.members.filter(user__email="olu@example.org").exists()
    assert [(q.text, q.kind, q.required, q.options()) for q in campaign.questions.all()] == [
        ("Can we count on your support?", Question.Kind.SINGLE, False, ["Yes", "Maybe", "No"]),
        ("What matters most to you at the moment?", Question.Kind.TEXT, False, []),
        ("Have you voted yet?", Question.Kind.YES_NO, True, ["Yes", "No"]),
        (
            "Who are you backing?",
            Question.Kind.SINGLE,
            False,
            ["Candidate A", "Candidate B", "Not sure yet"],
        ),
    ]
