"""An organiser uploads a file with bad rows and a repeated person, sees before running what
the import will do (how many rows it will reject, and why), chooses the rule for repeated
people, runs it, and sees the same counts afterwards. On a phone and on a laptop."""

import os

import pytest
from playwright.sync_api import expect

from ringround.contacts.models import Contact
from tests.factories import ContactFactory, make_organiser
from tests.imports.conftest import csv_bytes, e164_landline, landline, member_rows

pytestmark = pytest.mark.browser


def newcomers_file() -> bytes:
    """Twelve rows: four without a number, two with rubbish for one; Ann twice, and M00005
    stored already."""
    rows = member_rows(10)
    for n in (1, 4, 7, 9):
        rows[n][4] = ""
    for n in (2, 8):
        rows[n][4] = "rubbish"
    rows.append(["M00000", "Annie", "Changed", "", landline(0), "Camden", "donor"])
    rows.append(["", "", "", "", "", "", ""])
    return csv_bytes(rows)


def figure(block, n: int) -> int:
    return int(block.locator(".figure").nth(n).locator("b").inner_text().replace(",", ""))


@pytest.fixture(autouse=True)
def _imports_run_at_once(settings):
    """No background worker in the test: the import runs within the request that starts it."""
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}


@pytest.mark.parametrize("size", ["phone", "laptop"])
def test_the_mapping_page_predicts_what_the_import_then_does(
    request, size, live_server, artefacts_dir, db, tmp_path
):
    page = request.getfixturevalue(f"{size}_page")
    make_organiser(email="olu@example.org")
    ContactFactory(external_id="M00005", first_name="", last_name="Stored", phone=e164_landline(5))
    upload = tmp_path / "members.csv"
    upload.write_bytes(newcomers_file())

    page.goto(f"{live_server.url}/accounts/login/")
    page.get_by_label("Email").fill("olu@example.org")
    page.get_by_label("Password").fill("correct horse battery")
    page.get_by_role("button", name="Log in").click()
    page.goto(f"{live_server.url}/contacts/imports/")
    page.get_by_label("Contacts file").set_input_files(str(upload))
    page.get_by_label("Where these people came from").select_option("membership")
    page.get_by_label("Lawful basis for using their data").select_option("contract")
    page.get_by_label("Purpose").fill("Members' ballot phone bank")
    page.get_by_role("button", name="Upload and preview").click()

    # Before anything is imported: the prediction, with the rejected rows and why.
    expect(page.get_by_role("heading", name="Check the columns")).to_be_visible()
    prediction = page.locator("#prediction")
    expect(prediction).to_contain_text("From all 11 rows of the file.")
    expect(prediction.locator(".figure").nth(3)).to_have_text("6rejected")
    expect(prediction.get_by_role("listitem").first).to_have_text(
        "4 no phone number (e.g. rows 3, 6, 9)"
    )
    expect(prediction).to_contain_text(
        "1 row repeats someone earlier in the file and 1 row is a person already stored: "
        "with “fill blanks”, their later rows only fill empty fields."
    )
    page.screenshot(
        path=os.path.join(artefacts_dir, f"import-prediction-{size}.png"), full_page=True
    )

    # A different rule: the prediction follows at once.
    page.get_by_label("Keep first: later rows change nothing").check()
    expect(prediction).to_contain_text("with “keep first”, their later rows change nothing")
    expect(prediction.locator(".figure").nth(1)).to_have_text("0updated")
    expect(prediction.locator(".figure").nth(2)).to_have_text("2unchanged")
    predicted = [figure(prediction, n) for n in range(4)]
    assert predicted == [3, 0, 2, 6]
    page.screenshot(
        path=os.path.join(artefacts_dir, f"import-prediction-keep-first-{size}.png"),
        full_page=True,
    )
    assert Contact.objects.count() == 1  # still only the stored person

    page.get_by_role("button", name="Import", exact=True).click()
    status = page.locator("#import-status")
    expect(status.get_by_role("heading", name="Finished")).to_be_visible()
    expect(status.locator(".figure").nth(1)).to_have_text("3contacts created")
    # created, updated, unchanged, rejected: as predicted
    assert [figure(status, n) for n in range(1, 5)] == predicted
    expect(status.get_by_role("listitem").first).to_have_text(
        "4 no phone number (e.g. rows 3, 6, 9)"
    )
    expect(status).to_contain_text("with “keep first”, their later rows change nothing")
    page.screenshot(path=os.path.join(artefacts_dir, f"import-finished-{size}.png"), full_page=True)
    ann = Contact.objects.get(external_id="M00000")
    assert (ann.first_name, ann.area) == ("First0", "Holborn")  # the first row kept
    assert page.console_errors == []
