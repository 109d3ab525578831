"""The contact card as a newcomer meets it in Chromium, on a phone (390×844) and a laptop: the
findings of issue 11, each written so that it failed on the card before.

- Refused and No answer save without touching the survey, while a question is required.
- Pause → Back and Finish → Back never say the list is empty while people remain.
- Back after a corrected error lands on a page, never "Confirm Form Resubmission"
  (Chromium: net::ERR_CACHE_MISS for a POST result in history).
- "No answer" → next fits on one phone screen: nothing to scroll to.
"""

import os
import re

import pytest
from playwright.sync_api import expect

from ringround.calling import targets as call_targets
from ringround.calling.models import Call, CallTarget
from ringround.campaigns import services as campaign_services
from ringround.campaigns.models import Question
from ringround.contacts.models import Contact
from tests.factories import AT_ANY_HOUR, ContactFactory, make_campaign, make_volunteer

pytestmark = pytest.mark.browser

QUESTION = "Can we count on your vote?"
SCRIPT = (
    "Hello {{ first_name }}, I'm calling from the Ringround campaign about the members' "
    "ballot.\n\nHave you had your ballot paper yet?\n\nIf they have voted: thank them.\n\n"
    "If not: remind them the ballot closes on Friday."
)


@pytest.fixture
def campaign(db):
    campaign = make_campaign(name="Members' ballot", script=SCRIPT, **AT_ANY_HOUR)
    campaign_services.add_question(
        campaign,
        text="If the ballot were tomorrow, who would you vote for?",
        kind=Question.Kind.SINGLE,
        choices=["Candidate A", "Candidate B", "Undecided"],
    )
    campaign_services.add_question(
        campaign, text=QUESTION, kind=Question.Kind.YES_NO, required=True
    )
    people = [ContactFactory(team=campaign.team) for _ in range(6)]
    call_targets.add_contacts(campaign, Contact.objects.filter(pk__in=[p.pk for p in people]))
    make_volunteer(campaign, email="vera@example.org", name="Vera Volunteer")
    return campaign


@pytest.fixture(params=["phone", "laptop"])
def size(request):
    return request.param


@pytest.fixture
def page(request, size):
    return request.getfixturevalue(f"{size}_page")


def sign_in_and_start(page, live_server, campaign):
    page.goto(f"{live_server.url}/accounts/login/?next=/call/{campaign.public_id}/")
    page.get_by_label("Email").fill("vera@example.org")
    page.get_by_label("Password").fill("correct horse battery")
    page.get_by_role("button", name="Log in").click()
    page.get_by_role("button", name="Start calling").click()
    expect(page.locator("#contact-name")).to_be_visible()
    page.wait_for_load_state("load")  # the card's keys listen once its script has run


def outcome(page, label):
    return page.get_by_role("radiogroup", name="Outcome").get_by_label(label, exact=True)


def shot(page, artefacts_dir, name, size, full_page=False):
    page.screenshot(path=os.path.join(artefacts_dir, f"{name}-{size}.png"), full_page=full_page)


def on_a_card(page):
    expect(page.get_by_role("button", name="Save and next person")).to_be_visible()


def test_refused_and_no_answer_save_without_touching_the_survey(
    page, size, live_server, campaign, artefacts_dir
):
    sign_in_and_start(page, live_server, campaign)
    shot(page, artefacts_dir, "card", size)
    shot(page, artefacts_dir, "card-full", size, full_page=True)
    outcome(page, "Refused").check()
    page.get_by_role("button", name="Save and next person").click()
    expect(page.get_by_text("Saved. Here is the next person.")).to_be_visible()

    outcome(page, "No answer").check()
    page.get_by_role("button", name="Save and next person").click()
    expect(page.get_by_text("Saved. Here is the next person.")).to_be_visible()

    calls = Call.objects.filter(volunteer__email="vera@example.org").order_by("ended_at")
    assert [(c.outcome.code, c.answers) for c in calls] == [("refused", {}), ("no_answer", {})]
    assert page.console_errors == []


