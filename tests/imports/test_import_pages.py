"""The organiser's import pages: upload, check the columns, watch it run, see the result."""

import datetime as dt

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from ringround.campaigns.models import Campaign
from ringround.contacts.models import Contact, Suppression
from ringround.imports import jobs, services
from ringround.imports.models import Import, SavedMapping
from tests.factories import make_campaign, make_organiser, make_team, make_volunteer, the_team
from tests.imports.conftest import csv_bytes, landline, member_rows

pytestmark = pytest.mark.django_db

FORMULAS = [
    ["M1", '=HYPERLINK("http://evil.example","Click")', "Smith", "", "rubbish", "", ""],
    ["M2", "+cmd", "-2+3", "", "@SUM(A1)", "", ""],
    ["M3", "Ann", "Lee", "", landline(3), "", ""],
]


@pytest.fixture
def organiser(client):
    user = make_organiser()
    client.force_login(user)
    return user


def upload(client, data: bytes, name="members.csv", **fields):
    fields.setdefault("default_country", "GB")
    # Where the people came from: asked of every contacts file (tests/compliance/test_sources).
    fields.setdefault("source_kind", "membership")
    fields.setdefault("lawful_basis", "contract")
    fields.setdefault("purpose", "Members' ballot")
    return client.post(
        reverse("imports:imports"), {"file": SimpleUploadedFile(name, data), **fields}
    )


def mapping_post(job, **extra):
    data = {f"column_{i}": code for i, code in enumerate(job.mapping)}
    return {**data, **extra}


def test_upload_preview_map_and_import(client, organiser):
    campaign = make_campaign(organiser)
    response = upload(client, csv_bytes(member_rows(3)), campaign=campaign.public_id, tags="spring")
    job = Import.objects.get()
    assert response.status_code == 302 and response["Location"].endswith(f"/{job.public_id}/")
    page = client.get(response["Location"]).content.decode()
    assert "CSV, UTF-8, comma-separated, 7 columns" in page
    assert "First0" in page and "Membership number" in page  # the preview and the headers
    assert 'value="external_id" selected' in page
    response = client.post(
        reverse("imports:import", args=[job.public_id]), mapping_post(job, save_as="Members")
    )
    assert response.status_code == 302
    job.refresh_from_db()
    assert job.status == Import.Status.DONE and job.created == 3 and job.targets_added == 3
    page = client.get(reverse("imports:import", args=[job.public_id])).content.decode()
    assert "Finished" in page and "contacts created" in page
    assert campaign.targets.count() == 3
    assert Contact.objects.with_tag("spring").count() == 3
    assert SavedMapping.objects.filter(name="Members").exists()


def test_the_organiser_corrects_a_column(client, organiser):
    upload(client, csv_bytes(member_rows(2)))
    job = Import.objects.get()
    mapping = mapping_post(job)
    mapping["column_5"] = "ignore"  # not the area after all
    client.post(reverse("imports:import", args=[job.public_id]), mapping)
    assert set(Contact.objects.values_list("area", flat=True)) == {""}


def test_a_mapping_without_a_phone_column_is_refused(client, organiser):
    upload(client, csv_bytes(member_rows(2)))
    job = Import.objects.get()
    mapping = mapping_post(job, column_3="custom", column_4="custom")
    response = client.post(reverse("imports:import", args=[job.public_id]), mapping)
    assert response.status_code == 400
    assert "Choose at least one column with phone numbers." in response.content.decode()
    assert Contact.objects.count() == 0


def test_a_saved_mapping_is_chosen_for_a_file_of_the_same_shape(client, organiser):
    upload(client, csv_bytes(member_rows(1)))
    job = Import.objects.get()
    client.post(
        reverse("imports:import", args=[job.public_id]),
        mapping_post(job, column_5="ignore", save_as="Branch list"),
    )
    response = upload(client, csv_bytes(member_rows(1, start=5)), name="next.csv")
    second = Import.objects.exclude(pk=job.pk).get()
    assert second.mapping[5] == "ignore"
    page = client.get(response["Location"]).content.decode()
    assert "Branch list" in page


def test_progress_is_polled_while_the_import_runs(client, organiser):
    upload(client, csv_bytes(member_rows(2)))
    job = Import.objects.get()
    Import.objects.filter(pk=job.pk).update(
        status=Import.Status.RUNNING,
        heartbeat_at=dt.datetime.now(dt.UTC),
        progress_done=50,
        progress_total=200,
        rows_read=1,
    )
    page = client.get(reverse("imports:import", args=[job.public_id])).content.decode()
    assert 'hx-trigger="every 1s"' in page and "<progress" in page and 'value="25"' in page
    assert "You can leave this page" in page
    partial = client.get(reverse("imports:import_progress", args=[job.public_id]))
    assert partial.content.decode().startswith('<div id="import-status"')
    Import.objects.filter(pk=job.pk).update(status=Import.Status.DONE)
    partial = client.get(reverse("imports:import_progress", args=[job.public_id]))
    assert "hx-trigger" not in partial.content.decode()  # finished: the polling stops


def test_a_stopped_import_can_be_resumed_from_the_page(client, organiser):
    upload(client, csv_bytes(member_rows(6)))
    job = Import.objects.get()
    services.set_mapping(job, job.mapping)
    services.start_import(job, background=False)
    jobs.run_import(job, batch_size=2, stop_after_batches=1)
    Import.objects.filter(pk=job.pk).update(heartbeat_at=dt.datetime(2020, 1, 1, tzinfo=dt.UTC))
    page = client.get(reverse("imports:import", args=[job.public_id])).content.decode()
    assert "Resume the import" in page and "Stopped" in page
    client.post(reverse("imports:import_resume", args=[job.public_id]))
    job.refresh_from_db()
    assert job.status == Import.Status.DONE and job.created == 6
    assert Contact.objects.count() == 6


