"""An organiser adds a webhook from their team's page, keeps the secret shown once, sends a
test event to a real receiver and reads the delivery log, on a laptop and on a phone."""

import os

import pytest
from playwright.sync_api import expect

from tests.factories import make_organiser
from tests.webhooks.receiver import serving

pytestmark = pytest.mark.browser


@pytest.fixture
def receiver(settings):
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}
    settings.RINGROUND_WEBHOOKS_ALLOW_PRIVATE = True
    with serving() as state:
        yield state


def log_in(page, live_server):
    page.goto(f"{live_server.url}/accounts/login/")
    page.get_by_label("Email").fill("olu@example.org")
    page.get_by_label("Password").fill("correct horse battery")
    page.get_by_role("button", name="Log in").click()


@pytest.mark.parametrize("size", ["laptop", "phone"])
def test_organiser_adds_a_webhook_and_reads_its_delivery_log(
    size, laptop_page, phone_page, receiver, live_server, artefacts_dir, transactional_db
):
    page = laptop_page if size == "laptop" else phone_page
    if size == "laptop":
        page.set_viewport_size({"width": 1280, "height": 800})
    organiser = make_organiser(email="olu@example.org", name="Olu Organiser")
    team = organiser.team_memberships.get().team
    receiver.answers = [500]
    log_in(page, live_server)

    page.goto(f"{live_server.url}/accounts/teams/{team.public_id}/")
    page.get_by_role("link", name="Webhooks").click()
    expect(page.get_by_role("heading", name="Webhooks")).to_be_visible()
    page.get_by_label("URL").fill(receiver.url)
    page.get_by_label("Description").fill("Membership CRM")
    page.get_by_label("A call is recorded").check()
    page.get_by_label("An import finishes").check()
    page.get_by_role("button", name="Add endpoint").click()

    expect(page.get_by_role("heading", name="Endpoint added")).to_be_visible()
    secret = page.get_by_label("Signing secret").input_value()
    assert secret.startswith("whsec_")
    page.screenshot(path=os.path.join(artefacts_dir, f"webhooks-secret-{size}.png"))
    page.get_by_role("link", name="Continue to the endpoint").click()

    page.get_by_role("button", name="Send a test event").click()  # the receiver fails it
    page.get_by_role("button", name="Send a test event").click()  # and takes this one
    expect(page.get_by_text("Delivered")).to_be_visible()
    expect(page.get_by_text("HTTP 500")).to_be_visible()
    assert secret not in page.content()
    assert len(receiver.received) == 2
    page.screenshot(path=os.path.join(artefacts_dir, f"webhooks-endpoint-{size}.png"))

    page.get_by_role("link", name="ping").last.click()  # the older one, that failed
    expect(page.get_by_text("Attempt 1")).to_be_visible()
    page.get_by_role("button", name="Send again").click()
    expect(page.get_by_text("Sending again; the attempt is marked as a replay.")).to_be_visible()
    expect(page.locator(".hook-replay")).to_have_text("replay")
    assert receiver.received[-1].headers["Ringround-Replay"] == "true"
    page.screenshot(
        path=os.path.join(artefacts_dir, f"webhooks-delivery-{size}.png"), full_page=True
    )

    page.goto(f"{live_server.url}/accounts/teams/{team.public_id}/webhooks/")
    expect(page.get_by_text("Membership CRM")).to_be_visible()
    page.screenshot(path=os.path.join(artefacts_dir, f"webhooks-list-{size}.png"), full_page=True)
    assert page.console_errors == []
