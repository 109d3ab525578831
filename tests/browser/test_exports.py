"""An organiser asks for an export from the results page, watches it wait for the worker and
finish, and downloads the file, on a phone and on a laptop."""

import datetime as dt
import os

import openpyxl
import pytest
from playwright.sync_api import expect

from ringround.imports.workers import beat
from tests.factories import (
    AT_ANY_HOUR,
    claim_and_record,
    make_campaign,
    make_organiser,
    make_volunteer,
)
from tests.queue import run_the_queue

pytestmark = pytest.mark.browser


@pytest.fixture
def worker_queue(settings):
    """Tasks wait in the database until the test runs the queue, as a worker would."""
    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}


@pytest.mark.parametrize("size", ["phone", "laptop"])
def test_organiser_requests_an_export_sees_it_finish_and_downloads_it(
    size,
    laptop_page,
    phone_page,
    worker_queue,
    live_server,
    artefacts_dir,
    monkeypatch,
    transactional_db,
):
    page = laptop_page if size == "laptop" else phone_page
    organiser = make_organiser(email="olu@example.org", name="Olu Organiser")
    campaign = make_campaign(organiser, targets=6, **AT_ANY_HOUR)
    volunteer = make_volunteer(campaign, name="Vik Volunteer")
    start = dt.datetime(2027, 5, 4, 9, 0, tzinfo=dt.UTC)
    for n, code in enumerate(["answered", "no_answer", "busy", "refused"]):
        claim_and_record(campaign, volunteer, code, now=start + dt.timedelta(minutes=n))
    beat("browser-test-worker")  # a worker is alive: the page polls every second

    page.goto(f"{live_server.url}/accounts/login/")
    page.get_by_label("Email").fill("olu@example.org")
    page.get_by_label("Password").fill("correct horse battery")
    page.get_by_role("button", name="Log in").click()
    page.goto(f"{live_server.url}/campaigns/{campaign.public_id}/results/")
    page.get_by_role("link", name="Exports (CSV, Excel)").click()
    expect(page.get_by_role("heading", name="New export")).to_be_visible()
    page.get_by_label("Volunteers").check()
    page.get_by_label("Excel (XLSX)").check()
    page.get_by_role("button", name="Make the export").click()

    expect(page.get_by_text("Waiting to start · 0%")).to_be_visible()
    expect(page.get_by_role("progressbar", name="Export progress")).to_be_visible()
    page.screenshot(path=os.path.join(artefacts_dir, f"exports-waiting-{size}.png"), full_page=True)

    run_the_queue(monkeypatch)

    expect(page.get_by_text("Ready · 1 row")).to_be_visible(timeout=10_000)  # polled, no reload
    page.screenshot(path=os.path.join(artefacts_dir, f"exports-ready-{size}.png"), full_page=True)
    with page.expect_download() as download:
        page.get_by_role("link", name="Download volunteers-").click()
    saved = os.path.join(artefacts_dir, f"exports-{size}.xlsx")
    download.value.save_as(saved)
    assert download.value.suggested_filename.endswith(".xlsx")
    rows = list(openpyxl.load_workbook(saved).active.iter_rows(values_only=True))
    assert rows[1][:4] == ("Vik Volunteer", volunteer.email, "Active", 4)
    assert page.console_errors == []
