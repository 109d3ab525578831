"""A volunteer on a phone: join by invite, read the brief, call people one at a time, stop."""

import os
import re

import pytest
from playwright.sync_api import expect

from ringround.calling import targets as call_targets
from ringround.calling.models import Call, CallTarget
from ringround.campaigns import services as campaign_services
from ringround.campaigns.models import Question
from ringround.contacts.models import Contact
from ringround.contacts.phones import display
from tests.factories import (
    AT_ANY_HOUR,
    ContactFactory,
    confirm_link,
    make_campaign,
    make_organiser,
)

pytestmark = pytest.mark.browser

BRIEF = "Thank you for phoning members about the ballot. Be kind, be brief."
PEOPLE = [
    ("Ada", "Lovelace"),
    ("Mary", "Seacole"),
    ("Alan", "Turing"),
    ("Rosalind", "Franklin"),
]


@pytest.fixture
def campaign(db):
    organiser = make_organiser()
    campaign = make_campaign(
        organiser,
        name="Members' ballot",
        brief=BRIEF,
        script="Hello {{ first_name }}, I'm calling from the Ringround campaign.",
        **AT_ANY_HOUR,  # so the test works at any hour
    )
    campaign_services.add_question(
        campaign,
        text="If the ballot were tomorrow, who would you vote for?",
        kind=Question.Kind.SINGLE,
        choices=["Candidate A", "Candidate B", "Undecided"],
    )
    campaign_services.add_question(
        campaign, text="Can we count on your vote?", kind=Question.Kind.YES_NO, required=True
    )
    contacts = [ContactFactory(first_name=first, last_name=last) for first, last in PEOPLE]
    call_targets.add_contacts(campaign, Contact.objects.filter(pk__in=[c.pk for c in contacts]))
    return campaign


def shown_contact(page):
    """The person on the card, as the volunteer reads it."""
    name = page.locator("#contact-name").inner_text().strip()
    return next(c for c in Contact.objects.all() if f"{c.first_name} {c.last_name}" == name)


def assert_not_on_page(page, contact):
    """Neither name nor number of ``contact`` anywhere in the page (text, links, hidden parts)."""
    html = page.content()
    for word in (contact.first_name, contact.last_name):
        assert not re.search(rf"\b{re.escape(word)}\b", html), f"{word} is still on the page"
    assert contact.phone not in html and display(contact.phone) not in html


def test_volunteer_joins_by_invite_calls_three_people_and_sees_the_summary(
    phone_page, live_server, campaign, artefacts_dir
):
    page = phone_page

    # Join through the invite link.
    page.goto(f"{live_server.url}/accounts/join/{campaign.invite_token}/")
    expect(page.get_by_role("heading", name="Join Members' ballot")).to_be_visible()
    page.get_by_label("Your name").fill("Vera Volunteer")
    page.get_by_label("Email").fill("vera@example.org")
    page.get_by_label("Password").fill("a long enough passphrase")
    page.get_by_role("button", name="Sign up and join").click()

    # Confirm the email by the emailed link, then sign in.
    expect(page.get_by_role("heading", name="Check your email")).to_be_visible()
    page.goto(f"{live_server.url}{confirm_link('vera@example.org')}")
    page.get_by_role("button", name="Confirm my email").click()
    page.get_by_label("Email").fill("vera@example.org")
    page.get_by_label("Password").fill("a long enough passphrase")
    page.get_by_role("button", name="Log in").click()

    # The brief, then Start calling.
    expect(page.get_by_text(BRIEF)).to_be_visible()
    page.get_by_role("button", name="Start calling").click()

    plan = [
        (
            "Answered",
            {
                "If the ballot were tomorrow, who would you vote for?": "Candidate A",
                "Can we count on your vote?": "Yes",
            },
        ),
        ("No answer", {}),
        (
            "Answered",
            {
                "If the ballot were tomorrow, who would you vote for?": "Undecided",
                "Can we count on your vote?": "No",
            },
        ),
    ]
    called = []
    for number, (outcome, answers) in enumerate(plan, start=1):
        expect(page.locator("#contact-name")).to_be_visible()
        contact = shown_contact(page)
        assert contact not in called, "a person was handed out twice"
        tel = page.get_by_role("link", name=re.compile(re.escape(display(contact.phone))))
        expect(tel).to_have_attribute("href", f"tel:{contact.phone}")
        expect(page.locator(".script")).to_contain_text(f"Hello {contact.first_name},")
        page.screenshot(path=os.path.join(artefacts_dir, f"contact-card-{number}.png"))
        page.screenshot(
            path=os.path.join(artefacts_dir, f"contact-card-{number}-full.png"), full_page=True
        )

        page.get_by_role("radiogroup", name="Outcome").get_by_label(outcome, exact=True).check()
        for question, answer in answers.items():
            page.get_by_role("group", name=question).get_by_label(answer, exact=True).check()
        page.get_by_role("button", name="Save and next person").click()
        called.append(contact)

        # The next person, and nothing left of the one just called.
        expect(page.get_by_text("Saved. Here is the next person.")).to_be_visible()
        expect(page.locator("#contact-name")).not_to_have_text(
            f"{contact.first_name} {contact.last_name}"
        )
        for earlier in called:
            assert_not_on_page(page, earlier)

        # Back does not bring an earlier person's number back.
        # ("commit": a page restored from the back/forward cache fires no new load event.)
        page.go_back(wait_until="commit")
        expect(page.get_by_role("button", name="Pause / stop without saving")).to_be_visible()
        for earlier in called:
            assert_not_on_page(page, earlier)
        page.go_forward(wait_until="commit")
        expect(page.get_by_role("button", name="Pause / stop without saving")).to_be_visible()

    # A fourth person is on the card. Back past all three calls: still only the fourth.
    fourth = shown_contact(page)
    assert fourth not in called
    for _ in called:
        page.go_back(wait_until="commit")
        expect(page.locator("#contact-name")).to_have_text(
            f"{fourth.first_name} {fourth.last_name}"
        )
        expect(page.get_by_role("button", name="Pause / stop without saving")).to_be_visible()
        for earlier in called:
            assert_not_on_page(page, earlier)

    # Stop without saving.
    page.get_by_role("button", name="Pause / stop without saving").click()

    expect(page.get_by_role("heading", name="Thank you!")).to_be_visible()
    figures = page.locator(".figure")
    expect(figures.filter(has_text="calls")).to_have_text(re.compile(r"^\s*3\s*calls\s*$"))
    expect(figures.filter(has_text="conversations")).to_have_text(
        re.compile(r"^\s*2\s*conversations\s*$")
    )
    expect(page.get_by_text("Answered: 2")).to_be_visible()
    expect(page.get_by_text("No answer: 1")).to_be_visible()
    for person in [*called, fourth]:
        assert_not_on_page(page, person)
    page.screenshot(path=os.path.join(artefacts_dir, "session-summary.png"), full_page=True)

    assert page.console_errors == []

    # And what was stored: three calls, the fourth person handed back untouched.
    calls = Call.objects.filter(campaign=campaign, volunteer__email="vera@example.org")
    assert calls.count() == 3
    assert sorted(c.target.contact_id for c in calls) == sorted(c.pk for c in called)
    assert [c.answers for c in calls.order_by("ended_at") if c.answers] == [
        {q.key: a for q, a in zip(campaign.questions.all(), ["Candidate A", "Yes"], strict=True)},
        {q.key: a for q, a in zip(campaign.questions.all(), ["Undecided", "No"], strict=True)},
    ]
    target = CallTarget.objects.get(campaign=campaign, contact=fourth)
    assert target.held_by is None and target.attempts == 0