def test_only_what_follows_the_outcome_chosen_is_shown(
    page, size, live_server, campaign, artefacts_dir
):
    sign_in_and_start(page, live_server, campaign)
    survey = page.get_by_role("group", name=re.compile(re.escape(QUESTION)))
    call_back = page.get_by_label("When shall we call back?")
    expect(survey).to_be_hidden()
    expect(call_back).to_be_hidden()
    outcome(page, "Answered").check()
    expect(survey).to_be_visible()
    expect(call_back).to_be_hidden()
    shot(page, artefacts_dir, "card-answered", size, full_page=True)
    outcome(page, "Call back").check()
    expect(survey).to_be_hidden()
    expect(call_back).to_be_visible()
    shot(page, artefacts_dir, "card-call-back", size, full_page=True)
    for nothing_follows in ("No answer", "Refused"):
        outcome(page, nothing_follows).check()
        expect(survey).to_be_hidden()
        expect(call_back).to_be_hidden()


@pytest.mark.parametrize("leave", ["Pause / stop without saving", "Save and finish"])
def test_pause_or_finish_then_back_never_says_the_list_is_empty(
    page, size, live_server, campaign, artefacts_dir, leave
):
    sign_in_and_start(page, live_server, campaign)
    if leave == "Save and finish":
        outcome(page, "No answer").check()
    page.get_by_role("button", name=leave).click()
    expect(page.get_by_role("heading", name="Thank you!")).to_be_visible()
    shot(page, artefacts_dir, "summary", size, full_page=True)

    page.go_back(wait_until="commit")
    expect(page.get_by_role("heading")).not_to_have_text("Thank you!")
    expect(page.get_by_text("Nobody to call")).to_have_count(0)
    expect(page.get_by_role("heading", name="You are not holding anyone")).to_be_visible()
    shot(page, artefacts_dir, "card-not-holding", size, full_page=True)

    # The card's address, with nobody held: the same.
    page.goto(f"{live_server.url}/call/{campaign.public_id}/card/")
    expect(page.get_by_role("heading", name="You are not holding anyone")).to_be_visible()
    page.get_by_role("button", name="Call the next person").click()
    on_a_card(page)
    assert page.console_errors == []


def test_nobody_to_call_says_why_when_the_list_is_finished(
    page, size, live_server, campaign, artefacts_dir
):
    CallTarget.objects.filter(campaign=campaign).update(state="done")
    sign_in_and_start_empty = page
    sign_in_and_start_empty.goto(f"{live_server.url}/accounts/login/?next=/call/")
    page.get_by_label("Email").fill("vera@example.org")
    page.get_by_label("Password").fill("correct horse battery")
    page.get_by_role("button", name="Log in").click()
    page.goto(f"{live_server.url}/call/{campaign.public_id}/")
    page.get_by_role("button", name="Start calling").click()
    expect(page.get_by_role("heading", name="Nobody to call right now")).to_be_visible()
    expect(page.get_by_text("The list is finished.")).to_be_visible()
    shot(page, artefacts_dir, "card-nobody", size, full_page=True)


def test_back_after_a_corrected_error_lands_on_a_page_not_a_resubmission(
    page, size, live_server, campaign
):
    sign_in_and_start(page, live_server, campaign)
    first = page.locator("#contact-name").inner_text()
    outcome(page, "Answered").check()
    page.get_by_role("button", name="Save and next person").click()
    expect(page.locator(".errorlist", has_text="This question needs an answer.")).to_be_visible()

    survey = page.get_by_role("group", name=re.compile(re.escape(QUESTION)))
    survey.get_by_label("Yes", exact=True).check()
    page.get_by_role("button", name="Save and next person").click()
    expect(page.get_by_text("Saved. Here is the next person.")).to_be_visible()
    expect(page.locator("#contact-name")).not_to_have_text(first)

    for _ in range(2):
        page.go_back(wait_until="commit")  # raises net::ERR_CACHE_MISS on a POST result
        on_a_card(page)
        expect(page.locator("#contact-name")).not_to_have_text(first)
    assert Call.objects.get().answers == {campaign.questions.get(required=True).key: "Yes"}
    assert page.console_errors == []