def test_rejected_rows_download_with_formulas_neutralised(client, organiser):
    upload(client, csv_bytes(FORMULAS))
    job = Import.objects.get()
    client.post(reverse("imports:import", args=[job.public_id]), mapping_post(job))
    job.refresh_from_db()
    assert job.rejected == 2
    page = client.get(reverse("imports:import", args=[job.public_id])).content.decode()
    assert "Download the rejected rows" in page
    response = client.get(reverse("imports:import_rejected", args=[job.public_id]))
    assert response["Content-Type"].startswith("text/csv")
    text = b"".join(response.streaming_content).decode("utf-8-sig")
    lines = text.splitlines()
    assert lines[0].startswith("row,reason,Membership number,First name")
    assert lines[1].startswith("2,")
    for cell in ("'=HYPERLINK", "'+cmd", "'-2+3", "'@SUM(A1)"):
        assert cell in text
    for dangerous in (",=HYPERLINK", ",+cmd", ",-2+3", ",@SUM"):
        assert dangerous not in text
    # Stored as typed; only the export is neutralised.
    assert not Contact.objects.filter(first_name__startswith="'").exists()


def test_volunteers_cannot_import(client):
    campaign = make_campaign()
    client.force_login(make_volunteer(campaign))
    assert client.get(reverse("imports:imports")).status_code == 403
    assert upload(client, csv_bytes(member_rows(1))).status_code == 403
    assert Import.objects.count() == 0


def test_another_teams_import_is_not_found(client, organiser):
    other_team = make_team()
    other = make_organiser(other_team)
    job = services.create_import(path=_file(member_rows(1)), by=other, team=other_team)
    for name in ("imports:import", "imports:import_progress", "imports:import_rejected"):
        assert client.get(reverse(name, args=[job.public_id])).status_code == 404


def test_an_organiser_cannot_import_into_another_teams_campaign(client, organiser):
    other_campaign = make_campaign(make_organiser(make_team()))
    response = upload(client, csv_bytes(member_rows(1)), campaign=other_campaign.public_id)
    assert response.status_code == 400
    assert Import.objects.count() == 0


def _file(rows):
    import tempfile
    from pathlib import Path

    path = Path(tempfile.mkdtemp()) / "f.csv"
    path.write_bytes(csv_bytes(rows))
    return path


def test_an_upload_over_the_limit_is_refused_before_it_is_stored(client, organiser, settings):
    settings.RINGROUND_MAX_UPLOAD_BYTES = 200 * 1024
    Contact.objects.create(phone="+442079460999", team=the_team())
    response = upload(client, b"a,b,phone\r\n" + b"x,y,020 7946 0001\r\n" * 20_000)
    assert response.status_code == 413
    assert (
        "the limit is 0 MB" in response.content.decode() or "limit is" in response.content.decode()
    )
    assert Import.objects.count() == 0 and Contact.objects.count() == 1
    assert (
        not list((settings.MEDIA_ROOT).glob("imports/*/*"))
        if settings.MEDIA_ROOT.exists()
        else True
    )


def test_an_upload_over_the_limit_without_a_declared_size_is_stopped(client, organiser, settings):
    settings.RINGROUND_MAX_UPLOAD_BYTES = (
        40 * 1024
    )  # under the form allowance: the handler stops it
    response = upload(client, b"a,b,phone\r\n" + b"x,y,020 7946 0001\r\n" * 5_000)
    assert response.status_code == 400
    assert "limit is" in response.content.decode()
    assert Import.objects.count() == 0


@pytest.mark.parametrize(
    "data,message",
    [
        (b"", "file is empty"),
        (b"first name,phone\r\n", "header but no rows"),
        (b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4, "not a CSV or Excel file"),
    ],
)
def test_bad_files_get_a_clear_message(client, organiser, data, message):
    response = upload(client, data)
    assert response.status_code == 400
    assert message in response.content.decode()
    assert Import.objects.count() == 0


def test_adding_an_imports_contacts_to_a_campaign_afterwards(client, organiser):
    campaign = make_campaign(organiser)
    upload(client, csv_bytes(member_rows(3)))
    job = Import.objects.get()
    client.post(reverse("imports:import", args=[job.public_id]), mapping_post(job))
    response = client.post(
        reverse("imports:import_targets", args=[job.public_id]),
        {"campaign": campaign.public_id, "which": "import"},
    )
    assert response.status_code == 302
    assert campaign.targets.count() == 3
    response = client.post(
        reverse("imports:import_targets", args=[job.public_id]),
        {"campaign": campaign.public_id, "which": "tag", "tag": ""},
    )
    assert response.status_code == 400


def test_a_do_not_call_file_from_the_suppression_page(client, organiser):
    page = client.get(reverse("contacts:suppressions")).content.decode()
    assert "Import a do-not-call list" in page
    response = client.post(
        reverse("contacts:suppression_import"),
        {
            "file": SimpleUploadedFile("tps.txt", b"020 7946 0001\n+44 20 7946 0002\nnonsense\n"),
            "reason": "tps",
            "default_country": "GB",
        },
    )
    job = Import.objects.get()
    assert response.status_code == 302
    assert job.kind == Import.Kind.SUPPRESSIONS and job.status == Import.Status.DONE
    assert Suppression.objects.count() == 2
    page = client.get(response["Location"]).content.decode()
    assert "numbers added" in page and "rejected" in page


def test_the_nav_links_to_imports(client, organiser):
    page = client.get(reverse("imports:imports")).content.decode()
    assert f'href="{reverse("imports:imports")}"' in page
    assert Campaign.objects.count() == 0
