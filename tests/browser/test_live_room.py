"""An organiser watches the live room on a phone and at a laptop: who is calling, the last
quarter of an hour, the charts, and figures that move by themselves as calls arrive."""

import datetime as dt
import os
import re

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from ringround.calling import rules
from ringround.calling.models import CallTarget
from ringround.campaigns import services as campaign_services
from tests.browser.conftest import check_accessibility
from tests.factories import claim_and_record, make_organiser, make_volunteer, open_campaign

pytestmark = pytest.mark.browser


@pytest.fixture(params=["phone", "laptop"])
def size(request):
    return request.param


@pytest.fixture
def page(request, size):
    return request.getfixturevalue(f"{size}_page")


def log_in(page, live_server):
    page.goto(f"{live_server.url}/accounts/login/")
    page.get_by_label("Email").fill("olu@example.org")
    page.get_by_label("Password").fill("correct horse battery")
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("heading", name="Campaigns")).to_be_visible()


def shot(page, artefacts_dir, name, size):
    page.screenshot(path=os.path.join(artefacts_dir, f"{name}-{size}.png"), full_page=True)


def figure(page, name):
    named = page.locator(".figure-name").filter(has_text=re.compile(f"^{name}$"))
    return page.locator(".live-figures .figure").filter(has=named).locator("b")


def test_live_room_shows_who_is_calling_and_updates_itself(page, size, live_server, artefacts_dir):
    organiser = make_organiser(email="olu@example.org", name="Olu Organiser")
    campaign = open_campaign(organiser, targets=40, name="Ward canvass", claims_per_hour=1000)
    support = campaign_services.add_question(
        campaign, text="Can we count on your support?", kind="single", choices=["Yes", "No"]
    )
    now = timezone.now()
    # On the list since yesterday, so the calls of the last hours could be made.
    CallTarget.objects.filter(campaign=campaign).update(next_call_at=now - dt.timedelta(days=1))
    ann, ben, dev = (make_volunteer(campaign, name=n) for n in ("Ann Ahmed", "Ben Brown", "Dev"))
    for hours_ago in range(8, 0, -1):
        for i in range(hours_ago % 4 + 1):
            claim_and_record(
                campaign,
                ann if i % 2 else ben,
                "answered" if i % 3 == 0 else "no_answer",
                answers={support.key: "Yes" if i % 2 == 0 else "No"},
                now=now - dt.timedelta(hours=hours_ago, minutes=i),
            )
    claim_and_record(campaign, ann, "answered", answers={support.key: "Yes"}, now=now)
    assert rules.claim_next(campaign, dev, now=now)

    log_in(page, live_server)
    page.goto(f"{live_server.url}/campaigns/{campaign.public_id}/results/")
    page.get_by_role("navigation", name="Campaign").get_by_role("link", name="Live").click()
    expect(figure(page, "calling now")).to_have_text("1")
    expect(figure(page, "calls in the last 15 minutes")).to_have_text("1")
    calling_now = page.locator(".card").filter(has=page.get_by_role("heading", name="Calling now"))
    expect(calling_now.locator("li").first).to_contain_text("Dev")
    expect(calling_now.locator("li").nth(1)).to_contain_text("Ann Ahmed")  # idle
    expect(page.get_by_role("img", name="Calls and conversations per hour, the last 24 hours"))
    expect(page.get_by_role("img", name="Progress through the calling list")).to_be_visible()
    yes = page.get_by_role("row", name=re.compile("^Yes"))
    expect(yes).to_be_visible()
    page.get_by_text("The figures, hour by hour").click()
    expect(page.get_by_role("region", name="Calls and conversations per hour")).to_be_visible()
    shot(page, artefacts_dir, "organiser-live", size)

    # Dev records a call: the room shows it without being reloaded.
    lease = rules.current_lease(campaign, dev)
    rules.record_outcome(
        campaign,
        dev,
        lease_token=lease.token,
        outcome_code="answered",
        idempotency_key="dev-1",
        answers={support.key: "No"},
    )
    url = page.url
    expect(figure(page, "calls in the last 15 minutes")).to_have_text("2", timeout=15_000)
    expect(figure(page, "calling now")).to_have_text("0")
    assert page.url == url
    assert [v for v in check_accessibility(page) if v["impact"] in ("serious", "critical")] == []

    page.goto(f"{live_server.url}/campaigns/{campaign.public_id}/results/")
    expect(page.get_by_role("heading", name="By area")).to_be_visible()
    shot(page, artefacts_dir, "organiser-results-charts", size)
    assert page.console_errors == []
