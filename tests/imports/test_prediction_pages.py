"""The mapping page says what the import will do before it runs, and the finished import's
page says what it did, in the same words."""

import re

import pytest
from django.urls import reverse

from ringround.imports import prediction
from ringround.imports.models import Import
from tests.factories import make_organiser, make_team
from tests.imports.conftest import csv_bytes, landline, member_rows
from tests.imports.test_import_pages import mapping_post, upload

pytestmark = pytest.mark.django_db


@pytest.fixture
def organiser(client):
    user = make_organiser()
    client.force_login(user)
    return user


def bad_rows():
    """Five good rows, three without a number, two with rubbish, and one person twice."""
    rows = member_rows(10)
    for n in (1, 4, 7):
        rows[n][4] = ""
    for n in (2, 8):
        rows[n][4] = "rubbish"
    return [*rows, ["M00000", "Ann", "", "", landline(0), "", "donor"]]


def text(response) -> str:
    return " ".join(re.sub(r"<[^>]+>", " ", response.content.decode()).split())


def figures(page: str) -> tuple:
    found = re.search(
        r"(\d+) new contacts (\d+) updated (\d+) unchanged (\d+) rejected", page
    ) or re.search(r"(\d+) contacts created (\d+) updated (\d+) unchanged (\d+) rejected", page)
    return tuple(int(n) for n in found.groups())


def test_the_mapping_page_predicts_rejections_with_the_top_reason(client, organiser):
    response = upload(client, csv_bytes(bad_rows()))
    page = text(client.get(response["Location"]))
    assert "What this import will do" in page
    assert "From all 11 rows of the file." in page
    assert figures(page) == (5, 1, 0, 5)
    assert "3 no phone number (e.g. rows 3, 6, 9)" in page
    assert (
        "1 row repeats someone earlier in the file: with “fill blanks”, "
        "their later rows only fill empty fields."
    ) in page
    assert Import.objects.get().status == Import.Status.MAPPING


def test_changing_the_mapping_or_rule_asks_for_a_fresh_prediction(client, organiser):
    upload(client, csv_bytes(bad_rows()))
    job = Import.objects.get()
    check = reverse("imports:import_check", args=[job.public_id])
    response = client.post(check, mapping_post(job, repeats="keep_first"), HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    page = text(response)
    assert figures(page) == (5, 0, 1, 5)
    assert "with “keep first”, their later rows change nothing" in page
    no_phone = mapping_post(job, repeats="keep_first", column_3="ignore", column_4="ignore")
    page = text(client.post(check, no_phone))
    assert "Choose at least one column with phone numbers." in page
    job.refresh_from_db()
    assert job.repeats == "fill_blanks" and job.mapping[4] == "phone"  # nothing saved


def test_the_check_button_works_without_javascript(client, organiser):
    upload(client, csv_bytes(bad_rows()))
    job = Import.objects.get()
    url = reverse("imports:import", args=[job.public_id])
    response = client.post(url, mapping_post(job, repeats="keep_last", check="1"))
    assert response.status_code == 200
    page = text(response)
    assert "with “keep last”, their later rows overwrite what is there" in page
    assert 'value="keep_last" ' in response.content.decode()  # the choice stays chosen
    job.refresh_from_db()
    assert job.status == Import.Status.MAPPING


def test_the_finished_page_says_the_predicted_counts(client, organiser):
    upload(client, csv_bytes(bad_rows()))
    job = Import.objects.get()
    url = reverse("imports:import", args=[job.public_id])
    predicted = text(client.get(url))
    client.post(url, mapping_post(job, repeats="keep_first"))
    job.refresh_from_db()
    assert job.status == Import.Status.DONE and job.repeats == "keep_first"
    finished = text(client.get(url))
    assert figures(finished) == (5, 0, 1, 5)
    assert "3 no phone number (e.g. rows 3, 6, 9)" in predicted
    assert "3 no phone number (e.g. rows 3, 6, 9)" in finished
    assert "with “keep first”, their later rows change nothing" in finished


def test_a_big_file_is_predicted_from_its_first_rows_and_the_page_says_so(
    client, organiser, monkeypatch
):
    monkeypatch.setattr(prediction, "PREDICT_ROWS", 500)
    response = upload(client, csv_bytes(member_rows(20_000)))
    page = text(client.get(response["Location"]))
    assert re.search(r"From the first 500 of ~(\d\d),(\d)00 rows", page)
    assert figures(page) == (500, 0, 0, 0)


def test_another_teams_import_cannot_be_checked(client, organiser):
    other = make_organiser(make_team())
    client.force_login(other)
    upload(client, csv_bytes(member_rows(2)))
    job = Import.objects.get()
    client.force_login(organiser)
    response = client.post(reverse("imports:import_check", args=[job.public_id]), mapping_post(job))
    assert response.status_code == 404


def test_a_started_import_is_not_checked_again(client, organiser):
    upload(client, csv_bytes(member_rows(2)))
    job = Import.objects.get()
    client.post(reverse("imports:import", args=[job.public_id]), mapping_post(job))
    response = client.post(reverse("imports:import_check", args=[job.public_id]), mapping_post(job))
    assert response.status_code == 404