def test_an_error_is_named_in_the_banner_and_beside_its_field_on_screen(
    page, size, live_server, campaign, artefacts_dir
):
    sign_in_and_start(page, live_server, campaign)
    outcome(page, "Answered").check()
    page.get_by_role("button", name="Save and next person").click()
    error = page.locator(".errorlist", has_text="This question needs an answer.")
    expect(error).to_be_in_viewport()
    shot(page, artefacts_dir, "card-error", size)
    page.evaluate("window.scrollTo(0, 0)")
    expect(
        page.get_by_text(f"Not saved yet. “{QUESTION}”: This question needs an answer.")
    ).to_be_visible()
    question = campaign.questions.get(required=True)
    assert page.evaluate("[document.activeElement.name, document.activeElement.value]") == [
        question.key,
        "Yes",
    ]


def test_no_answer_then_next_fits_on_one_phone_screen(phone_page, live_server, campaign):
    page = phone_page
    sign_in_and_start(page, live_server, campaign)
    for _ in range(2):
        assert page.evaluate("window.scrollY") == 0
        height = page.viewport_size["height"]
        for part in (
            page.locator(".tel"),
            page.get_by_text("Hello", exact=False).first,
            outcome(page, "No answer"),
            page.get_by_role("button", name="Save and next person"),
        ):
            box = part.bounding_box()
            assert box is not None and box["y"] >= 0 and box["y"] + box["height"] <= height
        outcome(page, "No answer").check()
        page.get_by_role("button", name="Save and next person").click()
        expect(page.get_by_text("Saved. Here is the next person.")).to_be_visible()
    assert Call.objects.filter(outcome__code="no_answer").count() == 2


def test_a_laptop_volunteer_calls_from_the_keyboard(laptop_page, live_server, campaign):
    page = laptop_page
    sign_in_and_start(page, live_server, campaign)
    first = page.locator("#contact-name").inner_text()
    page.keyboard.press("2")  # the second outcome: No answer
    expect(outcome(page, "No answer")).to_be_checked()
    page.keyboard.press("Enter")
    expect(page.get_by_text("Saved. Here is the next person.")).to_be_visible()
    expect(page.locator("#contact-name")).not_to_have_text(first)
    assert Call.objects.get().outcome.code == "no_answer"


def test_the_rest_of_the_script_unfolds(phone_page, live_server, campaign):
    page = phone_page
    sign_in_and_start(page, live_server, campaign)
    expect(page.get_by_text("Have you had your ballot paper yet?")).to_be_hidden()
    page.get_by_text("Rest of the script").click()
    expect(page.get_by_text("Have you had your ballot paper yet?")).to_be_visible()


def test_a_newcomer_practises_on_made_up_people_and_nothing_is_stored(
    page, size, live_server, campaign, artefacts_dir
):
    page.goto(f"{live_server.url}/accounts/login/?next=/call/{campaign.public_id}/")
    page.get_by_label("Email").fill("vera@example.org")
    page.get_by_label("Password").fill("correct horse battery")
    page.get_by_role("button", name="Log in").click()
    page.get_by_role("link", name="Practise on a made-up person first").click()
    expect(page.get_by_text("Practice call.")).to_be_visible()
    expect(page.locator("#contact-name")).to_have_text("Sam Practice")
    shot(page, artefacts_dir, "card-practice", size)
    outcome(page, "Answered").check()
    page.get_by_role("button", name="Save and next person").click()
    expect(page.get_by_text("This question needs an answer.", exact=True)).to_be_visible()
    outcome(page, "No answer").check()
    page.get_by_role("button", name="Save and next person").click()
    expect(page.locator("#contact-name")).to_have_text("Priya Example")
    expect(page.get_by_text("Nothing was stored.")).to_be_visible()
    page.go_back()
    expect(page.locator("#contact-name")).to_be_visible()
    assert not Call.objects.exists()
    assert not CallTarget.objects.filter(held_by__isnull=False).exists()
