"""A team admin who has never heard of PECR opens the compliance page from the team page,
reads why UK numbers are not being called, loads the TPS file, records that someone does
not object, and downloads the record of processing. On a phone and on a laptop."""

import os

import pytest
from playwright.sync_api import expect

from ringround.compliance.models import NoObjection, ScreenedNumber
from ringround.contacts.models import Contact
from tests.factories import TeamMember, make_organiser, open_campaign

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("tps_required")]


@pytest.mark.parametrize("size", ["phone", "laptop"])
def test_a_team_admin_screens_the_list_and_gets_the_record(
    request, size, live_server, artefacts_dir, db, tmp_path
):
    page = request.getfixturevalue(f"{size}_page")
    admin = make_organiser(email="tia@example.org", role=TeamMember.Role.ADMIN)
    campaign = open_campaign(admin, targets=0)
    Contact.objects.create(team=campaign.team, phone="+447911100200", first_name="Sam")
    tps = tmp_path / "tps-full.txt"
    tps.write_bytes(b"07911100200\n07911100201\n")

    page.goto(f"{live_server.url}/accounts/login/")
    page.get_by_label("Email").fill("tia@example.org")
    page.get_by_label("Password").fill("correct horse battery")
    page.get_by_role("button", name="Log in").click()
    page.goto(f"{live_server.url}/accounts/teams/{campaign.team.public_id}/")
    page.get_by_role("link", name="Compliance records").click()

    expect(page.get_by_role("heading", name="Compliance records")).to_be_visible()
    expect(page.locator("#screening-problem")).to_contain_text("has not yet loaded")
    page.screenshot(
        path=os.path.join(artefacts_dir, f"compliance-before-{size}.png"), full_page=True
    )

    page.get_by_label("TPS/CTPS file").set_input_files(str(tps))
    page.get_by_role("button", name="Load the file").click()
    expect(page.get_by_text("Screening loaded: 2 numbers screened")).to_be_visible()
    expect(page.locator("#figure-screened")).to_have_text("2")

    page.get_by_label("Their number").fill("07911 100200")
    page.get_by_label("How they told you").select_option("writing")
    page.get_by_role("button", name="Record the statement").click()
    expect(page.get_by_text("Recorded for 1 contact")).to_be_visible()
    expect(page.locator("#figure-statements")).to_have_text("1")
    page.screenshot(
        path=os.path.join(artefacts_dir, f"compliance-after-{size}.png"), full_page=True
    )

    with page.expect_download() as download:
        page.get_by_role("link", name="Download the record of processing").click()
    text = open(download.value.path(), encoding="utf-8").read()
    assert "TPS/CTPS screening" in text and "current" in text

    page.get_by_role("link", name="Settings").click()
    page.get_by_label("Article 9 condition").select_option("9_2_d")
    page.get_by_label("Appropriate policy document").fill("https://example.org/policy")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_text("Art. 9(2)(d)")).to_be_visible()

    assert ScreenedNumber.objects.filter(team=campaign.team).count() == 2
    assert NoObjection.objects.filter(team=campaign.team).count() == 1
