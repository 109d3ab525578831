"""Guessing which column is which, and reusing a mapping for the next file of that shape."""

import pytest

from ringround.contacts.models import Contact
from ringround.imports import services
from ringround.imports.mapping import check_mapping, guess_mapping
from ringround.imports.models import Import, SavedMapping
from tests.factories import make_team, the_team
from tests.imports.conftest import import_now, landline, write_csv

pytestmark = pytest.mark.django_db


def test_guesses_from_the_headers_people_write():
    headers = [
        "First name",
        "SURNAME",
        "Full name",
        "Mobile",
        "Telephone",
        "Landline",
        "Post code",
        "ZIP",
        "E-mail",
        "Membership number",
        "Voter ID",
        "Constituency",
        "Tags",
        "Favourite colour",
    ]
    assert guess_mapping(headers) == [
        "first_name",
        "last_name",
        "custom",  # a full name beside first and last names is kept, not split
        "phone",
        "phone",
        "phone",
        "postcode",
        "custom",  # only one postcode column
        "email",
        "external_id",
        "custom",  # only one external id
        "area",
        "tags",
        "custom",
    ]


def test_a_mapping_needs_a_phone_column():
    assert check_mapping(["Name"], ["full_name"]) == [
        "Choose at least one column with phone numbers."
    ]


def test_a_saved_mapping_is_offered_for_the_next_file_of_the_same_shape(tmp_path):
    header = ["Ref", "Who", "Number", "Ward"]
    first = write_csv(
        tmp_path / "jan.csv", [["A1", "Jane Smith", landline(1), "Holborn"]], header=header
    )
    job = services.create_import(path=first, team=the_team())
    assert job.mapping == ["external_id", "custom", "phone", "area"]
    corrected = ["external_id", "full_name", "phone", "area"]
    services.set_mapping(job, corrected, save_as="Ward export")
    saved = SavedMapping.objects.get(name="Ward export")

    second = write_csv(
        tmp_path / "feb.csv", [["A2", "Bob Jones", landline(2), "Camden"]], header=header
    )

    def shaped(headers, team=None):
        return Import(team=team or the_team(), headers=headers)

    assert services.matching_saved_mapping(shaped(["Ref", "Who", "Number", "Ward"])) == saved
    assert services.matching_saved_mapping(shaped(["Ref", "Who", "Number"])) is None
    other_team = make_team()
    assert (
        services.matching_saved_mapping(shaped(["Ref", "Who", "Number", "Ward"], other_team))
        is None
    )
    job = import_now(second, saved_mapping=saved)
    assert job.mapping == corrected
    assert Contact.objects.get().first_name == "Bob"


def test_a_bad_mapping_is_refused_with_the_reason(tmp_path):
    job = services.create_import(
        team=the_team(),
        path=write_csv(tmp_path / "f.csv", [["A", "B", "C", "", landline(1), "", ""]]),
    )
    with pytest.raises(services.MappingProblem, match="Only one column"):
        services.set_mapping(
            job, ["phone", "first_name", "first_name", "phone", "phone", "area", "tags"]
        )
