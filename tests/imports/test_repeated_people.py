"""The rule for repeated people: what a later row does to someone already known, earlier in
the file or stored, under each rule the organiser can choose."""

import pytest

from ringround.contacts.models import Contact
from ringround.imports import services
from ringround.imports.models import Import
from tests.factories import ContactFactory
from tests.imports.conftest import e164_landline, import_now, landline, write_csv

pytestmark = pytest.mark.django_db

HEADER = [
    "Membership number",
    "First name",
    "Surname",
    "Telephone",
    "Email",
    "Area",
    "Tags",
    "Tier",
]
FILL_BLANKS, KEEP_FIRST, KEEP_LAST = (
    Import.Repeats.FILL_BLANKS,
    Import.Repeats.KEEP_FIRST,
    Import.Repeats.KEEP_LAST,
)


def stored_jane():
    return ContactFactory(
        external_id="M1",
        first_name="Jane",
        last_name="",
        email="",
        phone=e164_landline(1),
        area="Holborn",
        tags=",member,",
        custom_fields={"tier": "gold"},
    )


def as_stored(contact):
    contact.refresh_from_db()
    return {
        "name": (contact.first_name, contact.last_name),
        "email": contact.email,
        "area": contact.area,
        "phones": [contact.phone, *contact.other_phones],
        "tags": contact.tag_list,
        "custom": contact.custom_fields,
    }


JANE_AGAIN = ["M1", "Janet", "Smith", landline(2), "jane@example.org", "Camden", "donor", "silver"]


@pytest.mark.parametrize(
    ("repeats", "expected"),
    [
        (
            KEEP_FIRST,
            {
                "name": ("Jane", ""),
                "email": "",
                "area": "Holborn",
                "phones": [e164_landline(1)],
                "tags": ["member"],
                "custom": {"tier": "gold"},
            },
        ),
        (
            FILL_BLANKS,
            {
                "name": ("Jane", "Smith"),
                "email": "jane@example.org",
                "area": "Holborn",
                "phones": [e164_landline(1), e164_landline(2)],
                "tags": ["donor", "member"],
                "custom": {"tier": "gold"},
            },
        ),
        (
            KEEP_LAST,
            {
                "name": ("Janet", "Smith"),
                "email": "jane@example.org",
                "area": "Camden",
                "phones": [e164_landline(2), e164_landline(1)],
                "tags": ["donor", "member"],
                "custom": {"tier": "silver"},
            },
        ),
    ],
)
def test_each_rule_gives_the_stored_contact_it_promises(tmp_path, repeats, expected):
    jane = stored_jane()
    job = import_now(write_csv(tmp_path / "f.csv", [JANE_AGAIN], header=HEADER), repeats=repeats)
    assert as_stored(jane) == expected
    assert Contact.objects.count() == 1
    changed = repeats != KEEP_FIRST
    assert (job.updated, job.unchanged, job.duplicates) == (int(changed), int(not changed), 0)


SAM_TWICE = [
    ["M2", "Sam", "", landline(3), "", "Islington", "", ""],
    ["M2", "Samuel", "Roe", landline(3), "sam@example.org", "Camden", "", "bronze"],
]


@pytest.mark.parametrize(
    ("repeats", "expected"),
    [
        (KEEP_FIRST, (("Sam", ""), "", "Islington", {})),
        (FILL_BLANKS, (("Sam", "Roe"), "sam@example.org", "Islington", {"tier": "bronze"})),
        (KEEP_LAST, (("Samuel", "Roe"), "sam@example.org", "Camden", {"tier": "bronze"})),
    ],
)
def test_each_rule_applies_to_a_person_twice_in_one_file(tmp_path, repeats, expected):
    job = import_now(write_csv(tmp_path / "f.csv", SAM_TWICE, header=HEADER), repeats=repeats)
    sam = Contact.objects.get()
    assert ((sam.first_name, sam.last_name), sam.email, sam.area, sam.custom_fields) == expected
    assert (job.created, job.duplicates) == (1, 1)


@pytest.mark.parametrize("batch_size", [1, 10])
def test_the_rule_holds_across_batches_as_within_one(tmp_path, batch_size):
    """A repeat in the next batch meets the contact as stored, with the same result."""
    job = import_now(
        write_csv(tmp_path / "f.csv", SAM_TWICE, header=HEADER),
        repeats=FILL_BLANKS,
        batch_size=batch_size,
    )
    sam = Contact.objects.get()
    assert (sam.first_name, sam.last_name, sam.area) == ("Sam", "Roe", "Islington")
    assert (job.created, job.updated, job.duplicates) == (1, 1, 1)


def test_by_default_a_repeated_person_keeps_the_earlier_rows_name_and_email(tmp_path):
    """The newcomer's finding: a repeat silently overwrote the earlier row's name and email."""
    rows = [
        ["M3", "Ann", "Lee", landline(4), "ann@example.org", "", "", ""],
        ["M3", "Anne", "Leigh", landline(4), "other@example.org", "", "", ""],
    ]
    path = write_csv(tmp_path / "f.csv", rows, header=HEADER)
    job = services.create_import(path=path, team=ContactFactory().team)
    assert job.repeats == FILL_BLANKS
    import_now(path)
    ann = Contact.objects.get(external_id="M3")
    assert (ann.first_name, ann.last_name, ann.email) == ("Ann", "Lee", "ann@example.org")


def test_an_unknown_rule_is_refused(tmp_path):
    path = write_csv(tmp_path / "f.csv", SAM_TWICE, header=HEADER)
    job = services.create_import(path=path, team=ContactFactory().team)
    with pytest.raises(services.MappingProblem):
        services.set_mapping(job, job.mapping, repeats="newest_wins")
